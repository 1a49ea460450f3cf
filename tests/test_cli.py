"""The citebot command: JSON and human output, first-run index build, clean errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from tests.console_script import run_citebot
from tests.harness import SOURCES


def use_index(monkeypatch: pytest.MonkeyPatch, index_dir: Path) -> None:
    monkeypatch.setenv("CITEBOT_INDEX_DIR", str(index_dir))
    monkeypatch.setenv("CITEBOT_SOURCES", str(SOURCES))


def test_ask_json_prints_the_documented_object(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], real_index_dir: Path
) -> None:
    use_index(monkeypatch, real_index_dir)
    assert main(["ask", "--json", "Which universities belong to the AI Alliance?"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["found"] is True
    assert {"question", "answer", "found", "citations"} <= set(data)
    assert set(data["citations"][0]) == {"n", "title", "source", "location", "text", "score", "url"}
    assert "[1]" in data["answer"]


def test_ask_plain_output_lists_quotes_and_sources(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], real_index_dir: Path
) -> None:
    use_index(monkeypatch, real_index_dir)
    assert main(["ask", "What", "did", "Socrates", "fear", "about", "writing?"]) == 0
    out = capsys.readouterr().out
    assert "Socrates even warned" in out
    assert "[1] What policy makers need to know about AI" in out
    assert "\x1b[" not in out  # no terminal colours when not on a terminal


def test_ask_unanswerable_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], real_index_dir: Path
) -> None:
    use_index(monkeypatch, real_index_dir)
    assert main(["ask", "What's the weather in Paris today?"]) == 0
    out = capsys.readouterr().out
    assert "don't cover this question" in out
    assert "not evidence" in out


def test_ask_after_searches_a_follow_up_with_the_earlier_question(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], real_index_dir: Path
) -> None:
    use_index(monkeypatch, real_index_dir)
    assert main(["ask", "--json", "and who started it?"]) == 0
    assert json.loads(capsys.readouterr().out)["found"] is False  # alone it names nothing
    follow_up = ["ask", "--json", "--after", "What is the AI Alliance?", "and who started it?"]
    assert main(follow_up) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["found"] is True and "IBM and Meta" in data["answer"]
    assert data["question"] == "and who started it?"


def test_eval_json_reports_metrics(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    real_index_dir: Path,
    dev_set: Path,
) -> None:
    use_index(monkeypatch, real_index_dir)
    assert main(["eval", "--json", str(dev_set)]) == 0
    metrics = json.loads(capsys.readouterr().out)["metrics"]
    assert {"recall@1", "recall@3", "recall@5", "mrr", "answered", "declined"} <= set(metrics)


def test_errors_are_one_line_with_nonzero_exit(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("CITEBOT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("CITEBOT_SOURCES", str(tmp_path / "missing"))
    assert main(["ingest"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "does not exist" in err


def test_bad_setting_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CITEBOT_RETRIEVAL__TOP_K", "many")
    assert main(["ask", "anything"]) == 2
    assert "retrieval.top_k" in capsys.readouterr().err


def test_eval_rejects_malformed_file_naming_the_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "ok", "expect": []}\n{"expect": 3}\n')
    assert main(["eval", str(bad)]) == 1
    assert "bad.jsonl:2" in capsys.readouterr().err


@pytest.mark.model
@pytest.mark.subprocess
def test_console_script_builds_index_on_first_ask(tmp_path: Path, precision: str) -> None:
    """A fresh folder, one command: the index is built from sources, then the question answered."""
    shutil.copytree(SOURCES, tmp_path / "sources")
    result = run_citebot(
        "ask", "--json", "Does the AI Alliance think SB 1047 is balanced?", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "building it from sources" in result.stderr
    data = json.loads(result.stdout)
    assert "does not strike the right balance" in data["answer"]
    assert (tmp_path / "data" / "index" / "CURRENT").exists()
    again = run_citebot("ingest", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "0 added, 0 updated, 0 removed, 5 unchanged; 0 chunks embedded" in again.stdout


@pytest.mark.model
def test_ask_rebuilds_an_index_built_with_other_settings(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    precision: str,
) -> None:
    from index.store import StoredIndex

    use_index(monkeypatch, tmp_path / "index")
    monkeypatch.setenv("CITEBOT_CHUNKING__OVERLAP_TOKENS", "16")
    assert main(["ingest"]) == 0
    monkeypatch.delenv("CITEBOT_CHUNKING__OVERLAP_TOKENS")
    capsys.readouterr()
    assert main(["ask", "--json", "Does the AI Alliance think SB 1047 is balanced?"]) == 0
    captured = capsys.readouterr()
    assert "built with chunk overlap 16 (settings want 32): rebuilding it from" in captured.err
    assert "does not strike the right balance" in json.loads(captured.out)["answer"]
    index = StoredIndex.open(tmp_path / "index")
    assert index.manifest.spec.overlap_tokens == 32
    index.close()


@pytest.mark.subprocess
def test_console_script_error_has_no_traceback(tmp_path: Path) -> None:
    result = run_citebot("eval", "nope.jsonl", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot read nope.jsonl")
    assert "Traceback" not in result.stderr


def test_ask_checks_the_question_and_k_before_loading_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # No index and no sources: reaching the model or the index would fail differently.
    monkeypatch.setenv("CITEBOT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("CITEBOT_SOURCES", str(tmp_path / "missing"))
    assert main(["ask", "x" * 5000]) == 1
    err = capsys.readouterr().err
    assert "the question is 5000 characters long" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["ask", "-k", "-1", "what is SB 1047?"])
    assert exit_info.value.code == 2
    assert "-1 is out of range; pick 1 to 100" in capsys.readouterr().err
    assert not (tmp_path / "index").exists()


def test_ask_answers_a_question_holding_a_lone_surrogate(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], real_index_dir: Path
) -> None:
    use_index(monkeypatch, real_index_dir)
    assert main(["ask", "--json", "Which universities belong to the AI Alliance?\udcff"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["question"].endswith("Alliance?\ufffd")
    assert answer["found"]


def test_citations_link_to_the_published_documents(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], real_index_dir: Path
) -> None:
    use_index(monkeypatch, real_index_dir)
    monkeypatch.setenv("CITEBOT_SOURCES_BASE_URL", "https://docs.example.com/policy/")
    assert main(["ask", "--json", "Which universities belong to the AI Alliance?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    for citation in answer["citations"]:
        inside = citation["source"].split("/", 1)[1]  # the path inside sources/
        assert citation["url"] == f"https://docs.example.com/policy/{inside}"


def test_the_terminal_shows_code_that_goes_on_with_an_ellipsis() -> None:
    import io

    from rich.console import Console

    from bot.cli import _print_answer
    from bot.core.answer import Answer, Citation, Quote

    citation = Citation(1, "Cats", "cats.md", "lines 1-3", "Nap with:\n$ cats --nap\n$ x", 0.5)
    quotes = (
        Quote("Nap with:", 1),
        Quote("$ cats --nap", 1, code=True, joined_by="\n", continues=True),
    )
    out = io.StringIO()
    _print_answer(Console(file=out, width=100), Answer("q?", True, quotes, (citation,)))
    assert "    $ cats --nap\n    …" in out.getvalue()


def test_the_terminal_shows_names_as_code_and_releases_bold() -> None:
    import io

    from rich.console import Console

    from bot.cli import _print_answer
    from bot.core.answer import Answer, Citation, Quote

    citations = (
        Citation(1, "Cats", "cats.md", "lines 1", "nap.length: How long.", 0.5),
        Citation(2, "Cat news", "news.md", "lines 1", "Purrs.", 0.4),
    )
    quotes = (
        Quote("nap.length: How long.", 1, under="cat_nap()"),
        Quote("Purrs.", 2, under="Cats 1.15.0"),
    )
    out = io.StringIO()
    _print_answer(Console(file=out, width=100), Answer("q?", True, quotes, citations))
    shown = out.getvalue()
    assert "`cat_nap()` · “`nap.length`: How long.”" in shown  # as the chats show them
    assert "Cats 1.15.0 · “Purrs.”" in shown
