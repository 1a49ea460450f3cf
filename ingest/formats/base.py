"""What every format reader shares: the registry entry, what it returns, how it refuses a file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ingest.document import Block


class SkippedFile(Exception):
    """A file that cannot be ingested; the message says why and what to do."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"skipped {path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Parsed:
    """A file's blocks, and the title and web address the file states for itself, if any."""

    blocks: tuple[Block, ...]
    title: str = ""
    url: str = ""


# A reader gets the file's path (for messages), its bytes, and a list to add warnings to.
Reader = Callable[[Path, bytes, list[str]], Parsed]


@dataclass(frozen=True, slots=True)
class Format:
    """One kind of document citebot reads: its suffixes (the usual one first) and its reader."""

    name: str
    suffixes: tuple[str, ...]
    read: Reader
    # Whether the first heading names the document; plain text only guesses its headings.
    title_from_heading: bool = True
