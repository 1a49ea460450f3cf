"""Bytes to text for the text-based formats: encodings, byte order marks, control characters."""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from ingest.formats.base import SkippedFile

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


def decode_text(path: Path, raw: bytes, warnings: list[str]) -> str:
    """Decode a text file (UTF-8, UTF-16/32 with a BOM, or Windows-1252), controls removed."""
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
