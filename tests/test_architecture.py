"""House rules that code review alone would miss: import direction, no pickle, thin core."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "index", "ingest")


def imported_modules(package: str) -> set[str]:
    found = set()
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                found.add(node.module)
    return found


def test_index_imports_neither_ingest_nor_bot() -> None:
    assert not {m for m in imported_modules("index") if m.split(".")[0] in {"ingest", "bot"}}


def test_ingest_does_not_import_bot() -> None:
    assert not {m for m in imported_modules("ingest") if m.split(".")[0] == "bot"}


def test_no_pickle_on_any_load_path() -> None:
    for package in PACKAGES:
        modules = imported_modules(package)
        assert not {m for m in modules if m.split(".")[0] in {"pickle", "dill", "joblib", "shelve"}}
        for path in (REPO / package).rglob("*.py"):
            source = path.read_text(encoding="utf-8")
            assert "allow_pickle=True" not in source, path
            assert "torch.load" not in source, path


def test_core_imports_no_chat_library() -> None:
    code = (
        "import sys, bot.engine, bot.cli, bot.answer, bot.evaluate, ingest.pipeline, index.store; "
        "chat = ('slack_bolt', 'slack_sdk', 'discord');"
        "bad = [m for m in sys.modules if m.split('.')[0] in chat];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
