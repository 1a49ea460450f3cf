"""The thread rules every chat adapter shares (bot/core/threads.py), checked once, directly."""

from __future__ import annotations

import logging

import pytest

from bot.core.threads import ThreadMessage, Unreadable, earlier_questions

ASKER, OTHER = "U1", "U2"


def said(author: str, text: str, *, mentions: bool = False) -> ThreadMessage:
    return ThreadMessage(author, text, mentions, from_a_bot=False, from_this_bot=False)


ANSWER = ThreadMessage("B1", "The AI Alliance is…", False, from_a_bot=True, from_this_bot=True)
OTHER_BOT = ThreadMessage("B2", "Deploy finished", True, from_a_bot=True, from_this_bot=False)
THREAD = [
    said(ASKER, "What is the AI Alliance?", mentions=True),
    ANSWER,
    said(OTHER, "see you at standup"),
    OTHER_BOT,
    said(ASKER, "who started it?"),
]


def test_a_mention_is_a_question_with_the_threads_earlier_questions_not_its_chatter() -> None:
    found = earlier_questions(THREAD, asker=ASKER, mentioned=True, follow_ups="asker")
    assert found == ["What is the AI Alliance?", "who started it?"]
    found = earlier_questions(THREAD, asker=ASKER, mentioned=True, follow_ups="mention")
    assert found == ["What is the AI Alliance?"]  # the asker's unmentioned reply isn't one


@pytest.mark.parametrize(
    ("asker", "follow_ups", "history", "is_question"),
    [
        (ASKER, "asker", THREAD, True),  # asked, answered: a follow-up
        (OTHER, "asker", THREAD, False),  # someone else talking in the thread
        (ASKER, "mention", THREAD, False),  # follow-ups need a mention when so set
        (ASKER, "asker", THREAD[:1], False),  # asked, but the bot hasn't answered there
        (ASKER, "asker", [], False),  # not in a thread
    ],
)
def test_an_unmentioned_message_is_a_question_only_as_the_askers_follow_up(
    asker: str, follow_ups: str, history: list[ThreadMessage], is_question: bool
) -> None:
    found = earlier_questions(history, asker=asker, mentioned=False, follow_ups=follow_ups)
    assert (found is not None) == is_question


def test_an_unreadable_thread_answers_a_mention_alone_and_nothing_else(
    caplog: pytest.LogCaptureFixture,
) -> None:
    refused = Unreadable("403 Missing Access")
    with caplog.at_level(logging.WARNING):
        assert earlier_questions(refused, asker=ASKER, mentioned=True, follow_ups="asker") == []
    assert "403 Missing Access" in caplog.text and "on its own" in caplog.text
    assert earlier_questions(refused, asker=ASKER, mentioned=False, follow_ups="asker") is None
