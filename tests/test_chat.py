"""The chat rules (bot/core/chat.py), checked once, directly; the adapters' end-to-end tests
over loopback check that each platform hands its events to them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.chat import Chat, Place, Turn
from bot.core.engine import Citebot
from bot.core.feedback import FeedbackStore
from bot.core.guard import RateLimiter, Refusal
from bot.core.messages import (
    NO_DIRECT_MESSAGES,
    NOT_ALLOWED,
    VOTE_RECORDED,
    VOTE_UNKNOWN,
    WORKSPACE_NOT_ALLOWED,
)
from bot.settings import Settings

QUESTION = "What is SeedAI working on?"
DM = Place("slack", "D9", is_dm=True)


def chat_with(tmp_path: Path, bot: object = None, *, limit: int = 100, **settings: object) -> Chat:
    configured = Settings(data_dir=tmp_path, **settings)  # type: ignore[arg-type]
    store = FeedbackStore(tmp_path / "feedback.sqlite")
    return Chat(bot, configured, store, RateLimiter(limit))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "place", "refusal"),
    [
        ({}, Place("slack", "C1"), ""),
        ({"slack": {"allowed_channels": ["C1"]}}, Place("slack", "C1"), ""),
        ({"slack": {"allowed_channels": ["C1"]}}, Place("slack", "C2"), NOT_ALLOWED),
        ({"slack": {"allowed_channels": ["C1"]}}, Place("slack", "D9", is_dm=True), ""),
        ({"chat": {"direct_messages": False}}, DM, NO_DIRECT_MESSAGES),
        ({"discord": {"allowed_guilds": [7]}}, Place("discord", "5", "7"), ""),
        ({"discord": {"allowed_guilds": [7]}}, Place("discord", "5", "8"), WORKSPACE_NOT_ALLOWED),
        ({"discord": {"allowed_channels": [5]}}, Place("discord", "6", "7"), NOT_ALLOWED),
        ({"discord": {"allowed_channels": [5]}}, Place("discord", "", "", is_dm=True), ""),
    ],
)
def test_where_citebot_answers(
    tmp_path: Path, settings: dict[str, object], place: Place, refusal: str
) -> None:
    assert chat_with(tmp_path, **settings).refusal(place) == refusal


def test_the_cheap_check_refuses_before_answering_and_counts_the_question(tmp_path: Path) -> None:
    chat = chat_with(tmp_path, limit=1, slack={"allowed_channels": ["C1"]})
    elsewhere = Turn(QUESTION, "U1", Place("slack", "C2"))
    assert chat.check(elsewhere) == Refusal(NOT_ALLOWED)
    empty = chat.check(Turn("   ", "U1", Place("slack", "C1")))
    assert isinstance(empty, Refusal) and "question" in empty.message.lower()
    here = Turn(QUESTION, "U1", Place("slack", "C1"))
    assert chat.check(here) is None  # counted: the user's one question this minute
    limited = chat.check(here)
    assert isinstance(limited, Refusal) and "wait" in limited.message
    other_platform = Turn(QUESTION, "U1", Place("discord", "C1"))
    assert chat.check(other_platform) is None  # quotas are per platform and user


def test_a_reply_is_an_answer_for_all_or_a_refusal_for_the_asker(
    tmp_path: Path, real_bot: Citebot
) -> None:
    chat = chat_with(tmp_path, real_bot, limit=1, slack={"allowed_channels": ["C1"]})
    refused = chat.reply(Turn(QUESTION, "U1", Place("slack", "C2")))
    assert refused.private and refused.answer_id is None and refused.body == Refusal(NOT_ALLOWED)
    answered = chat.reply(Turn(QUESTION, "U1", Place("slack", "C1")))
    assert not answered.private and answered.answer_id
    assert "SeedAI" in getattr(answered.body, "text", "")
    limited = chat.reply(Turn(QUESTION, "U1", Place("slack", "C1")))
    assert limited.private and isinstance(limited.body, Refusal)
    counted = chat.reply(Turn(QUESTION, "U1", Place("slack", "C1"), counted=True))
    assert not counted.private  # a check already counted it: not counted twice
    assert chat.vote(answered.answer_id, up=True, user="U1", channel="C1") == VOTE_RECORDED
    assert chat.vote("no-such-answer", up=False, user="U1", channel="C1") == VOTE_UNKNOWN
    [vote] = chat.feedback.rows()
    assert (vote.rating, vote.user, vote.platform) == (1, "U1", "slack")
