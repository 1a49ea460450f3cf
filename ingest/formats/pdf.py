"""PDF: the text layer, page by page; encrypted, broken and bomb files refused."""

from __future__ import annotations

import io
import re
from pathlib import Path

from ingest.document import Block
from ingest.formats.base import Format, Parsed, SkippedFile
from ingest.formats.decoding import strip_controls


def read_pdf(path: Path, raw: bytes, warnings: list[str]) -> Parsed:
    """Read a PDF's text layer into one block per paragraph, located by page."""
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
    return Parsed(tuple(blocks))


FORMAT = Format("PDF", (".pdf",), read_pdf)
