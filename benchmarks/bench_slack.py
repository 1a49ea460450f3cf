"""Slack benchmark: signed /ask over loopback to the fake Slack, with the model warm.

Run: .venv/bin/python benchmarks/bench_slack.py [--requests N]. Measures, per request, the time to
the HTTP ack and the time until the answer reaches the fake's response_url, and reports them
beside the core answer latency measured in the same run (the baseline).
"""

from __future__ import annotations

import argparse
import shutil
import time

from common import CHAT_QUESTIONS, percentile, report, scratch_folder, warm_bot


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    from tests.fake_slack import FakeSlack
    from tests.slack_harness import HttpBot, make_slack, slack_settings

    work = scratch_folder("citebot-slack-bench-")
    bot, core_ms = warm_bot(args.requests)
    fake = FakeSlack()
    served = HttpBot(make_slack(bot, slack_settings(fake, work)))
    ack_ms, posted_ms = [], []
    try:
        for n in range(args.requests):
            started = time.perf_counter()
            status, _ = served.slash(CHAT_QUESTIONS[n % len(CHAT_QUESTIONS)], fake)
            ack_ms.append((time.perf_counter() - started) * 1000)
            assert status == 200
            fake.wait_for("response_url", n + 1)
            posted_ms.append((time.perf_counter() - started) * 1000)
    finally:
        served.stop()
        fake.stop()
        bot.close()
        shutil.rmtree(work, ignore_errors=True)
    report(
        "slack",
        {
            "requests": args.requests,
            "core_answer_p50_ms": percentile(core_ms, 0.5),
            "ack_p50_ms": percentile(ack_ms, 0.5),
            "ack_p95_ms": percentile(ack_ms, 0.95),
            "posted_p50_ms": percentile(posted_ms, 0.5),
            "posted_p95_ms": percentile(posted_ms, 0.95),
            "posted_over_core_p50": percentile(posted_ms, 0.5) / percentile(core_ms, 0.5),
        },
    )


if __name__ == "__main__":
    main()
