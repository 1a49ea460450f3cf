"""Hostile inputs, doubled: loading and chunking must grow about 2x when the input doubles.

    .venv/bin/python benchmarks/bench_hostile.py          # sizes as issue 16 found them slow
    .venv/bin/python benchmarks/bench_hostile.py --quick  # a quarter of the sizes

Each case is written at size n and 2n, then loaded and chunked as `citebot ingest` does (the
real tokenizer counts the tokens). A growth factor near 2 is linear; near 4 is quadratic.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import REPO, print_machine

from bot.core.engine import load_embedder
from bot.settings import Settings
from ingest.chunker import chunk_document
from ingest.formats.base import SkippedFile
from ingest.loaders import load_document

# name -> (file name, text of size n, n as found slow)
CASES: dict[str, tuple[str, Callable[[int], str], int]] = {
    "markdown * runs": ("stars.md", lambda n: "*a " * n, 20_000),
    "markdown emphasis mix": ("emphasis.md", lambda n: "*a_" * n, 20_000),
    "markdown nested brackets": ("brackets.md", lambda n: "[" * n + "a" + "]" * n, 20_000),
    "a line of dots": ("dots.txt", lambda n: "." * n, 40_000),
    "abbreviations": ("abbreviations.txt", lambda n: "e.g. A " * n, 20_000),
    "nested <div>s": ("nested.html", lambda n: "<div>" * n + "x" + "</div>" * n, 60_000),
    "unclosed end tags": ("unclosed.html", lambda n: "<p>x</b>" * n, 40_000),
    "one huge word": ("word.txt", lambda n: "a" * n, 2_000_000),
    # docutils took 13 s for 40 KB of this; the line reader that replaced it is linear.
    "reST unmatched * runs": ("stars.rst", lambda n: "*a " * n, 20_000),
    "reST unmatched roles": ("roles.rst", lambda n: ":a:`b " * n, 20_000),
    "reST nested directives": (
        "nested.rst",
        lambda n: "\n".join(" " * (2 * i) + ".. note:: x" for i in range(n)),
        2_000,
    ),
}


def seconds(path: Path, count_tokens: Callable[..., list[int]]) -> float:
    """Load and chunk one file as ingest does; return the seconds it took."""
    started = time.perf_counter()
    try:
        document, _ = load_document(path, path.name, max_bytes=1 << 30)
    except SkippedFile:
        return time.perf_counter() - started
    chunk_document(document, count_tokens, max_tokens=240, overlap_tokens=32)
    return time.perf_counter() - started


def main() -> None:
    """Time every case at n and 2n and print the growth factors."""
    print_machine()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a quarter of the sizes")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    embedder = load_embedder(Settings(sources=REPO / "sources"))
    # "bytes" is how much larger the 2n file is: 2x for most cases, 4x for nested directives,
    # whose indentation grows with depth. Time growing no faster than bytes is linear.
    print(f"{'case':<26}{'n':>10}{'time n':>10}{'time 2n':>10}{'growth':>8}{'bytes':>8}")
    with tempfile.TemporaryDirectory() as folder:
        for name, (file_name, make, size) in CASES.items():
            n = size // 4 if args.quick else size
            times, sizes = [], []
            for scale in (1, 2):
                path = Path(folder) / file_name
                path.write_text(make(n * scale), encoding="utf-8")
                sizes.append(path.stat().st_size)
                # The best of three: these machines are shared and noisy.
                times.append(min(seconds(path, embedder.count_tokens) for _ in range(3)))
            growth = times[1] / times[0] if times[0] else float("nan")
            print(
                f"{name:<26}{n:>10,}{times[0]:>9.2f}s{times[1]:>9.2f}s{growth:>7.1f}x"
                f"{sizes[1] / sizes[0]:>7.1f}x"
            )


if __name__ == "__main__":
    main()
