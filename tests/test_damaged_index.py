"""An index damaged after it was written: declined with the fix, never quoted, no traceback.

Between a corruption and the next ingest, `ask`, the chat bots and `doctor` meet the damage.
Each checks what it reads (every chunk a question reads against its stored checksum; every
SQLite read turned into one line), so the reader gets "rebuild the index", not altered text.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.engine import Citebot
from bot.core.guard import Refusal, answer_safely
from bot.core.messages import DAMAGED_INDEX
from bot.settings import Settings
from index.chunk_store import CHUNKS
from index.generations import live_generation
from tests.harness import SOURCES

QUESTION = "Which universities belong to the AI Alliance?"
ANSWER_WORDS = b"Yale University"  # in the answer to QUESTION on the intact index


def change_a_letter(chunks: Path) -> None:
    """One letter of the answer altered: the text still decodes, and would be quoted as is."""
    data = bytearray(chunks.read_bytes())
    at = data.find(ANSWER_WORDS)
    assert at >= 0
    data[at] = ord("X")
    chunks.write_bytes(bytes(data))


def break_the_encoding(chunks: Path) -> None:
    """Bytes that are not UTF-8 in every copy of the answer's words."""
    data = bytearray(chunks.read_bytes())
    at = data.find(ANSWER_WORDS)
    assert at >= 0
    while at >= 0:
        data[at + 1] = 0xFF
        at = data.find(ANSWER_WORDS, at + 1)
    chunks.write_bytes(bytes(data))


def drop_the_keyword_index(chunks: Path) -> None:
    with sqlite3.connect(chunks) as db:
        db.execute("DROP TABLE chunk_vocab")
        db.execute("DROP TABLE chunk_terms")


DAMAGE = [change_a_letter, break_the_encoding, drop_the_keyword_index]


@pytest.fixture(params=DAMAGE, ids=lambda damage: damage.__name__)
def damaged_index(request: pytest.FixtureRequest, real_index_dir: Path, tmp_path: Path) -> Path:
    index_dir = tmp_path / "index"
    shutil.copytree(real_index_dir, index_dir)
    generation = live_generation(index_dir)
    assert generation is not None
    damage: Callable[[Path], None] = request.param
    damage(generation / CHUNKS)
    return index_dir


def use_index(monkeypatch: pytest.MonkeyPatch, index_dir: Path) -> None:
    monkeypatch.setenv("CITEBOT_INDEX_DIR", str(index_dir))
    monkeypatch.setenv("CITEBOT_SOURCES", str(SOURCES))


def test_the_intact_index_answers_with_the_words_the_damage_alters(real_bot: Citebot) -> None:
    answer = answer_safely(real_bot, QUESTION, user="U1")
    assert not isinstance(answer, Refusal) and ANSWER_WORDS.decode() in answer.text


def test_a_chat_question_on_a_damaged_index_is_declined_with_who_fixes_it(
    damaged_index: Path, real_embedder: object, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(sources=SOURCES, index_dir=damaged_index)
    bot = Citebot.load(settings, embedder=real_embedder)  # type: ignore[arg-type]
    try:
        reply = answer_safely(bot, QUESTION, user="U1")
    finally:
        bot.close()
    assert reply == Refusal(DAMAGED_INDEX)
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(logged) == 1 and "ingest --rebuild" in logged[0]
    assert not any(r.exc_info for r in caplog.records)  # one line, no traceback


def test_ask_on_a_damaged_index_prints_one_line_with_the_fix(
    damaged_index: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    precision: str,
) -> None:
    use_index(monkeypatch, damaged_index)
    assert main(["ask", QUESTION]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing quoted
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert "is damaged" in captured.err and "citebot ingest --rebuild" in captured.err


def test_doctor_on_a_damaged_index_names_the_fix_without_a_traceback(
    damaged_index: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    precision: str,
) -> None:
    use_index(monkeypatch, damaged_index)
    assert main(["doctor"]) != 0
    captured = capsys.readouterr()
    assert "citebot ingest --rebuild" in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err


@pytest.fixture
def damaged_bot(real_index_dir: Path, tmp_path: Path, real_embedder: object) -> Iterator[Citebot]:
    index_dir = tmp_path / "damaged"
    shutil.copytree(real_index_dir, index_dir)
    generation = live_generation(index_dir)
    assert generation is not None
    change_a_letter(generation / CHUNKS)
    settings = Settings(sources=SOURCES, index_dir=index_dir)
    bot = Citebot.load(settings, embedder=real_embedder)  # type: ignore[arg-type]
    yield bot
    bot.close()


def test_slack_tells_the_asker_the_index_is_damaged(damaged_bot: Citebot, tmp_path: Path) -> None:
    from tests.fake_slack import FakeSlack
    from tests.slack_harness import HttpBot, make_slack, slack_settings

    fake = FakeSlack()
    served = HttpBot(make_slack(damaged_bot, slack_settings(fake, tmp_path)))
    try:
        event = {"type": "app_mention", "user": "U1", "channel": "C1", "ts": "9.1"}
        served.event({**event, "text": f"<@UBOT> {QUESTION}"}, "EvDamaged")
        reply = fake.wait_for("chat.postEphemeral")[0]  # to the asker alone
    finally:
        served.stop()
        fake.stop()
    assert reply["user"] == "U1" and "index is damaged" in str(reply)
    assert "Xale" not in str(reply)


def test_discord_tells_the_asker_the_index_is_damaged(damaged_bot: Citebot, tmp_path: Path) -> None:
    from tests.discord_harness import RunningClient
    from tests.fake_discord import BOT_ID, FakeDiscord

    fake = FakeDiscord()
    client = RunningClient(damaged_bot, fake, tmp_path)
    try:
        fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> {QUESTION}", 93))
        [reply] = fake.wait_for_posts("/channels/500/messages")
    finally:
        client.stop()
        fake.stop()
    assert "index is damaged" in reply.body["content"] and "Xale" not in str(reply.body)
