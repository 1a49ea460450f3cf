"""Load benchmark: 200 simultaneous questions through Slack's HTTP endpoint and the Discord fake.

Run: .venv/bin/python benchmarks/bench_load.py. Prints throughput, p50/p95 latency from send to
answer received, and answered-exactly-once counts; the baseline is the core answering the same
questions one at a time in the same run.
"""

from __future__ import annotations

import shutil

from common import percentile, report, scratch_folder, warm_bot


def main() -> None:
    from tests.bursts import BURST, discord_burst, slack_burst

    work = scratch_folder("citebot-load-")
    bot, core = warm_bot(BURST)
    results: dict[str, float] = {
        "burst": BURST,
        "core_answer_p50_ms": percentile(core, 0.5),
        "core_serial_qps": 1000 / (sum(core) / len(core)),
    }
    fake, elapsed, sent = slack_burst(bot, work / "slack")
    posts = fake.posted("chat.postMessage")
    latencies = [
        (call.at - sent[call.body["thread_ts"]]) * 1000
        for call in fake.calls
        if call.path == "chat.postMessage"
    ]
    results |= {
        "slack_answered": len({p["thread_ts"] for p in posts}),
        "slack_duplicates": len(posts) - len({p["thread_ts"] for p in posts}),
        "slack_qps": BURST / elapsed,
        "slack_p50_ms": percentile(latencies, 0.5),
        "slack_p95_ms": percentile(latencies, 0.95),
    }
    fake.stop()
    dfake, elapsed, dsent = discord_burst(bot, work / "discord")
    calls = dfake.posts("/channels/500/messages")
    ids = [str(c.body["message_reference"]["message_id"]) for c in calls]
    latencies = [(c.at - dsent[i]) * 1000 for c, i in zip(calls, ids, strict=True)]
    results |= {
        "discord_answered": len(set(ids)),
        "discord_duplicates": len(ids) - len(set(ids)),
        "discord_qps": BURST / elapsed,
        "discord_p50_ms": percentile(latencies, 0.5),
        "discord_p95_ms": percentile(latencies, 0.95),
    }
    dfake.stop()
    bot.close()
    shutil.rmtree(work, ignore_errors=True)
    results["slack_qps_over_core_serial"] = results["slack_qps"] / results["core_serial_qps"]
    results["discord_qps_over_core_serial"] = results["discord_qps"] / results["core_serial_qps"]
    report("load", results)


if __name__ == "__main__":
    main()
