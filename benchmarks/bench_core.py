"""Core benchmark: warm question latency, `citebot ask` process time, first and repeat ingest.

Run: .venv/bin/python benchmarks/bench_core.py [--repeat N]. Prints a table and writes
bench-results/core.json. Times are reported beside a baseline measured in the same run, because
these machines are shared and noisy: raw milliseconds mean little on their own.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import DEV_SET, REPO, percentile, report

CITEBOT = Path(sys.executable).with_name("citebot")


def timed_process(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(args, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5, help="passes over the dev questions")
    args = parser.parse_args()

    from bot.core.engine import Citebot, load_embedder
    from bot.core.evaluate import read_questions
    from bot.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="citebot-bench-"))
    shutil.copytree(REPO / "sources", work / "sources")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
    results: dict[str, float] = {}

    # Ingest: the first build (fresh process, model load included) and an unchanged re-run.
    results["first_ingest_s"] = timed_process([str(CITEBOT), "ingest"], work, env)
    reingest = [timed_process([str(CITEBOT), "ingest"], work, env) for _ in range(3)]
    results["unchanged_reingest_s"] = statistics.median(reingest)
    results["first_over_reingest"] = results["first_ingest_s"] / results["unchanged_reingest_s"]

    # `citebot ask` as a process, index present, against the bare interpreter importing torch.
    ask = [str(CITEBOT), "ask", "--json", "Does the AI Alliance think SB 1047 is balanced?"]
    results["ask_process_s"] = statistics.median(timed_process(ask, work, env) for _ in range(3))
    bare = [sys.executable, "-c", "import sentence_transformers"]
    results["import_baseline_s"] = statistics.median(
        timed_process(bare, work, env) for _ in range(3)
    )
    results["ask_over_import"] = results["ask_process_s"] / results["import_baseline_s"]

    # Warm latency: model and index loaded once; baseline is embedding the question alone.
    os.chdir(work)
    settings = Settings(sources=work / "sources", index_dir=work / "data" / "index")
    embedder = load_embedder(settings)
    bot = Citebot.load(settings, embedder=embedder)
    questions = [q.question for q in read_questions(DEV_SET)]
    for question in questions:  # warm caches
        bot.answer(question)
    answer_ms: list[float] = []
    embed_ms: list[float] = []
    for _ in range(args.repeat):
        for question in questions:
            started = time.perf_counter()
            embedder.embed_batch([question])
            embed_ms.append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            bot.answer(question)
            answer_ms.append((time.perf_counter() - started) * 1000)
    results["warm_answer_p50_ms"] = percentile(answer_ms, 0.5)
    results["warm_answer_p95_ms"] = percentile(answer_ms, 0.95)
    results["embed_only_p50_ms"] = percentile(embed_ms, 0.5)
    results["answer_over_embed_p50"] = results["warm_answer_p50_ms"] / results["embed_only_p50_ms"]
    results["questions_timed"] = len(answer_ms)
    bot.close()
    shutil.rmtree(work, ignore_errors=True)

    report("core", results)


if __name__ == "__main__":
    main()
