"""Hybrid retrieval: dense FAISS neighbours and BM25 term matches, fused by normalised score."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from index.embedder import Embedder, TokenCounter, Vectors
from index.lexical import inverse_document_frequency, query_words, stem
from index.ordinary_words import is_ordinary_english
from index.records import Chunk, Hit
from index.sentences import opening_line
from index.store import StoredIndex

# Weight of the dense score in the fusion; BM25 gets the rest. Rank fusion (RRF) buried
# passages that only one retriever found at rank 1, so scores are fused instead. 0.7 of a pool
# of 100 beat 0.5 of 40 on the tuning halves of both real manuals (MRR +0.02 on each).
DENSE_WEIGHT = 0.7
CANDIDATES = 100
# A passage is its matching chunk, the chunk before it, and the chunks after it until it holds
# about this many characters (at most _MAX_AFTER): the heading and first lines of a section
# make one-line chunks ("git-blame - Show what revision…") whose answer is a chunk or two on.
_PASSAGE_CHARS = 1500
_MAX_AFTER = 2
# A passage next to a better one joins it while the two stay under this many characters.
_GROWN_CHARS = 2500
_MIN_OVERLAP = 16  # characters: a shorter match of end and start is chance, not repetition
# Below this many chunks every question term is searched: dropping common terms ("table",
# "commit") cost recall on real manuals of 10-20k chunks. Above it, speed guards apply.
_LARGE_CORPUS = 200_000
_SMALL_CORPUS = 1000  # chunks; a handful of documents keeps every term
_UBIQUITOUS = 0.5  # share of the chunks above which a term is not worth searching
_COMMON_SHARE = 0.05
_COMMON_CAP = 5000
# SQLite's BM25 costs about 1.3 µs a posting here: 10,000 postings bound it near 13 ms.
_POSTINGS_BUDGET = 10_000
_UNKNOWN_MIN_LETTERS = 4
_BM25_K1 = 1.2  # SQLite FTS5's
_LEXICAL_FLOOR = 0.5  # share of the ideal keyword score that counts as a full match
_SUMMARY_WEIGHT = 0.4  # best of 0.2-0.8 on the tuning halves (MRR +0.01 on each over 0.3)
_FEEDBACK_PASSAGES = 3
_FEEDBACK_WEIGHT = 0.5


@dataclass(frozen=True, slots=True)
class Query:
    """A question parsed once where it enters: its words, their counts and its vector."""

    text: str
    terms: tuple[str, ...]  # stemmed content words, stop words and chat filler dropped
    frequencies: Mapping[str, int]  # chunks of the index holding each term
    total_chunks: int
    vector: Vectors
    unknown: tuple[str, ...] = ()  # words naming things the corpus never mentions
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
    vector = _unit(vectors.sum(axis=0)) if context else vectors[0]
    return Query(
        text=question,
        terms=terms,
        frequencies=frequencies,
        total_chunks=index.chunk_count,
        vector=vector,
        unknown=unknown_words(
            [word for word in words if word not in _identifier_parts(searched)],
            frequencies,
            embedder.count_tokens,
        ),
        earlier=tuple(earlier),
    )


def _identifier_parts(question: str) -> set[str]:
    """Return the words inside tokens that hold digits: "gabc" of v2.1-14-gabc is an id."""
    return {
        word
        for token in question.split()
        if any(char.isdigit() for char in token)
        for word in query_words(token)
    }


def unknown_words(
    words: Sequence[str], frequencies: Mapping[str, int], count_tokens: TokenCounter
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
    return tuple(
        word
        for word, count in zip(candidates, pieces, strict=True)
        if count > 1 and not is_ordinary_english(word)
    )


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
    ranked = sorted(fused, key=lambda chunk_id: fused[chunk_id], reverse=True)
    centres, chunks, extents = _passages(index, ranked, top_k)
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
        passage, headings = _joined(chunk_id, extents[chunk_id], chunks)
        lede = _lede(passage, chunks.get(firsts.get(chunk_id, -1)))
        url = urls.get(row, "")
        score = fused[chunk_id]
        hits.append(Hit(passage, score, similarity[chunk_id], rank, lede, url, headings))
    return hits


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
    return _unit(vector + _FEEDBACK_WEIGHT * index.vectors_of(best).mean(axis=0))


def _unit(vector: Vectors) -> Vectors:
    """Scale a vector to length one, as stored vectors are, so inner products are cosines."""
    return (vector / max(float(np.linalg.norm(vector)), 1e-9)).astype(np.float32)


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


def _lede(passage: Chunk, first: Chunk | None) -> str:
    """Return the opening line of the passage's document when it summarises the page, else ""."""
    if first is None or first.source != passage.source or first.position != 0:
        return ""
    line = opening_line(first.text)
    return "" if line in passage.text else line


@dataclass(frozen=True, slots=True)
class _Extent:
    """A passage's first and last chunk ids, and whether other passages show the chunks around."""

    first: int
    last: int
    # When another passage shows the chunk before first (or after last), the sentences the two
    # chunks share are that passage's, not this one's.
    after_shown: bool = False
    before_shown: bool = False


def _passages(
    index: StoredIndex, ranked: Sequence[int], top_k: int
) -> tuple[list[int], dict[int, Chunk], dict[int, _Extent]]:
    """Choose the top_k passages: the matching chunks, best first, each grown with neighbours.

    Return the matching chunks, every chunk read, and each passage's extent. Passages never share
    a chunk, and a chunk whose text was already shown (a section included in several pages, as
    Git's manual does) is passed over. A chunk next to a better passage joins it, or failing
    that is a passage of its own, its shared sentences left to the better one. It was once kept
    out as a guard band, and never shown: that lost the answer to two Django tuning questions
    (tuning halves: MRR 0.469 -> 0.472 Git, 0.617 -> 0.621 Django; recall@5 Django 0.771 ->
    0.800, recall@10 Git 0.743 -> 0.771; passages 3% longer on average).
    """
    centres: list[int] = []
    # One read for the likely passages; a candidate passed over costs a read of its own.
    chunks = index.chunks(sorted({i for c in ranked[:top_k] for i in _window(c)}))
    extents: dict[int, _Extent] = {}
    taken: set[int] = set()
    shown: set[str] = set()
    for chunk_id in ranked:
        if len(centres) == top_k:
            break
        if chunk_id in taken:
            continue
        missing = [i for i in _window(chunk_id) if i not in chunks]
        if missing:
            chunks |= index.chunks(missing)
        centre = chunks[chunk_id]
        if centre.text in shown:
            continue
        grown = _grown(extents, chunks, taken, chunk_id)
        if grown is not None:
            extents[grown.centre] = grown.extent
            taken.add(chunk_id)
            shown.add(centre.text)
            continue
        low = chunk_id - 1 if _joins(chunks, taken, shown, centre, chunk_id - 1) else chunk_id
        high = chunk_id
        size = sum(len(chunks[i].text) for i in range(low, high + 1))
        while (
            size < _PASSAGE_CHARS
            and high < chunk_id + _MAX_AFTER
            and _joins(chunks, taken, shown, centre, high + 1)
        ):
            high += 1
            size += len(chunks[high].text)
        centres.append(chunk_id)
        extents[chunk_id] = _Extent(low, high, low - 1 in taken, high + 1 in taken)
        taken.update(range(low, high + 1))
        shown.update(chunks[i].text for i in range(low, high + 1))
    return centres, chunks, extents


def _window(chunk_id: int) -> range:
    """Return the ids a passage around chunk_id may take, and the one before its first.

    A passage takes the chunk before chunk_id and up to _MAX_AFTER after; the chunk before that
    tells whether the passage starts a section, whose heading it then shows.
    """
    return range(max(0, chunk_id - 2), chunk_id + _MAX_AFTER + 1)


def _joins(
    chunks: Mapping[int, Chunk], taken: set[int], shown: set[str], centre: Chunk, i: int
) -> bool:
    """Tell whether chunk i is free to join the passage around centre: same document, unused."""
    chunk = chunks.get(i)
    return (
        chunk is not None
        and chunk.source == centre.source
        and i not in taken
        and chunk.text not in shown
    )


@dataclass(frozen=True, slots=True)
class _Growth:
    """A passage (by its centre) and the extent it grows to."""

    centre: int
    extent: _Extent


def _grown(
    extents: Mapping[int, _Extent], chunks: Mapping[int, Chunk], taken: set[int], chunk_id: int
) -> _Growth | None:
    """Return a better passage next to chunk_id grown to take it in, if it stays short enough.

    The chunk just past a passage often holds the answer the passage leads up to; shown as a
    passage of its own it would crowd out a different one.
    """
    chunk = chunks[chunk_id]
    for centre, extent in extents.items():
        if chunks[centre].source != chunk.source:
            continue
        if chunk_id == extent.last + 1:
            grown = dataclasses.replace(extent, last=chunk_id, before_shown=chunk_id + 1 in taken)
        elif chunk_id == extent.first - 1:
            grown = dataclasses.replace(extent, first=chunk_id, after_shown=chunk_id - 1 in taken)
        else:
            continue
        size = sum(len(chunks[i].text) for i in range(grown.first, grown.last + 1))
        return _Growth(centre, grown) if size <= _GROWN_CHARS else None
    return None


def _joined(
    centre: int, extent: _Extent, chunks: Mapping[int, Chunk]
) -> tuple[Chunk, tuple[str, ...]]:
    """Join a passage's chunks into one, the overlap of each pair said once.

    A section that starts inside the passage, or at its first chunk, shows its heading where the
    document has it, as the page reads. Sentences a better passage shows next door are left to
    it. Return the passage and the headings it shows.
    """
    first, last = extent.first, extent.last
    shown: list[str] = []
    text = ""
    for i in range(first, last + 1):
        chunk = chunks[i]
        headings = chunk.headings_begun(chunks.get(i - 1))
        shown += headings
        own = chunk.text
        if i == first and extent.after_shown:
            # A chunk repeats the end of the one before it.
            own = own[_overlap(chunks[i - 1].text, own) :].lstrip()
        if i == last and extent.before_shown:
            following = chunks[i + 1].text
            own = own[: len(own) - _overlap(own, following)].rstrip()
        if headings:
            # Packing is per section, so no overlap crosses a heading.
            text = "\n".join(part for part in (text, *headings, own) if part)
        elif text:
            size = _overlap(text, own)
            text = text + own[size:] if size else text + "\n" + own
        else:
            text = own
    inside = [chunks[i] for i in range(first, last + 1)]
    passage = dataclasses.replace(
        chunks[centre],
        text=text,
        start=min(chunk.start for chunk in inside),
        end=max(chunk.end for chunk in inside),
    )
    return passage, tuple(shown)


def _overlap(first: str, second: str) -> int:
    """Return how many characters of second's start repeat first's end, sentences whole (or 0)."""
    if len(second) >= _MIN_OVERLAP:
        head = second[:_MIN_OVERLAP]
        at = first.find(head)
        while at != -1:
            size = len(first) - at  # first[at:] must be exactly where second starts
            if second.startswith(first[at:]) and (size == len(second) or second[size] in " \n"):
                return size
            at = first.find(head, at + 1)
    return 0
