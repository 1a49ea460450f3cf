"""Faults: kill -9 mid-ingest, corrupt index files, and a bot switching to a new index live."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from bot.core.engine import Citebot, run_ingest
from bot.settings import Settings
from index import store
from index.embedder import Embedder
from index.errors import IndexMismatchError
from index.generations import live_generation
from index.lexical import to_terms
from index.store import StoredIndex
from tests.console_script import CITEBOT
from tests.fakes import HashingEmbedder
from tests.harness import REPO, SOURCES

# Each point is a function write_index calls; the child kills itself with SIGKILL inside it.
KILL_POINTS = [
    ("write_chunks", 1),  # while the chunk database is written
    ("write_chunks", 4),  # documents stream in: a few written, the rest not yet read
    ("write_vector_index", 1),  # before the vectors file is written
    ("write_durably", 1),  # after the vectors are written and synced, before the manifest
    ("verify_generation", 1),  # the new generation complete, before it is read back
    ("fsync_dir", 2),  # CURRENT replaced, before the index folder is synced
    ("write_durably", 2),  # before the CURRENT pointer is written
    ("remove_stale", 1),  # after the switch, before the old generation is deleted
]

CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    sys.path.insert(0, {repo!r})
    from index import store
    from ingest.pipeline import IngestPlan, ingest
    from tests.fakes import HashingEmbedder

    name, nth = sys.argv[1], int(sys.argv[2])
    real = getattr(store, name)
    calls = []

    def killing(*args, **kwargs):
        calls.append(1)
        if len(calls) == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)

    setattr(store, name, killing)
    ingest([Path(sys.argv[3])], Path(sys.argv[4]),
           IngestPlan("fake", "fake-1", HashingEmbedder, 80, 10, 10**7))
    print("finished without being killed")
""")


def fake_ingest(corpus: Path, index_dir: Path) -> None:
    from ingest.pipeline import IngestPlan, ingest

    ingest([corpus], index_dir, IngestPlan("fake", "fake-1", HashingEmbedder, 80, 10, 10**7))


@pytest.mark.parametrize(("point", "nth"), KILL_POINTS)
def test_kill_9_during_ingest_leaves_a_loadable_index(
    point: str, nth: int, corpus: Path, tmp_path: Path
) -> None:
    index_dir = tmp_path / "index"
    fake_ingest(corpus, index_dir)
    before = StoredIndex.open(index_dir)
    old_count = before.chunk_count
    before.close()
    (corpus / "zebra.md").write_text("# Zebras\n\nZebras have black and white stripes.\n")
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD.format(repo=str(REPO)),
            point,
            str(nth),
            str(corpus),
            str(index_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stdout + child.stderr
    index = StoredIndex.open(index_dir)
    try:
        # Either the old index or the complete new one: never a mix, never unreadable.
        assert index.chunk_count in (old_count, old_count + 1)
        hits = index.search_lexical(to_terms("zebra"), 1)
        assert bool(hits) == (index.chunk_count == old_count + 1)
        assert index.search_lexical(to_terms("alliance"), 3)
    finally:
        index.close()
    # The next ingest cleans up whatever the crash left and finishes the job.
    fake_ingest(corpus, index_dir)
    assert StoredIndex.open(index_dir).chunk_count == old_count + 1
    assert not [p for p in index_dir.iterdir() if p.name.startswith((".tmp-", ".CURRENT."))]


@pytest.mark.model
@pytest.mark.subprocess
def test_kill_9_of_the_real_ingest_process_at_several_moments(
    tmp_path: Path, precision: str
) -> None:
    """The real `citebot ingest` (real model) killed at 1.5 s, 4 s and 7 s into a rebuild."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITEBOT_")}
    env.update(
        {
            "CITEBOT_SOURCES": str(SOURCES),
            "CITEBOT_INDEX_DIR": str(tmp_path / "index"),
            "CITEBOT_EMBEDDING__PRECISION": precision,
        }
    )
    subprocess.run([str(CITEBOT), "ingest"], env=env, check=True, capture_output=True, timeout=300)
    first = live_generation(tmp_path / "index")
    for delay in (1.5, 4.0, 7.0):
        process = subprocess.Popen(
            [str(CITEBOT), "ingest", "--rebuild"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
        index = StoredIndex.open(tmp_path / "index")
        assert index.chunk_count > 0
        assert index.search_lexical(to_terms("alliance"), 1)
        index.close()
    assert live_generation(tmp_path / "index") is not None
    assert first is not None


@pytest.mark.model
def test_corrupt_index_gives_the_fix_and_the_fix_works(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    precision: str,
) -> None:
    monkeypatch.setenv("CITEBOT_SOURCES", str(SOURCES))
    monkeypatch.setenv("CITEBOT_INDEX_DIR", str(tmp_path / "index"))
    assert main(["ingest"]) == 0
    vectors = live_generation(tmp_path / "index") / store.VECTORS  # type: ignore[operator]
    vectors.write_bytes(vectors.read_bytes()[: vectors.stat().st_size // 2])
    capsys.readouterr()
    assert main(["ask", "What is SeedAI working on?"]) == 1
    err = capsys.readouterr().err
    assert "run `citebot ingest --rebuild`" in err and "Traceback" not in err
    assert main(["ingest", "--rebuild"]) == 0
    assert main(["ask", "What is SeedAI working on?"]) == 0
    assert "SeedAI is crafting frameworks" in capsys.readouterr().out


def hashing_bot(tmp_path: Path) -> tuple[Citebot, Settings, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Cats\n\nCats sleep for most of the day in warm places.\n")
    settings = Settings(
        sources=docs, index_dir=tmp_path / "index", retrieval={"min_similarity": 0.3}
    )
    embedder = HashingEmbedder()
    run_ingest(settings, embedder=embedder)
    return Citebot.load(settings, embedder=embedder), settings, docs


def test_load_rebuilds_a_stale_index_only_when_asked_and_says_why(tmp_path: Path) -> None:
    bot, settings, _ = hashing_bot(tmp_path)
    bot.close()
    other_model = HashingEmbedder(fingerprint="fake-2")  # as if the model had changed
    with pytest.raises(IndexMismatchError) as stale:
        Citebot.load(settings, embedder=other_model)
    assert stale.value.where and stale.value.differences
    reasons: list[str] = []

    def building(reason: str) -> contextlib.AbstractContextManager[None]:
        reasons.append(reason)
        return contextlib.nullcontext()

    rebuilt = Citebot.load(settings, embedder=other_model, rebuild_if_stale=True, building=building)
    assert len(reasons) == 1 and "was built with" in reasons[0] and "rebuilding it" in reasons[0]
    assert rebuilt.answer("Where do cats sleep?").found
    rebuilt.close()
    shutil.rmtree(settings.sources)  # with the sources gone, the old index is all there is
    with pytest.raises(IndexMismatchError):
        Citebot.load(
            settings, embedder=HashingEmbedder(fingerprint="fake-3"), rebuild_if_stale=True
        )


def test_running_bot_picks_up_a_new_index_without_restart(tmp_path: Path) -> None:
    bot, settings, docs = hashing_bot(tmp_path)
    assert not bot.answer("How do zebras get their stripes?").found
    (docs / "b.md").write_text("# Zebras\n\nZebras get their stripes from melanocytes.\n")
    run_ingest(settings, embedder=bot.embedder)
    answer = bot.answer("How do zebras get their stripes?")
    assert answer.found and "melanocytes" in answer.text
    bot.close()


def test_question_in_flight_finishes_on_the_old_index(tmp_path: Path) -> None:
    bot, settings, docs = hashing_bot(tmp_path)
    in_flight = bot.index  # what a question already being answered holds
    (docs / "b.md").write_text("# Zebras\n\nZebras get their stripes from melanocytes.\n")
    run_ingest(settings, embedder=bot.embedder)
    assert not in_flight.folder.exists()  # the writer removed the old generation...
    hits = in_flight.search_lexical(["cat"], 1)  # ...and the question still completes on it
    assert in_flight.chunks([hits[0][0]])[hits[0][0]].text.startswith("Cats sleep")
    assert bot.index.folder != in_flight.folder
    bot.close()


def test_unusable_new_index_keeps_the_current_one(tmp_path: Path) -> None:
    bot, settings, docs = hashing_bot(tmp_path)
    (docs / "b.md").write_text("# Zebras\n\nZebras get their stripes from melanocytes.\n")
    run_ingest(settings, embedder=bot.embedder)
    broken = live_generation(settings.index_dir)
    (broken / store.MANIFEST).write_text("{")  # type: ignore[operator]
    answer = bot.answer("Where do cats sleep?")
    assert answer.found and "warm places" in answer.text
    bot.close()


def _garble_current(index_dir: Path) -> None:
    (index_dir / "CURRENT").write_bytes(bytes(range(256)) * 2)


def _nul_in_current(index_dir: Path) -> None:
    name = (index_dir / "CURRENT").read_text().strip()
    (index_dir / "CURRENT").write_bytes(name.encode()[:6] + b"\x00" + name.encode()[6:])


def _chunks_not_a_file(index_dir: Path) -> None:
    chunks = live_generation(index_dir) / store.CHUNKS  # type: ignore[operator]
    chunks.unlink()
    chunks.mkdir()  # stands in for a file the process may not open


@pytest.mark.parametrize("damage", [_garble_current, _nul_in_current, _chunks_not_a_file])
def test_damaged_index_files_give_one_line_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    damage: Callable[[Path], None],
    real_embedder: Embedder,
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text("# Cats\n\nCats sleep for most of the day in warm places.\n")
    settings = Settings(sources=docs, index_dir=tmp_path / "index")
    run_ingest(settings, embedder=real_embedder)
    damage(tmp_path / "index")
    monkeypatch.setenv("CITEBOT_SOURCES", str(docs))
    monkeypatch.setenv("CITEBOT_INDEX_DIR", str(tmp_path / "index"))
    capsys.readouterr()
    for command in (["ask", "Do cats sleep?"], ["doctor"]):
        assert main(command) == 1
        printed = capsys.readouterr()
        said = printed.out + printed.err  # doctor reports on stdout
        assert "Traceback" not in said
        assert "citebot ingest --rebuild" in said or "permissions" in said, said


def test_a_nested_setting_that_is_not_json_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CITEBOT_SLACK", '{"mode": ')
    assert main(["ask", "anything"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "CITEBOT_SLACK is not valid JSON" in err


_FULL_DISK_INGEST = """
import resource, signal, sys
from pathlib import Path
from index.errors import CitebotError
from ingest.pipeline import IngestPlan, ingest
from tests.fakes import HashingEmbedder
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
limit = int(sys.argv[3])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    ingest([Path(sys.argv[1])], Path(sys.argv[2]),
           IngestPlan("fake", "fake-1", HashingEmbedder, 80, 10, 10_000_000), rebuild=True)
except CitebotError as exc:
    print(exc)
    sys.exit(1)
"""


@pytest.mark.subprocess
def test_a_full_disk_during_ingest_is_one_line_and_keeps_the_index(
    corpus: Path, tmp_path: Path
) -> None:
    limit = 65_536  # bytes a file may grow to: the chunk store (about 170 KB here) can't fit
    index_dir = tmp_path / "index"
    fake_ingest(corpus, index_dir)
    before = live_generation(index_dir)
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_INGEST, str(corpus), str(index_dir), str(limit)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    message = done.stdout.strip()
    assert message.startswith(f"could not write the new index under {index_dir}")
    assert "MB are free" in message and "the previous index is still the one served" in message
    assert live_generation(index_dir) == before
    assert not [p for p in index_dir.iterdir() if p.name.startswith(".tmp-")]
    index = StoredIndex.open(index_dir)
    assert index.chunk_count > 0
    index.close()
