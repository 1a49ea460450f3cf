"""Text helpers both chat adapters share: neutralising mass mentions and clipping excerpts."""

from __future__ import annotations

import re

from index.clipping import clip_words

# A word joiner after "@" keeps "@everyone" readable but stops any client treating it as a ping.
_MASS_MENTION = re.compile(r"@(?=(?:everyone|here|channel)\b)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def defuse_mass_mentions(text: str) -> str:
    """Break "@everyone", "@here" and "@channel" so no client can read them as pings."""
    return _MASS_MENTION.sub("@" + WORD_JOINER, text)


def clip(text: str, limit: int) -> str:
    """Fold whitespace and shorten to at most limit characters between words, marked with …."""
    return clip_words(" ".join(text.split()), limit)


def pack_lines(lines: list[str], limit: int) -> list[str]:
    """Join lines into pieces of at most limit characters, cutting a line only if it must."""
    pieces: list[str] = []
    current = ""
    for whole_line in lines:
        line = whole_line
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:cut])
            line = line[cut:].lstrip()
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces
