"""HTML pages: the visible text, headings kept, navigation pages refused."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ingest.document import Block
from ingest.formats.base import Format, Parsed, SkippedFile
from ingest.formats.decoding import decode_text
from ingest.html_text import HtmlBlock, HtmlPage, is_navigation_page, visible_text


def read_html(path: Path, raw: bytes, warnings: list[str]) -> Parsed:
    """Read an HTML page."""
    page = visible_text(decode_text(path, raw, warnings))
    if is_navigation_page(page):
        raise SkippedFile(
            path,
            f"it is a table of contents or index ({page.link_share:.0%} of it links), not content",
        )
    return Parsed(page_blocks(page), _page_title(page.title, page.blocks), page.url)


def page_blocks(page: HtmlPage) -> tuple[Block, ...]:
    """Number a page's blocks as paragraphs, headings keeping their depth."""
    return tuple(
        Block(
            part.text,
            part.level > 0,
            "paragraph",
            n,
            n,
            level=max(1, part.level),
            anchor=part.anchor,
            code=part.code,
        )
        for n, part in enumerate(page.blocks, start=1)
    )


def _page_title(title: str, blocks: Sequence[HtmlBlock]) -> str:
    """Drop a site name from a page title: "Database transactions | Django docs" -> its h1."""
    first_heading = next((block.text for block in blocks if block.level == 1), "")
    if first_heading and title.startswith(first_heading) and len(first_heading) < len(title):
        rest = title[len(first_heading) :].lstrip()
        if rest[:1] in ("|", "—", "-", "–", "·", ":"):
            return first_heading
    return title


FORMAT = Format("HTML", (".html", ".htm"), read_html)
