"""Hybrid retrieval: dense FAISS neighbours and BM25 term matches, fused by normalised score."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from index.embedder import Embedder, Vectors
from index.lexical import query_words, stem
from index.records import Hit
from index.store import StoredIndex

# Weight of the dense score in the fusion; BM25 gets the rest. Rank fusion (RRF) buried
# passages that only one retriever found at rank 1, so scores are fused instead.
DENSE_WEIGHT = 0.5
CANDIDATES = 40
# Below this many chunks every question term is searched: dropping common terms ("table",
# "commit") cost recall on real manuals of 10-20k chunks. Above it, speed guards apply.
_LARGE_CORPUS = 200_000
_COMMON_SHARE = 0.05
_COMMON_CAP = 5000
# SQLite's BM25 costs about 1.3 µs a posting here: 10,000 postings bound it near 13 ms.
_POSTINGS_BUDGET = 10_000
_UNKNOWN_MIN_LETTERS = 4

TokenCounter = Callable[[Sequence[str]], list[int]]


@dataclass(frozen=True, slots=True)
class Query:
    """A question parsed once where it enters: its words, their counts and its vector."""

    text: str
    terms: tuple[str, ...]  # stemmed content words, stop words and chat filler dropped
    frequencies: Mapping[str, int]  # chunks of the index holding each term
    total_chunks: int
    vector: Vectors
    unknown: tuple[str, ...] = ()  # words naming things the corpus never mentions


def make_query(index: StoredIndex, embedder: Embedder, question: str) -> Query:
    """Parse and embed a question against one index generation."""
    words = query_words(question)
    terms = tuple(stem(word) for word in words)
    frequencies = index.document_frequencies(terms)
    return Query(
        text=question,
        terms=terms,
        frequencies=frequencies,
        total_chunks=index.chunk_count,
        vector=embedder.embed_batch([question])[0],
        unknown=unknown_words(words, frequencies, embedder.count_tokens),
    )


def unknown_words(
    words: Sequence[str], frequencies: Mapping[str, int], count_tokens: TokenCounter
) -> tuple[str, ...]:
    """Return the question's words that name something the corpus never mentions.

    On a technical manual every question is on topic and some passage always looks similar, so
    similarity alone answers everything. A word no passage uses ("bitbucket", "celery",
    "kubernetes") says the question is about something the documents don't cover; the corpus's
    own vocabulary is the calibration. Two guards keep paraphrase from declining: the word must
    be unusual in general English too (the embedding model's tokenizer splits it: "belong" or
    "purge" stay whole, "gitlab" does not), and numbers and short tokens (versions, ids) are
    details, not subjects.
    """
    candidates = [
        word
        for word in dict.fromkeys(words)
        if frequencies.get(stem(word), 0) == 0
        and word.isalpha()
        and len(word) >= _UNKNOWN_MIN_LETTERS
    ]
    if not candidates:
        return ()
    pieces = count_tokens(candidates)
    return tuple(word for word, count in zip(candidates, pieces, strict=True) if count > 1)


def _min_max(scores: dict[int, float]) -> dict[int, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    spread = high - low
    return {key: (value - low) / spread if spread else 1.0 for key, value in scores.items()}


def selective_terms(frequencies: Mapping[str, int], total: int) -> list[str]:
    """Keep the terms rare enough to matter for BM25, so very large corpora stay fast.

    SQLite scores every chunk that holds a query term. In a corpus of hundreds of thousands of
    chunks a term in thousands of them barely moves BM25 but costs milliseconds, so it is left
    to the dense search, and the rarest terms are kept until their postings fill a budget.
    Corpora below that size keep every term: there the guard cost recall and saved little.
    """
    if total <= _LARGE_CORPUS:
        return list(frequencies)
    ceiling = min(int(total * _COMMON_SHARE), _COMMON_CAP)
    kept, postings = [], 0
    for term, count in sorted(frequencies.items(), key=lambda item: item[1]):
        if count > ceiling or postings + count > _POSTINGS_BUDGET:
            break
        kept.append(term)
        postings += count
    return kept


def search(
    index: StoredIndex,
    query: Query,
    *,
    top_k: int,
    candidates: int = CANDIDATES,
    dense_weight: float = DENSE_WEIGHT,
) -> list[Hit]:
    """Return the top_k chunks for a question, best first."""
    pool = max(candidates, top_k)
    similarity = dict(index.search_dense(query.vector, pool))
    terms = selective_terms(query.frequencies, index.chunk_count)
    lexical = dict(index.search_lexical(terms, pool))
    similarity |= index.similarities(query.vector, sorted(lexical.keys() - similarity.keys()))
    dense_part = _min_max(similarity)
    lexical_max = max(lexical.values(), default=0.0)
    fused = {
        chunk_id: dense_weight * dense_part[chunk_id]
        + (1 - dense_weight) * (lexical.get(chunk_id, 0.0) / lexical_max if lexical_max else 0.0)
        for chunk_id in similarity
    }
    best = sorted(fused, key=lambda chunk_id: fused[chunk_id], reverse=True)[:top_k]
    chunks = index.chunks(best)
    return [
        Hit(
            chunk=chunks[chunk_id],
            score=fused[chunk_id],
            similarity=similarity[chunk_id],
            rank=rank,
        )
        for rank, chunk_id in enumerate(best, start=1)
    ]
