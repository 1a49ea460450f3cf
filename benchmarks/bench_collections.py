"""Resident memory of extra collections: what one more document set costs a serving process.

    .venv/bin/python benchmarks/bench_collections.py [--extra 3]

Builds the bundled documents' index (the default collection) and `--extra` collections, each a
copy of them, plus the Hatch manual as a larger one when benchmarks/quality/fetch.py has fetched
it; then loads them as `citebot serve` does (one model, `load_collections`) and prints the
process's resident memory after each, and each collection's share of it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from common import REPO, print_machine

sys.path.insert(0, str(REPO))


def resident_mb() -> float:
    """Return this process's resident set size in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    """Build, load and measure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", type=int, default=3, help="copies of the bundled documents")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print_machine()
    from bot.core.engine import Citebot, load_collections, load_embedder, run_ingest
    from bot.settings import Settings

    work = Path(tempfile.mkdtemp(prefix="citebot-collections-"))
    try:
        declared: dict[str, dict[str, Path]] = {}
        for n in range(args.extra):
            folder = work / f"copy{n}"
            shutil.copytree(REPO / "sources", folder)
            declared[f"copy{n}"] = {"sources": folder}
        hatch = REPO / "data" / "manuals" / "hatch"
        if hatch.is_dir():
            declared["hatch"] = {"sources": hatch}
        settings = Settings(
            sources=REPO / "sources",
            index_dir=work / "index",
            data_dir=work / "data",
            collections=declared,  # type: ignore[arg-type]
        )
        embedder = load_embedder(settings)
        for name in ["default", *declared]:
            run_ingest(settings.for_collection(name), embedder=embedder)
        before = resident_mb()
        bot = Citebot.load(settings, embedder=embedder)
        bot.answer("What is the AI Alliance?")
        base = resident_mb()
        print(f"model loaded, nothing else: {before:.0f} MB")
        print(f"default collection ({bot.index.chunk_count} chunks): {base:.0f} MB")
        previous = base
        loaded = {}
        for name, collection in declared.items():
            one = Settings(**{**settings.model_dump(), "collections": {name: collection}})
            loaded |= load_collections(one, embedder)
            loaded[name].answer("What is the AI Alliance?")
            now = resident_mb()
            chunks = loaded[name].index.chunk_count
            print(
                f"+ {name} ({chunks} chunks): {now:.0f} MB, +{now - previous:.1f} MB "
                f"({(now - previous) / base:.3f}x the one-collection process)"
            )
            previous = now
        for extra in loaded.values():
            extra.close()
        bot.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
