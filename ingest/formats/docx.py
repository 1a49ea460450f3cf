"""Word documents (.docx): paragraphs and tables in reading order, headings from their styles."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

from ingest.document import Block
from ingest.formats.base import Format, Parsed, SkippedFile
from ingest.formats.decoding import strip_controls

# A .docx is a zip that python-docx reads whole into memory: a few kilobytes can declare
# gigabytes. Real documents with pictures stay far below this.
_MAX_EXPANDED_BYTES = 256 * 1024 * 1024
_HEADING_STYLE = re.compile(r"heading (\d)", re.IGNORECASE)


def read_docx(path: Path, raw: bytes, warnings: list[str]) -> Parsed:
    """Read a .docx file's body: one block per paragraph, one per table row."""
    import docx  # noqa: PLC0415 (only .docx ingests pay for the import)
    from docx.opc.exceptions import OpcError  # noqa: PLC0415
    from lxml.etree import LxmlError  # noqa: PLC0415

    _refuse_bombs(path, raw)
    try:
        document = docx.Document(io.BytesIO(raw))
        parts = list(document.iter_inner_content())
        title = document.core_properties.title or ""
    except (OpcError, zipfile.BadZipFile, LxmlError, KeyError, ValueError) as exc:
        raise SkippedFile(
            path,
            f"not a readable .docx ({exc}); if it is password-protected, save an unlocked copy",
        ) from exc
    blocks: list[Block] = []
    for part in parts:
        for raw_text, level in _part_texts(part):
            text = " ".join(strip_controls(raw_text).split())
            if text:
                n = len(blocks) + 1
                blocks.append(Block(text, level > 0, "paragraph", n, n, level=max(1, level)))
    return Parsed(tuple(blocks), " ".join(title.split()))


def _refuse_bombs(path: Path, raw: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise SkippedFile(
            path,
            "not a .docx (not a zip archive); if it is password-protected or an old .doc, "
            "save it as .docx without a password",
        ) from exc
    if expanded > _MAX_EXPANDED_BYTES:
        raise SkippedFile(
            path,
            f"it expands to {expanded / 1e6:.0f} MB, past the {_MAX_EXPANDED_BYTES / 1e6:.0f} "
            "MB limit; is it a zip bomb?",
        )


def _part_texts(part: Any) -> list[tuple[str, int]]:
    """Return (text, heading level or 0) for a paragraph, or one entry per row of a table."""
    if hasattr(part, "rows"):  # a table: each row reads as "cell | cell"
        rows = []
        for row in part.rows:
            cells: list[str] = []
            for cell in row.cells:
                text = " ".join(cell.text.split())
                if text and (not cells or cells[-1] != text):  # merged cells repeat their text
                    cells.append(text)
            rows.append((" | ".join(cells), 0))
        return rows
    style = part.style.name if part.style is not None else ""
    if style == "Title":
        return [(part.text, 1)]
    heading = _HEADING_STYLE.fullmatch(style)
    if heading:
        return [(part.text, int(heading.group(1)))]
    if style.startswith("List"):
        return [("- " + part.text, 0)]
    return [(part.text, 0)]


FORMAT = Format("Word", (".docx",), read_docx)
