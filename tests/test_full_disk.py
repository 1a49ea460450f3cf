"""A full disk at any moment of an index write never publishes a broken index.

Two ways: a real filesystem that is full (a tmpfs of a few megabytes, filled with a file so
that each rebuild finds a little more room than the last), and an ENOSPC raised at each of the
publish steps (write, fsync, read-back, rename, pointer switch) in turn. After every attempt the
served index must answer, and be either the previous generation, kept whole, or the new one.
"""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from index import generations, store, vectors
from index.errors import CitebotError, IndexWriteError
from index.generations import live_generation
from index.lexical import to_terms
from index.store import StoredIndex
from ingest.pipeline import IngestPlan, ingest
from tests.fakes import HashingEmbedder

PAGE = 4096


def _plan(dimension: int) -> IngestPlan:
    # Wide vectors make the vectors file the larger part of a generation, as with real models.
    return IngestPlan(
        "fake", f"fake-{dimension}", lambda: HashingEmbedder(dimension), 80, 10, 10**7
    )


def _answers(index_dir: Path) -> int:
    """Open the served index as `ask` does and search it; return its chunk count."""
    index = StoredIndex.open(index_dir)
    try:
        assert index.search_lexical(to_terms("alliance"), 3), "the served index finds nothing"
        vector = index.vectors(0, 1)[0]
        assert index.search_dense(vector, 3)[0][0] == 0
        return index.chunk_count
    finally:
        index.close()


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """Mount a 6 MB tmpfs (root only; elsewhere the injected failures below still run)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}); needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(mount: Path, leave: int) -> None:
    """Fill the filesystem so that `leave` bytes stay free."""
    filler = mount / "filler"
    filler.unlink(missing_ok=True)
    stats = os.statvfs(mount)
    free = stats.f_bavail * stats.f_frsize
    with filler.open("wb") as handle:
        handle.write(b"\0" * max(0, free - leave))


def test_a_full_disk_at_every_size_leaves_an_index_that_answers(
    small_disk: Path, corpus: Path
) -> None:
    index_dir = small_disk / "index"
    plan = _plan(384)
    ingest([corpus], index_dir, plan)
    old = live_generation(index_dir)
    old_count = _answers(index_dir)
    generation_bytes = sum(f.stat().st_size for f in old.iterdir())  # type: ignore[union-attr]
    (corpus / "zebra.md").write_text("# Zebras\n\nZebras have black and white stripes.\n")
    failed = published = 0
    # From no room at all to more than a generation needs, a page at a time.
    for leave in range(0, 2 * generation_bytes + 20 * PAGE, PAGE):
        _fill(small_disk, leave)
        try:
            ingest([corpus], index_dir, plan, rebuild=True)
        except CitebotError as exc:
            failed += 1
            assert isinstance(exc, IndexWriteError) or "space" in str(exc), exc
            assert live_generation(index_dir) == old, "a failed ingest moved CURRENT"
            assert _answers(index_dir) == old_count
            assert not [p for p in index_dir.iterdir() if p.name.startswith(".tmp-")]
            continue
        published += 1
        assert _answers(index_dir) == old_count + 1
        assert not old.exists(), "the previous generation outlived a verified switch"  # type: ignore[union-attr]
        break
    assert failed > 10 and published == 1, (failed, published)


# The publish steps of GenerationWriter.finish, each made to fail in turn, and the library
# calls under them (a rename, the pointer's replace).
_STEPS = [
    "write_vector_index",
    "fsync_file",
    "write_durably",
    "fsync_dir",
    "verify_generation",
    "file_checksum",
]


class _FailingOs:
    """The os module, but for one call of one function, which fails with ENOSPC."""

    def __init__(self, name: str, nth: int) -> None:
        self._name, self._nth, self._calls = name, nth, 0

    def __getattr__(self, attribute: str) -> Any:
        real = getattr(os, attribute)
        if attribute != self._name:
            return real

        def failing(*args: Any, **kwargs: Any) -> Any:
            self._calls += 1
            if self._calls == self._nth:
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(*args, **kwargs)

        return failing


def _failing_step(real: Callable[..., Any], nth: int) -> Callable[..., Any]:
    calls = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == nth:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    return failing


@pytest.mark.parametrize("nth", [1, 2])
@pytest.mark.parametrize("step", [*_STEPS, "os.replace", "os.fsync", "os.fstat"])
def test_enospc_at_each_publish_step_keeps_the_previous_index(
    step: str, nth: int, corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    index_dir = tmp_path / "index"
    plan = _plan(64)
    ingest([corpus], index_dir, plan)
    old = live_generation(index_dir)
    old_count = _answers(index_dir)
    (corpus / "zebra.md").write_text("# Zebras\n\nZebras have black and white stripes.\n")
    if step.startswith("os."):
        failing = _FailingOs(step[3:], nth)  # one count across the modules that publish
        for module in (store, generations, vectors):
            monkeypatch.setattr(module, "os", failing)
    else:
        monkeypatch.setattr(store, step, _failing_step(getattr(store, step), nth))
    try:
        ingest([corpus], index_dir, plan, rebuild=True)
    except IndexWriteError as exc:
        assert "previous index is still the one served" in str(exc)
        assert live_generation(index_dir) == old
        assert _answers(index_dir) == old_count
    else:
        # The step ran fewer than nth times, or failed after CURRENT moved: the new one serves.
        assert _answers(index_dir) == old_count + 1
    monkeypatch.undo()
    ingest([corpus], index_dir, plan)  # the next ingest finishes the job
    assert _answers(index_dir) == old_count + 1
    assert not [p for p in index_dir.iterdir() if p.name.startswith((".tmp-", ".CURRENT."))]
