"""Words as the lexical search sees them: lower-cased, stop words dropped, lightly stemmed."""

from __future__ import annotations

import functools
import math
import re
import unicodedata

import Stemmer

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


# Contractions lose their apostrophe before matching ("didn't" -> "didnt"): all are stop words.
CONTRACTIONS = frozenset(
    [
        "aint",
        "arent",
        "cant",
        "couldnt",
        "didnt",
        "doesnt",
        "dont",
        "hadnt",
        "hasnt",
        "havent",
        "hes",
        "id",
        "ill",
        "im",
        "isnt",
        "ive",
        "lets",
        "shes",
        "shouldnt",
        "thats",
        "theres",
        "theyre",
        "theyve",
        "wasnt",
        "were",
        "weve",
        "whats",
        "whos",
        "wont",
        "wouldnt",
        "youre",
        "youve",
        "youll",
        "hows",
        "whys",
        "wheres",
    ]
)
# Words people type in chat that say nothing about the subject ("is there a way to", "like",
# "pls"). Dropped from questions only: documents keep them, so their counts stay true.
CHAT_FILLER = frozenset(
    [
        "actually",
        "anybody",
        "anyone",
        "anything",
        "basically",
        "btw",
        "definitely",
        "folks",
        "gonna",
        "gotta",
        "guys",
        "hello",
        "hey",
        "hi",
        "idea",
        "kinda",
        "know",
        "like",
        "lol",
        "maybe",
        "ok",
        "okay",
        "oops",
        "please",
        "pls",
        "plz",
        "possible",
        "probably",
        "seems",
        "someone",
        "somebody",
        "something",
        "somehow",
        "sorta",
        "stuff",
        "sure",
        "thanks",
        "thank",
        "thx",
        "trying",
        "ugh",
        "wanna",
        "want",
        "wondering",
        "way",
        "ways",
        "whatever",
    ]
)

_STEMMER = Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=1 << 16)  # a corpus repeats its words: ~8x fewer calls at ingest
def stem(word: str) -> str:
    """Reduce a word to its Snowball (Porter 2) stem: 'regulating' and 'regulation' meet."""
    return str(_STEMMER.stemWord(word))


def to_terms(text: str) -> list[str]:
    """Split text into stemmed content words, in order, repeats kept."""
    return [stem(word) for word in _words(text)]


def query_words(question: str) -> list[str]:
    """Split a question into the (lower-cased, unstemmed) words that say what it is about."""
    return [word for word in _words(question) if word not in CHAT_FILLER]


def query_terms(question: str) -> list[str]:
    """Split a question into the stemmed words that say what it is about."""
    return [stem(word) for word in query_words(question)]


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    words = []
    for match in _WORD.finditer(folded):
        word = match.group().replace("'", "")
        if word in STOP_WORDS or word in CONTRACTIONS or (len(word) == 1 and not word.isdigit()):
            continue
        words.append(word)
    return words


def inverse_document_frequency(total_chunks: int, chunks_with_term: int) -> float:
    """Weigh a term by how rare it is among the chunks, as BM25 does (never below zero)."""
    return math.log(1 + (total_chunks - chunks_with_term + 0.5) / (chunks_with_term + 0.5))
