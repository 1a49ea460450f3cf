"""Read .txt, .md, .html and .pdf files into Documents, or say plainly why a file was skipped."""

from __future__ import annotations

import codecs
import hashlib
import logging
import re
import unicodedata
import urllib.parse
from collections.abc import Iterable, Sequence
from pathlib import Path

from index.clipping import clip_words
from ingest.clean import clean_blocks, is_furniture
from ingest.document import Block, Document
from ingest.html_text import HtmlBlock, is_navigation_page, visible_text
from ingest.markdown_text import front_matter, markdown_blocks

logger = logging.getLogger(__name__)

TEXT_SUFFIXES = frozenset({".txt", ".text"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
HTML_SUFFIXES = frozenset({".html", ".htm"})
PDF_SUFFIXES = frozenset({".pdf"})
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | MARKDOWN_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES
# How messages name the formats, each by its usual suffix: ".txt, .md, .html or .pdf".
_USUAL_SUFFIXES = (".txt", ".md", ".html", ".pdf")
SUPPORTED_LIST = ", ".join(_USUAL_SUFFIXES[:-1]) + " or " + _USUAL_SUFFIXES[-1]

_BULLET = re.compile(r"^(?:[-*+•▪◦‣⁃]|\d{1,3}[.)])\s+")
_TITLE_LIMIT = 120
_MAX_URL_CHARS = 2000  # Discord refuses embed links over 2,048


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
    meta_title = ""
    stated_url = ""
    if suffix in PDF_SUFFIXES:
        blocks = _pdf_blocks(path, raw)
    else:
        text = _decode(path, raw, warnings)
        if suffix in HTML_SUFFIXES:
            page = visible_text(text)
            if is_navigation_page(page):
                raise SkippedFile(
                    path,
                    f"it is a table of contents or index ({page.link_share:.0%} of it links), "
                    "not content",
                )
            blocks = tuple(
                Block(part.text, part.level > 0, "paragraph", n, n, level=max(1, part.level))
                for n, part in enumerate(page.blocks, start=1)
            )
            meta_title = _page_title(page.title, page.blocks)
            stated_url = page.url
        else:
            meta, first_line = front_matter(text)
            title_value = meta.get("title")
            meta_title = " ".join(str(title_value).split()) if title_value is not None else ""
            stated = meta.get("url") or meta.get("source")
            stated_url = stated if isinstance(stated, str) else ""
            lines = text.splitlines()[first_line:]
            if suffix in MARKDOWN_SUFFIXES:
                blocks = markdown_blocks("\n".join(lines), first_line + 1)
            else:
                blocks = _line_blocks(lines, first_line + 1)
    blocks = clean_blocks(blocks)
    if not blocks:
        raise SkippedFile(path, "no text left after removing markup and page furniture")
    title = meta_title or _title_from_blocks(blocks, markdown_or_html=suffix not in TEXT_SUFFIXES)
    document = Document(
        source=source,
        title=title or path.stem,
        blocks=blocks,
        content_hash=hashlib.sha256(raw).hexdigest(),
        url=web_address(stated_url),
    )
    return document, warnings


def web_address(url: str) -> str:
    """Return url if it is an absolute http(s) address fit for a chat link, else ""."""
    url = url.strip()
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme.lower() not in ("http", "https") or not parsed.netloc:
        return ""  # javascript:, file:, relative paths: never a link
    if len(url) > _MAX_URL_CHARS or any(char.isspace() or ord(char) < 32 for char in url):
        return ""
    return url


def _page_title(title: str, blocks: Sequence[HtmlBlock]) -> str:
    """Drop a site name from a page title: "Database transactions | Django docs" -> its h1."""
    first_heading = next((block.text for block in blocks if block.level == 1), "")
    if first_heading and title.startswith(first_heading) and len(first_heading) < len(title):
        rest = title[len(first_heading) :].lstrip()
        if rest[:1] in ("|", "—", "-", "–", "·", ":"):
            return first_heading
    return title


# Byte order marks of the encodings that hold NUL bytes; UTF-32 first, as it starts like UTF-16.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Terminal escape sequences (colours, cursor moves, window titles) and other control
# characters: a document must never drive the terminal of whoever reads an answer.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROLS = dict.fromkeys([*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), *range(0x7F, 0xA0)], None)


def strip_controls(text: str) -> str:
    """Remove escape sequences and control characters, keeping tabs and line breaks."""
    return _ESCAPES.sub("", text).translate(_CONTROLS)


def _decode(path: Path, raw: bytes, warnings: list[str]) -> str:
    for bom, encoding in _WIDE_BOMS:
        if raw.startswith(bom):
            try:
                return strip_controls(raw.decode(encoding))
            except UnicodeDecodeError as exc:
                reason = f"not valid {encoding.upper()}; re-save it as UTF-8"
                raise SkippedFile(path, reason) from exc
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
    text = _ESCAPES.sub("", text)  # a captured terminal log is text, its colours are not
    controls = sum(
        1 for char in text[:20000] if unicodedata.category(char) == "Cc" and char not in "\t\n\r\f"
    )
    if controls > 0.05 * min(len(text), 20000):
        raise SkippedFile(path, "it looks binary (control characters), not text")
    return text.translate(_CONTROLS)


def _line_blocks(lines: list[str], first_number: int) -> tuple[Block, ...]:
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


def _title_from_blocks(blocks: Iterable[Block], *, markdown_or_html: bool) -> str:
    blocks = list(blocks)
    if markdown_or_html:
        for block in blocks:
            if block.is_heading:
                return clip_words(block.text, _TITLE_LIMIT)
    return clip_words(blocks[0].text, _TITLE_LIMIT) if blocks else ""


def _pdf_blocks(path: Path, raw: bytes) -> tuple[Block, ...]:
    import io  # noqa: PLC0415

    from pypdf import PdfReader  # noqa: PLC0415 (only PDF ingests pay for the import)
    from pypdf.errors import DependencyError, LimitReachedError, PyPdfError  # noqa: PLC0415

    try:
        reader = PdfReader(io.BytesIO(raw))
        if reader.is_encrypted and not reader.decrypt(""):
            raise SkippedFile(path, "the PDF is password-protected; save an unlocked copy")
        pages = [page.extract_text() or "" for page in reader.pages]
    except SkippedFile:
        raise
    except DependencyError as exc:  # AES encryption needs the optional cryptography package
        raise SkippedFile(
            path, "the PDF is encrypted (AES); save an unlocked copy, or pip install cryptography"
        ) from exc
    except LimitReachedError as exc:
        raise SkippedFile(
            path, f"the PDF expands past the decompression limit ({exc}); is it a zip bomb?"
        ) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise SkippedFile(path, f"not a readable PDF ({exc}); re-export it") from exc
    blocks: list[Block] = []
    for number, page_text in enumerate(pages, start=1):
        # Re-join words hyphenated across line breaks, then split on blank lines.
        joined = re.sub(r"(\w)-\n(\w)", r"\1\2", strip_controls(page_text))
        for paragraph in re.split(r"\n\s*\n", joined):
            text = " ".join(paragraph.split())
            if text:
                blocks.append(Block(text, False, "page", number, number))
    if not blocks:
        raise SkippedFile(
            path, "the PDF has no text layer (scanned?); run OCR on it (e.g. ocrmypdf) first"
        )
    return tuple(blocks)
