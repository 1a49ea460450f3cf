"""Answer writers: what turns retrieved passages into the reply. One seam, chosen by settings.

The extractive writer quotes sentences verbatim (offline, the default). Another writer (a
language model whose every sentence is checked against its passage) plugs in here without
touching retrieval, the engine or the chat adapters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.core.answer import Answer, compose_answer
from bot.settings import Settings
from index.records import Hit
from index.search import Query


class AnswerWriter(Protocol):
    """Writes the answer to a parsed question from its retrieved passages, or declines."""

    @property
    def name(self) -> str:
        """Return what answers record as their writer."""
        ...

    def write(self, query: Query, hits: Sequence[Hit]) -> Answer:
        """Return the answer; its writer field names this writer."""
        ...


@dataclass(frozen=True, slots=True)
class ExtractiveWriter:
    """Quotes the sentences that best cover the question, verbatim, each with its citation."""

    min_similarity: float
    max_quotes: int
    name: str = "extractive"

    def write(self, query: Query, hits: Sequence[Hit]) -> Answer:
        """Quote from the best passages, or decline when they don't cover the question."""
        return compose_answer(
            query, hits, min_similarity=self.min_similarity, max_quotes=self.max_quotes
        )


def make_writer(settings: Settings) -> AnswerWriter:
    """Return the writer the settings ask for."""
    extractive = ExtractiveWriter(settings.retrieval.min_similarity, settings.retrieval.max_quotes)
    if settings.writer == "llm":
        from bot.core.llm_writer import LlmWriter  # noqa: PLC0415 (imports the model client)

        return LlmWriter(settings.llm, extractive)
    return extractive
