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
# python-docx builds the whole XML tree, about 900 bytes an element: 250 MB of empty
# paragraphs (366 KB zipped) took 5.3 GB. A 500-page report has some 300,000 elements.
_MAX_ELEMENTS = 400_000
_READ_BLOCK = 1 << 20
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
    """Skip a .docx that expands past the limit, or whose body has too many XML elements.

    Sizes are counted as the members are inflated, a block at a time, never taken from the zip
    directory (a member declared 2 KB inflated to 2 GB); elements are counted by a streaming
    parser that keeps nothing.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
            if declared > _MAX_EXPANDED_BYTES:
                raise _too_big(path, declared)
            expanded = 0
            for info in archive.infolist():
                with archive.open(info) as member:
                    while block := member.read(_READ_BLOCK):
                        expanded += len(block)
                        if expanded > _MAX_EXPANDED_BYTES:
                            raise _too_big(path, expanded, at_least=True)
            if "word/document.xml" in archive.namelist():
                _count_elements(path, archive)
    except zipfile.BadZipFile as exc:
        if "CRC" in str(exc):
            # A member inflated to other than what the directory declared: a crafted file.
            raise SkippedFile(
                path, f"its zip data doesn't match its directory ({exc}); is it a zip bomb?"
            ) from exc
        raise _not_a_docx(path) from exc
    except (ValueError, OSError, EOFError) as exc:
        raise _not_a_docx(path) from exc


def _not_a_docx(path: Path) -> SkippedFile:
    return SkippedFile(
        path,
        "not a .docx (not a zip archive); if it is password-protected or an old .doc, "
        "save it as .docx without a password",
    )


def _too_big(path: Path, size: int, *, at_least: bool = False) -> SkippedFile:
    more = "more than " if at_least else ""
    return SkippedFile(
        path,
        f"it expands to {more}{size / 1e6:.0f} MB, past the {_MAX_EXPANDED_BYTES / 1e6:.0f} "
        "MB limit; is it a zip bomb?",
    )


def _count_elements(path: Path, archive: zipfile.ZipFile) -> None:
    from lxml import etree  # noqa: PLC0415 (installed with python-docx)

    count = 0
    with archive.open("word/document.xml") as body:
        try:
            for _, element in etree.iterparse(body, events=("end",), resolve_entities=False):
                count += 1
                element.clear()  # and keep nothing: this pass only counts
                if count > _MAX_ELEMENTS:
                    raise SkippedFile(
                        path,
                        f"its text has more than {_MAX_ELEMENTS:,} XML elements, past what "
                        "citebot reads in bounded memory; split the document or save it as PDF",
                    )
        except etree.XMLSyntaxError:
            return  # python-docx says what is wrong with it


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
