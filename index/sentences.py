"""Sentence boundaries, shared by the chunker and the answer composer so quotes stay whole."""

from __future__ import annotations

import re

# A candidate boundary: terminal punctuation, optional closing quotes/brackets, then space and a
# character that can start a sentence. A run is only tried from its first character and never
# given back (possessive), so a line of 40,000 dots costs linear time, not quadratic.
_BOUNDARY = re.compile(r"""(?<![.!?…])[.!?…]++["”’')\]`]*+(?=\s+["“‘(\[`]?[A-Z0-9])""")
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "inc",
        "ltd",
        "co",
        "corp",
        "u.s",
        "u.k",
        "sec",
        "no",
        "fig",
        "al",
        "approx",
        "dept",
        "est",
        "gov",
        "jan",
        "feb",
        "mar",
        "apr",
        "jun",
        "jul",
        "aug",
        "sep",
        "sept",
        "oct",
        "nov",
        "dec",
        "p",
        "pp",
        "vol",
        "ed",
        "eds",
    ]
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Return (start, end) offsets of each sentence in text, whitespace excluded."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        token = _word_before(text, start, match.start()).lstrip("(\"“‘'").lower()
        if match.group()[0] == "." and (
            token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())
        ):
            continue  # "U.S. law", "J. Smith": not the end of a sentence
        _append(spans, text, start, end)
        start = end
    _append(spans, text, start, len(text))
    return spans


def _word_before(text: str, start: int, end: int) -> str:
    """Return the word ending at end (not before start), looking back only as far as it goes."""
    begin = end
    while begin > start and not text[begin - 1].isspace():
        begin -= 1
    return text[begin:end]


def _append(spans: list[tuple[int, int]], text: str, start: int, end: int) -> None:
    piece = text[start:end]
    stripped = piece.strip()
    if stripped:
        offset = start + (len(piece) - len(piece.lstrip()))
        spans.append((offset, offset + len(stripped)))


def split_sentences(text: str) -> list[str]:
    """Split text into sentences."""
    return [text[start:end] for start, end in sentence_spans(text)]


# A document's opening line summarises it when it is short enough to read at a glance and long
# enough to say something: "git-clean - Remove untracked files from the working tree".
_SUMMARY_MAX_CHARS = 240
_SUMMARY_MIN_WORDS = 3


def opening_summary(first_chunk_text: str) -> str:
    """Return a document's opening line if it summarises the document, else ""."""
    line = first_chunk_text.split("\n", 1)[0].strip()
    if len(line) > _SUMMARY_MAX_CHARS or len(line.split()) < _SUMMARY_MIN_WORDS:
        return ""
    return line


def opening_line(first_chunk_text: str) -> str:
    """Return the summary line, or else the first sentence of a long opening paragraph.

    Shown with passages from deeper in the page, the first sentence often says what the page is
    for; as the page's summary for search it cost MRR on the Django tuning half (0.564 -> 0.530):
    an introduction is not a summary.
    """
    line = first_chunk_text.split("\n", 1)[0].strip()
    if len(line) > _SUMMARY_MAX_CHARS:
        spans = sentence_spans(line)
        return opening_summary(line[: spans[0][1]]) if spans else ""
    return opening_summary(line)
