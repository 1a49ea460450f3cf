"""Answer writers: what turns retrieved passages into the reply. One seam, chosen by settings.

The extractive writer quotes sentences verbatim (offline, the default). Another writer (a
language model whose every sentence is checked against its passage) plugs in here without
touching retrieval, the engine or the chat adapters.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Protocol

from bot.core.answer import Answer
from bot.settings import Settings
from index.query import Query
from index.records import Hit


class AnswerWriter(Protocol):
    """Writes the answer to a parsed question from its retrieved passages, or declines."""

    @property
    def name(self) -> str:
        """Return what answers record as their writer."""
        ...

    def write(self, query: Query, hits: Sequence[Hit]) -> Answer:
        """Return the answer; its writer field names this writer."""
        ...


# The writers by the name CITEBOT_WRITER gives, as "module:factory": a factory takes the settings
# and returns the writer. Imported only when chosen (the language model's client is heavy), and
# no writer module imports this one, so the writers never import each other through it.
WRITERS = {
    "extractive": "bot.core.extractive_writer:make",
    "llm": "bot.core.llm_writer:make",
}


def make_writer(settings: Settings) -> AnswerWriter:
    """Return the writer the settings ask for."""
    module, _, factory = WRITERS[settings.writer].partition(":")
    writer: AnswerWriter = getattr(importlib.import_module(module), factory)(settings)
    return writer
