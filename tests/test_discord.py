"""The Discord bot end to end: the real discord.py client over loopback to a fake Discord."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.core.answer import NOT_FOUND, Answer, Citation, Quote
from bot.core.engine import Citebot, run_ingest
from bot.core.feedback import FeedbackStore
from bot.core.guard import RateLimiter
from bot.core.messages import APOLOGY, COULD_NOT_POST
from bot.platforms.chat_text import term_as_code
from bot.platforms.discord.adapter import (
    CONTENT_LIMIT,
    EMBEDS_PER_MESSAGE,
    CitebotClient,
    question_from_message,
    run_client,
    to_discord_messages,
)
from bot.platforms.discord.internals import TOUCHED, point_at
from bot.settings import Settings
from index.errors import ConfigError
from tests.discord_harness import TOKEN, RunningClient
from tests.fake_discord import APP_ID, BOT_ID, HUMAN, FakeDiscord
from tests.fake_llm import SPAN, Scripted, faithful_json, llm_citebot, running_fake_llm
from tests.fakes import HashingEmbedder


@pytest.fixture
def fake() -> Iterator[FakeDiscord]:
    server = FakeDiscord()
    yield server
    server.stop()


@pytest.fixture
def running(fake: FakeDiscord, tmp_path: Path, real_bot: Citebot) -> Iterator[RunningClient]:
    client = RunningClient(real_bot, fake, tmp_path)
    yield client
    client.stop()


def interaction(kind: int, data: dict[str, Any], interaction_id: int = 777) -> dict[str, Any]:
    return {
        "id": str(interaction_id),
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"itoken{interaction_id}",
        "version": 1,
        "channel_id": "500",
        "guild_id": "1",
        "member": {
            "user": HUMAN,
            "roles": [],
            "joined_at": "2026-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": "0",
        },
        "data": data,
        "locale": "en-US",
        "guild_locale": "en-US",
        "app_permissions": "0",
        "entitlements": [],
        "authorizing_integration_owners": {},
        "context": 0,
        "attachment_size_limit": 10485760,
    }


def ask(question: str, interaction_id: int = 777) -> dict[str, Any]:
    return interaction(
        2,
        {
            "id": "123",
            "name": "ask",
            "type": 1,
            "options": [{"name": "question", "type": 3, "value": question}],
        },
        interaction_id,
    )


# ---- pure converters -----------------------------------------------------------------------


def test_question_from_message_removes_only_the_bot_mention() -> None:
    assert question_from_message(f"<@{BOT_ID}> what about <@42>?", BOT_ID) == "what about <@42>?"
    assert question_from_message(f"<@!{BOT_ID}>   hi", BOT_ID) == "hi"


def test_to_discord_messages_fits_limits_without_splitting_citations() -> None:
    long_text = "A sentence that keeps going on and on @everyone. " * 60
    cited = tuple(
        Citation(n, f"Title {n}", f"doc{n}.txt", "lines 1-9", long_text, 0.4) for n in range(1, 12)
    )
    quotes = tuple(Quote(long_text[:1900], n) for n in range(1, 12))
    messages = to_discord_messages(Answer("q", True, quotes, cited))
    embeds = [spec for message in messages for spec in message.embeds]
    assert [spec.title.split("]")[0] for spec in embeds] == [f"[{n}" for n in range(1, 12)]
    for message in messages:
        assert len(message.content) <= CONTENT_LIMIT
        assert len(message.embeds) <= EMBEDS_PER_MESSAGE
        total = sum(len(s.title) + len(s.description) + len(s.footer) for s in message.embeds)
        assert total <= 6000
        assert "@everyone" not in message.content
        assert all("@everyone" not in s.description for s in message.embeds)


def test_a_reply_declined_for_an_unknown_word_names_it() -> None:
    declined = Answer("q", False, (), (), (), unknown=("bitbucket",))
    content = to_discord_messages(declined)[0].content
    assert content.startswith("**Not in the sources.**") and "“bitbucket”" in content


# ---- over the gateway ----------------------------------------------------------------------


def test_login_syncs_the_ask_command(running: RunningClient, fake: FakeDiscord) -> None:
    puts = [c for c in fake.calls if c.method == "PUT"]
    assert puts and puts[0].path == f"/applications/{APP_ID}/commands"


def test_commands_sync_to_one_guild_when_configured(
    fake: FakeDiscord, tmp_path: Path, real_bot: Citebot
) -> None:
    client = RunningClient(real_bot, fake, tmp_path, sync_guild=4242)
    try:
        paths = [c.path for c in fake.calls if c.method == "PUT"]
        assert paths == [f"/applications/{APP_ID}/guilds/4242/commands"]
    finally:
        client.stop()


def test_mention_gets_a_reply_that_pings_nobody(running: RunningClient, fake: FakeDiscord) -> None:
    fake.dispatch(
        "MESSAGE_CREATE",
        fake.mention(f"<@{BOT_ID}> Which universities belong to the AI Alliance?", 41),
    )
    post = fake.wait_for_posts("/channels/500/messages")[0]
    assert post.body["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert str(post.body["message_reference"]["message_id"]) == "41"
    assert "Yale University" in post.body["content"]
    assert post.body["embeds"][0]["title"].startswith("[1] ")
    assert "citebot:up:" in json.dumps(post.body["components"])


def test_an_uncached_channel_is_looked_up_once_not_per_mention(
    running: RunningClient, fake: FakeDiscord
) -> None:
    # Before answering, the bot must know whether a mention sits in a thread (to read it).
    for n in (43, 44):
        fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> What is SeedAI working on?", n))
    fake.wait_for_posts("/channels/500/messages", 2)
    lookups = [c for c in fake.calls if c.method == "GET" and c.path == "/channels/500"]
    assert len(lookups) == 1


def test_direct_message_is_answered(running: RunningClient, fake: FakeDiscord) -> None:
    message = fake.mention("What did Socrates fear about writing?", 42, guild=False)
    message["mentions"] = []
    fake.dispatch("MESSAGE_CREATE", message)
    post = fake.wait_for_posts("/channels/500/messages")[0]
    assert "Socrates even warned" in post.body["content"]


def test_unmentioned_channel_message_is_ignored(running: RunningClient, fake: FakeDiscord) -> None:
    chatter = fake.mention("just chatting", 43)
    chatter["mentions"] = []
    fake.dispatch("MESSAGE_CREATE", chatter)
    fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> What is SeedAI working on?", 44))
    fake.wait_for_posts("/channels/500/messages")
    running.call(asyncio.sleep(0.3))
    assert len(fake.posts("/channels/500/messages")) == 1


def test_slash_command_is_deferred_then_followed_up(
    running: RunningClient, fake: FakeDiscord
) -> None:
    fake.dispatch("INTERACTION_CREATE", ask("What were the Crypto Wars?"))
    callback = fake.wait_for_posts("/interactions/777/itoken777/callback")[0]
    assert callback.body["type"] == 5  # deferred channel message
    assert not callback.authorized
    follow_up = fake.wait_for_posts(f"/webhooks/{APP_ID}/itoken777")[0]
    assert "Crypto Wars" in follow_up.body["content"]
    assert follow_up.body["allowed_mentions"]["parse"] == []


def test_feedback_button_click_is_recorded(running: RunningClient, fake: FakeDiscord) -> None:
    fake.dispatch("INTERACTION_CREATE", ask("What is Snowflake doing in AI?", 778))
    follow_up = fake.wait_for_posts(f"/webhooks/{APP_ID}/itoken778")[0]
    buttons = follow_up.body["components"][0]["components"]
    up = next(b["custom_id"] for b in buttons if b["custom_id"].startswith("citebot:up:"))
    click = interaction(3, {"custom_id": up, "component_type": 2}, 779)
    click["message"] = {
        **fake.mention("", 55),
        "author": {**HUMAN, "id": str(BOT_ID)},
        "components": follow_up.body["components"],
    }
    fake.dispatch("INTERACTION_CREATE", click)
    receipt = fake.wait_for_posts("/interactions/779/itoken779/callback")[0]
    assert receipt.body["data"]["flags"] & 64  # ephemeral
    rows = running.client.chat.feedback.rows()
    assert [(r.rating, r.platform, r.question) for r in rows] == [
        (1, "discord", "What is Snowflake doing in AI?")
    ]


def test_malformed_event_and_429_do_not_kill_the_bot(
    running: RunningClient, fake: FakeDiscord
) -> None:
    fake.dispatch("MESSAGE_CREATE", {"id": "not-a-number", "content": 5})
    fake.dispatch("INTERACTION_CREATE", {"type": 2})
    fake.dispatch("SOMETHING_NEW", {"unknown": True})
    fake.send_raw(json.dumps({"op": 0, "t": "MESSAGE_CREATE", "s": 99, "d": None}))
    fake.rate_limit_next = 1
    fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> What is SeedAI working on?", 45))
    post = fake.wait_for_posts("/channels/500/messages")[0]
    assert "SeedAI is crafting frameworks" in post.body["content"]
    assert [c for c in fake.calls if c.method == "429"]
    assert running.alive


def test_a_connection_whose_heartbeats_go_unanswered_is_replaced(
    fake: FakeDiscord, tmp_path: Path, real_bot: Citebot
) -> None:
    # A zombie: the socket stays open but Discord stops answering heartbeats (and sends
    # nothing else). Heartbeats every 0.2 s here; the bot gives up after 0.5 s of silence.
    fake.heartbeat_interval_ms = 200
    fake.silent_connections = 1
    client = RunningClient(real_bot, fake, tmp_path, heartbeat_timeout=0.5)
    try:
        started = time.monotonic()
        fake.wait_until(lambda f: f.identifies >= 2, timeout=10)  # reconnected and resumed
        assert time.monotonic() - started < 3
        assert fake.close_codes and fake.close_codes[0] != 1000  # so the session can resume
        fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> What is SeedAI working on?", 81))
        assert "SeedAI" in fake.wait_for_posts("/channels/500/messages")[0].body["content"]
    finally:
        client.stop()


@pytest.mark.parametrize("problem", ["rejected token", "unreachable API"])
def test_a_rejected_token_or_unreachable_api_at_start_is_one_line(
    fake: FakeDiscord, tmp_path: Path, real_bot: Citebot, problem: str
) -> None:
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    api = fake.api_url
    if problem == "rejected token":
        fake.token_rejected = True
        expected = r"Discord refused DISCORD_TOKEN \(Improper token has been passed\.\); reset"
    else:
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        api = f"http://127.0.0.1:{closed.getsockname()[1]}/api/v10"
        closed.close()  # nothing listens there now
        expected = r"cannot reach Discord's API at http://127\.0\.0\.1:\d+/api/v10 \("
    previous = point_at(api, fake.gateway_url)
    settings = Settings(discord_token=TOKEN, data_dir=tmp_path, discord={"api_url": api})
    try:

        async def start() -> None:
            client = CitebotClient(
                bot=real_bot,
                settings=settings,
                feedback=FeedbackStore(tmp_path / "feedback.sqlite"),
                limiter=RateLimiter(100),
            )
            try:
                await run_client(client, TOKEN)
            finally:
                await client.close()

        with pytest.raises(ConfigError, match=expected):
            asyncio.run(start())
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = previous


def test_bot_reconnects_after_the_gateway_closes(running: RunningClient, fake: FakeDiscord) -> None:
    fake.close_gateway()
    fake.wait_until(lambda f: f.identifies >= 2)
    fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> What were the Crypto Wars?", 46))
    assert "Crypto Wars" in fake.wait_for_posts("/channels/500/messages")[0].body["content"]
    assert running.alive


def test_reply_in_thread_when_configured(
    fake: FakeDiscord, tmp_path: Path, real_bot: Citebot
) -> None:
    client = RunningClient(real_bot, fake, tmp_path, reply_in_thread=True)
    try:
        fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> What is SeedAI working on?", 47))
        fake.wait_for_posts("/threads")
        posts = fake.wait_for_posts("/messages")
        assert any("SeedAI" in (p.body.get("content") or "") for p in posts)
    finally:
        client.stop()


def test_channel_allowlist_is_enforced(
    fake: FakeDiscord, tmp_path: Path, real_bot: Citebot
) -> None:
    client = RunningClient(real_bot, fake, tmp_path, allowed_channels=[999])
    try:
        fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> What is SeedAI working on?", 48))
        post = fake.wait_for_posts("/channels/500/messages")[0]
        assert "isn't enabled in this channel" in post.body["content"]
    finally:
        client.stop()


def test_quoted_everyone_in_a_document_pings_nobody(fake: FakeDiscord, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "notes.txt").write_text(
        "Notes\n\nThe launch date moved to May @everyone @here <@&777> please read.\n"
    )
    settings = Settings(
        sources=docs, index_dir=tmp_path / "index", retrieval={"min_similarity": 0.0}
    )
    embedder = HashingEmbedder()
    run_ingest(settings, embedder=embedder)
    bot = Citebot.load(settings, embedder=embedder)
    client = RunningClient(bot, fake, tmp_path)
    try:
        fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> When is the launch date?", 49))
        post = fake.wait_for_posts("/channels/500/messages")[0]
    finally:
        client.stop()
        bot.close()
    assert "launch date moved" in post.body["content"]
    assert post.body["allowed_mentions"] == {"parse": [], "replied_user": False}
    assert "@everyone" not in post.body["content"]


@pytest.mark.parametrize("refusal", [(400, 50024), (403, 50013)])
def test_refused_thread_is_answered_in_place(
    fake: FakeDiscord, tmp_path: Path, real_bot: Citebot, refusal: tuple[int, int]
) -> None:
    fake.thread_error = refusal  # a message inside a thread, or no thread permission
    client = RunningClient(real_bot, fake, tmp_path, reply_in_thread=True)
    try:
        fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> What is SeedAI working on?", 49))
        fake.wait_until(lambda f: any("content" in c.body for c in f.posts("/channels/500/")))
        post = next(c for c in fake.posts("/channels/500/") if "content" in c.body)
        assert post.path == "/channels/500/messages"  # the channel, not a thread
        assert "SeedAI is crafting frameworks" in post.body["content"]
        assert str(post.body["message_reference"]["message_id"]) == "49"
        assert fake.posts("/threads")  # a thread was tried first
    finally:
        client.stop()


def test_identifies_with_the_smallest_intents_that_work(
    running: RunningClient, fake: FakeDiscord
) -> None:
    wanted = discord.Intents.none()
    wanted.guilds = wanted.guild_messages = wanted.dm_messages = True
    assert fake.intents and set(fake.intents) == {wanted.value}
    assert not discord.Intents._from_value(fake.intents[0]).message_content


def test_unknown_buttons_and_commands_get_a_private_reply(
    running: RunningClient, fake: FakeDiscord
) -> None:
    click = interaction(3, {"custom_id": "someone:else:42", "component_type": 2}, 781)
    click["message"] = {**fake.mention("", 56), "author": {**HUMAN, "id": str(BOT_ID)}}
    fake.dispatch("INTERACTION_CREATE", click)
    reply = fake.wait_for_posts("/interactions/781/itoken781/callback")[0]
    assert (
        reply.body["data"]["flags"] & 64
        and "don't know that button" in reply.body["data"]["content"]
    )
    fake.dispatch(
        "INTERACTION_CREATE", interaction(2, {"id": "9", "name": "weather", "type": 1}, 782)
    )
    reply = fake.wait_for_posts("/interactions/782/itoken782/callback")[0]
    assert (
        reply.body["data"]["flags"] & 64
        and "don't know that command" in reply.body["data"]["content"]
    )
    no_question = interaction(2, {"id": "123", "name": "ask", "type": 1, "options": []}, 783)
    fake.dispatch("INTERACTION_CREATE", no_question)
    reply = fake.wait_for_posts("/interactions/783/itoken783/callback")[0]
    assert reply.body["data"]["flags"] & 64 and "/ask question:" in reply.body["data"]["content"]
    assert running.alive


def test_interaction_tokens_never_reach_the_log(
    running: RunningClient, fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.log_redaction import RedactSecrets

    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(RedactSecrets([]))  # as `citebot discord` installs it
    fake.dispatch("INTERACTION_CREATE", ask("What were the Crypto Wars?", 784))
    fake.wait_for_posts(f"/webhooks/{APP_ID}/itoken784")
    running.call(asyncio.sleep(0.3))
    assert f"/webhooks/{APP_ID}/" in caplog.text  # discord.py did log the follow-up's URL
    assert "itoken784" not in caplog.text


def test_a_published_document_is_linked_from_its_embed() -> None:
    citation = Citation(
        1, "Intro", "handbook/intro.md", "lines 1-3", "Text.", 0.5, url="https://d.x/i"
    )
    answer = Answer("q?", True, (Quote("Text.", 1),), (citation,))
    embed = to_discord_messages(answer)[0].embeds[0]
    assert embed.url == "https://d.x/i" and embed.to_embed().url == "https://d.x/i"


def test_allowlists_say_server_or_channel_and_dms_follow_their_own_setting(
    fake: FakeDiscord, tmp_path: Path, real_bot: Citebot
) -> None:
    client = RunningClient(real_bot, fake, tmp_path, allowed_guilds=[999])
    try:
        fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> What is SeedAI working on?", 60))
        post = fake.wait_for_posts("/channels/500/messages")[0]
        assert "isn't enabled in this server" in post.body["content"]
        dm = fake.mention("What did Socrates fear about writing?", 61, guild=False)
        dm["mentions"] = []
        fake.dispatch("MESSAGE_CREATE", dm)  # the guild allowlist is not about DMs
        fake.wait_for_posts("/channels/500/messages", count=2)
        assert "Socrates even warned" in fake.posts("/channels/500/messages")[1].body["content"]
        client.client.settings.chat.direct_messages = False
        fake.dispatch("MESSAGE_CREATE", {**dm, "id": "62"})
        fake.wait_for_posts("/channels/500/messages", count=3)
        refused = fake.posts("/channels/500/messages")[2].body["content"]
        assert "doesn't answer direct messages" in refused
    finally:
        client.stop()


def test_ask_refusals_reach_the_asker_alone(
    fake: FakeDiscord, tmp_path: Path, real_bot: Citebot
) -> None:
    client = RunningClient(real_bot, fake, tmp_path, allowed_channels=[999])
    try:
        fake.dispatch("INTERACTION_CREATE", ask("What is SeedAI working on?", 790))
        reply = fake.wait_for_posts("/interactions/790/itoken790/callback")[0]
        assert reply.body["type"] == 4  # answered at once, not deferred in public
        assert reply.body["data"]["flags"] & 64
        assert "isn't enabled in this channel" in reply.body["data"]["content"]
        client.client.settings.discord.allowed_channels = []
        fake.dispatch("INTERACTION_CREATE", ask("why " * 1000, 791))
        reply = fake.wait_for_posts("/interactions/791/itoken791/callback")[0]
        assert reply.body["data"]["flags"] & 64 and "keep it under" in reply.body["data"]["content"]
        assert not fake.posts(f"/webhooks/{APP_ID}/itoken79")  # no public follow-up at all
    finally:
        client.stop()


def _answered_in(fake: FakeDiscord, channel: str, count: int) -> list[str]:
    posts = fake.wait_for_posts(f"/channels/{channel}/messages", count)
    return [json.dumps(p.body) for p in posts]


def test_a_follow_up_in_a_thread_is_searched_with_the_threads_earlier_questions(
    fake: FakeDiscord, tmp_path: Path, real_bot: Citebot
) -> None:
    client = RunningClient(real_bot, fake, tmp_path, reply_in_thread=True)
    try:
        fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> What is the AI Alliance?", 61))
        _answered_in(fake, "61", 1)  # in the thread started on the question (its id is 61's)
        follow_up = fake.mention(f"<@{BOT_ID}> and who started it?", 62, channel_id="61")
        fake.dispatch("MESSAGE_CREATE", follow_up)
        reply = _answered_in(fake, "61", 2)[1]
        assert NOT_FOUND not in reply and "IBM and Meta" in reply
        assert not fake.posts("/channels/61/messages/62/threads")  # no thread inside a thread
        # The same words in the channel, outside any thread, name nothing the documents answer.
        fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> and who started it?", 63))
        assert NOT_FOUND in _answered_in(fake, "63", 1)[0]
    finally:
        client.stop()


@pytest.mark.parametrize("refusal", [(403, 50001), (404, 10003)], ids=["403", "404"])
def test_a_question_in_a_thread_whose_history_is_refused_is_answered_on_its_own(
    fake: FakeDiscord,
    tmp_path: Path,
    real_bot: Citebot,
    caplog: pytest.LogCaptureFixture,
    refusal: tuple[int, int],
) -> None:
    client = RunningClient(real_bot, fake, tmp_path, reply_in_thread=True)
    try:
        fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> What is the AI Alliance?", 71))
        _answered_in(fake, "71", 1)
        fake.history_error = refusal
        follow_up = fake.mention(f"<@{BOT_ID}> What is SeedAI working on?", 72, channel_id="71")
        fake.dispatch("MESSAGE_CREATE", follow_up)
        reply = _answered_in(fake, "71", 2)[1]  # answered, not silent
        assert "SeedAI is crafting frameworks" in reply
        warned = [
            r.getMessage() for r in caplog.records if "cannot read the thread" in r.getMessage()
        ]
        assert warned and str(refusal[0]) in warned[0]
        assert not any(r.exc_info for r in caplog.records)  # no traceback
    finally:
        client.stop()


def test_a_follow_up_is_searched_with_the_questions_before_it_not_the_threads_chatter(
    fake: FakeDiscord, tmp_path: Path, real_bot: Citebot
) -> None:
    client = RunningClient(real_bot, fake, tmp_path, reply_in_thread=True)
    try:
        fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> What is the AI Alliance?", 81))
        _answered_in(fake, "81", 1)
        bystander = {**HUMAN, "id": "900000000000000009", "username": "bystander"}
        for n in range(40):  # people talking in the thread, not asking the bot
            chatter = fake.mention(
                "see you at the standup tomorrow morning",
                100 + n,
                channel_id="81",
                author=bystander,
                mentions=False,
            )
            fake.dispatch("MESSAGE_CREATE", chatter)
        follow_up = fake.mention(f"<@{BOT_ID}> and who started it?", 200, channel_id="81")
        fake.dispatch("MESSAGE_CREATE", follow_up)
        reply = _answered_in(fake, "81", 2)[1]
        assert NOT_FOUND not in reply and "IBM and Meta" in reply
    finally:
        client.stop()


@pytest.mark.parametrize("follow_ups", ["asker", "mention"])
def test_the_askers_replies_in_the_thread_are_answered_only_when_set_to_asker(
    fake: FakeDiscord, tmp_path: Path, real_bot: Citebot, follow_ups: str
) -> None:
    chat = {"follow_ups": follow_ups}
    client = RunningClient(real_bot, fake, tmp_path, reply_in_thread=True, chat=chat)
    try:
        fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> What is the AI Alliance?", 71))
        _answered_in(fake, "71", 1)
        bystander = {**HUMAN, "id": "900000000000000009", "username": "bystander"}
        chatter = fake.mention(
            "is Meta in charge?", 72, channel_id="71", author=bystander, mentions=False
        )
        fake.dispatch("MESSAGE_CREATE", chatter)
        asker = fake.mention("and who started it?", 73, channel_id="71", mentions=False)
        fake.dispatch("MESSAGE_CREATE", asker)
        time.sleep(2)  # time for a reply that should not come
        posts = fake.posts("/channels/71/messages")
        if follow_ups == "mention":
            assert len(posts) == 1  # plain replies in the thread are people talking
        else:
            assert len(posts) == 2  # the asker's reply, not the bystander's
            assert "IBM and Meta" in json.dumps(posts[1].body)
            assert discord.Intents._from_value(fake.intents[-1]).message_content
    finally:
        client.stop()


@pytest.mark.parametrize(("owner", "attribute"), TOUCHED)
def test_the_discord_internals_citebot_touches_still_exist(owner: str, attribute: str) -> None:
    module_name, _, class_name = owner.rpartition(".")
    cls = getattr(importlib.import_module(module_name), class_name)
    if attribute == "_connection":  # an instance attribute, set in Client.__init__
        assert "self._connection" in inspect.getsource(cls.__init__)
    elif attribute == "parsers":
        assert "self.parsers" in inspect.getsource(cls.__init__)
    else:
        assert hasattr(cls, attribute), (
            f"discord.py {discord.__version__} has no {owner}.{attribute}"
        )


def test_a_model_sentence_shows_its_checked_words_and_a_fallback_its_note() -> None:
    citation = Citation(1, "Cats", "cats.md", "line 3", "Cats sleep all day.", 0.5)
    written = Answer(
        "q?",
        True,
        (Quote("Cats **nap** @everyone.", 1, "Cats sleep all day"),),
        (citation,),
        writer="llm",
    )
    fell_back = Answer(
        "q?", True, (Quote("Cats sleep all day.", 1),), (citation,), note="the model failed"
    )
    shown = to_discord_messages(written)[0].content
    assert shown.startswith("Cats \\*\\*nap\\*\\* @\u2060everyone. **[1]**\n> “Cats sleep all day”")
    assert shown.endswith(
        "-# Written by a language model from the quoted sentences; its words, "
        "numbers and links were checked against them."
    )
    assert to_discord_messages(fell_back)[0].content.endswith("-# the model failed")


def test_with_a_language_model_citebot_types_then_answers(
    fake: FakeDiscord, tmp_path: Path
) -> None:
    reply = faithful_json(("An adult cat sleeps twelve to sixteen hours a day.", 1, SPAN))
    with running_fake_llm(Scripted(reply, delay=0.3), Scripted(status=503)) as model:
        bot = llm_citebot(tmp_path, model.base_url)
        client = RunningClient(bot, fake, tmp_path)
        try:
            question = fake.mention(f"<@{BOT_ID}> How long do cats sleep?", 77)
            fake.dispatch("MESSAGE_CREATE", question)
            post = fake.wait_for_posts("/channels/500/messages")[0]
            again = fake.mention(f"<@{BOT_ID}> How long do cats sleep?", 78)
            fake.dispatch("MESSAGE_CREATE", again)  # the model is down now: quotes, with a note
            fell_back = fake.wait_for_posts("/channels/500/messages", count=2)[1]
        finally:
            client.stop()
            bot.close()
    assert fake.wait_for_posts("/channels/500/typing")  # shown while the model wrote
    assert post.body["content"].startswith("An adult cat sleeps twelve to sixteen hours a day.")
    assert SPAN in post.body["content"]
    assert "Cats sleep for most of the day" in fell_back.body["content"]
    assert "-# the language model failed" in fell_back.body["content"]


@pytest.mark.parametrize(
    ("refusals", "shown"),
    [(1, COULD_NOT_POST), (2, APOLOGY)],
    ids=["answer refused", "answer and note refused"],
)
def test_a_reply_arrives_when_posting_the_answer_is_refused(
    running: RunningClient, fake: FakeDiscord, refusals: int, shown: str
) -> None:
    fake.post_errors = [(400, 50035)] * refusals
    fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> What is SeedAI working on?", 91))
    posts = fake.wait_for_posts("/channels/500/messages", refusals + 1)
    assert not fake.post_errors  # each refusal was met
    assert posts[refusals].body["content"] == shown  # the post after the refused ones


def test_every_new_post_of_an_ask_forum_is_answered_in_its_thread_without_a_mention(
    fake: FakeDiscord, tmp_path: Path, real_bot: Citebot
) -> None:
    client = RunningClient(real_bot, fake, tmp_path, ask_channels=[600])
    try:
        assert client.client.intents.message_content  # posts come without their text otherwise
        elsewhere = fake.forum_post(801, 601, "What is SeedAI working on?")  # not an ask-forum
        fake.dispatch("MESSAGE_CREATE", elsewhere)
        fake.dispatch("MESSAGE_CREATE", fake.forum_post(800, 600, "What is SeedAI working on?"))
        [reply] = fake.wait_for_posts("/channels/800/messages")
        assert "SeedAI is crafting frameworks" in json.dumps(reply.body)
        # A reply by someone else inside the post is talk, not a new question.
        talk = fake.mention("nice, thanks", 802, channel_id="800", mentions=False)
        fake.dispatch("MESSAGE_CREATE", talk)
        fake.dispatch("MESSAGE_CREATE", fake.forum_post(803, 600, "What did Socrates fear?"))
        fake.wait_for_posts("/channels/803/messages")
        assert len(fake.posts("/channels/800/messages")) == 1
        assert not fake.posts("/channels/801/messages")
    finally:
        client.stop()


def test_a_failure_while_answering_ends_in_the_apology(
    fake: FakeDiscord, tmp_path: Path, real_bot: Citebot, caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenBot:
        settings = real_bot.settings
        writer = real_bot.writer

        def answer(self, question: str, earlier: Any = ()) -> Answer:
            raise RuntimeError("the search exploded")

    client = RunningClient(BrokenBot(), fake, tmp_path)
    try:
        fake.dispatch("MESSAGE_CREATE", fake.mention(f"<@{BOT_ID}> What is SeedAI working on?", 94))
        [reply] = fake.wait_for_posts("/channels/500/messages")
    finally:
        client.stop()
    assert reply.body["content"] == APOLOGY
    assert any("the search exploded" in str(r.exc_info) for r in caplog.records if r.exc_info)


def test_code_that_goes_on_in_its_passage_ends_in_an_ellipsis() -> None:
    passage = "Count the naps with:\n$ cats --naps\n$ cats --dreams"
    citation = Citation(1, "Cats", "cats.md", "lines 1-3", passage, 0.5)
    quotes = (
        Quote("Count the naps with:", 1),
        Quote("$ cats --naps", 1, code=True, joined_by="\n", continues=True),
    )
    content = to_discord_messages(Answer("q?", True, quotes, (citation,)))[0].content
    assert content.startswith("> “Count the naps with:”\n```\n$ cats --naps\n…\n```\n**[1]**")


def test_code_is_shown_as_typed_in_a_code_block_and_still_pings_nobody() -> None:
    passage = 'Count the *naps* with:\nnap_count = cats("@everyone")'
    citation = Citation(1, "Cats", "cats.md", "lines 1-2", passage, 0.5)
    quotes = (
        Quote("Count the *naps* with:", 1),
        Quote('nap_count = cats("@everyone")', 1, code=True, joined_by="\n"),
    )
    content = to_discord_messages(Answer("q?", True, quotes, (citation,)))[0].content
    # Markdown escaped in prose, where Discord would read it, and not in code, where the
    # backslashes would show.
    assert content.startswith(
        '> “Count the \\*naps\\* with:”\n```\nnap_count = cats("@\u2060everyone")\n```\n**[1]**'
    )


def test_inline_code_from_the_page_is_shown_as_code_with_its_characters_as_typed() -> None:
    passage = "Set `nap_time` in `cats.toml`, not *naps*."
    citation = Citation(1, "Cats", "cats.md", "lines 1", passage, 0.5)
    quotes = (Quote("Set `nap_time` in `cats.toml`, not *naps*.", 1),)
    [message] = to_discord_messages(Answer("q?", True, quotes, (citation,)))
    # Escaped inside the span, Discord would show "nap\_time"; its marks escaped, backticks.
    assert message.content.startswith("> “Set `nap_time` in `cats.toml`, not \\*naps\\*.”")
    assert "`nap_time`" in message.embeds[0].description


def test_a_definition_entrys_term_is_shown_as_the_code_it_names() -> None:
    # "send_mail(subject, message, …): In most cases…" read to blind readers as leaked markup.
    entry = "nap_count(cats, hours=16): Counts the naps."
    plain = "Note: Cats nap a lot."
    citation = Citation(1, "Cats", "cats.md", "lines 1-2", f"{entry}\n{plain}", 0.5)
    quotes = (Quote(entry, 1), Quote(plain, 1, joined_by="\n"))
    [message] = to_discord_messages(Answer("q?", True, quotes, (citation,)))
    assert message.content.startswith(
        "> “`nap_count(cats, hours=16)`: Counts the naps.\n> Note: Cats nap a lot.”"
    )


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("final class NapFactory: Makes naps.", "`final class NapFactory`: Makes naps."),
        (
            "nap(cats, hours=16, dreams=None, " + "purr=True, " * 12 + "where='sofa'): Naps.",
            "`nap(cats, hours=16, dreams=None, " + "purr=True, " * 12 + "where='sofa')`: Naps.",
        ),
        ("If cats nap: They dream.", "If cats nap: They dream."),  # words, not a signature
        ("nap.count(cats)", "nap.count(cats)"),  # a call, not an entry
        ("Changed in version 3.1: Naps are longer.", "Changed in version 3.1: Naps are longer."),
        ("e.g.: Cats nap.", "e.g.: Cats nap."),
        ("nap.length: How long.", "`nap.length`: How long."),
        ("-n, --naps <count>: How many.", "`-n, --naps <count>`: How many."),
    ],
)
def test_a_signature_opening_an_entry_is_code_however_long(line: str, shown: str) -> None:
    assert term_as_code(line) == shown


def test_the_heading_a_quote_sits_under_is_shown_before_it_and_pings_nobody() -> None:
    # A name as code spells it is shown as code; bold, "git-reset ·" read as navigation.
    citation = Citation(1, "Cats", "cats.md", "lines 1", "Cats purr.", 0.5)
    quotes = (Quote("Cats purr for hours.", 1, under="purr_loudly() @everyone"),)
    [message] = to_discord_messages(Answer("q?", True, quotes, (citation,)))
    assert message.content.startswith(
        "> `purr_loudly() @\u2060everyone` · “Cats purr for hours.” **[1]**"
    )
    release = (Quote("Cats purr for hours.", 1, under="Cats 1.15.0 @everyone"),)
    [message] = to_discord_messages(Answer("q?", True, release, (citation,)))
    assert message.content.startswith(
        "> **Cats 1.15.0 @\u2060everyone** · “Cats purr for hours.” **[1]**"
    )
