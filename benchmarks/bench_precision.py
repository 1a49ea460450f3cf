"""Precision benchmark: float32, bfloat16 and int8 for the bundled model, in one run.

Run: .venv/bin/python benchmarks/bench_precision.py. Prints passage-embedding throughput (at the
default batch size and at 64), question latency, cosine agreement with float32's vectors, and
dev-set recall@1/@3 and MRR with each; the defaults (CITEBOT_EMBEDDING__PRECISION and
__BATCH_SIZE) are chosen from these numbers.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
from common import DEV_SET, REPO, report

PRECISIONS = ("float32", "bfloat16", "int8")


def main() -> None:
    from bot.core.engine import Citebot, load_embedder, run_ingest
    from bot.core.evaluate import evaluate, read_questions
    from bot.settings import Settings
    from index.store import StoredIndex

    work = Path(tempfile.mkdtemp(prefix="citebot-precision-"))
    os.chdir(work)
    shutil.copytree(REPO / "sources", work / "sources")
    results: dict[str, float] = {}
    vectors = {}
    default_batch = Settings().embedding.batch_size
    for precision in PRECISIONS:
        settings = Settings(index_dir=work / precision, embedding={"precision": precision})
        embedder = load_embedder(settings)
        run_ingest(settings, embedder=embedder)
        index = StoredIndex.open(settings.index_dir)
        texts = [c.embedding_text() for c in index.chunks(range(index.chunk_count)).values()] * 4
        index.close()
        texts.sort(key=len)
        for batch in (default_batch, 64):
            embedder._batch_size = batch
            embedder.embed_batch(texts[:64])
            rounds = []
            for _ in range(3):
                started = time.perf_counter()
                embedded = embedder.embed_batch(texts)
                rounds.append(time.perf_counter() - started)
            results[f"{precision}_batch{batch}_chunks_per_s"] = len(texts) / min(rounds)
            if batch == default_batch:
                vectors[precision] = embedded
        embedder._batch_size = default_batch
        question = ["What is the crux of the problem with SB 1047?"]
        embedder.embed_batch(question)
        started = time.perf_counter()
        for _ in range(50):
            embedder.embed_batch(question)
        results[f"{precision}_question_ms"] = (time.perf_counter() - started) * 20
        bot = Citebot.load(settings, embedder=embedder)
        metrics = evaluate(bot, read_questions(DEV_SET)).metrics()
        for name in ("recall@1", "recall@3", "mrr", "cited_expected"):
            results[f"{precision}_{name}"] = metrics[name]
        bot.close()
    baseline = results[f"float32_batch{default_batch}_chunks_per_s"]
    for precision in PRECISIONS:
        cosine = np.sum(vectors["float32"] * vectors[precision], axis=1)
        results[f"{precision}_cosine_min"] = float(cosine.min())
        results[f"{precision}_cosine_mean"] = float(cosine.mean())
        for batch in (default_batch, 64):
            results[f"{precision}_batch{batch}_throughput_ratio"] = (
                results[f"{precision}_batch{batch}_chunks_per_s"] / baseline
            )
        results[f"{precision}_question_latency_ratio"] = (
            results[f"{precision}_question_ms"] / results["float32_question_ms"]
        )
    shutil.rmtree(work, ignore_errors=True)
    report("precision", results)


if __name__ == "__main__":
    main()
