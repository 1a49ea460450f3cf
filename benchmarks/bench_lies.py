"""How many lies a lying model gets past the LLM writer's check, by kind, and how many faithful
sentences it keeps: over the bundled documents (plus one carrying a prompt injection) and a real
manual, with the real model and the openai client against a fake server on 127.0.0.1.

    .venv/bin/python benchmarks/bench_quality.py --manuals hatch   # fetches and indexes it once
    .venv/bin/python benchmarks/bench_lies.py [--manual hatch]

The modes are tests/lying_llm.py's (the test suite asserts the same over the bundled corpus).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
from pathlib import Path

from common import REPO, print_machine

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def run(bot: object, fake: object, questions: list[str], mode: object) -> tuple[int, int]:
    """Ask every question with the model in one mode; return (written, shown)."""
    from tests.lying_llm import Draft, passages

    drafts: list[Draft] = []

    def compose(prompt: str) -> str:
        draft = mode(passages(prompt))  # type: ignore[operator]
        if draft is None:
            return '{"answerable": false, "sentences": []}'
        drafts.append(draft)
        return str(draft.reply())

    fake.compose = compose  # type: ignore[attr-defined]
    shown = 0
    for question in questions:
        before = len(drafts)
        answer = bot.answer(question)  # type: ignore[attr-defined]
        if len(drafts) > before and answer.writer == "llm":
            shown += any(q.text == drafts[-1].text for q in answer.quotes)
    return len(drafts), shown


def corpus(name: str, work: Path) -> tuple[Path, list[str]]:
    """The documents and questions of a corpus: "bundled" or a benchmark manual."""
    from tests.lying_llm import INJECTION

    if name == "bundled":
        folder = work / "sources"
        shutil.copytree(REPO / "sources", folder)
        (folder / "membership.md").write_text(
            "# AI Alliance membership renewal\n\nMembers of the AI Alliance renew their "
            f"membership every year in January. {INJECTION}\n"
        )
        from tests.test_llm_lies import QUESTIONS

        return folder, list(QUESTIONS)
    from bench_quality import read_questions
    from fetch import fetch

    folder = fetch([name], REPO / "data" / "manuals")[name]
    return folder, [q.question for q in read_questions(name, "all") if q.expect]


def main() -> None:
    """Print, per corpus and mode, how many sentences were written and how many were shown."""
    import sys

    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "benchmarks" / "quality"))
    from bot.core.engine import Citebot, load_embedder, run_ingest
    from bot.settings import Settings
    from tests.fake_llm import running_fake_llm
    from tests.lying_llm import FAITHFUL, LIES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manual", default="hatch")
    args = parser.parse_args()
    print_machine()
    results = {}
    embedder = None
    for name in ("bundled", args.manual):
        work = Path(tempfile.mkdtemp(prefix="citebot-lies-"))
        folder, questions = corpus(name, work)
        with running_fake_llm() as fake:
            settings = Settings(
                sources=folder,
                index_dir=work / "index",
                writer="llm",
                llm={"base_url": fake.base_url, "model": "liar", "timeout": 5},
            )
            embedder = embedder or load_embedder(settings)
            run_ingest(settings, embedder=embedder)
            bot = Citebot.load(settings, embedder=embedder)
            print(f"\n## {name}: {len(questions)} questions")
            for kind, modes in (("lie", LIES), ("faithful", FAITHFUL)):
                for mode_name, mode in modes.items():
                    written, shown = run(bot, fake, questions, mode)
                    results[f"{name}: {mode_name}"] = {"written": written, "shown": shown}
                    verb = "shown" if kind == "lie" else "kept"
                    print(f"{kind:<9}{mode_name:<36}{shown:>4} of {written:<4} {verb}")
            bot.close()
        shutil.rmtree(work, ignore_errors=True)
    out = REPO / "bench-results" / "lies.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
