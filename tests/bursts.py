"""Bursts of questions through Slack's HTTP endpoint and the Discord gateway, over loopback."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bot.core.engine import Citebot
from tests.discord_harness import RunningClient
from tests.fake_discord import BOT_ID, FakeDiscord
from tests.fake_slack import FakeSlack
from tests.slack_harness import HttpBot, make_slack, slack_settings

BURST = 200
QUESTIONS = [
    "What is SeedAI working on?",
    "What were the Crypto Wars?",
    "What is the current price of Bitcoin?",
    "Which universities belong to the AI Alliance?",
]


def slack_burst(
    bot: Citebot, work: Path, count: int = BURST
) -> tuple[FakeSlack, float, dict[str, float]]:
    """Send count mentions at once; return the fake, the seconds, and each send time by ts."""
    fake = FakeSlack()
    served = HttpBot(make_slack(bot, slack_settings(fake, work), rate_limit=10_000))
    sent: dict[str, float] = {}

    def send(n: int) -> int:
        sent[f"{n}.0"] = time.perf_counter()
        return served.event(
            {
                "type": "app_mention",
                "user": f"U{n % 7}",
                "channel": "C1",
                "ts": f"{n}.0",
                "text": f"<@UBOT> {QUESTIONS[n % len(QUESTIONS)]}",
            },
            f"EvLoad{n}",
        )[0]

    started = time.perf_counter()
    try:
        with ThreadPoolExecutor(max_workers=32) as pool:
            statuses = list(pool.map(send, range(count)))
        assert statuses == [200] * count
        fake.wait_for("chat.postMessage", count, timeout=300)
        elapsed = time.perf_counter() - started
        time.sleep(0.5)  # anything extra (a double answer) would arrive now
    finally:
        served.stop()
    return fake, elapsed, sent


def discord_burst(
    bot: Citebot, work: Path, count: int = BURST
) -> tuple[FakeDiscord, float, dict[str, float]]:
    """Dispatch count mentions at once; return the fake, the seconds, and send times by id."""
    fake = FakeDiscord()
    client = RunningClient(bot, fake, work)
    client.client.chat.limiter.limit = 10_000
    sent: dict[str, float] = {}
    started = time.perf_counter()
    try:
        for n in range(count):
            sent[str(5000 + n)] = time.perf_counter()
            fake.dispatch(
                "MESSAGE_CREATE",
                fake.mention(f"<@{BOT_ID}> {QUESTIONS[n % len(QUESTIONS)]}", 5000 + n),
            )
        fake.wait_for_posts("/channels/500/messages", count, timeout=300)
        elapsed = time.perf_counter() - started
        time.sleep(0.5)
    finally:
        client.stop()
    return fake, elapsed, sent
