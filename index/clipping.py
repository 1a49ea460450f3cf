"""One way to shorten text for display: between words, marked with an ellipsis."""

from __future__ import annotations

ELLIPSIS = "…"


def clip_words(text: str, limit: int) -> str:
    """Shorten text to at most limit characters, cut between words and marked with "…".

    A word that ends exactly where the room ends is kept; a single word longer than the room
    (a hash, a URL) is cut inside, as nothing else would fit.
    """
    if len(text) <= limit:
        return text
    room = max(limit - len(ELLIPSIS), 0)
    head = text[:room]
    if head and not text[room].isspace():  # the cut falls inside a word: leave it out
        parts = head.rsplit(None, 1)
        head = parts[0] if len(parts) == 2 else head
    return head.rstrip(" \t\n,;:") + ELLIPSIS
