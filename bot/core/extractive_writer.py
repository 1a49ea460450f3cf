"""The default answer writer: sentences quoted verbatim from the passages (offline)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.answer import Answer, compose_answer
from bot.settings import Settings
from index.query import Query
from index.records import Hit


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


def make(settings: Settings) -> ExtractiveWriter:
    """Build the extractive writer from the retrieval settings."""
    return ExtractiveWriter(settings.retrieval.min_similarity, settings.retrieval.max_quotes)
