"""A loaded document: its title and its text as a sequence of blocks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Block:
    """A heading or paragraph of a document, with where it sits in the original file."""

    text: str
    is_heading: bool
    unit: str  # "line", "page" or "paragraph"
    start: int
    end: int
    # For line-based blocks: the line number of each line joined into text, with its offset.
    line_offsets: tuple[tuple[int, int], ...] = ()
    level: int = 1  # a heading's depth (1 for a page's top heading); unused for paragraphs
    anchor: str = ""  # a heading's id on its page ("requirements"), for links to the section
    # A code block's lines (HTML <pre>, a Markdown fence, an RST literal block): shown as code,
    # whatever a line reads as ("git branch", 'if not sys.platform.startswith("win"):').
    code: bool = False

    def line_at(self, offset: int) -> int:
        """Return the original line number of the character at offset in text."""
        line = self.start
        for start_offset, number in self.line_offsets:
            if start_offset > offset:
                break
            line = number
        return line


@dataclass(frozen=True, slots=True)
class Document:
    """A document ready to chunk."""

    source: str
    title: str
    blocks: tuple[Block, ...]
    content_hash: str
    url: str = ""  # where the document is published, when it says so itself
