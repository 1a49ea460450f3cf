"""Plain text: hard-wrapped lines grouped into paragraphs, bullets and guessed headings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ingest.clean import is_furniture
from ingest.document import Block
from ingest.formats.base import Format, Parsed
from ingest.formats.decoding import decode_text
from ingest.markdown_text import front_matter

_BULLET = re.compile(r"^(?:[-*+•▪◦‣⁃]|\d{1,3}[.)])\s+")


@dataclass(frozen=True, slots=True)
class Body:
    """A text file's lines after its front matter, and what the front matter states."""

    lines: list[str]
    first_line: int  # the number of lines[0] in the file, counting from 1
    title: str
    url: str


def body_after_front_matter(path: Path, text: str, warnings: list[str]) -> Body:
    """Split off a leading YAML block and read its title and url (or source) fields."""
    problems: list[str] = []
    meta, first_line = front_matter(text, problems)
    warnings += [f"{path}: {problem}" for problem in problems]
    title = meta.get("title")
    stated = meta.get("url") or meta.get("source")
    return Body(
        text.splitlines()[first_line:],
        first_line + 1,
        # A title is a scalar; a list or mapping in its place is not turned into text.
        " ".join(str(title).split()) if isinstance(title, str | int | float) else "",
        stated if isinstance(stated, str) else "",
    )


def read_text(path: Path, raw: bytes, warnings: list[str]) -> Parsed:
    """Read a plain-text file."""
    body = body_after_front_matter(path, decode_text(path, raw, warnings), warnings)
    return Parsed(line_blocks(body.lines, body.first_line), body.title, body.url)


def line_blocks(lines: list[str], first_number: int) -> tuple[Block, ...]:
    """Group plain-text lines into paragraphs, bullets and headings, keeping line numbers."""
    blocks: list[Block] = []
    pending: list[tuple[int, str]] = []

    def flush() -> None:
        if not pending:
            return
        parts: list[str] = []
        offsets: list[tuple[int, int]] = []
        position = 0
        for number, line in pending:
            offsets.append((position, number))
            parts.append(line)
            position += len(line) + 1
        text = " ".join(parts)
        is_heading = _looks_like_heading(text, len(pending))
        blocks.append(
            Block(text, is_heading, "line", pending[0][0], pending[-1][0], tuple(offsets))
        )
        pending.clear()

    for number, raw_line in enumerate(lines, start=first_number):
        line = raw_line.strip()
        if not line or is_furniture(line):
            flush()
            continue
        if _BULLET.match(line) or (pending and not _continues(pending[-1][1], line)):
            flush()
        pending.append((number, line))
    flush()
    return tuple(blocks)


def _continues(previous: str, line: str) -> bool:
    """Tell whether line continues a hard-wrapped paragraph rather than starting a new one."""
    # Wrapped prose has lines of similar, moderate length that break mid-sentence; files with
    # one paragraph per line have long lines that end in a full stop.
    wrap_width = 110
    return (
        40 <= len(previous) <= wrap_width
        and len(line) <= wrap_width
        and previous[-1] not in '.!?:…"”'
    )


def _looks_like_heading(text: str, line_count: int) -> bool:
    """Guess whether a plain-text paragraph is a heading: one short line, no closing stop."""
    return (
        line_count == 1
        and len(text) <= 80
        and len(text.split()) <= 12
        and text[0].isupper()
        and text[-1] not in '.!?,;:…"”)'
        and not _BULLET.match(text)
    )


FORMAT = Format("plain text", (".txt", ".text"), read_text, title_from_heading=False)
