"""A cold `citebot ask` (a fresh process, index present) against Python's and torch's start-up.

    .venv/bin/python benchmarks/bench_cold.py

Each round runs, in fresh processes and interleaved (so the machine's noise hits all alike):
`python -c pass`, `python -c "import torch"`, `citebot ask` as shipped (questions embedded by
NumPy when the index is float32), and the same question answered with the model loaded through
torch and sentence-transformers (what `ask` did before). Medians of the rounds are printed.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import report, scratch_folder

ROUNDS = 5
QUESTION = "What is SeedAI working on?"
CITEBOT = Path(sys.executable).with_name("citebot")
TORCH_PATH = (
    "from bot.core.engine import Citebot, load_embedder; from bot.settings import Settings; "
    f"s = Settings(); print(Citebot.load(s, embedder=load_embedder(s)).answer({QUESTION!r}).text)"
)


def seconds(command: list[str]) -> float:
    """Run a command to completion; return its wall time."""
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    """Time the four start-ups, interleaved, and print their medians and ratios."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    scratch_folder("citebot-bench-cold-")
    subprocess.run([str(CITEBOT), "ingest"], check=True, capture_output=True)
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import torch'": [sys.executable, "-c", "import torch"],
        "citebot ask (NumPy question encoder)": [str(CITEBOT), "ask", QUESTION],
        "ask through torch (before)": [sys.executable, "-c", TORCH_PATH],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(ROUNDS):
        for name, command in commands.items():
            times[name].append(seconds(command))
    medians = {name: statistics.median(values) for name, values in times.items()}
    ask = medians["citebot ask (NumPy question encoder)"]
    before = medians["ask through torch (before)"]
    report(
        "cold",
        {
            **{f"{name}, s": round(value, 2) for name, value in medians.items()},
            "ask through torch / citebot ask": round(before / ask, 2),
            "citebot ask / import torch": round(ask / medians["python -c 'import torch'"], 2),
        },
    )


if __name__ == "__main__":
    main()
