"""Markdown (CommonMark with GitHub tables), with YAML front matter."""

from __future__ import annotations

from pathlib import Path

from ingest.formats.base import Format, Parsed
from ingest.formats.decoding import decode_text
from ingest.formats.text import body_after_front_matter
from ingest.markdown_text import markdown_blocks


def read_markdown(path: Path, raw: bytes, warnings: list[str]) -> Parsed:
    """Read a Markdown file."""
    body = body_after_front_matter(path, decode_text(path, raw, warnings), warnings)
    notes: list[str] = []
    blocks = markdown_blocks("\n".join(body.lines), body.first_line, notes)
    warnings += [f"{path}: {note}" for note in notes]
    return Parsed(blocks, body.title, body.url)


FORMAT = Format("Markdown", (".md", ".markdown", ".mdx"), read_markdown)
