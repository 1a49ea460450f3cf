"""Which messages of a chat thread are questions to the bot, the same on every platform.

Adapters turn their platform's thread into `ThreadMessage`s (or `Unreadable` when the platform
refused the history: a missing scope, a 403 or 404) and ask `earlier_questions` whether the new
message is for the bot and which earlier questions it follows up. Written once, so the rules
can't drift apart between Slack and Discord (they did: Discord went silent on a 403).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """An earlier message of the thread, as the rules need it."""

    author: str  # the platform's user id
    text: str  # the question as asked: mentions of the bot already removed
    mentions_bot: bool
    from_a_bot: bool  # any bot or integration, this one included
    from_this_bot: bool  # one of this bot's own answers


@dataclass(frozen=True, slots=True)
class Unreadable:
    """The platform would not give the thread's history; reason says why (for the log)."""

    reason: str


History = Sequence[ThreadMessage] | Unreadable


def earlier_questions(
    history: History, *, asker: str, mentioned: bool, follow_ups: str
) -> list[str] | None:
    """Return the earlier questions a new message builds on, oldest first; None when the
    message is not for the bot.

    A message that mentions the bot is always a question. One that doesn't is a follow-up only
    when follow-ups are answered ("asker"), its author asked the bot earlier in the thread, and
    the bot answered there. A history that can't be read answers a mention on its own (it is
    still a question, just without context), and no unmentioned message (nothing shows it
    follows up anything).
    """
    if isinstance(history, Unreadable):
        if not mentioned:
            return None
        logger.warning(
            "cannot read the thread for context (%s); answering the question on its own",
            history.reason,
        )
        return []
    if not mentioned and not (follow_ups == "asker" and _asked_and_answered(history, asker)):
        return None
    follower = asker if follow_ups == "asker" else None
    return [
        message.text
        for message in history
        if not message.from_a_bot and (message.mentions_bot or message.author == follower)
    ]


def _asked_and_answered(history: Sequence[ThreadMessage], asker: str) -> bool:
    asked = any(message.author == asker and message.mentions_bot for message in history)
    return bool(asker) and asked and any(message.from_this_bot for message in history)
