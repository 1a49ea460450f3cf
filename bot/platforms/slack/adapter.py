"""Slack: /ask, @mentions and DMs answered with quoted citations, through slack-bolt.

Pure converters (`question_from_event`, `to_slack_messages`), the bot's wiring (`SlackBot`), and
`start_slack`, which connects over Socket Mode or serves HTTP through `http_server.py`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.core.answer import Answer
from bot.core.chat import Chat, Place, Turn
from bot.core.engine import Citebot
from bot.core.feedback import FeedbackStore
from bot.core.guard import RateLimiter, Refusal
from bot.core.messages import APOLOGY, COULD_NOT_POST
from bot.core.threads import History, ThreadMessage, Unreadable
from bot.platforms import chat_text
from bot.platforms.base import Running, Shared
from bot.platforms.chat_text import clip
from bot.platforms.slack.http_server import make_http_server
from bot.platforms.slack.seen_events import SeenEvents
from bot.settings import Settings
from index.errors import ConfigError

logger = logging.getLogger(__name__)

SECTION_LIMIT = 3000  # characters of text in one section block
BLOCK_LIMIT = 50  # blocks in one message
FALLBACK_LIMIT = 3000
EXCERPT_LIMIT = 500
THREAD_PAGE = 200  # messages a page of conversations.replies; Slack advises no more
THREAD_PAGES = 10  # pages read at most for a follow-up's context
REQUIRED_SCOPES = ("chat:write", "app_mentions:read")
OPTIONAL_SCOPES = {
    "commands": "/ask",
    "im:history": "direct messages",
    "channels:history": "follow-ups in public channel threads",
    "groups:history": "follow-ups in private channel threads",
}
FEEDBACK_ACTION = re.compile(r"^citebot_feedback_(up|down)$")
_EventHandler = Callable[[dict[str, Any], WebClient, BoltContext], None]
_USER_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One chat message: Block Kit blocks plus the plain-text fallback."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


def escape(text: str) -> str:
    """Escape text for Slack so no <!channel>, <@U…> or link from a document becomes live."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return chat_text.defuse_mass_mentions(escaped)


def question_from_event(text: str) -> str:
    """Turn a message's text into the question: mentions of the bot removed, entities decoded."""
    without_mentions = _USER_MENTION.sub(" ", text)
    decoded = without_mentions.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return " ".join(decoded.split())


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _feedback_block(answer_id: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": "citebot_feedback",
        "elements": [
            {
                "type": "button",
                "action_id": "citebot_feedback_up",
                "value": answer_id,
                "text": {"type": "plain_text", "text": "👍 Helpful", "emoji": True},
            },
            {
                "type": "button",
                "action_id": "citebot_feedback_down",
                "value": answer_id,
                "text": {"type": "plain_text", "text": "👎 Not helpful", "emoji": True},
            },
        ],
    }


def _linked(title: str, url: str) -> str:
    """Render a title as a Slack link to url, or as plain text without one."""
    if not url or any(char in url for char in "<>| "):
        return escape(title)
    return f"<{url}|{escape(title)}>"


def _answer_blocks(answer: Answer) -> list[dict[str, Any]]:
    quotes = chat_text.quote_lines(answer, escape, "*", escape)
    if answer.footnote:
        quotes.append(f"_({escape(answer.footnote)})_")
    blocks = [_section(piece) for piece in chat_text.pack_lines(quotes, SECTION_LIMIT)]
    blocks.append({"type": "divider"})
    for citation in answer.citations:
        shown = chat_text.cited_excerpt(answer, citation, EXCERPT_LIMIT)
        blocks.append(
            _section(
                f"*[{citation.n}] {_linked(clip(citation.title, 200), citation.url)}*\n"
                f"`{escape(clip(citation.source, 200))}`, {escape(citation.location)} "
                f"· score {citation.score:.2f}\n"
                f"> {escape(shown)}"
            )
        )
    return blocks


def _not_found_blocks(answer: Answer) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        _section(f":grey_question: *Not in the sources.* {escape(answer.text)}"),
    ]
    if answer.related:
        related = [
            f"{escape(clip(c.title, 150))} (`{escape(clip(c.source, 150))}`, {escape(c.location)})"
            for c in answer.related
        ]
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": clip(
                            "Closest passages, not evidence: " + "; ".join(related), SECTION_LIMIT
                        ),
                    }
                ],
            }
        )
    return blocks


def _fallback(answer: Answer) -> str:
    if not answer.found:
        return clip(escape(answer.text), FALLBACK_LIMIT)
    sources = " ".join(f"[{c.n}] {c.title} ({c.source}, {c.location})" for c in answer.citations)
    return clip(escape(f"{answer.text} Sources: {sources}"), FALLBACK_LIMIT)


def to_slack_messages(
    reply: Answer | Refusal, *, answer_id: str | None = None
) -> list[SlackMessage]:
    """Render a reply as one or more messages within Slack's block and section limits."""
    if isinstance(reply, Refusal):
        text = escape(reply.message)
        return [SlackMessage(text, [_section(f":warning: {text}")])]
    blocks = _answer_blocks(reply) if reply.found else _not_found_blocks(reply)
    if answer_id is not None:
        blocks.append(_feedback_block(answer_id))
    # Every citation is its own block, so cutting between blocks never splits one.
    groups = [blocks[i : i + BLOCK_LIMIT] for i in range(0, len(blocks), BLOCK_LIMIT)]
    fallback = _fallback(reply)
    return [
        SlackMessage(fallback if n == 0 else "(citebot answer, continued)", group)
        for n, group in enumerate(groups)
    ]


# Shown while a language model writes the answer (CITEBOT_WRITER=llm).
WORKING = ":hourglass_flowing_sand: Looking through the sources…"


class SlackBot:
    """The wiring: Slack events in, one core call each, Block Kit messages out."""

    def __init__(
        self,
        bot: Citebot,
        settings: Settings,
        *,
        feedback: FeedbackStore,
        seen: SeenEvents,
        limiter: RateLimiter,
        collections: Mapping[str, Citebot] | None = None,
    ) -> None:
        self.bot = bot
        self.settings = settings
        self.seen = seen
        self.chat = Chat(bot, settings, feedback, limiter, collections)
        self.app = self._build_app()

    def _build_app(self) -> App:
        settings = self.settings
        token = settings.slack_bot_token
        if token is None:
            raise ConfigError("set SLACK_BOT_TOKEN (xoxb-…) to run the Slack bot")
        http_mode = settings.slack.mode == "http"
        secret = settings.slack_signing_secret
        if http_mode and secret is None:
            raise ConfigError("HTTP mode needs SLACK_SIGNING_SECRET; set it or use Socket Mode")
        client = WebClient(token=token.get_secret_value(), base_url=settings.slack.api_url)
        client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=3))
        try:  # bolt checks the token with auth.test here
            app = App(
                client=client,
                signing_secret=secret.get_secret_value() if secret else None,
                # HTTP requests reach bolt only through http_server.py's guard, which checks the
                # signature over the raw bytes before anything parses them: that is the check.
                # bolt's own would repeat it on the same bytes, so it is off.
                request_verification_enabled=False,
                process_before_response=False,
            )
        except (BoltError, SlackApiError) as exc:
            raise ConfigError(
                f"Slack refused SLACK_BOT_TOKEN ({_api_error(exc)}); check the token (xoxb-…) "
                "and that the app is installed in the workspace"
            ) from exc
        except OSError as exc:  # URLError, refused or timed-out connections
            raise ConfigError(
                f"cannot reach Slack's API at {settings.slack.api_url} ({exc}); check the "
                "network, a proxy, or CITEBOT_SLACK__API_URL"
            ) from exc
        _check_scopes(client)
        app.middleware(self._once_per_event)
        app.command("/ask")(self._on_slash_command)
        app.event("app_mention")(self._never_silent(self._on_mention))
        app.event("message")(self._never_silent(self._on_message))
        app.action(FEEDBACK_ACTION)(self._on_feedback)
        return app

    def _once_per_event(
        self, body: dict[str, Any], next_: Callable[[], BoltResponse]
    ) -> BoltResponse:
        """Drop Slack's retries: same event_id, whether over HTTP or Socket Mode."""
        event_id = body.get("event_id")
        if isinstance(event_id, str) and not self.seen.first_time(event_id):
            logger.info("ignoring repeated delivery of event %s", event_id)
            return BoltResponse(status=200, body="")
        return next_()

    def _refusal(self, channel: str) -> str:
        """Say why the bot won't answer in this channel, or "" when it will."""
        return self.chat.refusal(_place(channel))

    def _reply(
        self, question: str, *, user: str, channel: str, earlier: Sequence[str] = ()
    ) -> tuple[list[SlackMessage], bool]:
        """Return the messages for a question, and whether only the asker should see them."""
        reply = self.chat.reply(Turn(question, user, _place(channel), tuple(earlier)))
        return to_slack_messages(reply.body, answer_id=reply.answer_id), reply.private

    def _on_slash_command(
        self,
        ack: Callable[..., None],
        command: dict[str, Any],
        respond: Callable[..., Any],
        client: WebClient,
    ) -> None:
        # Within Slack's 3 seconds; the answer follows through response_url. A language model
        # takes seconds, so the asker is told it is on its way.
        if self.bot.writer.name == "extractive":
            ack()
        else:
            ack(text=WORKING)
        visibility = self.settings.slack.slash_visibility
        user, channel = command.get("user_id", ""), command.get("channel_id", "")
        messages, private = self._reply(command.get("text", ""), user=user, channel=channel)
        if private:
            visibility = "ephemeral"
        for message in messages:
            try:
                status = respond(
                    text=message.text,
                    blocks=message.blocks,
                    response_type=visibility,
                    replace_original=False,
                ).status_code
                problem = "" if status == 200 else f"HTTP {status}"
            except (OSError, ValueError) as exc:  # unreachable, or no response_url at all
                problem = str(exc)
            if problem:
                # An expired or missing response_url: post through the Web API instead.
                logger.warning("response_url failed (%s); posting through the Web API", problem)
                ephemeral = visibility != "in_channel"
                self._post(client, channel, [message], None, only_for=user if ephemeral else "")

    def _post(
        self,
        client: WebClient,
        channel: str,
        messages: list[SlackMessage],
        thread_ts: str | None,
        *,
        only_for: str = "",
    ) -> None:
        for message in messages:
            # Refused as it is (blocks Slack won't take, too long): the plain text, then a short
            # note, so the asker hears something whenever the channel takes any message at all.
            attempts = [message, SlackMessage(message.text), SlackMessage(COULD_NOT_POST)]
            for attempt in attempts:
                try:
                    self._post_one(client, channel, attempt, thread_ts, only_for)
                    break
                except SlackApiError as exc:
                    logger.error("posting to %s failed: %s", channel, exc.response.get("error"))

    @staticmethod
    def _post_one(
        client: WebClient, channel: str, message: SlackMessage, thread_ts: str | None, only_for: str
    ) -> None:
        if only_for:
            client.chat_postEphemeral(
                channel=channel,
                user=only_for,
                thread_ts=thread_ts,
                text=message.text,
                blocks=message.blocks or None,
            )
        else:
            client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=message.text,
                blocks=message.blocks or None,
            )

    def _never_silent(self, handle: _EventHandler) -> _EventHandler:
        """Wrap an event handler so a failure anywhere in it still reaches the asker.

        Answering already turns its own failures into a reply; this catches the rest (reading
        the thread, the placeholder, a client error): the asker gets the apology, privately, in
        the thread they asked in.
        """

        def handler(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
            try:
                handle(event, client, context)
            except Exception:
                logger.exception("replying to a %s event failed", event.get("type"))
                channel, user = str(event.get("channel") or ""), str(event.get("user") or "")
                if channel and user:
                    thread = event.get("thread_ts") or event.get("ts")
                    self._post(client, channel, [SlackMessage(APOLOGY)], thread, only_for=user)

        return handler

    def _on_mention(self, event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if not _replyable(event):
            return
        earlier = self.chat.earlier_questions(
            self._history(event, client, context),
            asker=str(event.get("user", "")),
            mentioned=True,
        )
        self._answer_event(event, client, earlier or [])

    def _answer_event(self, event: dict[str, Any], client: WebClient, earlier: list[str]) -> None:
        """Answer a message in its thread (or start one under it); refusals to the asker only."""
        channel, user = event.get("channel", ""), event.get("user", "")
        thread = event.get("thread_ts") or event.get("ts")
        working = self._post_working(client, channel, thread)
        messages, private = self._reply(
            question_from_event(event.get("text", "")), user=user, channel=channel, earlier=earlier
        )
        if working and messages and not private:
            messages = self._replace_working(client, channel, working, messages)
        elif working:
            self._delete(client, channel, working)  # a refusal goes to the asker alone
        self._post(client, channel, messages, thread, only_for=user if private else "")

    def _post_working(self, client: WebClient, channel: str, thread: str | None) -> str:
        """Post a placeholder while a slow writer (a language model) works; return its ts."""
        if self.bot.writer.name == "extractive" or self._refusal(channel):
            return ""  # a quoted answer takes milliseconds: nothing to wait for
        try:
            posted = client.chat_postMessage(channel=channel, thread_ts=thread, text=WORKING)
        except SlackApiError as exc:
            logger.warning("no working message in %s: %s", channel, exc.response.get("error"))
            return ""
        return str(posted.get("ts") or "")

    def _replace_working(
        self, client: WebClient, channel: str, ts: str, messages: list[SlackMessage]
    ) -> list[SlackMessage]:
        """Turn the placeholder into the first message; return the messages still to post."""
        first = messages[0]
        try:
            client.chat_update(channel=channel, ts=ts, text=first.text, blocks=first.blocks)
        except SlackApiError as exc:
            logger.warning("could not update the working message: %s", exc.response.get("error"))
            self._delete(client, channel, ts)
            return messages
        return messages[1:]

    @staticmethod
    def _delete(client: WebClient, channel: str, ts: str) -> None:
        try:
            client.chat_delete(channel=channel, ts=ts)
        except SlackApiError as exc:
            logger.warning("could not remove the working message: %s", exc.response.get("error"))

    def _on_message(self, event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        if event.get("bot_id") or event.get("subtype") or not _replyable(event):
            return
        if event.get("channel_type") == "im":
            channel, thread = event.get("channel", ""), event.get("thread_ts")
            working = self._post_working(client, channel, thread)
            messages, _ = self._reply(  # a DM is private already
                question_from_event(event.get("text", "")),
                user=event.get("user", ""),
                channel=channel,
            )
            if working and messages:
                messages = self._replace_working(client, channel, working, messages)
            self._post(client, channel, messages, thread)
            return
        # A channel message is answered when it opens a thread in an ask-channel, or when it
        # follows up the asker's own question.
        bot_user = context.bot_user_id or ""
        if f"<@{bot_user}>" in event.get("text", ""):
            return  # mentions arrive as app_mention events too
        if not event.get("thread_ts") and self.chat.is_ask_channel("slack", event["channel"]):
            self._answer_event(event, client, [])  # in the thread it opens
            return
        if not self.chat.answers_follow_ups:
            return
        earlier = self.chat.earlier_questions(
            self._history(event, client, context),
            asker=str(event.get("user", "")),
            mentioned=False,
        )
        if earlier is not None:
            self._answer_event(event, client, earlier)

    def _history(self, event: dict[str, Any], client: WebClient, context: BoltContext) -> History:
        """Return the thread's messages before the event, oldest first (none outside a thread),
        or Unreadable when Slack refuses them (a missing history scope).

        Slack gives a thread oldest first, a page at a time, so every page is read: the latest
        questions, the ones a follow-up builds on, come last.
        """
        thread, ts = event.get("thread_ts"), event.get("ts")
        if not thread or thread == ts:
            return ()
        messages: dict[str, dict[str, Any]] = {}  # by ts: a later page may repeat the parent
        cursor = None
        for _ in range(THREAD_PAGES):
            try:
                reply = client.conversations_replies(
                    channel=event.get("channel", ""), ts=thread, limit=THREAD_PAGE, cursor=cursor
                )
            except SlackApiError as exc:
                reason = (
                    f"{_api_error(exc)}; give the app the channels:history and groups:history "
                    "scopes"
                )
                if not messages:
                    return Unreadable(reason)
                logger.warning("read part of thread %s (%s); using what was read", thread, reason)
                break
            page = reply.get("messages")
            for message in page if isinstance(page, list) else []:
                if isinstance(message, dict):
                    messages.setdefault(str(message.get("ts")), message)
            metadata = reply.get("response_metadata")
            cursor = metadata.get("next_cursor") if isinstance(metadata, dict) else None
            if not cursor:
                break
        else:
            logger.warning(
                "thread %s is longer than %d messages; its context is read from the first ones",
                thread,
                THREAD_PAGE * THREAD_PAGES,
            )
        before = _timestamp(ts)
        bot_user, bot_id = context.bot_user_id or "", context.bot_id or ""
        return [
            ThreadMessage(
                author=str(message.get("user", "")),
                text=question_from_event(str(message.get("text", ""))),
                mentions_bot=bool(bot_user) and f"<@{bot_user}>" in str(message.get("text", "")),
                from_a_bot=bool(message.get("bot_id")),
                from_this_bot=bool(bot_id) and message.get("bot_id") == bot_id,
            )
            for message in messages.values()
            if _timestamp(message.get("ts")) < before
        ]

    def _on_feedback(
        self,
        ack: Callable[..., None],
        body: dict[str, Any],
        action: dict[str, Any],
        client: WebClient,
    ) -> None:
        ack()
        match = FEEDBACK_ACTION.match(action.get("action_id", ""))
        user = body.get("user", {}).get("id", "")
        channel = (body.get("channel") or {}).get("id", "")
        text = self.chat.vote(
            str(action.get("value", "")),
            up=bool(match and match.group(1) == "up"),
            user=user,
            channel=channel,
        )
        if channel and user:
            try:
                client.chat_postEphemeral(channel=channel, user=user, text=text)
            except SlackApiError as exc:
                logger.warning("feedback receipt failed: %s", exc.response.get("error"))


def _api_error(exc: Exception) -> str:
    """Return Slack's error code ("invalid_auth") from an API or bolt error."""
    response = getattr(exc, "response", None)
    if response is not None and hasattr(response, "get"):
        return str(response.get("error"))
    found = re.search(r"\b(invalid_auth|not_authed|account_inactive|token_revoked)\b", str(exc))
    return found.group(1) if found else str(exc).splitlines()[0]


def _check_scopes(client: WebClient) -> None:
    """Refuse to start without the scopes answering needs; warn about the ones features need.

    Slack lists a token's scopes in auth.test's X-OAuth-Scopes header; without the header
    (some proxies drop it) nothing is checked.
    """
    try:
        headers = client.auth_test().headers
        header = next((v for k, v in headers.items() if k.lower() == "x-oauth-scopes"), None)
    except (SlackApiError, OSError):
        return  # bolt's own auth.test just succeeded; a blip here is not worth failing on
    if not isinstance(header, str):
        return
    granted = {scope.strip() for scope in header.split(",")}
    missing = [scope for scope in REQUIRED_SCOPES if scope not in granted]
    if missing:
        raise ConfigError(
            f"the Slack app lacks the {', '.join(missing)} scope(s) it needs to answer; add "
            "them under OAuth & Permissions (or use slack-app-manifest.yml) and reinstall the app"
        )
    for scope, feature in OPTIONAL_SCOPES.items():
        if scope not in granted:
            logger.warning("the Slack app lacks the %s scope: %s won't work", scope, feature)


def _place(channel: str) -> Place:
    return Place("slack", channel, is_dm=channel.startswith("D"))  # Slack's DM channels


def _timestamp(ts: Any) -> float:
    try:
        return float(ts)
    except (TypeError, ValueError):
        return float("inf")  # unknown: never counted as earlier


def _replyable(event: dict[str, Any]) -> bool:
    """Tell whether an event names where to answer; log and drop it when it doesn't."""
    if isinstance(event.get("channel"), str) and event["channel"]:
        return True
    logger.warning("ignoring a %s event without a channel to answer in", event.get("type"))
    return False


def start_slack(slack: SlackBot) -> Callable[[], None]:
    """Start the Slack bot in background threads; return the function that stops it."""
    settings = slack.settings
    if settings.slack.mode == "http":
        server = make_http_server(slack.app, settings)
        thread = threading.Thread(target=server.run, name="slack-http", daemon=True)
        thread.start()
        logger.warning(
            "Slack bot listening on %s:%d%s",
            settings.slack.host,
            settings.slack.port,
            settings.slack.path,
        )

        def stop_http() -> None:
            server.should_exit = True
            thread.join(10)

        return stop_http
    if settings.slack_app_token is None:
        raise ConfigError(
            "Socket Mode needs SLACK_APP_TOKEN (xapp-…, with connections:write); set it, or "
            "set CITEBOT_SLACK__MODE=http"
        )
    from slack_bolt.adapter.socket_mode import SocketModeHandler  # noqa: PLC0415

    handler = SocketModeHandler(slack.app, settings.slack_app_token.get_secret_value())
    handler.connect()  # type: ignore[no-untyped-call]
    logger.warning("Slack bot connected over Socket Mode")
    return handler.close


async def start(bot: Citebot, settings: Settings, shared: Shared) -> Running:
    """Start the Slack bot for `citebot serve`, sharing the process's votes and quota."""
    slack = SlackBot(
        bot,
        settings,
        feedback=shared.feedback,
        seen=SeenEvents(settings.data_dir / "slack-events.sqlite"),
        limiter=shared.limiter,
        collections=shared.collections,
    )
    stop = await asyncio.to_thread(start_slack, slack)

    async def stop_slack() -> None:
        await asyncio.to_thread(stop)

    return Running(stop_slack)
