"""Sources beyond a folder, end to end: sync a real repository or site, ingest, answer, cite.

The repository is a real one written by the test with dulwich; the site is served over loopback
by a real HTTP server (tests/docs_server.py). Answers come from the real model.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.engine import Citebot, run_ingest
from bot.settings import Settings
from bot.sources import remote_sources
from bot.sync_schedule import SyncSchedule, sync_and_ingest
from index.embedder import Embedder
from index.store import StoredIndex
from ingest.sources.mirror import Mirror, MirroredFile, content_hash
from tests.console_script import CITEBOT
from tests.docs_server import DocsServer
from tests.fake_slack import FakeSlack
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


_PAGES = {
    "index.html": "<title>Acme docs</title><h1>Acme docs</h1><p>Acme is a chat assistant for "
    "teams that answers questions from their own documents, quoting them.</p><p>Start with the "
    '<a href="install.html">installation guide</a> or the <a href="guide/usage.html">usage '
    'guide</a>. <a href="private/plans.html">Plans</a>.</p>',
    "install.html": "<title>Install</title><h1 id='install'>Install</h1><p>Acme installs with "
    "pip.</p><h2 id='requirements'>Requirements</h2><p>Acme needs Python 3.11 or newer and "
    "two gigabytes of memory.</p>",
    "guide/usage.html": "<title>Usage</title><h1>Usage</h1><p>Ask Acme a question in the "
    "chat window and it answers with quotes.</p>",
    "private/plans.html": "<title>Plans</title><p>The secret roadmap.</p>",
}


def _write_site(root: Path, pages: dict[str, str]) -> None:
    for name, html in pages.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(f"<html><body>{html}</body></html>", encoding="utf-8")


def _touch_later(path: Path) -> None:
    """Give a changed page a newer time, so its sitemap lastmod moves on within the second."""
    later = path.stat().st_mtime + 10
    os.utime(path, (later, later))


def _chunk_rows(index_dir: Path) -> set[tuple[str, str, str, str]]:
    index = StoredIndex.open(index_dir)
    try:
        chunks = index.chunk_run(0, index.chunk_count)
    finally:
        index.close()
    return {(c.source, c.section, c.text, c.anchor) for c in chunks}


def _site_settings(tmp_path: Path, site: DocsServer) -> Settings:
    return Settings(
        sources=tmp_path / "no-folder",
        index_dir=tmp_path / "index",
        data_dir=tmp_path / "data",
        sites={"docs": {"start_url": site.start_url}},
    )


@pytest.fixture
def docs_site(tmp_path: Path) -> Iterator[DocsServer]:
    root = tmp_path / "docs"
    _write_site(root, _PAGES)
    server = DocsServer(root, disallow="/docs/private/")
    yield server
    server.stop()


def test_site_sync_reads_pages_as_a_folder_does_and_fetches_only_what_changed(
    tmp_path: Path, docs_site: DocsServer, real_embedder: Embedder
) -> None:
    settings = _site_settings(tmp_path, docs_site)
    sources = remote_sources(settings)
    (report,), ingested = sync_and_ingest(settings, sources, embedder=lambda: real_embedder)
    assert report.ok and report.added == 3, report
    assert ingested is not None and ingested.added == 3
    assert not any("/private/" in path for _, path, _ in docs_site.log)  # robots.txt obeyed

    # The same pages ingested as a folder give the same chunks.
    folder = tmp_path / "folder" / "docs"
    shutil.copytree(docs_site.root, folder, ignore=shutil.ignore_patterns("private"))
    run_ingest(
        Settings(sources=folder, index_dir=tmp_path / "folder-index", data_dir=tmp_path / "d"),
        embedder=real_embedder,
    )
    assert _chunk_rows(settings.index_dir) == _chunk_rows(tmp_path / "folder-index")

    # A citation links to the page and to the section the passage is in.
    text, source, url = _ask(settings, real_embedder, "Which Python version does Acme need?")
    assert "Python 3.11 or newer" in text
    assert source == "docs/install.html"
    assert url == docs_site.start_url + "install.html#requirements"

    # One page changes, one is added, one is deleted: only the first two come back in full.
    _write_site(
        docs_site.root,
        {
            "install.html": _PAGES["install.html"].replace("3.11", "3.12"),
            "index.html": _PAGES["index.html"] + '<a href="faq.html">FAQ</a>',
            "faq.html": "<title>FAQ</title><h1>FAQ</h1><p>Acme is free for teams of any size.</p>",
        },
    )
    for name in ("install.html", "index.html", "faq.html"):
        _touch_later(docs_site.root / name)
    (docs_site.root / "guide" / "usage.html").unlink()
    docs_site.reset_log()
    (report,), ingested = sync_and_ingest(settings, sources, embedder=lambda: real_embedder)
    full_bodies = {path for _, path, status in docs_site.log if status == 200}
    assert full_bodies - {"/robots.txt", "/sitemap.xml"} == {
        "/docs/install.html",
        "/docs/",  # the front page, as the start URL and the sitemap name it
        "/docs/faq.html",
    }
    assert (report.added, report.changed, report.kept) == (1, 2, 1)  # usage: one 404 so far
    assert ingested is not None and (ingested.added, ingested.updated) == (1, 2)
    text, _, _ = _ask(settings, real_embedder, "Which Python version does Acme need?")
    assert "Python 3.12 or newer" in text

    # Gone twice in a row: now it is removed, from the mirror and the index.
    (report,), ingested = sync_and_ingest(settings, sources, embedder=lambda: real_embedder)
    assert report.removed == 1
    assert ingested is not None and ingested.removed == 1
    assert "docs/guide/usage.html" not in StoredIndex.open(settings.index_dir).documents()


def test_site_sync_while_the_site_is_down_keeps_every_page(
    tmp_path: Path, docs_site: DocsServer, fake_embedder: Embedder
) -> None:
    settings = _site_settings(tmp_path, docs_site)
    sources = remote_sources(settings)
    sync_and_ingest(settings, sources, embedder=lambda: fake_embedder)
    before = _chunk_rows(settings.index_dir)
    docs_site.stop()
    (report,), ingested = sync_and_ingest(settings, sources, embedder=lambda: fake_embedder)
    assert not report.ok and "\n" not in report.error
    assert ingested is None  # nothing changed, nothing written
    assert _chunk_rows(settings.index_dir) == before
    run_ingest(settings, embedder=fake_embedder)  # an ingest meanwhile keeps the pages too
    assert _chunk_rows(settings.index_dir) == before


def test_serve_resyncs_a_changing_site_and_answers_every_question_meanwhile(
    tmp_path: Path,
) -> None:
    root = tmp_path / "docs"
    hours = (
        "<title>Office hours</title><h1>Office hours</h1><p>The office opens at {} on weekdays.</p>"
    )
    _write_site(root, {"index.html": _PAGES["index.html"], "hours.html": hours.format("8 am")})
    site, slack = DocsServer(root), FakeSlack()
    token = "site-token-never-logged-42"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
    env.update(
        {
            "CITEBOT_SOURCES": str(tmp_path / "no-folder"),
            "CITEBOT_INDEX_DIR": str(tmp_path / "index"),
            "CITEBOT_DATA_DIR": str(tmp_path / "data"),
            "CITEBOT_SITES__DOCS__START_URL": site.start_url,
            "CITEBOT_SITES__DOCS__EVERY": "2s",
            "CITEBOT_SITES__DOCS__TOKEN": token,
            "CITEBOT_CHAT__RATE_LIMIT": "1000",
            "CITEBOT_LOG_LEVEL": "INFO",
            "SLACK_BOT_TOKEN": "xoxb-sync-test-000111",
            "SLACK_APP_TOKEN": "xapp-sync-test-222333",
            "CITEBOT_SLACK__API_URL": slack.base_url,
        }
    )
    log = (tmp_path / "serve.log").open("w+")
    process = subprocess.Popen(
        [str(CITEBOT), "serve"], env=env, stdout=log, stderr=log, cwd=tmp_path
    )
    answers: list[str] = []
    try:
        slack.wait_for_socket(timeout=120)
        changed_at = 0
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            n = len(answers) + 1
            slack.send(_mention(n, "When does the office open?"))
            answers.append(str(slack.wait_for("chat.postMessage", count=n)[-1]["blocks"]))
            if n == 3:  # the page changes while questions keep coming
                (root / "hours.html").write_text(hours.format("9 am"), encoding="utf-8")
                _touch_later(root / "hours.html")
                changed_at = n
            if changed_at and "9 am" in answers[-1] and n >= changed_at + 3:
                break
            time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        site.stop()
        slack.stop()
    log.seek(0)
    output = log.read()
    log.close()
    # Every question was answered from the documents, before, during and after the sync.
    said = ["8 am" if "8 am" in a else "9 am" if "9 am" in a else a[:200] for a in answers]
    assert set(said) <= {"8 am", "9 am"}, said
    assert said[:3] == ["8 am"] * 3
    first_new = said.index("9 am")  # the answer changed once the page did ...
    assert said[first_new:] == ["9 am"] * (len(said) - first_new), said  # ... and for good
    assert "switched to the new index" in output
    assert token not in output


def _mention(n: int, question: str) -> dict[str, object]:
    return {
        "envelope_id": f"e{n}",
        "type": "events_api",
        "retry_attempt": 0,
        "payload": {
            "type": "event_callback",
            "event_id": f"EvSync{n}",
            "team_id": "T1",
            "event": {
                "type": "app_mention",
                "user": "U1",
                "channel": "C1",
                "ts": f"{n}.1",
                "text": f"<@UBOT> {question}",
            },
        },
    }


def test_mirror_state_ignores_records_that_would_leave_the_folder(tmp_path: Path) -> None:
    mirror = Mirror(tmp_path / "docs")
    mirror.put(MirroredFile("guide.html", "https://x.org/guide.html", content_hash(b"a")), b"a")
    mirror.save()
    state = json.loads(mirror.state_path.read_text())
    state["files"].append({"path": "../outside.txt", "url": "", "sha256": ""})
    state["files"].append({"path": ".citebot/state.json", "url": "", "sha256": ""})
    mirror.state_path.write_text(json.dumps(state))
    reread = Mirror(tmp_path / "docs")
    assert set(reread.files) == {"guide.html"}
    assert reread.read("guide.html") == b"a"
    assert reread.address_of(tmp_path / "docs" / "guide.html") == "https://x.org/guide.html"


def test_schedule_ingests_a_sync_whose_ingest_failed_at_the_next_pass(
    tmp_path: Path, fake_embedder: Embedder
) -> None:
    upstream = Upstream(tmp_path / "upstream")
    upstream.commit({"docs/leave.md": _LEAVE.format(weeks=16).encode()})
    settings = Settings(
        sources=tmp_path / "no-folder",
        index_dir=tmp_path / "index",
        data_dir=tmp_path / "data",
        repos={"handbook": {"url": str(upstream.root), "every": "1m"}},
    )
    now = [0.0]
    schedule = SyncSchedule(settings, embedder=fake_embedder, clock=lambda: now[0])
    assert [r.added for r in schedule.run_due()] == [1]
    assert schedule.run_due() == []  # not due again for a minute

    def indexed_weeks() -> str:
        index = StoredIndex.open(settings.index_dir)
        try:
            text = " ".join(c.text for c in index.chunk_run(0, index.chunk_count))
        finally:
            index.close()
        return re.findall(r"(\d+) weeks", text)[0]

    upstream.commit({"docs/leave.md": _LEAVE.format(weeks=20).encode()})
    now[0] += 61
    with (settings.index_dir / ".lock").open("w") as lock:  # `citebot ingest` is running
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert schedule.run_due() == []  # synced, but the ingest could not run
    assert indexed_weeks() == "16"
    now[0] += 61
    reports = schedule.run_due()
    assert reports[0].changed == 0  # nothing new to fetch this time ...
    assert indexed_weeks() == "20"  # ... and the change synced before is indexed all the same
