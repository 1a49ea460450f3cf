"""Where the tests find the repository, its corpus and its dev set; shared by tests and fixtures."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "sources"
# The dev set is committed so a clone with nothing beside it runs every test.
DEV_SET = REPO / "tests" / "data" / "dev.jsonl"
