"""The real bundled model on the real corpus: retrieval, abstention and verbatim quotes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.engine import Citebot
from bot.core.evaluate import evaluate, read_questions
from index.cpu_features import has_int8_dot_products


def test_dev_set_retrieval_and_abstention(real_bot: Citebot, dev_set: Path) -> None:
    """The pipeline finds and cites answers end to end, and declines what the corpus lacks.

    Retrieval quality itself is measured in the benchmarks (bench_quality.py, `citebot eval`);
    these bars only say the pipeline works, with room for a precision change: 0.95 recall@3
    (19 of 20) at float32 and at int8 here, against a bar of 16 of 20. Abstention is asserted
    exactly because each decision has margin at both precisions: the answerable questions' best
    passages score 0.26 and up, the unanswerable ones' 0.11 at most, the threshold is 0.22.
    """
    metrics = evaluate(real_bot, read_questions(dev_set)).metrics()
    assert metrics["recall@3"] >= 0.8, metrics
    assert metrics["recall@5"] >= 0.9, metrics
    assert metrics["declined"] == 1.0, metrics  # every unanswerable question declined
    assert metrics["answered"] == 1.0, metrics  # no answerable question declined
    assert metrics["cited_expected"] >= 0.75, metrics


def test_every_quote_is_verbatim_in_the_chunk_it_cites(real_bot: Citebot, dev_set: Path) -> None:
    checked = joined = 0
    for item in read_questions(dev_set):
        answer = real_bot.answer(item.question)
        citations = {citation.n: citation for citation in answer.citations}
        assert answer.found == bool(item.expect), item.question
        for before, quote in zip([None, *answer.quotes], answer.quotes, strict=False):
            passage = citations[quote.n].text
            assert quote.text in passage, (item.question, quote)
            assert quote.text in answer.text and f"[{quote.n}]" in answer.text
            if quote.joined_by:  # shown as one block with the quote before: nothing left out
                assert before is not None and before.n == quote.n
                between = re.escape(before.text) + r"\s*(?:[-*+•]\s+|\d+[.)]\s+)?"
                assert re.search(between + re.escape(quote.text), passage), (before, quote)
                joined += 1
            checked += 1
        if not answer.found:
            assert not answer.quotes and not answer.citations
    assert checked >= 20 and joined >= 1


def test_citations_point_at_lines_that_hold_the_quote(real_bot: Citebot) -> None:
    answer = real_bot.answer("Does the AI Alliance think SB 1047 is balanced?")
    citation = answer.citations[0]
    start, end = (int(n) for n in citation.location.split(",")[0].split()[-1].split("-"))
    source = Path(__file__).resolve().parent.parent / citation.source
    lines = source.read_text(encoding="utf-8").splitlines()[start - 1 : end]
    assert "does not strike the right balance" in " ".join(lines)


def test_retrieve_honours_top_k(real_bot: Citebot) -> None:
    hits = real_bot.retrieve("open source", top_k=7)
    assert [hit.rank for hit in hits] == list(range(1, 8))
    assert all(-1.0 <= hit.similarity <= 1.0 for hit in hits)


@pytest.mark.model(any_precision=True)  # compares each reduced precision with float32 itself
@pytest.mark.parametrize("reduced_precision", ["bfloat16", "int8"])
def test_reduced_precision_agrees_with_float32(reduced_precision: str) -> None:
    from index.embedder import SentenceTransformerEmbedder

    texts = [
        "What is the crux of the problem with SB 1047?",
        "The weights are one of the two inputs to computer source code.",
        "AI Alliance members include Meta, IBM and dozens of universities. " * 8,
    ]
    exact = SentenceTransformerEmbedder(precision="float32")
    reduced = SentenceTransformerEmbedder(precision=reduced_precision)
    assert reduced.precision == reduced_precision
    seven_bit = reduced_precision == "int8" and not has_int8_dot_products()
    suffix = "int8w7" if seven_bit else reduced_precision
    assert reduced.fingerprint == f"{exact.fingerprint}-{suffix}"
    cosine = (reduced.embed_batch(texts) * exact.embed_batch(texts)).sum(axis=1)
    # CPUs without VNNI sum int8 products in int16, so int8 runs on 7-bit weights there
    # (0.988 at worst on an AVX2-only EPYC over 87 texts, against 0.994 with VNNI).
    path = "int8 with 7-bit weights (no VNNI)" if seven_bit else reduced_precision
    floor = 0.985
    assert cosine.min() >= floor, f"{path}: cosine to float32 {cosine.min():.4f} < {floor}"


def test_token_counts_match_the_tokenizer_and_never_truncate(real_embedder) -> None:  # type: ignore[no-untyped-def]
    texts = [
        "What is the crux of the problem with SB 1047?",
        "Open-source AI, weights and all. " * 120,  # far over the model's 256-token window
        "",
        "naïve café — 東京 🙂",
    ]
    # After an encode, the tokenizer's shared truncation setting is the model's window.
    real_embedder.embed_batch(texts)
    wrapper = real_embedder._model.tokenizer
    expected = [
        len(ids) for ids in wrapper(texts, add_special_tokens=False, truncation=False)["input_ids"]
    ]
    counted = real_embedder.count_tokens(texts)
    assert counted == expected
    assert counted[1] > 700


def test_dev_set_copy_matches_the_shared_one(dev_set: Path) -> None:
    shared = Path(__file__).resolve().parents[2] / "shared" / "eval" / "dev.jsonl"
    if not shared.exists():
        pytest.skip("no ../shared beside this clone; the committed copy is the dev set")
    assert dev_set.read_bytes() == shared.read_bytes(), "copy ../shared/eval/dev.jsonl here"
