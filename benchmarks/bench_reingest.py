"""Re-ingest after 1% of a large corpus changed, against a full ingest of it, in one run.

Run: .venv/bin/python benchmarks/bench_reingest.py [--chunks 1000000] [--share 0.01]

Embedding a million chunks with the real model takes hours on two cores, so the first ingest
is the real pipeline (discovery, loading, chunking with the model's tokenizer, SQLite, FAISS,
the generation switch) with vectors that stand in for the model's: pseudo-random unit vectors
drawn from each text's hash. The full ingest's time is that measured time plus the embedding
time the model would take, extrapolated from its throughput on a sample of the same chunks in
this run. The re-ingest is entirely real: the changed documents are embedded by the model and
every unchanged document's chunks and vectors are carried into a new generation.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
from common import REPO, report


class _HashedVectors:
    """Stands in for the model at the first ingest: its tokenizer, vectors from text hashes."""

    def __init__(self, model: object) -> None:
        self._model = model

    def __getattr__(self, name: str) -> object:
        return getattr(self._model, name)

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Return a unit vector per text, the same for the same text (the alignment check)."""
        dimension = int(self._model.dimension)  # type: ignore[attr-defined]
        rows = []
        for text in texts:
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
            row = np.random.default_rng(seed).normal(size=dimension)
            rows.append(row / np.linalg.norm(row))
        return np.asarray(rows, dtype=np.float32)


Result = TypeVar("Result")


def _status(field: str) -> int:
    """Return a /proc/self/status memory field in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024
    return 0


def _peak_over_base(work: Callable[[], Result]) -> tuple[Result, float]:
    """Run work; return its result and the peak resident memory it added, in MB (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")  # resets the high-water mark
    before = _status("VmRSS:")
    result = work()
    return result, (_status("VmHWM:") - before) / 1e6


def main() -> None:
    """Build a large index, change a share of its documents, time the re-ingest."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1_000_000, help="about this many chunks")
    parser.add_argument("--share", type=float, default=0.01, help="share of documents changed")
    parser.add_argument("--sample", type=int, default=2000, help="chunks timed with the model")
    args = parser.parse_args()

    from synthetic import touch_share, write_corpus

    from bot.core.engine import load_embedder, run_ingest
    from bot.settings import Settings
    from index.store import StoredIndex

    work = Path(tempfile.mkdtemp(prefix="citebot-reingest-"))
    os.chdir(work)
    settings = Settings(sources=work / "corpus", index_dir=work / "index")
    model = load_embedder(settings)

    # Size the corpus from a trial: how many chunks a synthetic document makes at this setting.
    write_corpus(REPO / "sources", work / "trial", 50)
    trial_settings = Settings(sources=work / "trial", index_dir=work / "trial-index")
    trial = run_ingest(trial_settings, embedder=_HashedVectors(model))  # type: ignore[arg-type]
    per_document = trial.chunk_count / 50
    documents = max(1, round(args.chunks / per_document))
    started = time.perf_counter()
    paths = write_corpus(REPO / "sources", work / "corpus", documents)
    results: dict[str, float | str] = {
        "documents": documents,
        "write_corpus_s": time.perf_counter() - started,
    }

    started = time.perf_counter()
    first, first_peak = _peak_over_base(
        lambda: run_ingest(settings, embedder=_HashedVectors(model))  # type: ignore[arg-type]
    )
    pipeline_s = time.perf_counter() - started
    results |= {
        "chunks": first.chunk_count,
        "first_ingest_without_model_s": pipeline_s,
        "first_ingest_peak_mb": first_peak,
    }

    # The model's throughput on this corpus's own chunks, as ingest batches them.
    index = StoredIndex.open(settings.index_dir)
    step = max(1, index.chunk_count // args.sample)
    picked = index.chunks(range(0, index.chunk_count, step))
    texts = [picked[i].embedding_text() for i in sorted(picked)][: args.sample]
    index.close()
    model.embed_batch(texts[:32])  # warm up
    started = time.perf_counter()
    for begin in range(0, len(texts), 256):
        model.embed_batch(texts[begin : begin + 256])
    per_second = len(texts) / (time.perf_counter() - started)
    full_s = pipeline_s + first.chunk_count / per_second
    results |= {
        "model_chunks_per_s": per_second,
        "full_ingest_estimate_s": full_s,
    }

    changed = touch_share(paths, args.share)
    started = time.perf_counter()
    again, again_peak = _peak_over_base(lambda: run_ingest(settings, embedder=model))
    reingest_s = time.perf_counter() - started
    results |= {
        "changed_documents": changed,
        "reingest_s": reingest_s,
        "reingest_embedded_chunks": again.chunks_embedded,
        "reingest_embedding_estimate_s": again.chunks_embedded / per_second,
        "reingest_share_of_full": reingest_s / full_s,
        "reingest_peak_mb": again_peak,
    }
    report(f"reingest-{args.chunks}", results)


if __name__ == "__main__":
    main()
