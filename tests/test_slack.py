"""The Slack bot end to end: real slack-bolt and slack_sdk over loopback to a fake Slack."""

from __future__ import annotations

import dataclasses
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.cli import main
from bot.core.answer import NOT_FOUND, Answer, Citation, Quote
from bot.core.engine import Citebot, run_ingest
from bot.core.guard import RateLimiter, Refusal
from bot.core.messages import APOLOGY, COULD_NOT_POST
from bot.platforms.slack.adapter import (
    BLOCK_LIMIT,
    SECTION_LIMIT,
    WORKING,
    question_from_event,
    to_slack_messages,
)
from bot.settings import Settings
from index.errors import ConfigError
from tests.fake_llm import SPAN, Scripted, faithful_json, llm_citebot, running_fake_llm
from tests.fake_slack import FakeSlack
from tests.fakes import HashingEmbedder
from tests.slack_harness import (
    APP_TOKEN,
    BOT_TOKEN,
    SECRET,
    HttpBot,
    make_slack,
    slack_settings,
)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    server = FakeSlack()
    yield server
    server.stop()


@pytest.fixture
def http_bot(fake: FakeSlack, tmp_path: Path, real_bot: Citebot) -> Iterator[HttpBot]:
    served = HttpBot(make_slack(real_bot, slack_settings(fake, tmp_path)))
    yield served
    served.stop()


def all_text(message: dict[str, Any]) -> str:
    blocks = message.get("blocks") or []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return json.dumps(blocks, ensure_ascii=False) + message.get("text", "")


# ---- pure converters -----------------------------------------------------------------------


def test_question_from_event_strips_bot_mention_and_entities() -> None:
    assert question_from_event("<@UBOT> is A &lt; B &amp;&amp; C?") == "is A < B && C?"


def hostile_answer(citations: int = 3, sentence_length: int = 200) -> Answer:
    hostile = (
        "<!channel> <!here> <!everyone> <@U0123> <!subteam^S1|team> @everyone @here <http://x|y>"
    )
    text = (hostile + " word") * (sentence_length // 10)
    cited = tuple(
        Citation(n, f"Title {n} {hostile}", f"doc{n}.txt", "lines 1-2", text, 0.5)
        for n in range(1, citations + 1)
    )
    quotes = tuple(Quote(text[:sentence_length], n) for n in range(1, citations + 1))
    return Answer("q?", True, quotes, cited)


def test_to_slack_messages_neutralises_every_mention() -> None:
    for message in to_slack_messages(hostile_answer(), answer_id="a1"):
        rendered = json.dumps(message.blocks, ensure_ascii=False) + message.text
        for live in ("<!channel>", "<!here>", "<!everyone>", "<@U0123>", "<!subteam", "<http"):
            assert live not in rendered
        assert "@everyone" not in rendered and "@here" not in rendered


def test_to_slack_messages_splits_long_answers_within_limits() -> None:
    answer = hostile_answer(citations=80, sentence_length=2500)
    messages = to_slack_messages(answer, answer_id="a1")
    assert len(messages) > 1
    cited_blocks = 0
    for message in messages:
        assert len(message.blocks) <= BLOCK_LIMIT
        for block in message.blocks:
            assert len(block.get("text", {}).get("text", "")) <= SECTION_LIMIT
            if block.get("text", {}).get("text", "").startswith("*["):
                cited_blocks += 1
    assert cited_blocks == 80  # each citation whole, in one block
    assert messages[-1].blocks[-1]["type"] == "actions"  # feedback buttons close the answer


def test_to_slack_messages_not_found_looks_different() -> None:
    declined = Answer("q?", False, (), (), ())
    text = json.dumps(to_slack_messages(declined, answer_id="a")[0].blocks)
    assert "Not in the sources" in text
    assert "[1]" not in text
    # Declined for a word the sources never use: the reply names it, in the blocks and the
    # notification text alike.
    unknown = to_slack_messages(Answer("q?", False, (), (), (), unknown=("bitbucket",)))[0]
    assert "“bitbucket”" in json.dumps(unknown.blocks, ensure_ascii=False)
    assert "“bitbucket”" in unknown.text


# ---- HTTP mode -----------------------------------------------------------------------------


def test_slash_command_is_acked_then_answered_in_channel(
    http_bot: HttpBot, fake: FakeSlack
) -> None:
    status, body = http_bot.slash("Which universities belong to the AI Alliance?", fake)
    assert (status, body) == (200, "")
    reply = fake.wait_for("response_url")[0]
    assert reply["response_type"] == "in_channel"
    assert "Yale University" in all_text(reply)
    assert "citebot_feedback_up" in all_text(reply)


def test_slash_command_ack_does_not_wait_for_the_answer(
    fake: FakeSlack, tmp_path: Path, real_bot: Citebot
) -> None:
    release = threading.Event()

    class SlowBot:
        settings = real_bot.settings
        writer = real_bot.writer

        def answer(self, question: str, earlier: Sequence[str] = ()) -> Answer:
            release.wait(10)
            return real_bot.answer(question, earlier)

    served = HttpBot(make_slack(SlowBot(), slack_settings(fake, tmp_path)))
    try:
        started = time.monotonic()
        status, _ = served.slash("What is SeedAI working on?", fake)
        assert status == 200
        assert time.monotonic() - started < 3  # Slack's deadline
        assert fake.posted("response_url") == []  # the answer is still being worked on
        release.set()
        assert "SeedAI is crafting frameworks" in all_text(fake.wait_for("response_url")[0])
    finally:
        release.set()
        served.stop()


def test_slash_command_ephemeral_when_configured(
    fake: FakeSlack, tmp_path: Path, real_bot: Citebot
) -> None:
    served = HttpBot(
        make_slack(real_bot, slack_settings(fake, tmp_path, slash_visibility="ephemeral"))
    )
    try:
        served.slash("What is Snowflake doing in AI?", fake)
        assert fake.wait_for("response_url")[0]["response_type"] == "ephemeral"
    finally:
        served.stop()


def test_bad_signature_and_stale_timestamp_get_401(http_bot: HttpBot, fake: FakeSlack) -> None:
    assert http_bot.slash("anything", fake, secret="wrong-secret")[0] == 401
    assert http_bot.slash("anything", fake, timestamp=int(time.time()) - 600)[0] == 401
    time.sleep(0.2)
    assert fake.posted("response_url") == []


def test_mention_is_answered_in_a_thread(http_bot: HttpBot, fake: FakeSlack) -> None:
    http_bot.event(
        {
            "type": "app_mention",
            "user": "U1",
            "channel": "C1",
            "ts": "100.1",
            "text": "<@UBOT> What did Socrates fear about writing?",
        }
    )
    posted = fake.wait_for("chat.postMessage")[0]
    assert posted["channel"] == "C1" and posted["thread_ts"] == "100.1"
    assert "Socrates even warned" in all_text(posted)


def test_mention_inside_a_thread_stays_in_that_thread(http_bot: HttpBot, fake: FakeSlack) -> None:
    http_bot.event(
        {
            "type": "app_mention",
            "user": "U1",
            "channel": "C1",
            "ts": "200.2",
            "thread_ts": "150.0",
            "text": "<@UBOT> What were the Crypto Wars?",
        }
    )
    assert fake.wait_for("chat.postMessage")[0]["thread_ts"] == "150.0"


def test_direct_message_is_answered_in_the_dm(http_bot: HttpBot, fake: FakeSlack) -> None:
    http_bot.event(
        {
            "type": "message",
            "channel_type": "im",
            "user": "U1",
            "channel": "D1",
            "ts": "300.3",
            "text": "What is the current price of Bitcoin?",
        },
        "EvDM",
    )
    posted = fake.wait_for("chat.postMessage")[0]
    assert posted["channel"] == "D1" and "thread_ts" not in posted
    assert "Not in the sources" in all_text(posted)


def test_bot_messages_and_channel_chatter_are_ignored(http_bot: HttpBot, fake: FakeSlack) -> None:
    http_bot.event(
        {
            "type": "message",
            "channel_type": "im",
            "bot_id": "B9",
            "channel": "D1",
            "ts": "1.0",
            "text": "an echo of ourselves",
        },
        "EvBot",
    )
    http_bot.event(
        {
            "type": "message",
            "channel_type": "channel",
            "user": "U1",
            "channel": "C1",
            "ts": "2.0",
            "text": "just chatting",
        },
        "EvChat",
    )
    http_bot.event(
        {
            "type": "app_mention",
            "user": "U1",
            "channel": "C1",
            "ts": "3.0",
            "text": "<@UBOT> What is SeedAI working on?",
        },
        "EvReal",
    )
    fake.wait_for("chat.postMessage")
    time.sleep(0.3)
    assert len(fake.posted("chat.postMessage")) == 1


def test_retries_are_answered_once_even_across_a_restart(
    fake: FakeSlack, tmp_path: Path, real_bot: Citebot
) -> None:
    settings = slack_settings(fake, tmp_path)
    event = {
        "type": "app_mention",
        "user": "U1",
        "channel": "C1",
        "ts": "400.4",
        "text": "<@UBOT> What is Snowflake doing in AI?",
    }
    first = HttpBot(make_slack(real_bot, settings))
    try:
        assert first.event(event, "EvRetry")[0] == 200
        fake.wait_for("chat.postMessage")
        retry_headers = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
        assert first.event(event, "EvRetry", retry_headers)[0] == 200
    finally:
        first.stop()
    restarted = HttpBot(make_slack(real_bot, settings))
    try:
        assert restarted.event(event, "EvRetry", {"X-Slack-Retry-Num": "2"})[0] == 200
        restarted.event({**event, "ts": "401.0"}, "EvFresh")
        fake.wait_for("chat.postMessage", 2)
        time.sleep(0.3)
        threads = [p["thread_ts"] for p in fake.posted("chat.postMessage")]
        assert threads == ["400.4", "401.0"]
    finally:
        restarted.stop()


def test_rate_limited_post_is_retried_after_retry_after(http_bot: HttpBot, fake: FakeSlack) -> None:
    fake.rate_limit_next["chat.postMessage"] = 1
    http_bot.event(
        {
            "type": "app_mention",
            "user": "U1",
            "channel": "C1",
            "ts": "500.5",
            "text": "<@UBOT> How is Databricks democratizing AI?",
        },
        "Ev429",
    )
    assert len(fake.wait_for("429:chat.postMessage")) == 1
    assert "customize and deploy DBRX" in all_text(fake.wait_for("chat.postMessage")[0])


def test_feedback_click_is_recorded_and_exported(
    http_bot: HttpBot,
    fake: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    http_bot.slash("What does The Batch think about open source?", fake)
    reply = fake.wait_for("response_url")[0]
    buttons = next(b for b in reply["blocks"] if b["type"] == "actions")["elements"]
    payload = {
        "type": "block_actions",
        "user": {"id": "U7"},
        "channel": {"id": "C1"},
        "team": {"id": "T1"},
        "trigger_id": "t",
        "response_url": fake.response_url("fb"),
        "actions": [{**buttons[1], "block_id": "citebot_feedback", "action_ts": "1"}],
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    assert http_bot.post(body, "application/x-www-form-urlencoded")[0] == 200
    fake.wait_for("chat.postEphemeral")
    rows = http_bot.slack.chat.feedback.rows()
    assert [(r.rating, r.user, r.platform) for r in rows] == [(-1, "U7", "slack")]
    # The same person changes their mind: one vote, the latest.
    payload["actions"] = [{**buttons[0], "block_id": "citebot_feedback", "action_ts": "2"}]
    body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
    assert http_bot.post(body, "application/x-www-form-urlencoded")[0] == 200
    fake.wait_for("chat.postEphemeral", count=2)
    rows = http_bot.slack.chat.feedback.rows()
    assert [(r.rating, r.user, r.platform) for r in rows] == [(1, "U7", "slack")]
    assert rows[0].question == "What does The Batch think about open source?"
    monkeypatch.setenv("CITEBOT_DATA_DIR", str(http_bot.slack.settings.data_dir))
    assert main(["feedback", "--format", "csv"]) == 0
    exported = capsys.readouterr().out
    assert exported.startswith("voted_at,platform,rating")
    assert "What does The Batch think about open source?" in exported


def test_rate_limit_and_long_questions_get_clear_replies(
    fake: FakeSlack, tmp_path: Path, real_bot: Citebot
) -> None:
    served = HttpBot(make_slack(real_bot, slack_settings(fake, tmp_path), rate_limit=1))
    try:
        served.slash("What is SeedAI working on?", fake)
        served.slash("What is Snowflake doing in AI?", fake)
        replies = fake.wait_for("response_url", 2)  # answered in parallel: any order
        refusals = [reply for reply in replies if "please wait" in all_text(reply)]
        assert len(refusals) == 1
        assert refusals[0]["response_type"] == "ephemeral"  # for the asker only
        served.slack.chat.limiter = RateLimiter(100)
        served.slash("why " * 1000, fake)
        assert "keep it under" in all_text(fake.wait_for("response_url", 3)[2])
    finally:
        served.stop()


def test_channel_allowlist_is_enforced(fake: FakeSlack, tmp_path: Path, real_bot: Citebot) -> None:
    settings = slack_settings(fake, tmp_path, allowed_channels=["C-ALLOWED"])
    served = HttpBot(make_slack(real_bot, settings))
    try:
        served.slash("What is SeedAI working on?", fake)
        refusal = fake.wait_for("response_url")[0]
        assert "isn't enabled in this channel" in all_text(refusal)
        assert refusal["response_type"] == "ephemeral"
        served.event(
            {
                "type": "app_mention",
                "user": "U9",
                "channel": "C1",
                "ts": "300.3",
                "text": "<@UBOT> What is SeedAI working on?",
            }
        )
        private = fake.wait_for("chat.postEphemeral")[0]
        assert private["user"] == "U9" and private["channel"] == "C1"
        assert "isn't enabled in this channel" in all_text(private)
        assert fake.posted("chat.postMessage") == []  # nothing for the whole channel
    finally:
        served.stop()


def test_failure_replies_with_apology_and_never_logs_tokens(
    fake: FakeSlack, tmp_path: Path, real_bot: Citebot, caplog: pytest.LogCaptureFixture
) -> None:
    class BrokenBot:
        settings = real_bot.settings
        writer = real_bot.writer

        def answer(self, question: str, earlier: Sequence[str] = ()) -> Answer:
            raise RuntimeError(f"index exploded while using {BOT_TOKEN}")

    from bot.log_redaction import RedactSecrets

    redactor = RedactSecrets([BOT_TOKEN, APP_TOKEN, SECRET])
    caplog.handler.addFilter(redactor)
    served = HttpBot(make_slack(BrokenBot(), slack_settings(fake, tmp_path)))
    try:
        with caplog.at_level(logging.DEBUG):
            served.event(
                {
                    "type": "app_mention",
                    "user": "U1",
                    "channel": "C1",
                    "ts": "9.9",
                    "text": "<@UBOT> anything",
                },
                "EvBroken",
            )
            reply = fake.wait_for("chat.postEphemeral")[0]  # for the asker only
    finally:
        served.stop()
    assert APOLOGY.split(".")[0] in all_text(reply)
    assert "answering a question" in caplog.text
    for secret in (BOT_TOKEN, APP_TOKEN, SECRET):
        assert secret not in caplog.text


def test_hostile_document_cannot_ping_anyone(fake: FakeSlack, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "hostile.txt").write_text(
        "Meeting notes\n\nThe launch date moved to May <!channel> <!here> <@U999> @everyone "
        "<!subteam^S1> please read.\n"
    )
    settings = Settings(
        sources=docs, index_dir=tmp_path / "index", retrieval={"min_similarity": 0.0}
    )
    embedder = HashingEmbedder()
    run_ingest(settings, embedder=embedder)
    bot = Citebot.load(settings, embedder=embedder)
    served = HttpBot(make_slack(bot, slack_settings(fake, tmp_path)))
    try:
        served.event(
            {
                "type": "app_mention",
                "user": "U1",
                "channel": "C1",
                "ts": "7.7",
                "text": "<@UBOT> When is the launch date?",
            },
            "EvHostile",
        )
        posted = all_text(fake.wait_for("chat.postMessage")[0])
    finally:
        served.stop()
        bot.close()
    assert "launch date moved" in posted
    for live in ("<!channel>", "<!here>", "<@U999>", "<!subteam", "@everyone"):
        assert live not in posted


# ---- Socket Mode ---------------------------------------------------------------------------


@pytest.fixture
def socket_bot(fake: FakeSlack, tmp_path: Path, real_bot: Citebot) -> Iterator[SocketModeHandler]:
    slack = make_slack(real_bot, slack_settings(fake, tmp_path, mode="socket"))
    handler = SocketModeHandler(slack.app, APP_TOKEN)
    handler.connect()
    fake.wait_for_socket()
    yield handler
    handler.close()


def test_socket_mode_slash_command_and_event(
    socket_bot: SocketModeHandler, fake: FakeSlack
) -> None:
    fake.send(
        {
            "envelope_id": "env-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": {
                "command": "/ask",
                "text": "What is SeedAI working on?",
                "user_id": "U1",
                "channel_id": "C1",
                "team_id": "T1",
                "response_url": fake.response_url(),
            },
        }
    )
    assert fake.wait_for_ack("env-1")["envelope_id"] == "env-1"
    assert "SeedAI is crafting frameworks" in all_text(fake.wait_for("response_url")[0])

    event = {
        "type": "event_callback",
        "event_id": "EvSock",
        "team_id": "T1",
        "event": {
            "type": "app_mention",
            "user": "U1",
            "channel": "C1",
            "ts": "600.6",
            "text": "<@UBOT> What is Snowflake doing in AI?",
        },
    }
    fake.send(
        {
            "envelope_id": "env-2",
            "type": "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
            "payload": event,
        }
    )
    fake.wait_for_ack("env-2")
    fake.send(
        {
            "envelope_id": "env-3",
            "type": "events_api",
            "retry_attempt": 1,
            "retry_reason": "timeout",
            "payload": event,
        }
    )
    fake.wait_for_ack("env-3")
    fake.wait_for("chat.postMessage")
    time.sleep(0.3)
    assert len(fake.posted("chat.postMessage")) == 1  # the retry was acked, not answered


def test_socket_mode_reconnects_after_disconnect(
    socket_bot: SocketModeHandler, fake: FakeSlack
) -> None:
    fake.send({"type": "disconnect", "reason": "refresh_requested"})
    fake.wait_for_socket(count=2)
    fake.send(
        {
            "envelope_id": "env-9",
            "type": "events_api",
            "retry_attempt": 0,
            "payload": {
                "type": "event_callback",
                "event_id": "EvAfter",
                "team_id": "T1",
                "event": {
                    "type": "app_mention",
                    "user": "U1",
                    "channel": "C1",
                    "ts": "700.7",
                    "text": "<@UBOT> What were the Crypto Wars?",
                },
            },
        }
    )
    fake.wait_for_ack("env-9")
    assert "Crypto Wars" in all_text(fake.wait_for("chat.postMessage")[0])


def test_refusal_renders_as_warning() -> None:
    message = to_slack_messages(Refusal("Too long <!here>"))[0]
    assert "&lt;!here&gt;" in message.text


def _tracebacks(records: list[logging.LogRecord]) -> list[str]:
    return [record.getMessage() for record in records if record.exc_info]


def test_malformed_requests_get_4xx_one_log_line_and_no_traceback(
    http_bot: HttpBot, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    form = "application/x-www-form-urlencoded"
    actions = {"type": "block_actions", "user": {"id": "U1"}, "actions": []}
    cases = [
        (b"{not json", "application/json", {}, 400),
        (b"payload=%7Bnot+json", form, {}, 400),
        (urllib.parse.urlencode({"payload": json.dumps(actions)}).encode(), form, {}, 400),
        (b"[1, 2, 3]", "application/json", {}, 400),
        (b'{"type": "event_callback", "event": "x"}', "application/json", {}, 400),
        (b"\xff\xfe\x00garbage", "application/json", {}, 400),
        (b"{}", "application/json", {"X-Slack-Request-Timestamp": "soon"}, 401),
    ]
    for body, content_type, headers, expected in cases:
        status, _ = http_bot.post(body, content_type, headers=headers)
        assert status == expected, (body[:40], status)
    assert http_bot.oversize(chunked=False) == 413
    assert http_bot.oversize(chunked=True) == 413
    for _ in range(5):  # unsigned noise: one log line, not five
        assert http_bot.post(b"{}", "application/json", secret="wrong")[0] == 401
    assert _tracebacks(caplog.records) == []
    unsigned = [r for r in caplog.records if "bad or stale signature" in r.getMessage()]
    assert len(unsigned) == 1
    assert http_bot.slash("What is SeedAI working on?", fake)[0] == 200  # still serving
    assert "SeedAI is crafting frameworks" in all_text(fake.wait_for("response_url")[0])


def test_a_replayed_request_does_nothing(http_bot: HttpBot, fake: FakeSlack) -> None:
    stamp = int(time.time())
    assert http_bot.slash("What is SeedAI working on?", fake, timestamp=stamp)[0] == 200
    assert http_bot.slash("What is SeedAI working on?", fake, timestamp=stamp)[0] == 200
    fake.wait_for("response_url")
    time.sleep(1)
    assert len(fake.posted("response_url")) == 1


def test_a_mention_without_a_channel_is_acknowledged_and_ignored(
    http_bot: HttpBot, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    event = {"type": "app_mention", "user": "U1", "ts": "1.1", "text": "<@UBOT> What is SeedAI?"}
    assert http_bot.event(event)[0] == 200
    time.sleep(1)
    assert fake.posted("chat.postMessage") == []
    assert _tracebacks(caplog.records) == []


@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from(["application/json", "application/x-www-form-urlencoded", ""]),
    timestamp=st.one_of(st.none(), st.text(max_size=12), st.integers().map(str)),
    sign=st.booleans(),
)
@hypothesis_settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_body_or_header_gives_a_server_error(
    http_bot: HttpBot, body: bytes, content_type: str, timestamp: str | None, sign: bool
) -> None:
    headers = {} if timestamp is None else {"X-Slack-Request-Timestamp": timestamp}
    if not sign:
        headers["X-Slack-Signature"] = "v0=" + "0" * 64
    safe = {k: v for k, v in headers.items() if v.isprintable() and v.isascii()}
    status, _ = http_bot.post(body, content_type, headers=safe)
    assert status < 500


def test_a_rejected_token_or_unreachable_api_at_start_is_one_line(
    fake: FakeSlack, tmp_path: Path, real_bot: Citebot
) -> None:
    fake.token_rejected = True
    with pytest.raises(ConfigError, match=r"Slack refused SLACK_BOT_TOKEN \(invalid_auth\)"):
        make_slack(real_bot, slack_settings(fake, tmp_path))
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now
    settings = slack_settings(fake, tmp_path, api_url=f"http://127.0.0.1:{port}/api/")
    with pytest.raises(ConfigError, match=r"cannot reach Slack's API at http://127\.0\.0\.1"):
        make_slack(real_bot, settings)


def test_a_missing_scope_at_start_is_one_line_or_a_warning_for_an_optional_feature(
    fake: FakeSlack, tmp_path: Path, real_bot: Citebot, caplog: pytest.LogCaptureFixture
) -> None:
    fake.scopes.discard("chat:write")
    with pytest.raises(ConfigError, match=r"lacks the chat:write scope\(s\) it needs to answer"):
        make_slack(real_bot, slack_settings(fake, tmp_path))
    fake.scopes.add("chat:write")
    fake.scopes.discard("channels:history")
    make_slack(real_bot, slack_settings(fake, tmp_path))  # starts, and says what won't work
    assert "lacks the channels:history scope: follow-ups" in caplog.text
    assert _tracebacks(caplog.records) == []


def test_an_expired_response_url_falls_back_to_the_web_api(
    http_bot: HttpBot, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake.expired_response_urls.add("r1")
    assert http_bot.slash("What is SeedAI working on?", fake)[0] == 200
    posted = fake.wait_for("chat.postMessage")[0]
    assert posted["channel"] == "C1"
    assert "SeedAI is crafting frameworks" in all_text(posted)
    assert fake.posted("response_url:expired")  # it was tried first
    assert "response_url failed (HTTP 404)" in caplog.text


def test_a_published_document_is_linked_from_its_citation() -> None:
    citation = Citation(1, "Intro <b>", "handbook/intro.md", "lines 1-3", "Text.", 0.5)
    answer = Answer("q?", True, (Quote("Text.", 1),), (citation,))
    linked = Answer(
        "q?", True, answer.quotes, (dataclasses.replace(citation, url="https://d.x/intro.md"),)
    )
    with_link, without = to_slack_messages(linked)[0], to_slack_messages(answer)[0]
    assert "<https://d.x/intro.md|Intro &lt;b&gt;>" in json.dumps(with_link.blocks)
    assert "<https://" not in json.dumps(without.blocks)


def test_direct_messages_can_be_turned_off(
    fake: FakeSlack, tmp_path: Path, real_bot: Citebot
) -> None:
    settings = slack_settings(fake, tmp_path)
    settings.chat.direct_messages = False
    served = HttpBot(make_slack(real_bot, settings))
    try:
        served.event(
            {
                "type": "message",
                "channel_type": "im",
                "user": "U1",
                "channel": "D1",
                "ts": "400.4",
                "text": "What is SeedAI working on?",
            }
        )
        reply = fake.wait_for("chat.postMessage")[0]
        assert "doesn't answer direct messages" in all_text(reply)
    finally:
        served.stop()


def _ask_in_thread(
    served: HttpBot, fake: FakeSlack, text: str, *, ts: str, user: str = "U1", mention: bool = True
) -> None:
    """Post a message in thread 500.1 of C1 (the fake keeps it for conversations.replies)."""
    body = f"<@UBOT> {text}" if mention else text
    fake.say_in_thread("C1", "500.1", user, body, ts)
    event = {"user": user, "channel": "C1", "ts": ts, "text": body}
    if ts != "500.1":
        event["thread_ts"] = "500.1"
    if mention:
        served.event({"type": "app_mention", **event}, f"Ev{ts}")
    else:
        served.event({"type": "message", "channel_type": "channel", **event}, f"Ev{ts}")


def test_a_follow_up_in_a_thread_is_searched_with_the_threads_earlier_questions(
    http_bot: HttpBot, fake: FakeSlack
) -> None:
    _ask_in_thread(http_bot, fake, "What is the AI Alliance?", ts="500.1")
    fake.wait_for("chat.postMessage")
    _ask_in_thread(http_bot, fake, "and who started it?", ts="500.9")
    follow_up = fake.wait_for("chat.postMessage", 2)[1]
    assert follow_up["thread_ts"] == "500.1"
    assert NOT_FOUND not in all_text(follow_up) and "IBM and Meta" in all_text(follow_up)
    replies = fake.posted("conversations.replies")
    assert replies and replies[-1]["ts"] == "500.1"
    # The same words asked on their own name nothing the documents answer.
    http_bot.event(
        {
            "type": "app_mention",
            "user": "U1",
            "channel": "C1",
            "ts": "600.1",
            "text": "<@UBOT> and who started it?",
        },
        "Ev600",
    )
    alone = fake.wait_for("chat.postMessage", 3)[2]
    assert NOT_FOUND in all_text(alone)


def test_a_follow_up_in_a_long_thread_is_searched_with_its_latest_questions(
    http_bot: HttpBot, fake: FakeSlack
) -> None:
    # Slack gives a thread oldest first, a page at a time: the question a follow-up builds on
    # sits past the first pages of a long thread.
    fake.say_in_thread("C1", "500.1", "U2", "lunch plans, anyone?", "500.1")
    for n in range(450):
        fake.say_in_thread("C1", "500.1", "U2", "ok", f"600.{n:04d}")
    _ask_in_thread(http_bot, fake, "What is the AI Alliance?", ts="900.1")
    fake.wait_for("chat.postMessage")
    _ask_in_thread(http_bot, fake, "and who started it?", ts="900.9")
    follow_up = fake.wait_for("chat.postMessage", 2)[1]
    assert NOT_FOUND not in all_text(follow_up) and "IBM and Meta" in all_text(follow_up)
    pages = [call for call in fake.posted("conversations.replies") if call.get("cursor")]
    assert pages, "the thread was read in one page; the test no longer covers paging"


def test_without_the_history_scope_a_follow_up_is_answered_alone_with_a_warning(
    http_bot: HttpBot, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    fake.missing_scopes.add("conversations.replies")
    _ask_in_thread(http_bot, fake, "and who started it?", ts="500.9")
    reply = fake.wait_for("chat.postMessage")[0]
    assert reply["thread_ts"] == "500.1" and NOT_FOUND in all_text(reply)
    assert any("channels:history" in r.getMessage() for r in caplog.records)
    assert _tracebacks(caplog.records) == []


@pytest.mark.parametrize("follow_ups", ["asker", "mention"])
def test_the_askers_replies_in_the_thread_are_answered_only_when_set_to_asker(
    fake: FakeSlack, tmp_path: Path, real_bot: Citebot, follow_ups: str
) -> None:
    settings = slack_settings(fake, tmp_path)
    settings.chat.follow_ups = follow_ups  # type: ignore[assignment]
    served = HttpBot(make_slack(real_bot, settings))
    try:
        _ask_in_thread(served, fake, "What is the AI Alliance?", ts="500.1")
        fake.wait_for("chat.postMessage")
        _ask_in_thread(
            served, fake, "who is in charge, Meta?", ts="500.5", user="U2", mention=False
        )
        _ask_in_thread(served, fake, "and who started it?", ts="500.9", mention=False)
        time.sleep(2)  # time for a reply that should not come
        posts = fake.posted("chat.postMessage")
        if follow_ups == "mention":
            assert len(posts) == 1  # plain replies in the thread are people talking
        else:
            assert len(posts) == 2  # the asker's reply, not the bystander's
            assert "IBM and Meta" in all_text(posts[1])
    finally:
        served.stop()


def test_a_model_sentence_shows_its_checked_words_and_a_fallback_its_note() -> None:
    citation = Citation(1, "Cats", "cats.md", "line 3", "Cats sleep <!channel> all day.", 0.5)
    written = Answer(
        "q?",
        True,
        (Quote("Cats <!here> nap a lot.", 1, "Cats sleep <!channel> all day"),),
        (citation,),
        writer="llm",
    )
    fell_back = Answer(
        "q?", True, (Quote("Cats sleep all day.", 1),), (citation,), note="the model failed"
    )
    shown = json.dumps(to_slack_messages(written)[0].blocks)
    assert "Cats &lt;!here&gt; nap a lot. *[1]*\\n> \\u201cCats sleep &lt;!channel&gt;" in shown
    assert "<!" not in shown
    assert "Written by a language model from the quoted sentences" in shown
    fell_back_shown = json.dumps(to_slack_messages(fell_back)[0].blocks)
    assert "_(the model failed)_" in fell_back_shown and "Written by" not in fell_back_shown


def test_with_a_language_model_a_working_message_becomes_the_answer(
    fake: FakeSlack, tmp_path: Path
) -> None:
    reply = faithful_json(("An adult cat sleeps twelve to sixteen hours a day.", 1, SPAN))
    with running_fake_llm(Scripted(reply, delay=0.3), Scripted(status=503)) as model:
        bot = llm_citebot(tmp_path, model.base_url)
        served = HttpBot(make_slack(bot, slack_settings(fake, tmp_path)))
        try:
            for ts in ("300.1", "300.2"):
                served.event(
                    {
                        "type": "app_mention",
                        "user": "U1",
                        "channel": "C1",
                        "ts": ts,
                        "text": "<@UBOT> How long do cats sleep?",
                    },
                    event_id=f"Ev{ts}",
                )
                fake.wait_for("chat.update", count=1 if ts == "300.1" else 2)
            served.event(
                {
                    "type": "message",
                    "channel_type": "im",
                    "user": "U1",
                    "channel": "D1",
                    "ts": "300.3",
                    "text": "How long do cats sleep?",
                },
                event_id="EvDM",
            )
            updated = fake.wait_for("chat.update", count=3)[2]
            assert updated["channel"] == "D1" and "quoted answer shown" in json.dumps(updated)
            status, acked = served.slash("How long do cats sleep?", fake)
            assert status == 200 and "Looking through the sources" in acked
            assert "quoted answer shown" in all_text(fake.wait_for("response_url")[0])
        finally:
            served.stop()
            bot.close()
    working = fake.posted("chat.postMessage")
    assert [post["text"] for post in working] == [WORKING, WORKING, WORKING]
    written, fell_back, _ = (json.dumps(update) for update in fake.posted("chat.update"))
    assert "An adult cat sleeps twelve to sixteen hours a day. *[1]*" in written
    assert SPAN in written
    assert "quoted answer shown" in fell_back and "Cats sleep for most of the day" in fell_back


@pytest.mark.parametrize(
    ("failures", "shown"),
    [
        ({"conversations.replies": [None]}, "IBM and Meta"),  # a thread read that isn't JSON
        ({"chat.postMessage": ["invalid_blocks"]}, "IBM and Meta"),  # blocks refused: plain text
        ({"chat.postMessage": ["invalid_blocks", "msg_too_long"]}, COULD_NOT_POST),
    ],
    ids=["thread read", "post refused once", "post refused twice"],
)
def test_a_reply_arrives_whichever_step_fails(
    http_bot: HttpBot, fake: FakeSlack, failures: dict[str, list[str | None]], shown: str
) -> None:
    for method, replies in failures.items():
        fake.fail_next[method] = list(replies)
    _ask_in_thread(http_bot, fake, "Who started the AI Alliance?", ts="500.5")
    reply = fake.wait_for("chat.postMessage")[0]
    assert reply["thread_ts"] == "500.1" and shown in all_text(reply)
    assert all(not replies for replies in fake.fail_next.values())  # every failure was met


def test_a_failure_outside_answering_still_reaches_the_asker(
    fake: FakeSlack, tmp_path: Path, real_bot: Citebot
) -> None:
    slack = make_slack(real_bot, slack_settings(fake, tmp_path))

    def broken_history(*args: object) -> None:
        raise ConnectionResetError("the network went away mid-read")

    slack._history = broken_history  # type: ignore[method-assign,assignment]
    served = HttpBot(slack)
    try:
        _ask_in_thread(served, fake, "Who started the AI Alliance?", ts="500.5")
        apology = fake.wait_for("chat.postEphemeral")[0]
        assert apology["user"] == "U1" and APOLOGY.split(".")[0] in all_text(apology)
    finally:
        served.stop()


def test_every_new_message_of_an_ask_channel_is_answered_in_its_thread_without_a_mention(
    fake: FakeSlack, tmp_path: Path, real_bot: Citebot
) -> None:
    served = HttpBot(make_slack(real_bot, slack_settings(fake, tmp_path, ask_channels=["C7"])))
    try:
        question = {"type": "message", "channel_type": "channel", "user": "U1"}
        served.event({**question, "channel": "C8", "ts": "800.1", "text": "What is SeedAI?"}, "E1")
        served.event(
            {**question, "channel": "C7", "ts": "700.2", "text": "nice", "thread_ts": "700.1"}, "E2"
        )
        served.event(
            {**question, "channel": "C7", "ts": "700.3", "text": "hi", "bot_id": "B2"}, "E3"
        )
        served.event(
            {**question, "channel": "C7", "ts": "700.9", "text": "What is SeedAI working on?"}, "E4"
        )
        [reply] = fake.wait_for("chat.postMessage")
        assert reply["channel"] == "C7" and reply["thread_ts"] == "700.9"
        assert "SeedAI is crafting frameworks" in all_text(reply)
        served.event(
            {**question, "channel": "C7", "ts": "701.0", "text": "What did Socrates fear?"}, "E5"
        )
        second = fake.wait_for("chat.postMessage", 2)[1]
        assert second["thread_ts"] == "701.0"  # the earlier events were left alone, in order
    finally:
        served.stop()


def test_a_placeholder_that_cannot_be_edited_gives_way_to_a_new_message(
    fake: FakeSlack, tmp_path: Path
) -> None:
    reply = faithful_json(("An adult cat sleeps twelve to sixteen hours a day.", 1, SPAN))
    fake.fail_next["chat.update"] = ["cant_update_message"]
    with running_fake_llm(Scripted(reply)) as model:
        bot = llm_citebot(tmp_path, model.base_url)
        served = HttpBot(make_slack(bot, slack_settings(fake, tmp_path)))
        try:
            event = {"type": "app_mention", "user": "U1", "channel": "C1", "ts": "310.1"}
            served.event({**event, "text": "<@UBOT> How long do cats sleep?"}, "EvEdit")
            working, answer = fake.wait_for("chat.postMessage", 2)
            deleted = fake.wait_for("chat.delete")
        finally:
            served.stop()
            bot.close()
    assert working["text"] == WORKING and deleted[0]["ts"]
    assert "twelve to sixteen hours" in all_text(answer) and answer["thread_ts"] == "310.1"


def test_code_that_goes_on_in_its_passage_ends_in_an_ellipsis() -> None:
    passage = "Count the naps with:\n$ cats --naps\n$ cats --dreams"
    citation = Citation(1, "Cats", "cats.md", "lines 1-3", passage, 0.5)
    quotes = (
        Quote("Count the naps with:", 1),
        Quote("$ cats --naps", 1, code=True, joined_by="\n", continues=True),
    )
    blocks = to_slack_messages(Answer("q?", True, quotes, (citation,)))[0].blocks
    expected = "> “Count the naps with:”\n```\n$ cats --naps\n…\n```\n*[1]*"
    assert blocks[0]["text"]["text"] == expected


def test_a_lead_in_and_its_command_are_one_quote_and_one_code_block() -> None:
    # What a document says can't break out of the code block (a "```" in it) or ping anyone.
    passage = "Count the naps <!here> with:\n$ cats --naps ```x``` <!channel>"
    citation = Citation(1, "Cats", "cats.md", "lines 1-2", passage, 0.5)
    quotes = (
        Quote("Count the naps <!here> with:", 1),
        Quote("$ cats --naps ```x``` <!channel>", 1, code=True, joined_by="\n"),
    )
    blocks = to_slack_messages(Answer("q?", True, quotes, (citation,)))[0].blocks
    assert blocks[0]["text"]["text"] == (
        "> “Count the naps &lt;!here&gt; with:”\n"
        "```\n$ cats --naps `\u2060``x`\u2060`` &lt;!channel&gt;\n```\n*[1]*"
    )


def test_a_heading_that_names_a_thing_is_shown_as_code_before_it() -> None:
    citation = Citation(1, "Cats", "cats.md", "lines 1", "Cats purr.", 0.5)
    quotes = (Quote("Cats purr for hours.", 1, under="purr_loudly(<!here>)"),)
    blocks = to_slack_messages(Answer("q?", True, quotes, (citation,)))[0].blocks
    expected = "> `purr_loudly(&lt;!here&gt;)` · “Cats purr for hours.” *[1]*"
    assert blocks[0]["text"]["text"] == expected


def test_the_heading_a_quote_sits_under_is_shown_bold_before_it() -> None:
    citation = Citation(1, "Cats", "cats.md", "lines 1", "Cats purr.", 0.5)
    quotes = (Quote("Cats purr for hours.", 1, under="1.15.0 <!here>"),)
    blocks = to_slack_messages(Answer("q?", True, quotes, (citation,)))[0].blocks
    assert blocks[0]["text"]["text"] == "> *1.15.0 &lt;!here&gt;* · “Cats purr for hours.” *[1]*"
