"""Read any supported file into a cleaned Document, or say plainly why it was skipped."""

from __future__ import annotations

import hashlib
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

from index.clipping import clip_words
from ingest.clean import clean_blocks, without_bidi_controls
from ingest.document import Block, Document
from ingest.formats import SUPPORTED_LIST, format_for
from ingest.formats.base import SkippedFile

_TITLE_LIMIT = 120
_MAX_URL_CHARS = 2000  # Discord refuses embed links over 2,048


def load_document(path: Path, source: str, *, max_bytes: int) -> tuple[Document, list[str]]:
    """Load one file into a cleaned Document, with any warnings about how it was read."""
    suffix = path.suffix.lower()
    kind = format_for(suffix)
    if kind is None:
        raise SkippedFile(
            path,
            f"unsupported file type {suffix or '(none)'}; convert it to {SUPPORTED_LIST}",
        )
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise SkippedFile(
                path,
                f"{size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit; raise "
                "CITEBOT_INGEST__MAX_FILE_MB to include it",
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise SkippedFile(path, f"cannot read it ({exc.strerror or exc})") from exc
    if not raw.strip():
        raise SkippedFile(path, "the file is empty")
    warnings: list[str] = []
    parsed = kind.read(path, raw, warnings)
    blocks = clean_blocks(parsed.blocks)
    if not blocks:
        raise SkippedFile(path, "no text left after removing markup and page furniture")
    title = without_bidi_controls(parsed.title) or _title_from_blocks(
        blocks, first_heading=kind.title_from_heading
    )
    document = Document(
        source=source,
        title=title or path.stem,
        blocks=blocks,
        content_hash=hashlib.sha256(raw).hexdigest(),
        url=web_address(parsed.url),
    )
    return document, warnings


def web_address(url: str) -> str:
    """Return url if it is an absolute http(s) address fit for a chat link, else ""."""
    url = url.strip()
    try:
        parsed = urllib.parse.urlsplit(url)
    except ValueError:
        return ""  # "http://[::1": the page is still read, without a link

    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
        return ""  # javascript:, file:, relative paths: never a link
    if len(url) > _MAX_URL_CHARS or any(char.isspace() or ord(char) < 32 for char in url):
        return ""
    return url


def _title_from_blocks(blocks: Iterable[Block], *, first_heading: bool) -> str:
    blocks = list(blocks)
    if first_heading:
        for block in blocks:
            if block.is_heading:
                return clip_words(block.text, _TITLE_LIMIT)
    return clip_words(blocks[0].text, _TITLE_LIMIT) if blocks else ""
