"""Remember which platform events were handled, so retries are answered once, across restarts."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from index.sqlite_files import open_database

_KEEP_SECONDS = 24 * 3600  # Slack retries for minutes, not days


class SeenEvents:
    """A persistent set of event ids."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = open_database(path, threads=True)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS seen (id TEXT PRIMARY KEY, at REAL NOT NULL)"
            )
            self._db.execute("DELETE FROM seen WHERE at < ?", (time.time() - _KEEP_SECONDS,))

    def first_time(self, event_id: str) -> bool:
        """Record an event id; True only the first time it is seen."""
        with self._lock, self._db:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO seen VALUES (?, ?)", (event_id, time.time())
            )
            return cursor.rowcount == 1

    def close(self) -> None:
        """Close the database."""
        self._db.close()
