"""What every benchmark shares: percentiles, a warm bot over a copy of sources/, the report."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DEV_SET = REPO / "tests" / "data" / "dev.jsonl"

CHAT_QUESTIONS = [
    "Which universities belong to the AI Alliance?",
    "What is SeedAI working on?",
    "What did Socrates fear about writing?",
    "What were the Crypto Wars?",
    "What is the current price of Bitcoin?",
]


def percentile(values: list[float], share: float) -> float:
    """Return the value at the given share (0..1) of the sorted values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def scratch_folder(prefix: str) -> Path:
    """Make a temporary working folder holding a copy of sources/, and move into it."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    os.chdir(work)
    shutil.copytree(REPO / "sources", work / "sources")
    return work


def warm_bot(count: int) -> tuple[Any, list[float]]:
    """Load a Citebot over ./sources (building the index), warm it, and time `count` answers."""
    from bot.core.engine import Citebot
    from bot.settings import Settings

    bot = Citebot.load(Settings(), build_if_missing=True)
    for question in CHAT_QUESTIONS:
        bot.answer(question)
    core_ms = []
    for n in range(count):
        started = time.perf_counter()
        bot.answer(CHAT_QUESTIONS[n % len(CHAT_QUESTIONS)])
        core_ms.append((time.perf_counter() - started) * 1000)
    return bot, core_ms


def report(name: str, results: dict[str, Any]) -> None:
    """Print results as a table and write them to bench-results/NAME.json."""
    results = {"machine": machine(), **results}
    width = max(len(key) for key in results)
    for key, value in results.items():
        shown = f"{value:14.3f}" if isinstance(value, float) else f"{value!s:>14}"
        print(f"{key:<{width}}  {shown}")
    out = REPO / "bench-results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")


def print_machine() -> None:
    """Say where a benchmark ran: figures from different CPU paths are never comparable."""
    print(f"machine: {machine()}")


def machine() -> str:
    """Describe the CPU, its cores and the embedding path the settings take on it."""
    from bot.settings import Settings
    from index.cpu_features import describe_cpu
    from index.embedder import describe_precision

    path = describe_precision(Settings().embedding.precision)
    return f"{describe_cpu()}, {os.cpu_count()} cores; embedding path: {path}"
