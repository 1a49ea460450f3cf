"""The document formats citebot reads, one module each; a new format is one module and one line."""

from __future__ import annotations

from ingest.formats import docx, html, markdown, pdf, rst, text
from ingest.formats.base import Format

FORMATS: tuple[Format, ...] = (
    text.FORMAT,
    markdown.FORMAT,
    html.FORMAT,
    pdf.FORMAT,
    docx.FORMAT,
    rst.FORMAT,
)
_BY_SUFFIX = {suffix: entry for entry in FORMATS for suffix in entry.suffixes}
SUPPORTED_SUFFIXES = frozenset(_BY_SUFFIX)
# How messages name the formats, each by its usual suffix: ".txt, .md, … or .rst".
_USUAL = [entry.suffixes[0] for entry in FORMATS]
SUPPORTED_LIST = ", ".join(_USUAL[:-1]) + " or " + _USUAL[-1]


def format_for(suffix: str) -> Format | None:
    """Return the format that reads files with this suffix (any case), if any."""
    return _BY_SUFFIX.get(suffix.lower())
