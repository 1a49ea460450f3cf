"""Discord: mentions, DMs and /ask answered with quoted citations, through discord.py.

Pure converters (`question_from_message`, `to_discord_messages`) and one wiring class
(`CitebotClient`); retrieval runs in a worker thread so gateway heartbeats never stall.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import discord
from discord import app_commands

from bot.core.answer import Answer
from bot.core.chat import Chat, Place, Turn
from bot.core.engine import Citebot
from bot.core.feedback import FeedbackStore
from bot.core.guard import RateLimiter, Refusal
from bot.core.messages import APOLOGY, COULD_NOT_POST
from bot.core.threads import History, ThreadMessage, Unreadable
from bot.platforms.base import Running, Shared
from bot.platforms.chat_text import (
    cited_excerpt,
    clip,
    defuse_mass_mentions,
    escape_outside_code,
    pack_lines,
    quote_lines,
)
from bot.platforms.discord.internals import guard_parsers, point_at, start_thread_on
from bot.settings import Settings
from index.errors import ConfigError

logger = logging.getLogger(__name__)

CONTENT_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_URL_LIMIT = 2048  # longer addresses are refused by Discord: the title then has no link
EMBED_DESCRIPTION_LIMIT = 1000  # well under Discord's 4,096, to keep several per message
EMBED_FOOTER_LIMIT = 300
EMBEDS_PER_MESSAGE = 4  # 4 x ~1,600 characters stays under the 6,000 a message allows
NO_MENTIONS = discord.AllowedMentions.none()
THREAD_MESSAGES = 50  # a thread's latest messages read for a follow-up's context
_REMEMBERED_CHANNELS = 10_000  # uncached channels whose kind is remembered
_MENTION = re.compile(r"<@!?(\d+)>")


@dataclass(frozen=True, slots=True)
class EmbedSpec:
    """A citation as a Discord embed, kept as plain data so it can be checked without a client."""

    title: str
    description: str
    footer: str
    url: str = ""  # the title links here when the document is published

    def to_embed(self) -> discord.Embed:
        """Build the discord.py embed."""
        embed = discord.Embed(title=self.title, description=self.description, url=self.url or None)
        embed.set_footer(text=self.footer)
        return embed


@dataclass(frozen=True, slots=True)
class DiscordMessage:
    """One message: content plus up to a few citation embeds."""

    content: str
    embeds: list[EmbedSpec] = field(default_factory=list)


def question_from_message(content: str, bot_id: int) -> str:
    """Turn a message into the question: the bot's own mention removed."""
    without_bot = _MENTION.sub(lambda m: " " if int(m.group(1)) == bot_id else m.group(0), content)
    return " ".join(without_bot.split())


def _safe(text: str) -> str:
    """Escape Discord markdown and break mass mentions in text from documents or questions.

    A passage's inline code spans stay code: Discord shows them as typed.
    """
    return defuse_mass_mentions(escape_outside_code(text, discord.utils.escape_markdown))


def to_discord_messages(reply: Answer | Refusal) -> list[DiscordMessage]:
    """Render a reply as messages within Discord's content and embed limits."""
    if isinstance(reply, Refusal):
        return [DiscordMessage(clip(_safe(reply.message), CONTENT_LIMIT))]
    if not reply.found:
        lines = [f"**Not in the sources.** {_safe(reply.text)}"]
        if reply.related:
            lines.append(
                "-# Closest passages, not evidence: "
                + "; ".join(
                    f"{_safe(clip(c.title, 120))} ({_safe(c.source)}, {c.location})"
                    for c in reply.related
                )
            )
        return [DiscordMessage(content) for content in pack_lines(lines, CONTENT_LIMIT)]
    lines = quote_lines(reply, _safe, "**", defuse_mass_mentions)
    if reply.footnote:
        lines.append(f"-# {_safe(reply.footnote)}")
    contents = pack_lines(lines, CONTENT_LIMIT)
    embeds = [
        EmbedSpec(
            title=clip(f"[{c.n}] {c.title}", EMBED_TITLE_LIMIT),
            description=_safe(cited_excerpt(reply, c, EMBED_DESCRIPTION_LIMIT)),
            footer=clip(f"{c.source}, {c.location} · score {c.score:.2f}", EMBED_FOOTER_LIMIT),
            url=c.url if len(c.url) <= EMBED_URL_LIMIT else "",
        )
        for c in reply.citations
    ]
    groups = [embeds[i : i + EMBEDS_PER_MESSAGE] for i in range(0, len(embeds), EMBEDS_PER_MESSAGE)]
    messages = [DiscordMessage(content) for content in contents]
    # Citations ride on the last text message, then on follow-ups of their own; never split.
    messages[-1] = DiscordMessage(messages[-1].content, groups[0] if groups else [])
    messages.extend(DiscordMessage("", group) for group in groups[1:])
    return messages


_FEEDBACK_ID = re.compile(r"citebot:(?P<rating>up|down):(?P<answer>[0-9a-f]{32})")


class FeedbackButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=_FEEDBACK_ID,
):
    """A 👍 or 👎 button that survives restarts: its custom_id carries the answer id."""

    def __init__(self, rating: str, answer_id: str) -> None:
        super().__init__(
            discord.ui.Button(
                label="Helpful" if rating == "up" else "Not helpful",
                emoji="👍" if rating == "up" else "👎",
                style=discord.ButtonStyle.secondary,
                custom_id=f"citebot:{rating}:{answer_id}",
            )
        )
        self.rating = rating
        self.answer_id = answer_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str]
    ) -> FeedbackButton:
        """Rebuild the button from a click on any message, even one sent before a restart."""
        return cls(match["rating"], match["answer"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        """Record the vote and thank the voter privately."""
        client = interaction.client
        assert isinstance(client, CitebotClient)
        text = await asyncio.to_thread(
            client.chat.vote,
            self.answer_id,
            up=self.rating == "up",
            user=str(interaction.user.id),
            channel=str(interaction.channel_id or ""),
        )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


def feedback_view(answer_id: str) -> discord.ui.View:
    """Return the 👍 / 👎 buttons for one answer."""
    view = discord.ui.View(timeout=None)
    view.add_item(FeedbackButton("up", answer_id))
    view.add_item(FeedbackButton("down", answer_id))
    return view


class CitebotClient(discord.Client):
    """A discord.py client that answers mentions, DMs and /ask from a loaded Citebot."""

    def __init__(
        self,
        *,
        bot: Citebot,
        settings: Settings,
        feedback: FeedbackStore,
        limiter: RateLimiter,
        collections: Mapping[str, Citebot] | None = None,
        **options: Any,
    ) -> None:
        # The smallest set that works: guilds (slash commands, threads), messages in guilds and
        # DMs. Mentions and DMs carry their content without the privileged message-content
        # intent; typing, presence, voice, reactions and the rest are never sent to citebot.
        intents = discord.Intents.none()
        intents.guilds = True
        intents.guild_messages = True
        intents.dm_messages = True
        # The asker's replies in a thread don't mention the bot, so Discord sends them without
        # their text unless the privileged Message Content intent is on (set in the portal too).
        # An ask-channel's posts reach it without their text too.
        intents.message_content = settings.chat.follow_ups == "asker" or bool(
            settings.discord.ask_channels
        )
        options.setdefault("heartbeat_timeout", settings.discord.heartbeat_timeout)
        super().__init__(intents=intents, allowed_mentions=NO_MENTIONS, **options)
        self.bot = bot
        self.settings = settings
        self.chat = Chat(bot, settings, feedback, limiter, collections)
        self.tree = app_commands.CommandTree(self)
        # Uncached channel -> the lookup of its parent (the parent's id for a thread, else None).
        self._parents: dict[int, asyncio.Future[int | None]] = {}
        guard_parsers(self)
        self.tree.command(name="ask", description="Ask the documents a question")(self._ask_command)
        self.tree.error(self._command_failed)

    async def setup_hook(self) -> None:
        """Register the feedback buttons and sync /ask (to one guild when configured)."""
        self.add_dynamic_items(FeedbackButton)
        guild_id = self.settings.discord.sync_guild
        if guild_id is not None:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()

    async def _reply_for(self, turn: Turn) -> tuple[list[DiscordMessage], str | None]:
        reply = await asyncio.to_thread(self.chat.reply, turn)
        return to_discord_messages(reply.body), reply.answer_id

    async def on_message(self, message: discord.Message) -> None:
        """Answer a mention, a direct message, or (when set) the asker's reply in a thread."""
        me = self.user
        if me is None or message.author.bot:
            return
        is_dm = message.guild is None and isinstance(message.channel, discord.DMChannel)
        mentioned = me in message.mentions
        unmentioned_may_ask = self.chat.answers_follow_ups or self.chat.has_ask_channels("discord")
        if not is_dm and not mentioned and not unmentioned_may_ask:
            return
        try:
            thread = None if is_dm else await self._thread_of(message)
            if not is_dm and not mentioned and self._opens_a_question(message, thread):
                await self._answer_message(message, is_dm=False, thread=thread, earlier=[])
                return
            history: History = ()
            if thread is not None:
                history = await self._earlier_in(thread, message, me.id)
            context = self.chat.earlier_questions(
                history,
                asker=str(message.author.id),
                mentioned=mentioned or is_dm,
            )
            if context is None:
                return  # people talking in a thread: only the asker's follow-ups are questions
            await self._answer_message(message, is_dm=is_dm, thread=thread, earlier=context)
        except Exception:
            # Answering turns its own failures into a reply; this catches the rest (a thread or
            # channel lookup, a post refused twice): the apology, where the question was asked.
            logger.exception("replying to message %s failed", message.id)
            with contextlib.suppress(discord.HTTPException):
                await message.channel.send(
                    content=APOLOGY, reference=message, allowed_mentions=NO_MENTIONS
                )

    def _opens_a_question(self, message: discord.Message, thread: tuple[int, int] | None) -> bool:
        """Tell whether a message is a new question in an ask-channel: a forum's new post (the
        message that opens its thread has the thread's id) or a text channel's top-level one."""
        if thread is not None:
            thread_id, parent_id = thread
            return message.id == thread_id and self.chat.is_ask_channel("discord", str(parent_id))
        return self.chat.is_ask_channel("discord", str(message.channel.id))

    async def _thread_of(self, message: discord.Message) -> tuple[int, int] | None:
        """Return (thread id, parent channel id) when a guild message is in a thread, else None.

        Channels the gateway hasn't described (an uncached guild) are looked up once each and
        remembered, so a busy channel costs one REST call, not one per mention.
        """
        channel: Any = message.channel
        if isinstance(channel, discord.Thread):
            return (channel.id, channel.parent_id)
        if not isinstance(channel, discord.PartialMessageable):
            return None
        lookup = self._parents.get(channel.id)
        if lookup is None:  # the first mention there asks; mentions arriving meanwhile wait
            if len(self._parents) >= _REMEMBERED_CHANNELS:
                self._parents.clear()
            lookup = asyncio.ensure_future(self._parent_of(channel.id))
            self._parents[channel.id] = lookup
        try:
            parent = await lookup
        except Exception as exc:  # refused, unreachable, or a payload discord.py can't read
            self._parents.pop(channel.id, None)  # not remembered: the next mention asks again
            logger.warning(
                "cannot tell whether channel %s is a thread (%s); answering without its "
                "earlier messages",
                channel.id,
                exc,
            )
            return None
        return None if parent is None else (channel.id, parent)

    async def _parent_of(self, channel_id: int) -> int | None:
        """Ask Discord for a channel: its parent's id when it is a thread, else None."""
        fetched = await self.fetch_channel(channel_id)
        return fetched.parent_id if isinstance(fetched, discord.Thread) else None

    async def _earlier_in(
        self, thread: tuple[int, int], message: discord.Message, me: int
    ) -> History:
        """Return the thread's messages before this one, oldest first, its opening one included,
        or Unreadable when Discord refuses them (403 Missing Access, 404).

        A thread started on a message (as citebot's answers are) opens with that message, which
        lives in the parent channel under the thread's id.
        """
        thread_id, parent_id = thread
        channel = self.get_partial_messageable(thread_id)
        try:
            history = [m async for m in channel.history(limit=THREAD_MESSAGES, before=message)]
        except discord.HTTPException as exc:
            return Unreadable(f"Discord said {exc.status} {exc.text or exc.code}")
        history.reverse()
        try:
            parent = self.get_partial_messageable(parent_id)
            history.insert(0, await parent.fetch_message(thread_id))
        except discord.HTTPException:
            pass  # a thread not started on a message (or the message deleted)
        return [
            ThreadMessage(
                author=str(m.author.id),
                text=question_from_message(m.content, me),
                mentions_bot=any(user.id == me for user in m.mentions),
                from_a_bot=m.author.bot,
                from_this_bot=m.author.id == me,
            )
            for m in history
        ]

    async def _answer_message(
        self,
        message: discord.Message,
        *,
        is_dm: bool,
        thread: tuple[int, int] | None,
        earlier: list[str],
    ) -> None:
        """Answer one message where it was asked (or in a new thread on it).

        thread: (its id, its channel's) when the message is in a thread, else None.
        """
        in_thread = thread is not None
        me = self.user
        assert me is not None  # on_message returns early until the client is ready
        question = question_from_message(message.content, me.id)
        if self.bot.writer.name != "extractive":
            # A language model takes seconds: "citebot is typing…" until the answer is sent.
            with contextlib.suppress(discord.HTTPException):
                await message.channel.typing()
        # An uncached guild leaves message.guild None; its channel still knows the id.
        guild_id = message.guild.id if message.guild else getattr(message.channel, "guild_id", None)
        parent = thread[1] if thread else getattr(message.channel, "category_id", None)
        place = _place(guild_id, message.channel.id, is_dm=is_dm, parent=parent)
        turn = Turn(question, str(message.author.id), place, tuple(earlier))
        messages, answer_id = await self._reply_for(turn)
        target: discord.abc.Messageable = message.channel
        reference: discord.Message | None = message
        if self.settings.discord.reply_in_thread and not is_dm and not in_thread:
            thread_id = await self._start_thread(message, question)
            if thread_id is not None:
                target = self.get_partial_messageable(thread_id)
                reference = None
        for n, reply in enumerate(messages):
            last = n == len(messages) - 1
            extra: dict[str, Any] = {}
            if n == 0 and reference is not None:
                extra["reference"] = reference
            if last and answer_id:
                extra["view"] = feedback_view(answer_id)
            try:
                await target.send(
                    content=reply.content or None,
                    embeds=[spec.to_embed() for spec in reply.embeds],
                    mention_author=False,
                    allowed_mentions=NO_MENTIONS,
                    **extra,
                )
            except discord.HTTPException as exc:
                # Refused as it is (an embed Discord won't take, too long): a short note instead,
                # so the asker hears something whenever the channel takes any message at all.
                logger.error("posting to %s failed (%s %s)", target, exc.status, exc.code)
                note: dict[str, Any] = {"reference": reference} if n == 0 and reference else {}
                await target.send(content=COULD_NOT_POST, allowed_mentions=NO_MENTIONS, **note)

    async def _start_thread(self, message: discord.Message, question: str) -> int | None:
        """Open a thread on the question; None (answer in place) when Discord refuses one."""
        try:
            # Through HTTP rather than message.create_thread, which needs the guild cached.
            thread_id = await start_thread_on(
                self, message.channel.id, message.id, clip(question, 90) or "citebot"
            )
        except discord.HTTPException as exc:
            # 50024: the message is itself in a thread; 50013: no Create Public Threads.
            logger.warning(
                "no thread for message %s (%s %s); answering in place",
                message.id,
                exc.status,
                exc.code,
            )
            return None
        return thread_id

    async def _ask_command(self, interaction: discord.Interaction[Any], question: str) -> None:
        """Refuse privately, or defer at once (Discord allows 3 s) and answer in a follow-up."""
        # The cheap refusals come first, so they reach the asker alone: once deferred publicly,
        # the follow-up is public too.
        channel: Any = interaction.channel
        parent = getattr(channel, "parent_id", None) or getattr(channel, "category_id", None)
        place = _place(
            interaction.guild_id,
            interaction.channel_id,
            is_dm=interaction.guild_id is None,
            parent=parent,
        )
        turn = Turn(question, str(interaction.user.id), place)
        refusal = await asyncio.to_thread(self.chat.check, turn)
        if refusal:
            await _tell_privately(interaction, clip(_safe(refusal.message), CONTENT_LIMIT))
            return
        await interaction.response.defer(thinking=True)
        messages, answer_id = await self._reply_for(dataclasses.replace(turn, counted=True))
        for n, reply in enumerate(messages):
            last = n == len(messages) - 1
            await interaction.followup.send(
                content=reply.content or discord.utils.MISSING,
                embeds=[spec.to_embed() for spec in reply.embeds],
                view=feedback_view(answer_id) if last and answer_id else discord.utils.MISSING,
                allowed_mentions=NO_MENTIONS,
            )

    async def close(self) -> None:
        """Close the gateway with 1000, a normal closure, so Discord ends the session at once.

        discord.py closes with 1000, but its reader task, woken by the closing socket, closes
        first with 4000 (resumable): Discord then keeps the session and shows the bot online
        for a while. While shutting down, every close of the socket is made a 1000.
        """
        ws = self.ws
        socket = getattr(ws, "socket", None)
        if socket is not None and not socket.closed:
            close_socket = socket.close

            async def normal_closure(*, code: int = 1000, message: bytes = b"") -> bool:
                return bool(await close_socket(code=1000, message=message))

            socket.close = normal_closure
        await super().close()

    async def on_interaction(self, interaction: discord.Interaction[Any]) -> None:
        """Answer a click on a button citebot doesn't know, so it never shows as failed."""
        if interaction.type is not discord.InteractionType.component:
            return
        data: dict[str, Any] = dict(interaction.data or {})
        if _FEEDBACK_ID.fullmatch(str(data.get("custom_id", ""))):
            return  # the feedback button answers for itself
        await _tell_privately(interaction, "I don't know that button; it may be from an older bot.")

    async def _command_failed(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        """An unknown command, or /ask without its question: say so to the asker alone."""
        if isinstance(error, app_commands.CommandNotFound):
            text = "I don't know that command; ask with `/ask question: …`."
        else:
            logger.warning("command failed: %s", error)
            text = "That didn't work; ask with `/ask question: …` and a question."
        await _tell_privately(interaction, text)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """Log handler failures; the bot keeps running."""
        logger.exception("error in %s", event_method)


async def _tell_privately(interaction: discord.Interaction[Any], text: str) -> None:
    """Reply to an interaction so only its user sees it, whether or not it was deferred."""
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
    except discord.HTTPException as exc:
        logger.warning("could not answer interaction %s: %s", interaction.id, exc)


def _place(
    guild_id: int | None, channel_id: int | None, *, is_dm: bool, parent: int | None = None
) -> Place:
    return Place(
        "discord",
        str(channel_id or ""),
        str(guild_id) if guild_id else "",
        is_dm=is_dm,
        parent=str(parent) if parent else "",
    )


async def run_client(client: CitebotClient, token: str) -> None:
    """Log in and serve until closed; a refused token or an unreachable API is one ConfigError."""
    api = client.settings.discord.api_url
    try:
        await client.start(token)
    except discord.LoginFailure as exc:
        raise ConfigError(
            f"Discord refused DISCORD_TOKEN ({exc}); reset the token under Developer Portal → "
            "Bot → Reset Token and set DISCORD_TOKEN to the new one"
        ) from exc
    except discord.PrivilegedIntentsRequired as exc:
        raise ConfigError(
            "Discord refused the Message Content intent that CITEBOT_CHAT__FOLLOW_UPS=asker "
            "needs; turn it on under Developer Portal → Bot → Privileged Gateway Intents, or "
            "set CITEBOT_CHAT__FOLLOW_UPS=mention"
        ) from exc
    except (aiohttp.ClientConnectionError, OSError) as exc:
        raise ConfigError(
            f"cannot reach Discord's API at {api} ({exc}); check the network, a proxy, or "
            "CITEBOT_DISCORD__API_URL"
        ) from exc


async def start(bot: Citebot, settings: Settings, shared: Shared) -> Running:
    """Start the Discord bot for `citebot serve`; its task ends early if login fails."""
    token = settings.discord_token
    if token is None:
        raise ConfigError("set DISCORD_TOKEN to run the Discord bot")
    point_at(settings.discord.api_url, settings.discord.gateway_url)
    client = CitebotClient(
        bot=bot,
        settings=settings,
        feedback=shared.feedback,
        limiter=shared.limiter,
        collections=shared.collections,
    )
    task = asyncio.create_task(run_client(client, token.get_secret_value()))

    async def stop_discord() -> None:
        await client.close()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await asyncio.wait_for(task, 10)

    return Running(stop_discord, task)
