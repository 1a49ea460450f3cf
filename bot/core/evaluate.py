"""Retrieval and abstention metrics over a JSONL file of questions with expected phrases."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from bot.core.engine import Citebot
from index.embedder import describe_precision
from index.errors import CitebotError
from index.records import unmarked

_DEPTH = 10  # how deep MRR looks


class EvalQuestion(BaseModel):
    """One line of an eval file: {"id", "question", "expect": [phrases]}; empty: unanswerable."""

    id: str = ""
    question: str
    expect: list[str] = []


@dataclass(frozen=True, slots=True)
class QuestionResult:
    """How one question fared."""

    id: str
    question: str
    answerable: bool
    rank: int | None  # rank of the first passage holding an expected phrase, if any in top 10
    found: bool  # the bot answered rather than declined
    quoted: bool  # a quoted sentence holds an expected phrase
    cited: bool  # a cited passage holds an expected phrase
    writer: str = "extractive"  # which writer's answer was given
    sentences: int = 0  # sentences a model wrote and citebot kept
    dropped: int = 0  # sentences a model wrote that failed the check
    fell_back: bool = False  # the configured writer's answer was replaced by the quoted one


@dataclass(frozen=True, slots=True)
class EvalReport:
    """Aggregate metrics of an eval run."""

    results: tuple[QuestionResult, ...]
    writer: str = "extractive"  # the configured writer
    precision: str = ""  # the passages' embedding arithmetic ("int8, VNNI"): figures differ by it

    def metrics(self) -> dict[str, float | int]:
        """Return recall@1/3/5, MRR, answer quality and abstention rates."""
        answerable = [r for r in self.results if r.answerable]
        unanswerable = [r for r in self.results if not r.answerable]

        def recall(k: int) -> float:
            return _share(answerable, sum(1 for r in answerable if r.rank and r.rank <= k))

        return {
            "questions": len(self.results),
            "answerable": len(answerable),
            "unanswerable": len(unanswerable),
            "recall@1": recall(1),
            "recall@3": recall(3),
            "recall@5": recall(5),
            "mrr": _share(answerable, sum(1 / r.rank for r in answerable if r.rank)),
            "answered": _share(answerable, sum(r.found for r in answerable)),
            "declined": _share(unanswerable, sum(not r.found for r in unanswerable)),
            "cited_expected": _share(answerable, sum(r.cited for r in answerable)),
            "quoted_expected": _share(answerable, sum(r.quoted for r in answerable)),
            **(self._writer_metrics() if self.writer != "extractive" else {}),
        }

    def _writer_metrics(self) -> dict[str, float | int]:
        """How a model writer fared: sentences that checked out, answers that fell back."""
        answered = [r for r in self.results if r.found]
        kept = sum(r.sentences for r in self.results)
        written = kept + sum(r.dropped for r in self.results)
        return {
            "written_by_writer": _share(answered, sum(r.writer == self.writer for r in answered)),
            "fell_back": _share(answered, sum(r.fell_back for r in answered)),
            "sentences_written": written,
            "sentences_verified": round(kept / written, 4) if written else 0.0,
        }


def _share(items: Sequence[QuestionResult], hit: float) -> float:
    """Return hit as a share of the items, rounded (0 when there are none)."""
    return round(hit / len(items), 4) if items else 0.0


def read_questions(path: Path) -> list[EvalQuestion]:
    """Parse an eval file, naming the line of any malformed entry."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CitebotError(f"cannot read {path} ({exc.strerror}); pass a JSONL eval file") from exc
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            questions.append(EvalQuestion.model_validate_json(line))
        except ValidationError as exc:
            raise CitebotError(
                f"{path}:{number} is not an eval entry ({exc.errors()[0]['msg']}); each line must "
                'be like {"question": "...", "expect": ["phrase"]}'
            ) from exc
    if not questions:
        raise CitebotError(f"{path} holds no questions")
    return questions


def _normalise(text: str) -> str:
    # Inline code's marks are how the page sets a name apart, not words: "the `defer()` method"
    # holds "the defer() method".
    return " ".join(unmarked(text).casefold().replace("’", "'").split())


def _holds(text: str, phrases: Sequence[str]) -> bool:
    folded = _normalise(text)
    return any(_normalise(phrase) in folded for phrase in phrases)


def evaluate(bot: Citebot, questions: Sequence[EvalQuestion]) -> EvalReport:
    """Ask every question and score retrieval against the expected phrases."""
    results = []
    for item in questions:
        hits = bot.retrieve(item.question, top_k=max(_DEPTH, bot.settings.retrieval.top_k))
        rank = next((hit.rank for hit in hits if _holds(hit.passage, item.expect)), None)
        answer = bot.answer(item.question)
        results.append(
            QuestionResult(
                id=item.id,
                question=item.question,
                answerable=bool(item.expect),
                rank=rank,
                found=answer.found,
                # A model's sentence counts by the words of its passage it was checked against.
                quoted=bool(item.expect)
                and _holds(" ".join(q.span or q.text for q in answer.quotes), item.expect),
                cited=any(_holds(c.text, item.expect) for c in answer.citations),
                writer=answer.writer,
                sentences=len(answer.quotes) if answer.writer != "extractive" else 0,
                dropped=answer.dropped,
                fell_back=bool(answer.note),
            )
        )
    return EvalReport(
        tuple(results), bot.writer.name, describe_precision(bot.settings.embedding.precision)
    )


def report_json(report: EvalReport) -> str:
    """Serialise metrics and per-question results."""
    return json.dumps(
        {
            "precision": report.precision,
            "metrics": report.metrics(),
            "questions": [
                {
                    "id": r.id,
                    "question": r.question,
                    "answerable": r.answerable,
                    "rank": r.rank,
                    "found": r.found,
                    "cited": r.cited,
                    "quoted": r.quoted,
                }
                for r in report.results
            ],
        },
        indent=2,
    )
