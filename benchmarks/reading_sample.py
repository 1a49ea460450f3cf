"""The reading protocol: answers drawn for a blind reader, and the reader's scores tallied.

    # draw 20 answerable questions per manual from one or more bench_quality result files
    .venv/bin/python benchmarks/reading_sample.py draw bench-results/quality-report.json \\
        [other-variant.json ...] --per-manual 20 --out bench-results/reading
    # or only the questions whose answer differs between the files (what a change changed):
    .venv/bin/python benchmarks/reading_sample.py draw before.json after.json --only-changed
    # the reader scores each item of reading/sheet-*.md 2, 1 or 0 into reading/scores.json
    # ({"item id": score, ...}); then:
    .venv/bin/python benchmarks/reading_sample.py tally bench-results/reading

Scores (docs/quality.md, "The reading protocol"): 2 a chat user has their answer; 1 relevant
but incomplete; 0 wrong or irrelevant. The same questions are drawn from every result file
given, items are shuffled together and named by random ids, so the reader cannot tell which
variant wrote an answer; the key that maps ids back is written beside the sheets.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reader import EXCERPT_CHARS


def draw(
    results: list[Path], per_manual: int, out: Path, seed: int, only_changed: bool = False
) -> None:
    """Write one sheet per manual for the reader, and the key.

    only_changed: draw only questions whose answer, as shown, differs between the results.
    """
    from bot.platforms.chat_text import excerpt

    runs = [json.loads(path.read_text()) for path in results]
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    key: dict[str, dict[str, str]] = {}
    for manual in [name for name, value in runs[0].items() if isinstance(value, dict)]:
        answerable = [q["id"] for q in runs[0][manual]["questions"] if q.get("expect")]
        if only_changed:
            shown = [{q["id"]: _shown(q) for q in run[manual]["questions"]} for run in runs]
            answerable = [i for i in answerable if len({str(s.get(i)) for s in shown}) > 1]
        chosen = sorted(rng.sample(answerable, min(per_manual, len(answerable))))
        items = []
        for variant, run in zip(results, runs, strict=True):
            by_id = {q["id"]: q for q in run[manual]["questions"]}
            for question_id in chosen:
                item_id = _new_id(manual, rng, key)
                key[item_id] = {"variant": str(variant), "question": question_id}
                items.append((item_id, by_id[question_id]))
        rng.shuffle(items)
        lines = [
            f"# Answers to read: {manual}",
            "",
            "Score each item 2 (a chat user has their answer), 1 (relevant but incomplete) or "
            "0 (wrong or irrelevant), judging only what is shown.",
            "",
        ]
        for item_id, q in items:
            lines += [f"## {item_id}", "", f"**Question:** {q['question']}", ""]
            lines += [f"**The manual's answer holds:** {' / '.join(q['expect'])}", ""]
            shown_answer = _as_chat_shows(q) if q["found"] else "(declined)"
            lines += ["**Answer shown:**", "", shown_answer, ""]
            lines.append("**Sources shown under it:**")
            lines.append("")
            for citation in q["citations"]:
                quoted = [text for n, text in q["quotes"] if n == citation["n"]]
                # The excerpt the code that ran showed; a run from before they were kept in
                # the results cut at the first quote, as its chat did.
                cut = citation.get("excerpt") or excerpt(citation["text"], quoted, EXCERPT_CHARS)
                where = f" ({citation['location']})" if citation.get("location") else ""
                lines.append(f"- [{citation['n']}] {citation['title']}{where}: {cut}")
            lines.append("")
        (out / f"sheet-{manual}.md").write_text("\n".join(lines))
    (out / "key.json").write_text(json.dumps(key, indent=2) + "\n")


def _new_id(manual: str, rng: random.Random, taken: Mapping[str, object]) -> str:
    """Return a random item id not yet in the key: two items under one id left one unscored
    (seed 441 drew pytest-2e6bd5 twice)."""
    while True:
        item_id = f"{manual}-{rng.randrange(16**6):06x}"
        if item_id not in taken:
            return item_id


def _shown(question: dict[str, Any]) -> tuple[str, list[str]]:
    """Return what a reader sees of an answer: its text as shown, and its sources' excerpts."""
    shown = _as_chat_shows(question) if question["found"] else "(declined)"
    return shown, [str(c.get("excerpt") or c.get("text")) for c in question["citations"]]


def _as_chat_shows(question: dict[str, Any]) -> str:
    """Return a found answer's quotes as the chat bots showed them with the code that ran.

    A run from before quote blocks has no "chat": its chat showed each quote on a line of its
    own, in quotation marks, with its citation.
    """
    if question.get("chat"):
        return str(question["chat"])
    return "\n".join(f"> “{text}” [{n}]" for n, text in question["quotes"])


def tally(folder: Path) -> None:
    """Print the share of 2s, 1s and 0s per manual and variant."""
    key = json.loads((folder / "key.json").read_text())
    scores: dict[str, int] = json.loads((folder / "scores.json").read_text())
    table: dict[tuple[str, str], list[int]] = defaultdict(list)
    for item_id, score in scores.items():
        manual = item_id.rsplit("-", 1)[0]
        table[(manual, key[item_id]["variant"])].append(int(score))
    for (manual, variant), values in sorted(table.items()):
        n = len(values)
        shares = " ".join(f"{s}: {values.count(s)}/{n}" for s in (2, 1, 0))
        print(f"{manual:<8} {variant:<40} {shares}  (score 2: {values.count(2) / n:.0%})")


def main() -> None:
    """Draw sheets or tally scores."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    drawing = commands.add_parser("draw")
    drawing.add_argument("results", type=Path, nargs="+")
    drawing.add_argument("--per-manual", type=int, default=20)
    drawing.add_argument("--out", type=Path, default=Path("bench-results/reading"))
    drawing.add_argument("--seed", type=int, default=27)
    drawing.add_argument(
        "--only-changed", action="store_true", help="only questions whose answers differ"
    )
    tallying = commands.add_parser("tally")
    tallying.add_argument("folder", type=Path)
    args = parser.parse_args()
    if args.command == "draw":
        draw(args.results, args.per_manual, args.out, args.seed, args.only_changed)
    else:
        tally(args.folder)


if __name__ == "__main__":
    main()
