"""Slack benchmark: signed /ask over loopback to the fake Slack, with the model warm.

Run: .venv/bin/python benchmarks/bench_slack.py [--requests N]. Measures, per request, the time to
the HTTP ack and the time until the answer reaches the fake's response_url, and reports them
beside the core answer latency measured in the same run (the baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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
    parser.add_argument("--requests", type=int, default=50)
    args = parser.parse_args()

    from bot.engine import Citebot
    from bot.settings import Settings
    from tests.fake_slack import FakeSlack
    from tests.test_slack import HttpBot, make_slack, slack_settings

    work = Path(tempfile.mkdtemp(prefix="citebot-slack-bench-"))
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
    for n in range(args.requests):
        started = time.perf_counter()
        bot.answer(questions[n % len(questions)])
        core_ms.append((time.perf_counter() - started) * 1000)

    fake = FakeSlack()
    served = HttpBot(make_slack(bot, slack_settings(fake, work)))
    ack_ms, posted_ms = [], []
    try:
        for n in range(args.requests):
            started = time.perf_counter()
            status, _ = served.slash(questions[n % len(questions)], fake)
            ack_ms.append((time.perf_counter() - started) * 1000)
            assert status == 200
            fake.wait_for("response_url", n + 1)
            posted_ms.append((time.perf_counter() - started) * 1000)
    finally:
        served.stop()
        fake.stop()
        bot.close()
        shutil.rmtree(work, ignore_errors=True)

    results = {
        "requests": args.requests,
        "core_answer_p50_ms": percentile(core_ms, 0.5),
        "ack_p50_ms": percentile(ack_ms, 0.5),
        "ack_p95_ms": percentile(ack_ms, 0.95),
        "posted_p50_ms": percentile(posted_ms, 0.5),
        "posted_p95_ms": percentile(posted_ms, 0.95),
        "posted_over_core_p50": statistics.median(posted_ms) / statistics.median(core_ms),
    }
    width = max(len(k) for k in results)
    for name, value in results.items():
        print(f"{name:<{width}}  {value:10.2f}")
    out = REPO / "bench-results"
    out.mkdir(exist_ok=True)
    (out / "slack.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
