"""A source's local copy: the files a site or repository sync fetched, and what it knows of them.

A site or Git source is synced into a mirror folder (`<data_dir>/mirrors/<name>/`), which is
then ingested like any folder: the ingest already re-embeds only files whose bytes changed, so a
sync that rewrites 1% of the files costs about 1% of a full ingest. The folder is named after
the source, so citations read "<name>/install.html". Beside the files, in a hidden `.citebot/`
folder that ingest never reads, the mirror keeps one JSON state file: each file's address (the
link a citation shows), its HTTP validators (ETag, Last-Modified) or commit, its SHA-256, and
how many syncs in a row found it gone; and the source's last sync, last error and counts, which
`citebot doctor` shows.

Every write is atomic (a temporary file renamed over the old one), so a sync killed at any point
leaves each file either as it was or as fetched, and the index serving questions is untouched
until an ingest publishes a new generation from a finished sync.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

STATE_FOLDER = ".citebot"  # hidden: discover() skips it, so it is never indexed
_STATE_FILE = "state.json"
_STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class MirroredFile:
    """One file of a mirror and what the source said about it when it was fetched."""

    path: str  # relative to the mirror folder, POSIX separators: "guide/install.html"
    url: str  # the link a citation of it shows; may hold {start} and {end} (a line range)
    sha256: str  # of the bytes on disk
    etag: str = ""
    last_modified: str = ""
    lastmod: str = ""  # the sitemap's <lastmod> when it was fetched
    gone: int = 0  # syncs in a row that found it gone (404/410); removed at two


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """How a source's syncs went, for `citebot doctor` and the next sync."""

    last_attempt: str = ""  # ISO time
    last_success: str = ""
    last_error: str = ""
    files: int = 0
    revision: str = ""  # a repository's indexed commit; "" for sites


def content_hash(body: bytes) -> str:
    """Return the SHA-256 hex digest a mirror records for a file's bytes."""
    return hashlib.sha256(body).hexdigest()


def safe_relative(path: str) -> str:
    """Return path as a relative POSIX path inside a mirror, or raise ValueError if it escapes.

    Paths come from URLs and repository trees: "../../etc/passwd", an absolute path or a
    hidden segment (".citebot/state.json", ".git/config") must never be written or read.
    """
    parts = PurePosixPath(path.replace("\\", "/")).parts
    if not parts or any(part in ("", ".", "..") or part.startswith(".") for part in parts):
        raise ValueError(f"{path!r} is not a safe path inside a mirror")
    if parts[0] == "/":
        raise ValueError(f"{path!r} is absolute")
    return "/".join(parts)


class Mirror:
    """The mirror folder of one source: its files, their records and the sync status."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, MirroredFile] = {}
        self.status = SyncStatus()
        # Links that answered 404/410 and were never mirrored, with when they were first found
        # dead (ISO time): a site's broken links are not asked for again at every sync.
        self.dead: dict[str, str] = {}
        self._load()

    @property
    def state_path(self) -> Path:
        """Where the mirror's state is kept."""
        return self.root / STATE_FOLDER / _STATE_FILE

    def _load(self) -> None:
        try:
            raw = json.loads(self.state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return
        except (OSError, ValueError):
            # A damaged state file costs one full re-fetch, never the sync: start afresh.
            return
        if not isinstance(raw, dict) or raw.get("version") != _STATE_VERSION:
            return
        fields = {f.name for f in dataclasses.fields(MirroredFile)}
        for entry in raw.get("files", []):
            if isinstance(entry, dict) and fields >= entry.keys() and "path" in entry:
                record = MirroredFile(**entry)
                try:
                    safe_relative(record.path)
                except (ValueError, AttributeError):
                    continue  # a hand-edited state naming "../x" is never read or removed
                self.files[record.path] = record
        dead = raw.get("dead", {})
        if isinstance(dead, dict):
            self.dead = {str(url): str(since) for url, since in dead.items()}
        status = raw.get("status", {})
        known = {f.name for f in dataclasses.fields(SyncStatus)}
        if isinstance(status, dict) and known >= status.keys():
            self.status = SyncStatus(**status)

    def path_of(self, relative: str) -> Path:
        """Return the file's place on disk."""
        return self.root / safe_relative(relative)

    def read(self, relative: str) -> bytes | None:
        """Return a mirrored file's bytes, or None if it is not there."""
        try:
            return self.path_of(relative).read_bytes()
        except OSError:
            return None

    def put(self, record: MirroredFile, body: bytes) -> bool:
        """Write a file's bytes and record it; return whether its content changed."""
        changed = record.path not in self.files or self.files[record.path].sha256 != record.sha256
        if changed or not self.path_of(record.path).exists():
            _write_atomically(self.path_of(record.path), body)
        self.files[record.path] = record
        return changed

    def touch(self, record: MirroredFile) -> None:
        """Record what the source said about a file whose bytes did not change (a 304)."""
        self.files[record.path] = record

    def remove(self, relative: str) -> None:
        """Delete a file that is really gone from the source, and its record."""
        self.files.pop(relative, None)
        path = self.path_of(relative)
        path.unlink(missing_ok=True)
        # Leave no empty folders behind, up to the mirror itself.
        for folder in path.parents:
            if folder == self.root or not folder.is_relative_to(self.root):
                break
            try:
                folder.rmdir()
            except OSError:
                break

    def save(self, status: SyncStatus | None = None) -> None:
        """Write the state atomically (with a new status, if given)."""
        if status is not None:
            self.status = status
        state: dict[str, Any] = {
            "version": _STATE_VERSION,
            "status": dataclasses.asdict(self.status),
            "files": [dataclasses.asdict(record) for _, record in sorted(self.files.items())],
            "dead": dict(sorted(self.dead.items())),
        }
        _write_atomically(self.state_path, json.dumps(state, indent=1).encode("utf-8"))

    def address_of(self, path: Path) -> str:
        """Return the link of a file under the mirror folder, or "" if it has none."""
        try:
            relative = path.absolute().relative_to(self.root.absolute()).as_posix()
        except ValueError:
            return ""
        record = self.files.get(relative)
        return record.url if record else ""


def _write_atomically(path: Path, body: bytes) -> None:
    """Replace path with body so a reader sees the old bytes or the new, never half of them."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".partial-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
