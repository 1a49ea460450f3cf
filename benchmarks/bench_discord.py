"""Discord benchmark: mention -> reply over loopback to the fake gateway, with the model warm.

Run: .venv/bin/python benchmarks/bench_discord.py [--messages N]. Reports p50/p95 of the time from
sending MESSAGE_CREATE to the fake receiving the reply, beside the core answer latency measured
in the same run (the baseline).
"""

from __future__ import annotations

import argparse
import shutil
import time

from common import CHAT_QUESTIONS, percentile, report, scratch_folder, warm_bot


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=50)
    args = parser.parse_args()

    from tests.discord_harness import RunningClient
    from tests.fake_discord import BOT_ID, FakeDiscord

    work = scratch_folder("citebot-discord-bench-")
    bot, core_ms = warm_bot(args.messages)
    fake = FakeDiscord()
    client = RunningClient(bot, fake, work)
    reply_ms = []
    try:
        for n in range(args.messages):
            started = time.perf_counter()
            fake.dispatch(
                "MESSAGE_CREATE",
                fake.mention(f"<@{BOT_ID}> {CHAT_QUESTIONS[n % len(CHAT_QUESTIONS)]}", 1000 + n),
            )
            fake.wait_for_posts("/channels/500/messages", n + 1)
            reply_ms.append((time.perf_counter() - started) * 1000)
    finally:
        client.stop()
        fake.stop()
        bot.close()
        shutil.rmtree(work, ignore_errors=True)
    report(
        "discord",
        {
            "messages": args.messages,
            "core_answer_p50_ms": percentile(core_ms, 0.5),
            "reply_p50_ms": percentile(reply_ms, 0.5),
            "reply_p95_ms": percentile(reply_ms, 0.95),
            "reply_over_core_p50": percentile(reply_ms, 0.5) / percentile(core_ms, 0.5),
        },
    )


if __name__ == "__main__":
    main()
