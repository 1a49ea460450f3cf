"""Words as the lexical search sees them: lower-cased, stop words dropped, lightly stemmed."""

from __future__ import annotations

import functools
import re
import unicodedata

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")

STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "s",
        "t",
        "don",
        "now",
        "also",
        "may",
        "might",
        "must",
        "shall",
        "us",
        "let",
        "get",
        "got",
        "really",
        "actually",
        "thing",
        "things",
    ]
)


@functools.lru_cache(maxsize=1 << 16)  # a corpus repeats its words: ~8x fewer calls at ingest
def stem(word: str) -> str:
    """Strip common English suffixes so 'models' matches 'model' and 'trained' matches 'train'."""
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "es", "ly", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            root = word[: -len(suffix)]
            # running -> runn -> run; but keep "fall", "miss", "buzz".
            if suffix in ("ing", "ed") and root[-1] == root[-2] and root[-1] not in "lsz":
                root = root[:-1]
            word = root
            break
    # release / released / releases all meet at "releas".
    return word[:-1] if word.endswith("e") and len(word) > 4 else word


def to_terms(text: str) -> list[str]:
    """Split text into stemmed content words, in order, repeats kept."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    terms = []
    for match in _WORD.finditer(folded):
        word = match.group().replace("'", "")
        if word in STOP_WORDS or (len(word) == 1 and not word.isdigit()):
            continue
        terms.append(stem(word))
    return terms
