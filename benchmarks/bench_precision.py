"""Precision benchmark: float32 against bfloat16 for the bundled model, in one run.

Run: .venv/bin/python benchmarks/bench_precision.py. Prints passage-embedding throughput, question
latency, cosine agreement of the two precisions' vectors, and dev-set recall@3 with each; the
default precision (CITEBOT_EMBEDDING__PRECISION) is chosen from these numbers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from common import DEV_SET, REPO, report


def main() -> None:
    from bot.engine import Citebot, load_embedder, run_ingest
    from bot.evaluate import evaluate, read_questions
    from bot.settings import Settings
    from index.store import StoredIndex

    work = Path(tempfile.mkdtemp(prefix="citebot-precision-"))
    os.chdir(work)
    shutil.copytree(REPO / "sources", work / "sources")
    results: dict[str, float] = {}
    vectors = {}
    for precision in ("float32", "bfloat16"):
        settings = Settings(index_dir=work / precision, embedding={"precision": precision})
        embedder = load_embedder(settings)
        run_ingest(settings, embedder=embedder)
        index = StoredIndex.open(settings.index_dir)
        texts = [c.embedding_text() for c in index.chunks(range(index.chunk_count)).values()] * 4
        index.close()
        embedder.embed_batch(texts[:64])
        rounds = []
        for _ in range(3):
            started = time.perf_counter()
            vectors[precision] = embedder.embed_batch(sorted(texts, key=len))
            rounds.append(time.perf_counter() - started)
        results[f"{precision}_chunks_per_s"] = len(texts) / min(rounds)
        question = ["What is the crux of the problem with SB 1047?"]
        embedder.embed_batch(question)
        started = time.perf_counter()
        for _ in range(50):
            embedder.embed_batch(question)
        results[f"{precision}_question_ms"] = (time.perf_counter() - started) * 20
        bot = Citebot.load(settings, embedder=embedder)
        metrics = evaluate(bot, read_questions(DEV_SET)).metrics()
        results[f"{precision}_recall@3"] = metrics["recall@3"]
        bot.close()
    cosine = np.sum(vectors["float32"] * vectors["bfloat16"], axis=1)
    results["cosine_min"] = float(cosine.min())
    results["cosine_mean"] = float(cosine.mean())
    results["bf16_over_fp32_throughput"] = (
        results["bfloat16_chunks_per_s"] / results["float32_chunks_per_s"]
    )
    results["bf16_over_fp32_question_latency"] = (
        results["bfloat16_question_ms"] / results["float32_question_ms"]
    )
    shutil.rmtree(work, ignore_errors=True)
    report("precision", results)


if __name__ == "__main__":
    main()
