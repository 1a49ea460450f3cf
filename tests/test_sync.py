"""Sources beyond a folder, end to end: sync a real repository or site, ingest, answer, cite.

The repository is a real one written by the test with dulwich; the site is served over loopback
by a real HTTP server (tests/docs_server.py). Answers come from the real model.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.engine import Citebot
from bot.settings import Settings
from bot.sources import remote_sources
from bot.sync_schedule import sync_and_ingest
from index.embedder import Embedder
from index.store import StoredIndex
from tests.git_upstream import Upstream

TEMPLATE = "https://git.example.test/acme/handbook/blob/{commit}/{path}#L{start}-L{end}"

_LEAVE = """# Leave

## Parental leave

Every parent gets {weeks} weeks of paid parental leave, to take within the first year.
Tell your manager a month before the leave starts.

## Sick days

Sick days need no approval; tell your team in the morning.
"""

_EXPENSES = """# Expenses

Travel is booked through the travel desk, and receipts are filed within 30 days.
"""


def _handbook_settings(tmp_path: Path, upstream: Upstream) -> Settings:
    return Settings(
        sources=tmp_path / "no-folder",
        index_dir=tmp_path / "index",
        data_dir=tmp_path / "data",
        repos={"handbook": {"url": str(upstream.root), "link_template": TEMPLATE}},
    )


def _ask(settings: Settings, embedder: Embedder, question: str) -> tuple[str, str, str]:
    """Return the answer's text and its first citation's source and link."""
    bot = Citebot(settings, embedder, StoredIndex.open(settings.index_dir))
    try:
        answer = bot.answer(question)
    finally:
        bot.close()
    assert answer.found, answer.text
    return answer.text, answer.citations[0].source, answer.citations[0].url


def test_repository_sync_answers_with_a_link_to_the_commit_and_lines(
    tmp_path: Path, real_embedder: Embedder
) -> None:
    upstream = Upstream(tmp_path / "upstream")
    first = upstream.commit(
        {"docs/leave.md": _LEAVE.format(weeks=16).encode(), "docs/expenses.md": _EXPENSES.encode()}
    )
    settings = _handbook_settings(tmp_path, upstream)
    reports, ingested = sync_and_ingest(
        settings, remote_sources(settings), embedder=lambda: real_embedder
    )
    assert [(r.added, r.revision) for r in reports] == [(2, first)]
    assert ingested is not None and ingested.added == 2

    text, source, url = _ask(settings, real_embedder, "How many weeks of parental leave?")
    assert "16 weeks of paid parental leave" in text
    assert source == "handbook/docs/leave.md"  # the source's name starts the citation
    link = re.fullmatch(
        rf"https://git\.example\.test/acme/handbook/blob/{first}/docs/leave\.md#L(\d+)-L(\d+)",
        url,
    )
    assert link is not None, url
    start, end = int(link[1]), int(link[2])
    cited = _LEAVE.format(weeks=16).splitlines()[start - 1 : end]
    assert any("16 weeks" in line for line in cited)  # the lines linked hold the quote

    # The leave page changes and the expenses page is renamed: only the changed page is read
    # and embedded again, and the answer and its link follow the new commit.
    second = upstream.commit(
        {
            "docs/leave.md": _LEAVE.format(weeks=20).encode(),
            "docs/money/expenses.md": _EXPENSES.encode(),
        }
    )
    reports, ingested = sync_and_ingest(
        settings, remote_sources(settings), embedder=lambda: real_embedder
    )
    report = reports[0]
    assert (report.added, report.changed, report.removed, report.downloads) == (1, 1, 1, 2)
    assert ingested is not None
    assert (ingested.updated, ingested.removed, ingested.unchanged) == (1, 1, 1)  # moved: reused
    leave_chunks = StoredIndex.open(settings.index_dir).documents()["handbook/docs/leave.md"]
    assert ingested.chunks_embedded == leave_chunks[0].chunk_count

    text, _, url = _ask(settings, real_embedder, "How many weeks of parental leave?")
    assert "20 weeks" in text and "16 weeks" not in text
    assert f"/blob/{second}/docs/leave.md#L" in url

    # Nothing new: nothing read, no new index generation.
    reports, ingested = sync_and_ingest(
        settings, remote_sources(settings), embedder=lambda: real_embedder
    )
    assert reports[0].downloads == 0 and ingested is None


def test_sync_command_prints_a_line_per_source_and_doctor_shows_the_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    upstream = Upstream(tmp_path / "upstream")
    commit = upstream.commit({"docs/leave.md": _LEAVE.format(weeks=16).encode()})
    monkeypatch.setenv("CITEBOT_SOURCES", str(tmp_path / "no-folder"))
    monkeypatch.setenv("CITEBOT_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("CITEBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CITEBOT_REPOS__HANDBOOK__URL", str(upstream.root))
    monkeypatch.setenv("CITEBOT_REPOS__HANDBOOK__EVERY", "1h")
    monkeypatch.setenv("CITEBOT_EMBEDDING__PRECISION", "float32")

    assert main(["doctor"]) in (0, 1)
    assert "never synced (every 1h)" in capsys.readouterr().out

    assert main(["sync"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("handbook: 1 added, 0 changed, 0 removed, 0 unchanged at ")
    assert out[1].startswith("Ingested: 1 added")

    assert main(["doctor"]) == 0
    doctor = capsys.readouterr().out
    assert f"1 files at {commit[:12]}, last synced" in doctor

    assert main(["sync", "nosuch"]) == 1
    assert "no source named nosuch; the declared ones are handbook" in capsys.readouterr().err
