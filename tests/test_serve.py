"""`citebot serve`: Slack and Discord in one process on one model, stopped cleanly by SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console_script import CITEBOT
from tests.fake_discord import BOT_ID, FakeDiscord
from tests.fake_slack import FakeSlack
from tests.harness import SOURCES

SLACK_TOKEN = "xoxb-serve-test-000111"
APP_TOKEN = "xapp-serve-test-222333"
DISCORD_TOKEN = "discord-serve-test-444555"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeSlack, FakeDiscord]]:
    slack, discord = FakeSlack(), FakeDiscord()
    yield slack, discord
    slack.stop()
    discord.stop()


def test_serve_runs_both_bots_and_stops_on_sigterm(
    fakes: tuple[FakeSlack, FakeDiscord], real_index_dir: Path, tmp_path: Path
) -> None:
    slack, discord = fakes
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
    env.update(
        {
            "CITEBOT_INDEX_DIR": str(real_index_dir),
            "CITEBOT_SOURCES": str(SOURCES),
            "CITEBOT_DATA_DIR": str(tmp_path / "data"),
            "CITEBOT_LOG_LEVEL": "DEBUG",
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "CITEBOT_SLACK__API_URL": slack.base_url,
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "CITEBOT_DISCORD__API_URL": discord.api_url,
            "CITEBOT_DISCORD__GATEWAY_URL": discord.gateway_url,
        }
    )
    log = (tmp_path / "serve.log").open("w+")
    process = subprocess.Popen(
        [str(CITEBOT), "serve"], env=env, stdout=log, stderr=log, cwd=tmp_path
    )
    try:
        slack.wait_for_socket(timeout=120)
        discord.wait_until(lambda f: f.identifies >= 1, timeout=120)
        slack.send(
            {
                "envelope_id": "e1",
                "type": "events_api",
                "retry_attempt": 0,
                "payload": {
                    "type": "event_callback",
                    "event_id": "EvServe",
                    "team_id": "T1",
                    "event": {
                        "type": "app_mention",
                        "user": "U1",
                        "channel": "C1",
                        "ts": "1.1",
                        "text": "<@UBOT> What is SeedAI working on?",
                    },
                },
            }
        )
        discord.wait_until(lambda f: f.identifies >= 1)
        discord.dispatch(
            "MESSAGE_CREATE", discord.mention(f"<@{BOT_ID}> What were the Crypto Wars?", 77)
        )
        assert "SeedAI is crafting" in str(slack.wait_for("chat.postMessage")[0]["blocks"])
        assert "Crypto Wars" in discord.wait_for_posts("/channels/500/messages")[0].body["content"]
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        # A normal closure: Discord ends the session and shows the bot offline at once.
        discord.wait_until(lambda f: bool(f.close_codes))
        assert discord.close_codes == [1000]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log.seek(0)
    output = log.read()
    log.close()
    assert "shutting down" in output
    for secret in (SLACK_TOKEN, APP_TOKEN, DISCORD_TOKEN):
        assert secret not in output
