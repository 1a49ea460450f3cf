"""What the LLM writer adds to an answer's latency, on a local fake endpoint, against quoting.

    .venv/bin/pip install -e '.[llm]'
    .venv/bin/python benchmarks/bench_writer.py

The real model answers the dev-set questions over sources/ with the extractive writer and with
CITEBOT_WRITER=llm pointed at an OpenAI-compatible fake on 127.0.0.1 that replies at once: one
sentence citing passage 1 with its first eight words as the span. The difference is citebot's own
cost (prompt, HTTP round trip, parsing, checking); a real model's generation time comes on top.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from common import DEV_SET, report, scratch_folder

ROUNDS = 3


class InstantModel(BaseHTTPRequestHandler):
    """Replies at once: passage 1's first words, cited, as the one sentence."""

    # Headers and body go out as separate writes: without this, Nagle's algorithm and delayed
    # ACKs add ~40 ms to every reply, which would be charged to citebot.
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet."""

    def do_POST(self) -> None:
        """Answer a chat completion."""
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        user = body["messages"][1]["content"]
        first = re.search(r'<passage n="1"[^>]*>\n(.*?)\n</passage>', user, re.DOTALL)
        words = (first.group(1) if first else "").split()[:8]
        span = " ".join(words)
        content = json.dumps(
            {"answerable": True, "sentences": [{"text": span + ".", "cite": 1, "span": span}]}
        )
        data = json.dumps(
            {
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "instant",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    """Time both writers on the dev questions, in one run, and print the difference."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    scratch_folder("citebot-bench-writer-")
    server = ThreadingHTTPServer(("127.0.0.1", 0), InstantModel)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    from bot.core.engine import Citebot, load_embedder
    from bot.core.writers import make_writer
    from bot.settings import Settings

    questions = [json.loads(line)["question"] for line in DEV_SET.read_text().splitlines()]
    settings = Settings(
        writer="llm",
        llm={"base_url": f"http://127.0.0.1:{server.server_address[1]}/v1", "model": "instant"},
    )
    embedder = load_embedder(settings)
    bot = Citebot.load(settings, embedder=embedder, build_if_missing=True)
    writers = {"extractive": make_writer(Settings()), "llm": make_writer(settings)}
    timings: dict[str, list[float]] = {name: [] for name in writers}
    outcomes = {"llm answers": 0, "fell back": 0, "declined": 0, "sentences dropped": 0}
    for question in questions:
        bot.writer = writers["extractive"]
        bot.answer(question)  # warm this question's terms for both writers
    for _ in range(ROUNDS):
        for name, writer in writers.items():  # interleaved, so noise hits both alike
            bot.writer = writer
            for question in questions:
                started = time.perf_counter()
                answer = bot.answer(question)
                timings[name].append((time.perf_counter() - started) * 1000)
                if name == "llm" and _ == 0:
                    outcomes["sentences dropped"] += answer.dropped
                    if not answer.found:
                        outcomes["declined"] += 1
                    elif answer.writer == "llm":
                        outcomes["llm answers"] += 1
                    else:
                        outcomes["fell back"] += 1
    server.shutdown()
    quoted = statistics.median(timings["extractive"])
    written = statistics.median(timings["llm"])
    report(
        "writer",
        {
            "questions": len(questions),
            "extractive p50 ms": round(quoted, 1),
            "llm (instant fake) p50 ms": round(written, 1),
            "added by the llm writer, p50 ms": round(written - quoted, 1),
            "llm / extractive p50": round(written / quoted, 2),
            **outcomes,
        },
    )


if __name__ == "__main__":
    main()
