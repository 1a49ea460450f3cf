"""House rules that code review alone would miss: import direction, no pickle, thin core."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

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


def test_bot_core_names_no_chat_library_or_platform() -> None:
    """Static, so an import inside a function counts too: the core stays platform-free."""
    chat = {"slack_bolt", "slack_sdk", "discord", "aiohttp", "uvicorn"}
    imported = imported_modules("bot/core")
    assert imported, "bot/core was not read"
    bad = {m for m in imported if m.split(".")[0] in chat or m.startswith("bot.platforms")}
    assert not bad, f"bot/core imports {sorted(bad)}"


@pytest.mark.subprocess
def test_core_imports_no_chat_library() -> None:
    code = (
        "import sys, bot.core.engine, bot.cli, bot.core.answer, bot.core.evaluate, bot.core.guard, "
        "bot.core.feedback, bot.core.writers, bot.core.gaps, ingest.pipeline, index.store; "
        "chat = ('slack_bolt', 'slack_sdk', 'discord');"
        "bad = [m for m in sys.modules if m.split('.')[0] in chat];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def sql_calls(package: str) -> list[tuple[Path, ast.Call]]:
    found = []
    for path in (REPO / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                # ChunkStore._query runs its reads: its callers' SQL is checked like execute's.
                and node.func.attr in {"execute", "executemany", "executescript", "_query"}
            ):
                found.append((path, node))
    return found


def test_sql_is_parameterised_everywhere() -> None:
    """SQL text is a constant; the only interpolation is a run of "?" placeholders."""
    calls = [call for package in PACKAGES for call in sql_calls(package)]
    assert len(calls) >= 10
    for path, call in calls:
        query = call.args[0]
        if isinstance(query, ast.Constant) and isinstance(query.value, str):
            continue
        if isinstance(query, ast.Name) and query.id.isupper():
            continue  # a module-level constant such as _SCHEMA
        passthrough = ast.unparse(call) == "self._db.execute(sql, parameters)"
        if path.name == "chunk_store.py" and passthrough:
            continue  # inside ChunkStore._query, whose own calls are checked here
        assert isinstance(query, ast.JoinedStr), f"{path}:{call.lineno}"
        names = {ast.unparse(v.value) for v in query.values if isinstance(v, ast.FormattedValue)}
        assert names == {"marks"}, f"{path}:{call.lineno} interpolates {names}"
    feedback = [call for path, call in calls if path.name == "feedback.py"]
    assert feedback and all(isinstance(call.args[0], ast.Constant | ast.Name) for call in feedback)


def test_chat_adapters_translate_and_decide_nothing() -> None:
    """Allowlists, DM rules, rate limits, follow-ups, votes and every sentence citebot says are
    bot/core's (chat.py, threads.py, messages.py); bot/platforms only converts and wires."""
    from bot.core import messages

    rules = {
        "allowed_channels",
        "allowed_guilds",
        "direct_messages",
        "record_answer",
        "record_vote",
        "answer_safely",
        "rate_limited",
        "question_refusal",
        "earlier_questions",
    }
    texts = {
        value for name, value in vars(messages).items() if name.isupper() and isinstance(value, str)
    }
    for path in (REPO / "bot" / "platforms").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute | ast.Name | ast.alias):
                name = getattr(node, "attr", None) or getattr(node, "id", None) or node.name
                if name == "earlier_questions" and isinstance(node, ast.Attribute):
                    continue  # self.chat.earlier_questions: the core's rule, asked
                assert name not in rules, f"{path}:{getattr(node, 'lineno', '?')} uses {name}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert node.value not in texts, f"{path}:{node.lineno} repeats {node.value!r}"


def test_no_import_cycles_between_bot_core_modules() -> None:
    """Each module of bot/core imports others only one way (the writers through a registry)."""
    core = REPO / "bot" / "core"
    imports: dict[str, set[str]] = {}
    for path in core.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot.core."):
                found.add(str(node.module).rsplit(".", 1)[1])
            if isinstance(node, ast.ImportFrom) and node.module == "bot.core":
                found.update(alias.name for alias in node.names)
        imports[path.stem] = found

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for name in imports.get(start, set()) - seen:
            if name == goal or reaches(name, goal, seen | {name}):
                return True
        return False

    cycles = [name for name in imports if reaches(name, name, set())]
    assert cycles == []
