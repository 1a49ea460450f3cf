"""Hybrid retrieval: dense FAISS neighbours and BM25 term matches, fused by normalised score."""

from __future__ import annotations

from collections.abc import Mapping

from index.embedder import Embedder
from index.lexical import to_terms
from index.records import Hit
from index.store import StoredIndex

# Weight of the dense score in the fusion; BM25 gets the rest. Rank fusion (RRF) buried
# passages that only one retriever found at rank 1, so scores are fused instead.
DENSE_WEIGHT = 0.5
_COMMON_SHARE = 0.05
_COMMON_FLOOR = 1000  # corpora under about 1,000 chunks keep every term
_COMMON_CAP = 5000
# SQLite's BM25 costs about 1.3 µs a posting here: 10,000 postings bound it near 13 ms.
_POSTINGS_BUDGET = 10_000


def _min_max(scores: dict[int, float]) -> dict[int, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    spread = high - low
    return {key: (value - low) / spread if spread else 1.0 for key, value in scores.items()}


def selective_terms(frequencies: Mapping[str, int], total: int) -> list[str]:
    """Keep the terms rare enough to matter for BM25, so big corpora stay fast.

    SQLite scores every chunk that holds a query term. A term in thousands of chunks of a large
    corpus barely moves BM25 but costs milliseconds, so it is left to the dense search, and the
    rarest terms (the ones BM25 weighs most) are kept until their postings fill a budget. Small
    corpora keep every term.
    """
    if total <= _COMMON_FLOOR:
        return list(frequencies)
    ceiling = max(_COMMON_FLOOR, min(int(total * _COMMON_SHARE), _COMMON_CAP))
    kept, postings = [], 0
    for term, count in sorted(frequencies.items(), key=lambda item: item[1]):
        if count > ceiling or postings + count > _POSTINGS_BUDGET:
            break
        kept.append(term)
        postings += count
    return kept


def search(
    index: StoredIndex,
    embedder: Embedder,
    question: str,
    *,
    top_k: int,
    candidates: int = 40,
    dense_weight: float = DENSE_WEIGHT,
    frequencies: Mapping[str, int] | None = None,
) -> list[Hit]:
    """Return the top_k chunks for a question, best first."""
    query = embedder.embed_batch([question])[0]
    pool = max(candidates, top_k)
    similarity = dict(index.search_dense(query, pool))
    if frequencies is None:
        frequencies = index.document_frequencies(to_terms(question))
    terms = selective_terms(frequencies, index.chunk_count)
    lexical = dict(index.search_lexical(terms, pool))
    similarity |= index.similarities(query, sorted(lexical.keys() - similarity.keys()))
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
