"""The chat rules every platform shares: where citebot answers, who may ask how often, what is
recorded for votes. Adapters turn an event into a `Turn`, hand it to `Chat`, and turn the
`Reply` into their platform's messages; they decide nothing themselves.

The thread rule (which earlier messages are questions) is in threads.py, applied here with the
settings; every user-facing sentence is in messages.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.answer import Answer
from bot.core.engine import Citebot, QuestionError, clean_question
from bot.core.feedback import FeedbackStore
from bot.core.guard import RateLimiter, Refusal, answer_safely, question_refusal, rate_limited
from bot.core.messages import (
    NO_DIRECT_MESSAGES,
    NOT_ALLOWED,
    VOTE_RECORDED,
    VOTE_UNKNOWN,
    WORKSPACE_NOT_ALLOWED,
)
from bot.core.threads import History
from bot.core.threads import earlier_questions as questions_before
from bot.settings import DEFAULT_COLLECTION, Settings


@dataclass(frozen=True, slots=True)
class Place:
    """Where a question was asked, in the platform's own ids (as text)."""

    platform: str  # "slack", "discord"
    channel: str
    workspace: str = ""  # Slack team or Discord server; "" when unknown
    is_dm: bool = False
    parent: str = ""  # a thread's channel or forum, else a channel's category; "" when none


@dataclass(frozen=True, slots=True)
class Turn:
    """One question put to citebot in chat."""

    question: str
    asker: str  # the platform's user id
    place: Place
    earlier: tuple[str, ...] = ()  # the thread's earlier questions, oldest first
    counted: bool = False  # the asker's quota already counted it (a check ran first)


@dataclass(frozen=True, slots=True)
class Reply:
    """What to post: an answer or a refusal, for everyone or the asker alone."""

    body: Answer | Refusal
    private: bool  # refusals and apologies concern the asker alone
    answer_id: str | None = None  # recorded for 👍/👎, when it is an answer


class Chat:
    """Apply the chat rules to turns: allowlists and DMs, rate limits, answers, votes."""

    def __init__(
        self,
        bot: Citebot,
        settings: Settings,
        feedback: FeedbackStore,
        limiter: RateLimiter,
        collections: Mapping[str, Citebot] | None = None,
    ) -> None:
        self.bot = bot
        self.settings = settings
        self.feedback = feedback
        self.limiter = limiter
        # The default collection's bot, and one per further collection (sharing its model).
        self.bots = {DEFAULT_COLLECTION: bot, **(collections or {})}

    def collection(self, place: Place) -> str:
        """Name the collection that answers there: the most specific place routed, else the
        default (a thread follows its channel or forum, a channel its category, then server)."""
        if place.platform == "slack":
            routes = self.settings.slack.collections
        else:
            routes = {str(key): name for key, name in self.settings.discord.collections.items()}
        for key in (place.channel, place.parent, place.workspace):
            if key and key in routes:
                return routes[key]
        return DEFAULT_COLLECTION

    def refusal(self, place: Place) -> str:
        """Say why citebot won't answer there, or "" when it will."""
        if place.is_dm:  # the allowlists are about channels and servers
            return "" if self.settings.chat.direct_messages else NO_DIRECT_MESSAGES
        if place.platform == "slack":
            allowed = self.settings.slack.allowed_channels
            return "" if not allowed or place.channel in allowed else NOT_ALLOWED
        rules = self.settings.discord
        servers = {str(server) for server in rules.allowed_guilds}
        if servers and place.workspace and place.workspace not in servers:
            return WORKSPACE_NOT_ALLOWED
        channels = {str(channel) for channel in rules.allowed_channels}
        if channels and place.channel not in channels:
            return NOT_ALLOWED
        return ""

    def is_ask_channel(self, platform: str, channel: str) -> bool:
        """Tell whether every new message (a forum's every new post) in channel is a question."""
        return channel in self._ask_channels(platform)

    def has_ask_channels(self, platform: str) -> bool:
        """Tell whether messages that don't mention citebot may be questions for that reason."""
        return bool(self._ask_channels(platform))

    def _ask_channels(self, platform: str) -> set[str]:
        rules = self.settings.slack if platform == "slack" else self.settings.discord
        return {str(channel) for channel in rules.ask_channels}

    def check(self, turn: Turn) -> Refusal | None:
        """Refuse a turn cheaply, before any answering starts, or None; counts the question.

        For a platform that must say at once whether its reply is public (Discord's deferred
        /ask): the refusals come back before the public "thinking…" does, so they reach the
        asker alone. The turn then goes to `reply` with counted=True.
        """
        refusal = self.refusal(turn.place)
        if refusal:
            return Refusal(refusal)
        try:
            clean_question(turn.question, self.settings.retrieval.max_question_chars)
        except QuestionError as exc:
            return question_refusal(exc)
        return rate_limited(self.limiter, self._quota_key(turn))

    def reply(self, turn: Turn) -> Reply:
        """Answer a turn, or refuse it; every failure ends in a reply, never silence."""
        refusal = self.refusal(turn.place)
        if refusal:
            return Reply(Refusal(refusal), private=True)
        body = answer_safely(
            self.bots[self.collection(turn.place)],
            turn.question,
            user=self._quota_key(turn),
            limiter=None if turn.counted else self.limiter,
            earlier=turn.earlier,
        )
        if isinstance(body, Refusal):
            return Reply(body, private=True)
        answer_id = self.feedback.record_answer(
            body, platform=turn.place.platform, user=turn.asker, channel=turn.place.channel
        )
        return Reply(body, private=False, answer_id=answer_id)

    @property
    def answers_follow_ups(self) -> bool:
        """Tell whether the asker's unmentioned replies in a thread can be questions."""
        return self.settings.chat.follow_ups == "asker"

    def earlier_questions(
        self, history: History, *, asker: str, mentioned: bool
    ) -> list[str] | None:
        """Return the thread's questions a new message follows up, or None when the message is
        not for citebot (threads.py has the rule)."""
        return questions_before(
            history, asker=asker, mentioned=mentioned, follow_ups=self.settings.chat.follow_ups
        )

    def vote(self, answer_id: str, *, up: bool, user: str, channel: str) -> str:
        """Record a 👍/👎 on an answer; return the receipt to show the voter."""
        recorded = self.feedback.record_vote(
            answer_id, rating=1 if up else -1, user=user, channel=channel
        )
        return VOTE_RECORDED if recorded else VOTE_UNKNOWN

    @staticmethod
    def _quota_key(turn: Turn) -> str:
        return f"{turn.place.platform}:{turn.asker}"
