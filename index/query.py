"""A question as search and answering use it: parsed and embedded once, where it enters."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from index.embedder import Embedder, TokenCounter, Vectors
from index.lexical import query_words, stem, to_terms
from index.ordinary_words import is_common_english, is_ordinary_english
from index.store import StoredIndex

_UNKNOWN_MIN_LETTERS = 4
RARE_MENTIONS = 3  # chunks that may mention a name "in passing"


@dataclass(frozen=True, slots=True)
class Query:
    """A question parsed once where it enters: its words, their counts and its vector."""

    text: str
    terms: tuple[str, ...]  # stemmed content words, stop words and chat filler dropped
    frequencies: Mapping[str, int]  # chunks of the index holding each term
    total_chunks: int
    vector: Vectors
    unknown: tuple[str, ...] = ()  # words naming things the corpus never mentions
    # Names in the question the corpus mentions only in passing (a release note's one line):
    # an answer must quote a passage that mentions them, or it is about something else.
    rare: tuple[str, ...] = ()
    earlier: tuple[str, ...] = ()  # the conversation's previous questions, oldest first


def make_query(
    index: StoredIndex, embedder: Embedder, question: str, earlier: Sequence[str] = ()
) -> Query:
    """Parse and embed a question against one index generation.

    earlier: the conversation's previous questions, oldest first. A follow-up ("and what's the
    default?") names little on its own, so it is searched with what came before: their words
    join its keywords, and its vector is the sum of its own and theirs, so the follow-up keeps
    as much weight as all the context (recall@5 on the follow-up pairs: see docs/quality.md).
    """
    context = " ".join(earlier)
    searched = f"{context} {question}" if context else question
    words = query_words(searched)
    terms = tuple(stem(word) for word in words)
    frequencies = index.document_frequencies(terms)
    vectors = embedder.embed_batch([question, context] if context else [question])
    vector = unit(vectors.sum(axis=0)) if context else vectors[0]
    unknown = unknown_words(
        [word for word in words if word not in _identifier_parts(searched)],
        frequencies,
        embedder.count_tokens,
    )
    rare = unknown_words(
        # The question's own words only: a follow-up's subject came with the earlier one.
        [word for word in query_words(question) if word not in _identifier_parts(question)],
        frequencies,
        embedder.count_tokens,
        mentions=range(1, RARE_MENTIONS + 1),
    )
    variants = corpus_variants([*unknown, *rare], index.document_frequencies)
    names = unwritten_names(question, index)
    return Query(
        text=question,
        terms=terms,
        frequencies=frequencies,
        total_chunks=index.chunk_count,
        vector=vector,
        unknown=(*(word for word in unknown if word not in variants), *names),
        rare=tuple(word for word in rare if word not in variants),
        earlier=tuple(earlier),
    )


# A name typed as code says it names something: words joined by "_" (`db_default`, `spec_set`)
# or a call (`aget()`, `client.get()`). Digits make it an id or a version
# ("py3_11"), a slash or dot before it part of a path or a URL.
_CODE_NAME = re.compile(
    r"(?<![\w/.\-])(?:_?[A-Za-z][A-Za-z0-9]*(?:_+[A-Za-z0-9]+)+(?:\(\))?"
    r"|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\(\))(?![\w/\-])"
)
# "our cache_dir", "a helper called fetch_all()", "my_app", "test_login", "foo_bar()": the
# asker's own names (by what precedes them, or by the first word of their own), which no manual
# writes and every question about them may still be answered.
_OWN_NAME = re.compile(r"\b(?:my|our|your|their|called|named)\s+$", re.IGNORECASE)
_OWN_FIRST_WORDS = frozenset(
    ["my", "our", "your", "test", "tests", "foo", "bar", "baz", "some", "example", "sample"]
)


def unwritten_names(question: str, index: StoredIndex) -> tuple[str, ...]:
    """Return the names the question writes as code that the documents never write.

    An API the documents don't document is the surest sign a question is about something else
    ("does it support `db_default`?" of a manual from before `db_default` existed); its words
    alone ("db", "default") are everywhere, so only the name itself tells. A call of one
    ordinary word ("print()", "foo()") names nothing its word doesn't.
    """
    names = []
    for match in _CODE_NAME.finditer(question):
        name = match.group()
        first_word = re.split(r"[_.]+", name.strip("_").casefold(), maxsplit=1)[0]
        if (
            any(char.isdigit() for char in name)
            or _OWN_NAME.search(question[: match.start()])
            or first_word in _OWN_FIRST_WORDS
            or name.isupper()  # an environment variable or setting: "STRIPE_SECRET_KEY" is theirs
        ):
            continue
        # Its last part: the asker may qualify it otherwise ("models.Model.save()" of "save()").
        bare = name.removesuffix("()").rsplit(".", 1)[-1]
        terms = to_terms(bare)
        if not terms or (len(terms) == 1 and is_ordinary_english(bare)):
            continue
        if not _writes(index, terms, bare.casefold()):
            names.append(name)
    return tuple(dict.fromkeys(names))


_NAME_CHECKS = 200  # chunks read to find a name written out; more hold its words: it is common


def _writes(index: StoredIndex, terms: Sequence[str], name: str) -> bool:
    """Tell whether any chunk writes the name itself, not only its words in a row ("the db is
    the default" is "db default" to the keyword index, stop words aside)."""
    found = index.phrase_chunks(terms, _NAME_CHECKS)
    if len(found) >= _NAME_CHECKS:
        return True
    chunks = index.chunks(found).values()
    return any(name in f"{c.title} {c.section} {c.text}".casefold() for c in chunks)


# English affixes that make a word from another without naming a new thing: "subfolder",
# "reinstalls", "linter", "callers", "monorepo".
_PREFIXES = (
    "auto", "co", "de", "inter", "mono", "multi", "non", "over", "pre", "re", "sub", "super",
    "un", "under",
)  # fmt: skip
_SUFFIXES = ("ers", "er", "es", "ing", "ed", "s", "able", "ly")
_BASE_MIN_LETTERS = 4


def corpus_variants(
    words: Sequence[str], document_frequencies: Callable[[Sequence[str]], Mapping[str, int]]
) -> set[str]:
    """Return the words that are a word of the corpus with an English prefix or suffix.

    The corpus never says "subfolder", "linter" or "monorepo", but it says "folder", "lint" and
    "repo": such a word is chat's way of saying what the documents say, not the name of
    something they don't cover ("bitbucket", "dependabot" have no such base). Tuning halves:
    Git's one false decline ("monorepo") answered; no decline of an unanswerable question lost.
    A word's own stem is no base: "pycharm's", mentioned in passing, stays that name.
    """
    bases = {
        word: [
            base
            for base in (
                *(word[len(p) :] for p in _PREFIXES if word.startswith(p)),
                *(word[: -len(s)] for s in _SUFFIXES if word.endswith(s)),
                # "grazer": "graz" + "e", the e a vowel-led suffix takes away
                *(word[: -len(s)] + "e" for s in _SUFFIXES if word.endswith(s) and s[0] in "aeiou"),
            )
            # Another word: "pycharms" is PyCharm, mentioned in passing, not a variant of it.
            if stem(base) != stem(word)
        ]
        for word in words
    }
    stems = {
        stem(base) for found in bases.values() for base in found if len(base) >= _BASE_MIN_LETTERS
    }
    if not stems:
        return set()
    counts = document_frequencies(sorted(stems))
    return {
        word
        for word, found in bases.items()
        if any(len(base) >= _BASE_MIN_LETTERS and counts.get(stem(base), 0) for base in found)
    }


# A path the asker types ("./.venv", "../artifacts", "~/src") says where, not what about.
_LOCAL_PATH = re.compile(r"[(\[\"'`]*(?:\.{1,2}|~)?/")


def _identifier_parts(question: str) -> set[str]:
    """Return the words inside tokens that are ids or paths, details rather than subjects:
    "gabc" of v2.1-14-gabc, "venv" of "./.venv" (Hatch's tuning half: "want the default env
    to live in ./.venv" was declined because the passages on where environments live don't say
    "venv"). A URL is no local path: "gitlab" of https://gitlab.com/… is still its subject."""
    return {
        word
        for token in question.split()
        if any(char.isdigit() for char in token) or _LOCAL_PATH.match(token)
        for word in query_words(token)
    }


def unknown_words(
    words: Sequence[str],
    frequencies: Mapping[str, int],
    count_tokens: TokenCounter,
    *,
    mentions: range = range(1),
) -> tuple[str, ...]:
    """Return the question's words that name something the corpus never mentions.

    On a technical manual every question is on topic and some passage always looks similar, so
    similarity alone answers everything. A word no passage uses ("bitbucket", "celery",
    "kubernetes") says the question is about something the documents don't cover; the corpus's
    own vocabulary is the calibration. Three guards keep paraphrase and chat from declining: the
    word must be unusual in general English (the embedding model's tokenizer splits it: "belong"
    or "purge" stay whole, "gitlab" does not), it must not be an ordinary English word all the
    same ("regenerate" and "spits" are split too: see index/ordinary_words.py), and numbers and
    short tokens (versions, ids) are details, not subjects.

    mentions: how many chunks may hold the word (none, by default; 1 to RARE_MENTIONS for the
    names a corpus mentions only in passing).
    """
    candidates = [
        word
        for word in dict.fromkeys(words)
        if frequencies.get(stem(word), 0) in mentions
        and word.isalpha()
        and len(word) >= _UNKNOWN_MIN_LETTERS
    ]
    if not candidates:
        return ()
    pieces = count_tokens(candidates)
    # A word the corpus does mention is held to a stricter test of being a name: declining
    # over it says the passages found are about something else, a claim a chat word can't carry.
    mentioned = 0 not in mentions
    return tuple(
        word
        for word, count in zip(candidates, pieces, strict=True)
        if count > 1
        and not is_ordinary_english(word)
        and not (mentioned and is_common_english(word))
    )


def unit(vector: Vectors) -> Vectors:
    """Scale a vector to length one, as stored vectors are, so inner products are cosines."""
    return (vector / max(float(np.linalg.norm(vector)), 1e-9)).astype(np.float32)
