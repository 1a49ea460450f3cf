"""The answer-writer seam: the engine hands a writer the parsed question and its passages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core.answer import Answer, Citation, Quote
from bot.core.engine import Citebot
from index.query import Query
from index.records import Hit


@dataclass
class FirstSentenceWriter:
    """A stand-in writer: quotes the first line of the best passage, and remembers its input."""

    name: str = "first-sentence"
    seen: list[tuple[str, int]] = field(default_factory=list)

    def write(self, query: Query, hits: Sequence[Hit]) -> Answer:
        self.seen.append((query.text, len(hits)))
        best = hits[0]
        citation = Citation(1, best.chunk.title, best.chunk.source, "", best.passage, 0.5)
        first = best.passage.split("\n", 1)[0]
        return Answer(query.text, True, (Quote(first, 1),), (citation,), writer=self.name)


def test_the_default_writer_quotes_and_says_so(real_bot: Citebot) -> None:
    answer = real_bot.answer("Which universities belong to the AI Alliance?")
    assert real_bot.writer.name == "extractive"
    assert answer.writer == "extractive" and answer.to_dict()["writer"] == "extractive"


def test_another_writer_plugs_in_without_touching_retrieval(real_bot: Citebot) -> None:
    writer = FirstSentenceWriter()
    bot = Citebot(real_bot.settings, real_bot.embedder, real_bot.index, writer=writer)
    answer = bot.answer("Which universities belong to the AI Alliance?")
    assert writer.seen == [("Which universities belong to the AI Alliance?", 5)]  # top_k hits
    assert answer.writer == "first-sentence"
    assert answer.quotes[0].text in answer.citations[0].text  # it came from the passage given
