"""reStructuredText: sections, paragraphs, lists and code, read without running any directive."""

from __future__ import annotations

from pathlib import Path

from ingest.formats.base import Format, Parsed
from ingest.formats.decoding import decode_text
from ingest.rst_text import rst_blocks


def read_rst(path: Path, raw: bytes, warnings: list[str]) -> Parsed:
    """Read a reStructuredText file."""
    return Parsed(rst_blocks(decode_text(path, raw, warnings)))


FORMAT = Format("reStructuredText", (".rst", ".rest"), read_rst)
