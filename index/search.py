"""Hybrid retrieval: dense FAISS neighbours and BM25 term matches, fused by normalised score."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from index.embedder import Vectors
from index.lexical import inverse_document_frequency
from index.passages import choose_passages, joined, lede
from index.query import Query, unit
from index.records import Hit
from index.store import StoredIndex

# Weight of the dense score in the fusion; BM25 gets the rest. Rank fusion (RRF) buried
# passages that only one retriever found at rank 1, so scores are fused instead. 0.7 of a pool
# of 100 beat 0.5 of 40 on the tuning halves of both real manuals (MRR +0.02 on each).
DENSE_WEIGHT = 0.7
CANDIDATES = 100
# Below this many chunks every question term is searched: dropping common terms ("table",
# "commit") cost recall on real manuals of 10-20k chunks. Above it, speed guards apply.
_LARGE_CORPUS = 200_000
_SMALL_CORPUS = 1000  # chunks; a handful of documents keeps every term
_UBIQUITOUS = 0.5  # share of the chunks above which a term is not worth searching
_COMMON_SHARE = 0.05
_COMMON_CAP = 5000
# SQLite's BM25 costs about 1.3 µs a posting here: 10,000 postings bound it near 13 ms.
_POSTINGS_BUDGET = 10_000
_BM25_K1 = 1.2  # SQLite FTS5's
_LEXICAL_FLOOR = 0.5  # share of the ideal keyword score that counts as a full match
_SUMMARY_WEIGHT = 0.4  # best of 0.2-0.8 on the tuning halves (MRR +0.01 on each over 0.3)
# Changelogs and release notes answer questions about versions and changes; for any other
# question their one-line entries ("Fix the default token variable name…") crowd out the guide.
# Tuning halves, penalties 0.05-0.3: Hatch MRR 0.617 -> 0.633, Django recall@5 0.800 -> 0.829
# from 0.2 on, Git (no release notes) unchanged; answers unchanged.
_CHANGELOG = re.compile(
    r"(^|/)(change[-_ ]?log|changes|history|news|release[-_ ]?notes?|relnotes|releases|"
    r"whats[-_]?new)([-_./]|$)|^(change ?log|changes|history|news|release notes?|what'?s new)\b|"
    r"\brelease notes\b|"
    # A release's announcement: "announce/release-2.2.0.html", "posts/release-hatch-180.md".
    r"(^|/)announce(ments)?/|(^|/)release[-_]([a-z]+[-_])?v?\d",
    re.IGNORECASE,
)
_ABOUT_VERSIONS = re.compile(
    r"\b(since|versions?|releases?|released|changed|changes|changelog|new in|added in|"
    r"deprecated|removed in|upgrad\w*|when (was|did|were))\b|\d+\.\d+",
    re.IGNORECASE,
)
_CHANGELOG_PENALTY = 0.2
_FEEDBACK_PASSAGES = 3
_FEEDBACK_WEIGHT = 0.5


def _ideal_score(query: Query, terms: Sequence[str]) -> float:
    """Return about what BM25 gives a passage that holds every term once."""
    return (_BM25_K1 + 1) * sum(
        inverse_document_frequency(query.total_chunks, query.frequencies.get(term, 0))
        for term in set(terms)
    )


def _min_max(scores: dict[int, float]) -> dict[int, float]:
    if not scores:
        return {}
    low, high = min(scores.values()), max(scores.values())
    spread = high - low
    return {key: (value - low) / spread if spread else 1.0 for key, value in scores.items()}


def selective_terms(frequencies: Mapping[str, int], total: int) -> list[str]:
    """Keep the terms worth a keyword search, so large corpora stay fast.

    SQLite scores every chunk that holds a query term. A term in more than half the chunks
    ("git" in Git's manual) weighs almost nothing in BM25 but costs the most: it is skipped
    (no change in recall on either real manual's tuning half; the slowest git question went
    from 43 to 30 ms). In a corpus of hundreds of thousands of chunks, terms in thousands of
    them are left to the dense search too, and the rarest terms are kept until their postings
    fill a budget. Below that size every other term is kept: dropping common terms ("table",
    "commit") cost recall on real manuals of 10-20k chunks.
    """
    if total <= _SMALL_CORPUS:
        return list(frequencies)
    if total <= _LARGE_CORPUS:
        return [term for term, count in frequencies.items() if count <= total * _UBIQUITOUS]
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
    """Return the top_k passages for a question, best first.

    Each passage is a matching chunk read together with its neighbours in the document: on real
    manuals the sentence that answers often sits just before or after the chunk that matched
    best (recall@5 0.40 -> 0.51 on the Django tuning questions). Passages are grown to about
    _PASSAGE_CHARS, not a fixed count of chunks: Git MRR 0.439 -> 0.469 on its tuning half,
    Django 0.564 -> 0.560, and 8% shorter on average (see docs/quality.md).
    """
    pool = max(candidates, top_k)
    terms = selective_terms(query.frequencies, index.chunk_count)
    lexical = dict(index.search_lexical(terms, pool))
    # Keyword scores are scaled by the best a passage could score for this question, not only
    # by the best any passage did: when only common words match, that match isn't inflated to
    # full weight over the dense score (recall@5 +0.03 to +0.06 on both tuning halves).
    best_possible = _LEXICAL_FLOOR * _ideal_score(query, terms)
    lexical_max = max(max(lexical.values(), default=0.0), best_possible)
    keyword = {chunk_id: score / lexical_max for chunk_id, score in lexical.items()}
    first = _fuse(index, query.vector, keyword, pool, dense_weight)
    fused = _fuse(index, _feedback(index, query.vector, first), keyword, pool, dense_weight)
    fused = _with_page_summaries(index, query.vector, fused)
    fused = _changelogs_after_the_guide(index, query, fused)
    ranked = sorted(fused, key=lambda chunk_id: fused[chunk_id], reverse=True)
    centres, chunks, extents = choose_passages(index, ranked, top_k)
    # A document's chunks have consecutive ids, so its first chunk is position places back.
    starts = {centre: chunks[extents[centre].first] for centre in centres}
    firsts = {c: extents[c].first - start.position for c, start in starts.items() if start.position}
    chunks |= index.chunks(sorted(set(firsts.values()) - chunks.keys()))
    # Similarity stays the question's own: it decides whether to answer at all.
    similarity = index.similarities(query.vector, centres)
    rows = index.document_rows(centres)
    urls = index.document_urls(rows)
    hits = []
    for rank, (chunk_id, row) in enumerate(zip(centres, rows, strict=True), start=1):
        shown = joined(chunk_id, extents[chunk_id], chunks)
        opening = lede(shown.chunk, chunks.get(firsts.get(chunk_id, -1)))
        url = urls.get(row, "")
        score = fused[chunk_id]
        hits.append(
            Hit(
                shown.chunk,
                score,
                similarity[chunk_id],
                rank,
                opening,
                url,
                shown.headings,
                shown.sections,
            )
        )
    return hits


def _changelogs_after_the_guide(
    index: StoredIndex, query: Query, fused: Mapping[int, float]
) -> dict[int, float]:
    """Lower release-note passages, unless the question is about versions or changes."""
    if _ABOUT_VERSIONS.search(query.text):
        return dict(fused)
    changelogs = index.rows_of_documents_named(_CHANGELOG)
    if not changelogs:
        return dict(fused)
    chunk_ids = list(fused)
    rows = index.document_rows(chunk_ids)
    return {
        chunk_id: fused[chunk_id] - (_CHANGELOG_PENALTY if row in changelogs else 0.0)
        for chunk_id, row in zip(chunk_ids, rows, strict=True)
    }


def _fuse(
    index: StoredIndex,
    vector: Vectors,
    keyword: Mapping[int, float],
    pool: int,
    dense_weight: float,
) -> dict[int, float]:
    """Score the dense neighbours of vector and the keyword matches together, in [0, 1]."""
    similarity = dict(index.search_dense(vector, pool))
    similarity |= index.similarities(vector, sorted(keyword.keys() - similarity.keys()))
    dense_part = _min_max(similarity)
    return {
        chunk_id: dense_weight * dense_part[chunk_id]
        + (1 - dense_weight) * keyword.get(chunk_id, 0.0)
        for chunk_id in similarity
    }


def _feedback(index: StoredIndex, vector: Vectors, fused: Mapping[int, float]) -> Vectors:
    """Move the question's vector toward the passages that match it best.

    A question in chat words sits far from the manual's wording; the best few passages, found
    with both keywords and meaning, speak the manual's language (pseudo-relevance feedback, as
    Rocchio's). On the tuning halves: MRR 0.397 -> 0.405 (Git), 0.449 -> 0.523 (Django).
    """
    best = sorted(fused, key=lambda chunk_id: fused[chunk_id], reverse=True)[:_FEEDBACK_PASSAGES]
    if not best:
        return vector
    return unit(vector + _FEEDBACK_WEIGHT * index.vectors_of(best).mean(axis=0))


def _with_page_summaries(
    index: StoredIndex, vector: Vectors, fused: Mapping[int, float]
) -> dict[int, float]:
    """Add to each passage's score how close its page's summary line is to the question.

    Man pages and reference pages say what they are for in one line ("git-am - Apply a series
    of patches from a mailbox"); a passage from deep in the right page rarely repeats it. Pages
    without such a line count as the average candidate page, neither raised nor lowered. On the
    tuning halves: MRR 0.405 -> 0.439 (Git), 0.523 -> 0.564 (Django).
    """
    chunk_ids = list(fused)
    rows = index.document_rows(chunk_ids)
    pages = index.summary_similarities(vector, rows)
    if not pages:
        return dict(fused)
    neutral = sum(pages.values()) / len(pages)
    return {
        chunk_id: fused[chunk_id] + _SUMMARY_WEIGHT * pages.get(row, neutral)
        for chunk_id, row in zip(chunk_ids, rows, strict=True)
    }
