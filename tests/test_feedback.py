"""The feedback store: one vote per person per answer, exports safe to open and read-only."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import subprocess
import time
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.answer import Answer, Quote
from bot.core.feedback import FeedbackStore, read_unanswered, read_votes, write_feedback
from index.errors import ConfigError


def store_with_a_vote(folder: Path, question: str) -> FeedbackStore:
    store = FeedbackStore(folder / "feedback.sqlite")
    answer = Answer(question, True, (Quote('=HYPERLINK("http://evil")', 1),), ())
    answer_id = store.record_answer(answer, platform="slack", user="U1", channel="C1")
    assert store.record_vote(answer_id, rating=-1, user="@U1", channel="C1")
    return store


def test_csv_cells_that_would_run_as_formulas_are_quoted(tmp_path: Path) -> None:
    store = store_with_a_vote(tmp_path, "=1+2 is what?")
    out = io.StringIO()
    write_feedback(store.rows(), out, "csv")
    row = next(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["question"] == "'=1+2 is what?"
    assert row["user"] == "'@U1"
    assert row["answer"].startswith("'=HYPERLINK")
    assert row["rating"] == "-1"  # a number, not text: left as it is


def _read_only(paths: list[Path], on: bool) -> None:
    """Make files and folders read-only even for root (immutable), or writable again."""
    if os.geteuid() != 0:
        for path in paths:
            path.chmod((0o555 if path.is_dir() else 0o444) if on else 0o755)
        return
    try:
        done = subprocess.run(
            ["chattr", "+i" if on else "-i", *map(str, paths)], capture_output=True, check=False
        )
    except FileNotFoundError:
        pytest.skip("chattr is not installed: root can't be kept from writing here")
    if done.returncode and on:
        pytest.skip(f"cannot make files read-only for root here: {done.stderr.decode().strip()}")


def test_export_needs_only_read_access(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    store_with_a_vote(data, "Where is the handbook?")
    locked = [*data.iterdir(), data]
    _read_only(locked, on=True)
    try:
        monkeypatch.setenv("CITEBOT_DATA_DIR", str(data))
        assert main(["feedback", "--format", "jsonl"]) == 0
        assert "Where is the handbook?" in capsys.readouterr().out
        assert [row.question for row in read_votes(data / "feedback.sqlite")] == [
            "Where is the handbook?"
        ]
    finally:
        _read_only(locked, on=False)


def test_a_damaged_store_is_moved_aside_and_a_fresh_one_started(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "feedback.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    store = FeedbackStore(path)
    answer = Answer("Where is the handbook?", True, (Quote("On the wiki.", 1),), ())
    answer_id = store.record_answer(answer, platform="discord", user="u", channel="c")
    assert store.record_vote(answer_id, rating=1, user="u", channel="c")
    assert [row.question for row in store.rows()] == ["Where is the handbook?"]
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("feedback.sqlite.corrupt-")]
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"this is not a database")
    assert "is damaged" in caplog.text


def test_a_folder_in_place_of_the_store_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "feedback.sqlite").mkdir()
    with pytest.raises(ConfigError, match="is a folder, not the feedback store"):
        FeedbackStore(tmp_path / "feedback.sqlite")


GAP_TOPICS = {
    "parking": [
        "Where can I park my car at the office?",
        "where do we park at the office",
        "Is there parking for employees at the office?",
        "where can i leave my car when i come to the office",
    ],
    "vpn": [
        "How do I connect to the VPN from home?",
        "how to connect to the vpn when working from home",
        "VPN connection from home, how?",
    ],
    "holidays": [
        "How many vacation days do I get per year?",
        "how many vacation days per year do employees get",
    ],
}


def test_report_groups_unanswered_questions_by_meaning(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    real_embedder,  # type: ignore[no-untyped-def]
) -> None:
    import json

    from bot.core.gaps import group_gaps

    store = FeedbackStore(tmp_path / "feedback.sqlite")
    declined = Answer("", False, (), ())
    for repeat in range(5):  # 45 declined questions in three topics
        for questions in GAP_TOPICS.values():
            for question in questions:
                store.record_answer(
                    dataclasses.replace(declined, question=question),
                    platform="slack",
                    user=f"U{repeat}",
                    channel="C1",
                )
    answered = Answer("What is the dress code?", True, (Quote("Smart casual.", 1),), ())
    for n in range(6):  # answered, then voted down by one person and up by another
        answer_id = store.record_answer(answered, platform="discord", user="u", channel="c")
        assert answer_id is not None
        store.record_vote(answer_id, rating=-1 if n % 2 else 1, user="v", channel="c")
    fine = Answer("Where is the handbook?", True, (Quote("On the wiki.", 1),), ())
    for _ in range(4):  # answered and liked: not a gap
        store.record_answer(fine, platform="slack", user="u", channel="c")

    rows = read_unanswered(tmp_path / "feedback.sqlite")
    assert len(rows) == 45 + 3  # declined, and the three answers voted down
    gaps = group_gaps(rows, real_embedder)
    by_question = {gap.question: gap for gap in gaps}
    assert by_question["Where can I park my car at the office?"].count == 20
    assert by_question["How do I connect to the VPN from home?"].count == 15
    assert by_question["How many vacation days do I get per year?"].count == 10
    dress = by_question["What is the dress code?"]
    assert (dress.count, dress.declined, dress.voted_down) == (3, 0, 3)
    assert "Where is the handbook?" not in by_question

    monkeypatch.setenv("CITEBOT_DATA_DIR", str(tmp_path))
    page = tmp_path / "gaps.html"
    assert main(["report", "--since", "7d", "--json", "--html", str(page)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [g["count"] for g in printed] == [20, 15, 10, 3]
    text = page.read_text()
    assert text.startswith("<!doctype html>") and "width:100%" in text and "width:50%" in text
    assert "<script" not in text  # self-contained and inert
    time.sleep(1.1)  # times are kept to the second
    assert main(["report", "--since", "0m"]) == 0  # nothing that recent
    assert "0 unanswered questions in 0 groups" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["feedback", "report"])
def test_a_data_folder_nobody_may_read_is_one_line_with_the_fix(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads a mode-000 folder all the same: run the suite as a user to check")
    data = tmp_path / "data"
    data.mkdir()
    store_with_a_vote(data, "Where is the handbook?")
    data.chmod(0)
    try:
        monkeypatch.setenv("CITEBOT_DATA_DIR", str(data))
        assert main([command]) == 1
    finally:
        data.chmod(0o755)
    err = capsys.readouterr().err
    assert err.startswith("error: permission denied on ") and err.count("\n") == 1
    assert "Traceback" not in err
