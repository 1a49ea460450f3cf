"""Composing answers from hits: verbatim quotes, resolvable markers, plain abstention."""

from __future__ import annotations

import numpy as np

from bot.answer import NOT_FOUND, compose_answer
from index.lexical import query_terms
from index.records import Chunk, Hit
from index.search import Query


def hit(rank: int, text: str, similarity: float) -> Hit:
    chunk = Chunk(f"doc{rank}.txt", f"Doc {rank}", "", text, "line", rank, rank + 2, 0)
    return Hit(chunk, score=1.0 / rank, similarity=similarity, rank=rank)


HITS = [
    hit(1, "Cats sleep a lot. Cats sleep up to sixteen hours a day in warm places.", 0.6),
    hit(2, "Dogs bark at strangers. Some dogs sleep in the afternoon.", 0.5),
    hit(3, "Fish swim.", 0.2),
]


def query(question: str, frequencies: dict[str, int] | None = None) -> Query:
    terms = tuple(query_terms(question))
    known = frequencies or {"cat": 1, "sleep": 2, "hour": 1}
    counts = {term: known.get(term, 0) for term in terms}
    return Query(question, terms, counts, 3, np.zeros(4, dtype=np.float32))


def compose(question: str, hits: list[Hit], threshold: float = 0.3):  # type: ignore[no-untyped-def]
    return compose_answer(query(question), hits, min_similarity=threshold)


def test_compose_answer_quotes_verbatim_sentences_with_markers() -> None:
    answer = compose("How many hours do cats sleep?", HITS)
    assert answer.found
    assert answer.quotes[0].text == "Cats sleep up to sixteen hours a day in warm places."
    by_number = {c.n: c for c in answer.citations}
    for quote in answer.quotes:
        assert quote.text in by_number[quote.n].text
    assert answer.text.endswith("[1]")


def test_compose_answer_numbers_only_cited_passages() -> None:
    answer = compose("How many hours do cats sleep?", HITS)
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert {q.n for q in answer.quotes} == {c.n for c in answer.citations}


def test_compose_answer_declines_below_threshold_and_cites_nothing() -> None:
    answer = compose("What is the capital of France?", HITS, threshold=0.9)
    assert not answer.found
    assert answer.text == NOT_FOUND
    assert answer.citations == () and answer.quotes == ()
    assert [c.source for c in answer.related] == ["doc1.txt", "doc2.txt", "doc3.txt"]


def test_compose_answer_declines_without_hits() -> None:
    assert not compose("Anything?", []).found


def test_compose_answer_to_dict_has_documented_keys() -> None:
    data = compose("How many hours do cats sleep?", HITS).to_dict()
    assert set(data) == {"question", "answer", "found", "quotes", "citations", "related"}
    assert set(data["citations"][0]) == {"n", "title", "source", "location", "text", "score"}
