"""A lying model never gets a sentence past the check; a faithful one nearly always does.

The real model and index over the bundled documents plus one that carries a prompt injection,
the openai client talking to a fake server on 127.0.0.1 whose replies are written from the
passages citebot sends (tests/lying_llm.py). 30 questions per mode.
"""

from __future__ import annotations

import re
import shutil
from collections import Counter
from collections.abc import Iterator

import pytest

from bot.core.engine import Citebot, run_ingest
from bot.settings import Settings
from tests.fake_llm import running_fake_llm
from tests.harness import SOURCES
from tests.lying_llm import EVIL_URL, FAITHFUL, INJECTION, LIES, Draft, Mode, passages

QUESTIONS = [
    "What are the two things you need to actually run a model?",
    "How is fine tuning different from training from scratch?",
    "Does the AI Alliance think SB 1047 is balanced?",
    "Which universities belong to the AI Alliance?",
    "How did the Dolphin model answer the question about Taiwan?",
    "What did Qwen 2 say about the camps in Xinjiang?",
    "What task are language models trained on?",
    "When was the Communications Decency Act passed?",
    "What is the crux of the problem with SB 1047?",
    "What did Socrates fear about writing?",
    "What is Snowflake doing in AI?",
    "What is SeedAI working on?",
    "How is Databricks democratizing AI?",
    "What principles does the AI Alliance stand for?",
    "What kind of tool catalog does the alliance want to create?",
    "Which strong open models come from Chinese companies?",
    "Which Californian universities would be unable to join collaborations?",
    "Are harmful uses of AI models already against the law?",
    "What were the Crypto Wars?",
    "What does The Batch think about open source?",
    "Who founded the AI Alliance?",
    "How many members does the AI Alliance have?",
    "How do members renew their AI Alliance membership?",
    "What does SB 1047 require from model developers?",
    "Why does Jeremy Howard worry about regulating models?",
    "What happens to open source if SB 1047 passes?",
    "Which companies launched the AI Alliance?",
    "What is the difference between deployment and release?",
    "What does the AI Alliance say about safety?",
    "Who would be liable under SB 1047?",
    "When do members renew their membership?",
    "is there a yearly renewal for alliance members",
]
_URL = re.compile(r"https?://[^\s<>\"')\]]+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


@pytest.fixture(scope="module")
def injected_bot(
    tmp_path_factory: pytest.TempPathFactory,
    real_embedder,  # type: ignore[no-untyped-def]
) -> Iterator[tuple[Citebot, object]]:
    """The bundled documents and one carrying an injection, with the llm writer on a fake."""
    folder = tmp_path_factory.mktemp("injected")
    shutil.copytree(SOURCES, folder / "sources")
    (folder / "sources" / "membership.md").write_text(
        "# AI Alliance membership renewal\n\n"
        "Members of the AI Alliance renew their membership every year in January. "
        f"{INJECTION}\n"
    )
    with running_fake_llm() as fake:
        settings = Settings(
            sources=folder / "sources",
            index_dir=folder / "index",
            writer="llm",
            llm={"base_url": fake.base_url, "model": "liar", "timeout": 5},
        )
        run_ingest(settings, embedder=real_embedder)
        bot = Citebot.load(settings, embedder=real_embedder)
        yield bot, fake
        bot.close()


def _run(bot: Citebot, fake: object, mode: Mode) -> tuple[int, int, list[str]]:
    """Ask every question with the model in one mode; count its drafts and those shown."""
    drafts: list[Draft] = []

    def compose(prompt: str) -> str:
        draft = mode(passages(prompt))
        if draft is None:
            return '{"answerable": false, "sentences": []}'
        drafts.append(draft)
        return draft.reply()

    fake.compose = compose  # type: ignore[attr-defined]
    shown: list[str] = []
    for question in QUESTIONS:
        before = len(drafts)
        answer = bot.answer(question)
        for quote in answer.quotes:
            for found in _URL.findall(quote.text):  # no link or address no cited document gives
                url = found.rstrip(".,;:!?")
                assert any(url in c.text for c in answer.citations), (question, quote.text)
        if len(drafts) > before and answer.writer == "llm":
            written = drafts[-1].text
            shown += [q.text for q in answer.quotes if q.text == written]
    return len(drafts), len(shown), shown


def test_lies_of_every_kind_are_never_shown(injected_bot: tuple[Citebot, object]) -> None:
    bot, fake = injected_bot
    table: dict[str, tuple[int, int]] = {}
    leaked: list[str] = []
    for name, mode in LIES.items():
        told, shown, texts = _run(bot, fake, mode)
        table[name] = (told, shown)
        leaked += texts
    report = "\n".join(f"{name}: {shown} of {told} shown" for name, (told, shown) in table.items())
    told = sum(t for t, _ in table.values())
    report += "\n" + "\n".join(leaked)
    # Every mode found lies to tell; the injected document only where it was retrieved.
    injected = table.pop("injected instruction obeyed")
    assert all(t >= 20 for t, _ in table.values()) and injected[0] >= 3, report
    assert injected[1] == 0, report
    assert sum(s for _, s in table.values()) <= 0.02 * told, report


def test_faithful_sentences_are_kept(injected_bot: tuple[Citebot, object]) -> None:
    bot, fake = injected_bot
    counts: Counter[str] = Counter()
    for name, mode in FAITHFUL.items():
        written, kept, _ = _run(bot, fake, mode)
        counts[f"{name} written"] += written
        counts[f"{name} kept"] += kept
    written = sum(v for k, v in counts.items() if k.endswith("written"))
    kept = sum(v for k, v in counts.items() if k.endswith("kept"))
    assert written >= 60, counts
    assert kept >= 0.9 * written, counts


def test_a_kept_sentence_is_shown_with_the_whole_sentences_it_rests_on(
    injected_bot: tuple[Citebot, object],
) -> None:
    bot, fake = injected_bot
    mode = FAITHFUL["sentence copied"]
    fake.compose = lambda prompt: mode(passages(prompt)).reply()  # type: ignore[attr-defined, union-attr]
    answer = bot.answer("What did Socrates fear about writing?")
    assert answer.writer == "llm"
    quote = answer.quotes[0]
    assert quote.span == quote.text  # the whole sentence, not eight words of it
    assert EVIL_URL not in answer.text
