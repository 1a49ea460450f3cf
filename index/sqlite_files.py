"""The one way citebot opens a SQLite file: for writing, read-only, or frozen."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal

# Writers wait this long for another process's lock (an ingest, a second bot) before failing.
_BUSY_SECONDS = 10.0


def open_database(
    path: Path,
    *,
    mode: Literal["write", "read", "frozen"] = "write",
    threads: bool = False,
) -> sqlite3.Connection:
    """Open path for writing (created if missing), read-only, or frozen (no locks, no WAL).

    threads: the caller serialises use across threads itself (sqlite3 checks by default).
    Read-only and frozen files are opened by URI, which as_uri() quotes, so any path works.
    """
    if mode == "write":
        return sqlite3.connect(path, timeout=_BUSY_SECONDS, check_same_thread=not threads)
    flag = "mode=ro" if mode == "read" else "immutable=1"
    uri = f"{path.absolute().as_uri()}?{flag}"
    return sqlite3.connect(uri, uri=True, check_same_thread=not threads)
