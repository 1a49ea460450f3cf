"""Where the tests find the repository, its corpus and its dev set; shared by tests and fixtures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ingest.document import Document
from ingest.loaders import load_document

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "sources"
# The dev set is committed so a clone with nothing beside it runs every test.
DEV_SET = REPO / "tests" / "data" / "dev.jsonl"


def run_python(code: str, *args: str, timeout: float) -> str:
    """Run code in a fresh Python at the repository root; return what it printed.

    A pathological input that took quadratic time would hang the suite: in its own process it
    fails on the timeout instead.
    """
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=True,
    )
    return done.stdout


def load_page(folder: Path, name: str, text: str) -> Document:
    """Write one page into folder and load it as ingest does."""
    page = folder / name
    page.write_text(text, encoding="utf-8")
    document, _ = load_document(page, name, max_bytes=10_000_000)
    return document
