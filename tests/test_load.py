"""Bursts of questions: 200 at once through Slack's HTTP endpoint and the Discord gateway,
each answered exactly once. Throughput is reported by benchmarks/bench_load.py, not asserted."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from bot.core.engine import Citebot
from tests.bursts import BURST, discord_burst, slack_burst


def test_slack_burst_answered_exactly_once(real_bot: Citebot, tmp_path: Path) -> None:
    fake, _, _ = slack_burst(real_bot, tmp_path)
    try:
        posts = fake.posted("chat.postMessage")
        threads = Counter(post["thread_ts"] for post in posts)
        assert len(threads) == BURST and set(threads.values()) == {1}
        assert all("blocks" in post for post in posts)
    finally:
        fake.stop()


def test_discord_burst_answered_exactly_once(real_bot: Citebot, tmp_path: Path) -> None:
    fake, _, _ = discord_burst(real_bot, tmp_path)
    try:
        replies = Counter(
            str(call.body["message_reference"]["message_id"])
            for call in fake.posts("/channels/500/messages")
        )
        assert len(replies) == BURST and set(replies.values()) == {1}
        assert all(
            json.dumps(call.body["allowed_mentions"]) == '{"parse": [], "replied_user": false}'
            for call in fake.posts("/channels/500/messages")
        )
    finally:
        fake.stop()
