"""The index folder on disk: generations side by side, CURRENT naming the live one.

    data/index/
        CURRENT                  name of the live generation, replaced atomically
        gen-<time>-<id>/         manifest.json, vectors.faiss, chunks.sqlite

Writes that must reach the disk are flushed, synced and size-checked here; a generation's files
carry SHA-256 checksums in its manifest, which `changed_files` compares.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

from index.errors import IndexCorruptError
from index.manifest import Manifest

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
REBUILD = "run `citebot ingest --rebuild` to rebuild it"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


def write_durably(path: Path, data: bytes) -> None:
    """Write data to a new file, flush it to disk, and check its size; any failure raises."""
    with path.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
        written = os.fstat(handle.fileno()).st_size
    if written != len(data):
        raise OSError(f"{path.name}: {written} of {len(data)} bytes written")


_GENERATION = re.compile(r"gen-[0-9A-Za-z]+-[0-9a-f]+")


def live_generation(root: Path) -> Path | None:
    """Return the folder CURRENT points to, or None when there is no index yet."""
    try:
        name = (root / CURRENT).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise IndexCorruptError(
            f"cannot read {root / CURRENT} ({exc.strerror or exc}); check its permissions"
        ) from exc
    except UnicodeDecodeError:
        name = ""
    if not _GENERATION.fullmatch(name):
        raise IndexCorruptError(f"{root / CURRENT} names no index generation; {REBUILD}")
    return root / name


def file_checksum(path: Path) -> str:
    """Return the SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def changed_files(folder: Path, manifest: Manifest) -> list[str]:
    """Name the files of a generation that differ from the checksums written with them."""
    changed = []
    for file, expected in sorted(manifest.checksums.items()):
        try:
            actual = file_checksum(folder / file)
        except OSError:
            actual = ""
        if actual != expected:
            changed.append(file)
    return changed


def remove_staging(root: Path) -> None:
    """Delete staging folders an interrupted ingest left; call only while holding the lock."""
    if root.is_dir():
        for entry in root.iterdir():
            if entry.is_dir() and entry.name.startswith(".tmp-"):
                shutil.rmtree(entry, ignore_errors=True)


def remove_stale(root: Path, *, keep: str) -> None:
    for entry in root.iterdir():
        stale_generation = entry.name.startswith("gen-") and entry.name != keep
        if entry.is_dir() and (stale_generation or entry.name.startswith(".tmp-")):
            # A bot may still read the old files: on POSIX, open files outlive their unlinking.
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(f".{CURRENT}."):
            entry.unlink(missing_ok=True)
