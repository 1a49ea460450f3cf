"""Follow-up questions on real manuals: recall alone and with the thread's earlier question.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/bench_followups.py

Each pair in benchmarks/quality/followups.jsonl is an earlier question and a follow-up that names
little on its own ("and how do I push it to the server?" after "how do I create a tag for a
release?"), with the phrase a passage must hold to answer the follow-up. The pairs were written
and frozen before any run. Both manuals are ingested as bench_quality.py does (same folders,
same vector cache), then each follow-up is asked twice: alone, and with its earlier question as
a chat thread would give it.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from bench_quality import CACHE, CachedEmbedder, VectorCache, first_hit, retrieval_metrics
from common import REPO, print_machine
from fetch import MANUALS, fetch

PAIRS = REPO / "benchmarks" / "quality" / "followups.jsonl"
DEPTH = 10


def run_manual(folder: Path, work: Path, pairs: list[dict[str, Any]], cache: VectorCache) -> dict:
    """Ingest one manual (incrementally), then ask each follow-up alone and with context."""
    from bot.core.engine import Citebot, load_embedder, run_ingest
    from bot.settings import Settings

    settings = Settings(sources=folder, index_dir=work / "index")
    embedder = load_embedder(settings)
    run_ingest(settings, embedder=CachedEmbedder(embedder, cache))
    bot = Citebot.load(settings, embedder=embedder)
    rows: dict[str, dict[str, float]] = {}
    for label, with_context in (("alone", False), ("with context", True)):
        ranks = []
        for pair in pairs:
            earlier = pair["earlier"] if with_context else ()
            hits = bot.retrieve(pair["question"], top_k=DEPTH, earlier=earlier)
            ranks.append(first_hit([hit.passage for hit in hits], pair["expect"]))
        rows[label] = retrieval_metrics(ranks)
    bot.close()
    return rows


def main() -> None:
    """Print recall of the follow-ups alone and with context, per manual."""
    print_machine()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manuals", nargs="*", help="default: the manuals with follow-up pairs")
    parser.add_argument("--work", type=Path, default=REPO / "data" / "bench-quality")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    cache = VectorCache(CACHE)
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    paired = [name for name in MANUALS if any(pair["manual"] == name for pair in pairs)]
    folders = fetch(args.manuals or paired, REPO / "data" / "manuals")
    columns = ["recall@1", "recall@3", "recall@5", "recall@10", "mrr"]
    for name, folder in folders.items():
        mine = [pair for pair in pairs if pair["manual"] == name]
        rows = run_manual(folder, args.work / name, mine, cache)
        print(f"\n## {name}: {len(mine)} follow-ups")
        print(f"{'':<14}" + "".join(f"{column:>11}" for column in columns))
        for label, row in rows.items():
            print(f"{label:<14}" + "".join(f"{row[column]:>11.3f}" for column in columns))


if __name__ == "__main__":
    main()
