"""Read .txt, .md, .html and .pdf files into Documents, or say plainly why a file was skipped."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

from ingest.clean import clean_blocks, is_furniture
from ingest.document import Block, Document
from ingest.html_text import visible_text

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset({".txt", ".text"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES

_BULLET = re.compile(r"^(?:[-*+•▪◦‣⁃]|\d{1,3}[.)])\s+")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_MD_INLINE = (
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images keep their alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links keep their label
    (re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"), r"\2"),
    (re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])"), r"\1"),
    (re.compile(r"`([^`]+)`"), r"\1"),
    (re.compile(r"<!--.*?-->"), ""),
)
_TITLE_LIMIT = 120


class SkippedFile(Exception):
    """A file that cannot be ingested; the message says why and what to do."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"skipped {path}: {reason}")
        self.path = path
        self.reason = reason


def load_document(path: Path, source: str, *, max_bytes: int) -> tuple[Document, list[str]]:
    """Load one file into a cleaned Document, with any warnings about how it was read."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise SkippedFile(
            path,
            f"unsupported file type {suffix or '(none)'}; convert it to .txt, .md, .html or .pdf",
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
    meta_title = ""
    if suffix in PDF_SUFFIXES:
        blocks = _pdf_blocks(path, raw)
    else:
        text = _decode(path, raw, warnings)
        if suffix in HTML_SUFFIXES:
            meta_title, pairs = visible_text(text)
            blocks = tuple(
                Block(block_text, heading, "paragraph", n, n)
                for n, (block_text, heading) in enumerate(pairs, start=1)
            )
        else:
            meta, first_line = _front_matter(text)
            meta_title = meta.get("title", "")
            lines = text.splitlines()[first_line:]
            blocks = _line_blocks(lines, first_line + 1, markdown=suffix in MARKDOWN_SUFFIXES)
    blocks = clean_blocks(blocks)
    if not blocks:
        raise SkippedFile(path, "no text left after removing markup and page furniture")
    title = meta_title or _title_from_blocks(blocks, markdown_or_html=suffix not in TEXT_SUFFIXES)
    document = Document(
        source=source,
        title=title or path.stem,
        blocks=blocks,
        content_hash=hashlib.sha256(raw).hexdigest(),
    )
    return document, warnings


def _decode(path: Path, raw: bytes, warnings: list[str]) -> str:
    if b"\x00" in raw[:8192]:
        raise SkippedFile(path, "it looks binary (NUL bytes), not text; is the extension right?")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        try:
            text = raw.decode("cp1252")
            warnings.append(
                f"{path}: not valid UTF-8 (byte {exc.start}); read as Windows-1252. "
                "Re-save it as UTF-8 if accents look wrong."
            )
        except UnicodeDecodeError:
            text = raw.decode("utf-8", errors="replace")
            warnings.append(
                f"{path}: not valid UTF-8; unreadable bytes were replaced with �. "
                "Re-save it as UTF-8."
            )
    controls = sum(
        1 for char in text[:20000] if unicodedata.category(char) == "Cc" and char not in "\t\n\r\f"
    )
    if controls > 0.05 * min(len(text), 20000):
        raise SkippedFile(path, "it looks binary (control characters), not text")
    return text


def _front_matter(text: str) -> tuple[dict[str, str], int]:
    """Read a leading '---' block of 'key: value' lines; return it and the body's first line."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, 0
    for number, line in enumerate(lines[1:50], start=1):
        if line.strip() in ("---", "..."):
            meta = {}
            for entry in lines[1:number]:
                key, sep, value = entry.partition(":")
                if sep and key.strip():
                    meta[key.strip().lower()] = value.strip().strip("\"'")
            return meta, number + 1
    return {}, 0


def _line_blocks(lines: list[str], first_number: int, *, markdown: bool) -> tuple[Block, ...]:
    """Group lines into paragraphs, bullets and headings, remembering their line numbers."""
    blocks: list[Block] = []
    pending: list[tuple[int, str]] = []
    in_fence = False

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
        is_heading = not markdown and _looks_like_heading(text, len(pending))
        blocks.append(
            Block(text, is_heading, "line", pending[0][0], pending[-1][0], tuple(offsets))
        )
        pending.clear()

    for number, raw_line in enumerate(lines, start=first_number):
        line = raw_line.strip()
        if markdown and line.startswith(("```", "~~~")):
            flush()
            in_fence = not in_fence
            continue
        if not line or (not in_fence and is_furniture(line)):
            flush()
            continue
        if markdown and not in_fence:
            heading = _MD_HEADING.match(line)
            if heading:
                flush()
                text = _strip_markdown(heading.group(2))
                if text:
                    blocks.append(Block(text, True, "line", number, number, ((0, number),)))
                continue
            line = _strip_markdown(line)
        if _BULLET.match(line) or in_fence or (pending and not _continues(pending[-1][1], line)):
            flush()
        pending.append((number, line))
        if in_fence:
            flush()
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


def _strip_markdown(line: str) -> str:
    for pattern, replacement in _MD_INLINE:
        line = pattern.sub(replacement, line)
    return line.lstrip(">").strip() if line.startswith(">") else line


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


def _title_from_blocks(blocks: Iterable[Block], *, markdown_or_html: bool) -> str:
    blocks = list(blocks)
    if markdown_or_html:
        for block in blocks:
            if block.is_heading:
                return _shorten(block.text)
    return _shorten(blocks[0].text) if blocks else ""


def _shorten(text: str) -> str:
    if len(text) <= _TITLE_LIMIT:
        return text
    cut = text[:_TITLE_LIMIT].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def _pdf_blocks(path: Path, raw: bytes) -> tuple[Block, ...]:
    import io  # noqa: PLC0415

    from pypdf import PdfReader  # noqa: PLC0415 (only PDF ingests pay for the import)
    from pypdf.errors import PdfReadError  # noqa: PLC0415

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkippedFile(path, "the PDF is password-protected; save an unlocked copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except SkippedFile:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SkippedFile(path, f"not a readable PDF ({exc}); re-export it") from exc
    blocks: list[Block] = []
    for number, page_text in enumerate(pages, start=1):
        # Re-join words hyphenated across line breaks, then split on blank lines.
        joined = re.sub(r"(\w)-\n(\w)", r"\1\2", page_text)
        for paragraph in re.split(r"\n\s*\n", joined):
            text = " ".join(paragraph.split())
            if text:
                blocks.append(Block(text, False, "page", number, number))
    if not blocks:
        raise SkippedFile(
            path, "the PDF has no text layer (scanned?); run OCR on it (e.g. ocrmypdf) first"
        )
    return tuple(blocks)
