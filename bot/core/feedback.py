"""Answers posted to chat and the 👍/👎 votes on them, kept in a local SQLite file."""

from __future__ import annotations

import csv
import json
import logging
import re
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO, TypeVar

from bot.core.answer import Answer
from index.errors import ConfigError
from index.sqlite_files import open_database

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    platform TEXT NOT NULL,
    user TEXT NOT NULL,
    channel TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    found INTEGER NOT NULL,
    citations TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    answer_id TEXT NOT NULL REFERENCES answers(id),
    created_at TEXT NOT NULL,
    rating INTEGER NOT NULL,
    user TEXT NOT NULL,
    channel TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    """One vote with the answer it was about."""

    voted_at: str
    platform: str
    rating: int  # +1 or -1
    user: str
    channel: str
    question: str
    answer: str
    citations: str  # JSON list of the cited passages


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FeedbackStore:
    """Record answers and votes; safe to use from many threads (a connection per call)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            raise ConfigError(f"{path} is a folder, not the feedback store; move it away")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._create()
        except sqlite3.DatabaseError as exc:
            # Votes are worth keeping but not worth refusing to answer over: the damaged file
            # is moved aside for a look (or sqlite3's .recover) and a fresh store started.
            aside = path.with_name(f"{path.name}.corrupt-{datetime.now(UTC):%Y%m%dT%H%M%S}")
            for suffix in ("", "-wal", "-shm"):
                damaged = path.with_name(path.name + suffix)
                if damaged.exists():
                    damaged.rename(aside.with_name(aside.name + suffix))
            logger.warning("%s is damaged (%s); moved it to %s, starting afresh", path, exc, aside)
            self._create()

    def _create(self) -> None:
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            db.execute("SELECT count(*) FROM answers").fetchone()

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = open_database(self.path)
        try:
            with db:
                yield db
        finally:
            db.close()

    def record_answer(
        self, answer: Answer, *, platform: str, user: str, channel: str
    ) -> str | None:
        """Store an answer as posted; return the id its feedback buttons carry, None on failure.

        A full disk or locked database must not cost the user their answer: it is then sent
        without feedback buttons.
        """
        answer_id = uuid.uuid4().hex
        citations = json.dumps(
            [f"{c.source} {c.location}" for c in answer.citations], ensure_ascii=False
        )
        try:
            with self._connect() as db:
                db.execute(
                    "INSERT INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        answer_id,
                        _now(),
                        platform,
                        user,
                        channel,
                        answer.question,
                        answer.text,
                        int(answer.found),
                        citations,
                    ),
                )
        except sqlite3.Error:
            logger.exception("could not record an answer for feedback in %s", self.path)
            return None
        return answer_id

    def record_vote(self, answer_id: str, *, rating: int, user: str, channel: str) -> bool:
        """Store a vote; False when the answer is unknown (e.g. the data folder was wiped)."""
        with self._connect() as db:
            known = db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone()
            if known is None:
                return False
            # One vote per person per answer: clicking again (either button) replaces it.
            db.execute("DELETE FROM votes WHERE answer_id = ? AND user = ?", (answer_id, user))
            db.execute(
                "INSERT INTO votes (answer_id, created_at, rating, user, channel) "
                "VALUES (?, ?, ?, ?, ?)",
                (answer_id, _now(), 1 if rating > 0 else -1, user, channel),
            )
        return True

    def rows(self) -> list[FeedbackRow]:
        """Return every vote with its answer, oldest first."""
        with self._connect() as db:
            return _votes(db)


def _votes(db: sqlite3.Connection) -> list[FeedbackRow]:
    found = db.execute(
        "SELECT v.created_at, a.platform, v.rating, v.user, v.channel, a.question, "
        "a.answer, a.citations FROM votes v JOIN answers a ON a.id = v.answer_id "
        "ORDER BY v.id"
    ).fetchall()
    return [FeedbackRow(*row) for row in found]


def read_votes(path: Path) -> list[FeedbackRow]:
    """Read the votes without writing anything: exporting needs only read access."""
    return _read_only(path, _votes)


@dataclass(frozen=True, slots=True)
class Unanswered:
    """A question the bot declined, or whose answer someone voted down (as they last voted)."""

    asked_at: str
    question: str
    declined: bool
    voted_down: bool


def read_unanswered(path: Path, since: str = "") -> list[Unanswered]:
    """Read the declined and voted-down questions asked at or after since (ISO time)."""

    def query(db: sqlite3.Connection) -> list[Unanswered]:
        rows = db.execute(
            "SELECT a.created_at, a.question, a.found = 0, "
            "EXISTS (SELECT 1 FROM votes v WHERE v.answer_id = a.id AND v.rating < 0) AS down "
            "FROM answers a WHERE a.created_at >= ? AND (a.found = 0 OR down) "
            "ORDER BY a.created_at",
            (since,),
        ).fetchall()
        return [Unanswered(row[0], row[1], bool(row[2]), bool(row[3])) for row in rows]

    return _read_only(path, query)


def _read_only(path: Path, read: Callable[[sqlite3.Connection], _T]) -> _T:
    if path.is_dir():
        raise ConfigError(f"{path} is a folder, not the feedback store; move it aside")
    try:
        return _read_with_fallback(path, read)
    except sqlite3.DatabaseError as exc:
        # Random bytes, a truncated or empty file, a store another program wrote, no access.
        raise ConfigError(
            f"cannot read the feedback store {path} ({exc}); check its permissions, or move it "
            "aside: the chat bots start a fresh one"
        ) from exc


def _read_with_fallback(path: Path, read: Callable[[sqlite3.Connection], _T]) -> _T:
    try:
        db = open_database(path, mode="read")
        try:
            return read(db)
        finally:
            db.close()
    except sqlite3.OperationalError:
        # A read-only folder can't hold WAL's shared-memory file; read the file as it stands.
        db = open_database(path, mode="frozen")
        try:
            return read(db)
        finally:
            db.close()


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _spreadsheet_safe(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Show control characters and direction overrides as escapes, so a question typed in chat
    can't move the cursor, retitle or clear the terminal it is printed in, or reverse its text."""
    return _UNPRINTABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def _safe_value(value: object) -> object:
    return printable(value) if isinstance(value, str) else value


def write_feedback(rows: list[FeedbackRow], out: TextIO, fmt: str) -> None:
    """Write rows as 'csv', 'jsonl' or an aligned 'table'."""
    if fmt == "jsonl":
        for row in rows:
            out.write(json.dumps(asdict(row), ensure_ascii=False) + "\n")
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=list(FeedbackRow.__slots__))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {key: _spreadsheet_safe(_safe_value(value)) for key, value in asdict(row).items()}
            )
    else:
        for row in rows:
            mark = "+1" if row.rating > 0 else "-1"
            out.write(
                f"{row.voted_at}  {mark}  {row.platform:<7} {printable(row.user):<12} "
                f"{printable(row.question[:60])}\n"
            )
        ups = sum(1 for row in rows if row.rating > 0)
        out.write(f"{len(rows)} votes: {ups} up, {len(rows) - ups} down\n")
