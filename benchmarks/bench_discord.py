"""Discord benchmark: mention -> reply over loopback to the fake gateway, with the model warm.

Run: .venv/bin/python benchmarks/bench_discord.py [--messages N]. Reports p50/p95 of the time from
sending MESSAGE_CREATE to the fake receiving the reply, beside the core answer latency measured
in the same run (the baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=50)
    args = parser.parse_args()

    from bot.engine import Citebot
    from bot.settings import Settings
    from tests.fake_discord import BOT_ID, FakeDiscord
    from tests.test_discord import RunningClient

    work = Path(tempfile.mkdtemp(prefix="citebot-discord-bench-"))
    os.chdir(work)
    shutil.copytree(REPO / "sources", work / "sources")
    bot = Citebot.load(Settings(), build_if_missing=True)
    questions = [
        "Which universities belong to the AI Alliance?",
        "What is SeedAI working on?",
        "What did Socrates fear about writing?",
        "What were the Crypto Wars?",
        "What is the current price of Bitcoin?",
    ]
    for question in questions:
        bot.answer(question)
    core_ms = []
    for n in range(args.messages):
        started = time.perf_counter()
        bot.answer(questions[n % len(questions)])
        core_ms.append((time.perf_counter() - started) * 1000)

    fake = FakeDiscord()
    client = RunningClient(bot, fake, work)
    reply_ms = []
    try:
        for n in range(args.messages):
            started = time.perf_counter()
            fake.dispatch(
                "MESSAGE_CREATE",
                fake.mention(f"<@{BOT_ID}> {questions[n % len(questions)]}", 1000 + n),
            )
            fake.wait_for_posts("/channels/500/messages", n + 1)
            reply_ms.append((time.perf_counter() - started) * 1000)
    finally:
        client.stop()
        fake.stop()
        bot.close()
        shutil.rmtree(work, ignore_errors=True)

    results = {
        "messages": args.messages,
        "core_answer_p50_ms": percentile(core_ms, 0.5),
        "reply_p50_ms": percentile(reply_ms, 0.5),
        "reply_p95_ms": percentile(reply_ms, 0.95),
        "reply_over_core_p50": percentile(reply_ms, 0.5) / percentile(core_ms, 0.5),
    }
    width = max(len(k) for k in results)
    for name, value in results.items():
        print(f"{name:<{width}}  {value:10.2f}")
    out = REPO / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "discord.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
