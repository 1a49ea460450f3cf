"""The chunk store: one SQLite file per generation holding documents, chunks (each with the
checksum it is read back against) and their FTS5 keyword index."""

from __future__ import annotations

import sqlite3
import threading
import weakref
import zlib
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.embedder import Vectors
from index.errors import IndexCorruptError
from index.generations import REBUILD
from index.lexical import to_terms
from index.records import Chunk, IndexedDocument
from index.sqlite_files import open_database

CHUNKS = "chunks.sqlite"

SCHEMA = """
CREATE TABLE documents (
    source TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    first_chunk INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL,
    summary TEXT NOT NULL,
    summary_vector BLOB,  -- float32 bytes; NULL when the document has no summary line
    url TEXT NOT NULL
);
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    title TEXT NOT NULL,
    section TEXT NOT NULL,
    text TEXT NOT NULL,
    unit TEXT NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    position INTEGER NOT NULL,
    anchor TEXT NOT NULL,  -- the id of the passage's section on its page, "" for none
    code_lines TEXT NOT NULL,  -- the lines of text that are a code block's, one per line
    checksum INTEGER NOT NULL  -- chunk_checksum(): damaged text is refused, never quoted
);
CREATE VIRTUAL TABLE chunk_terms USING fts5(body, heading, content='', tokenize='unicode61');
CREATE VIRTUAL TABLE chunk_vocab USING fts5vocab(chunk_terms, 'row');
CREATE TABLE term_counts (term TEXT PRIMARY KEY, chunks INTEGER NOT NULL) WITHOUT ROWID;
"""

# A question's words in a passage's page title or heading path count this many times as much
# as in its text: "git stash" answered from the git-stash page, not a page that mentions it.
HEADING_WEIGHT = 2.0
_SQL_BATCH = 500  # host parameters per query, well under SQLite's limit


def write_chunks(
    connection: sqlite3.Connection,
    first: int,
    document: IndexedDocument,
    chunks: Sequence[Chunk],
    summary_vector: Vectors | None,
) -> None:
    """Insert one document's row, its chunks (ids from first on) and their keyword terms."""
    connection.execute(
        "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            document.source,
            document.title,
            document.content_hash,
            first,
            document.chunk_count,
            document.summary,
            None if summary_vector is None else np.asarray(summary_vector, np.float32).tobytes(),
            document.url,
        ),
    )
    connection.executemany(
        "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                i,
                c.source,
                c.title,
                c.section,
                c.text,
                c.unit,
                c.start,
                c.end,
                c.position,
                c.anchor,
                "\n".join(c.code_lines),
                chunk_checksum(c),
            )
            for i, c in enumerate(chunks, start=first)
        ),
    )
    connection.executemany(
        "INSERT INTO chunk_terms (rowid, body, heading) VALUES (?, ?, ?)",
        (
            (i, " ".join(to_terms(c.text)), " ".join(to_terms(f"{c.title} {c.section}")))
            for i, c in enumerate(chunks, start=first)
        ),
    )


def chunk_checksum(chunk: Chunk) -> int:
    """Return a CRC-32 of everything a chunk holds, stored with it and checked when it is read.

    A flipped byte in chunks.sqlite that still decodes would otherwise be quoted to users as if
    the document said it; checking the few chunks a question reads costs microseconds, where
    checksumming the whole file at every load would cost seconds on a large index.
    """
    fields = (
        chunk.source,
        chunk.title,
        chunk.section,
        chunk.text,
        chunk.unit,
        chunk.anchor,
        "\n".join(chunk.code_lines),
    )
    numbers = f"{chunk.start}:{chunk.end}:{chunk.position}"
    return zlib.crc32("\x1f".join((*fields, numbers)).encode("utf-8", "surrogatepass"))


def stored_chunk(row: Sequence[Any]) -> Chunk:
    """Return a chunk from its stored columns (source … anchor, code_lines)."""
    source, title, section, text, unit, start, end, position, anchor, code_lines = row
    lines = tuple(code_lines.split("\n")) if code_lines else ()
    return Chunk(source, title, section, text, unit, start, end, position, anchor, lines)


def in_batches(values: Sequence[Any]) -> Iterator[tuple[Sequence[Any], str]]:
    """Split values for SQL IN lists: each batch with its run of "?" placeholders."""
    for start in range(0, len(values), _SQL_BATCH):
        batch = values[start : start + _SQL_BATCH]
        yield batch, ",".join("?" * len(batch))


class ChunkStore:
    """A generation's chunk store, opened read-only; one connection, shared by threads.

    Every read goes through `_query`: a damaged or altered file (undecodable text, a dropped
    table, a malformed page) is one IndexCorruptError with the fix, never a traceback; every
    chunk read is checked against its checksum, so damaged text is refused, never quoted.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = open_database(path, mode="read", threads=True)
        except sqlite3.Error as exc:
            raise IndexCorruptError(
                f"cannot open {path} ({exc}); check its permissions, or {REBUILD}"
            ) from exc
        # Closed explicitly, or when the last user drops a replaced index after a reload.
        self._closer = weakref.finalize(self, self._db.close)
        self._lock = threading.Lock()
        try:
            self.chunk_count = int(self._db.execute("SELECT count(*) FROM chunks").fetchone()[0])
            # Indexes written before term_counts existed count terms the slow way.
            has_counts = self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'term_counts'"
            ).fetchone()
            starts = self._db.execute(
                "SELECT rowid, first_chunk FROM documents ORDER BY first_chunk, rowid"
            ).fetchall()
        except sqlite3.Error as exc:
            self.close()
            raise IndexCorruptError(f"{path} is unreadable ({exc}); {REBUILD}") from exc
        self._has_term_counts = has_counts is not None
        self.document_rows = np.array([row[0] for row in starts], dtype=np.int64)
        self.document_starts = np.array([row[1] for row in starts], dtype=np.int64)

    def close(self) -> None:
        """Release the connection."""
        self._closer()

    def documents(self) -> dict[str, tuple[IndexedDocument, int]]:
        """Map each source to its record and the id of its first chunk."""
        rows = self._query(
            "SELECT source, title, content_hash, chunk_count, first_chunk, summary, url "
            "FROM documents"
        )
        return {
            row[0]: (IndexedDocument(row[0], row[1], row[2], row[3], row[5], row[6]), row[4])
            for row in rows
        }

    def chunks(self, ids: Iterable[int]) -> dict[int, Chunk]:
        """Fetch chunks by id."""
        wanted = list(ids)
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = self._query(
            'SELECT id, source, title, section, text, unit, start, "end", position, anchor, '  # noqa: S608
            f"code_lines, checksum FROM chunks WHERE id IN ({marks})",
            wanted,
        )
        return {row[0]: self._checked(row[0], row[1:]) for row in rows}

    def chunk_run(self, first: int, count: int) -> list[Chunk]:
        """Return chunks first .. first+count-1 in order (a whole document, however long)."""
        rows = self._query(
            'SELECT id, source, title, section, text, unit, start, "end", position, anchor, '
            "code_lines, checksum FROM chunks WHERE id BETWEEN ? AND ? ORDER BY id",
            (first, first + count - 1),
        )
        return [self._checked(row[0], row[1:]) for row in rows]

    def search(self, terms: Sequence[str], k: int) -> list[tuple[int, float]]:
        """Return (chunk id, BM25 score, higher is better) of the k best term matches."""
        unique = sorted(set(terms))
        if not unique:
            return []
        query = " OR ".join(f'"{term}"' for term in unique)
        rows = self._query(
            "SELECT rowid, -bm25(chunk_terms, 1.0, ?) AS score FROM chunk_terms "
            "WHERE chunk_terms MATCH ? ORDER BY score DESC LIMIT ?",
            (HEADING_WEIGHT, query, k),
        )
        return [(int(row[0]), float(row[1])) for row in rows]

    def integrity_problems(self) -> list[str]:
        """Run SQLite's integrity check; return what it finds wrong."""
        with self._lock:
            try:
                rows = self._db.execute("PRAGMA integrity_check").fetchall()
            except sqlite3.DatabaseError as exc:
                return [str(exc)]
        return [str(row[0]) for row in rows if row[0] != "ok"]

    def phrase_chunks(self, terms: Sequence[str], limit: int) -> list[int]:
        """Return up to limit chunks holding these terms one after another ("db default" of
        `db_default`) in their text or headings, stop words aside."""
        if not terms:
            return []
        phrase = '"' + " ".join(term.replace('"', "") for term in terms) + '"'
        rows = self._query(
            "SELECT rowid FROM chunk_terms WHERE chunk_terms MATCH ? LIMIT ?", (phrase, limit)
        )
        return [int(row[0]) for row in rows]

    def document_frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        """Count, for each term, the chunks that contain it."""
        unique = sorted(set(terms))
        if not unique:
            return {}
        marks = ",".join("?" * len(unique))
        if self._has_term_counts:
            rows = self._query(
                f"SELECT term, chunks FROM term_counts WHERE term IN ({marks})",  # noqa: S608
                unique,
            )
        else:
            rows = self._query(
                f"SELECT term, doc FROM chunk_vocab WHERE term IN ({marks})",  # noqa: S608
                unique,
            )
        return dict.fromkeys(unique, 0) | {row[0]: int(row[1]) for row in rows}

    def summary_blobs(self, sources: Iterable[str]) -> list[tuple[str, bytes]]:
        """Return (source, summary-line vector bytes) of the given documents that have one."""
        rows: list[Any] = []
        for batch, marks in in_batches(list(sources)):
            rows += self._query(
                f"SELECT source, summary_vector FROM documents "  # noqa: S608
                f"WHERE source IN ({marks}) AND summary_vector IS NOT NULL",
                batch,
            )
        return [(row[0], row[1]) for row in rows]

    def summary_blobs_by_row(self, rows: Iterable[int]) -> list[tuple[int, bytes]]:
        """Return (document row, summary-line vector bytes) of the rows that have one."""
        stored: list[Any] = []
        for batch, marks in in_batches(sorted(set(rows))):
            stored += self._query(
                f"SELECT rowid, summary_vector FROM documents "  # noqa: S608
                f"WHERE rowid IN ({marks}) AND summary_vector IS NOT NULL",
                batch,
            )
        return [(row[0], row[1]) for row in stored]

    def document_names(self) -> list[tuple[int, str, str]]:
        """Return every document's (row, source, title)."""
        rows = self._query("SELECT rowid, source, title FROM documents")
        return [(row[0], row[1], row[2]) for row in rows]

    def document_urls(self, rows: Iterable[int]) -> dict[int, str]:
        """Return, by document row, the addresses documents give for themselves."""
        found: list[Any] = []
        for batch, marks in in_batches(sorted(set(rows))):
            found += self._query(
                f"SELECT rowid, url FROM documents "  # noqa: S608
                f"WHERE rowid IN ({marks}) AND url != ''",
                batch,
            )
        return {row[0]: row[1] for row in found}

    def _query(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """Run one read; damage is one line with the fix."""
        with self._lock:
            try:
                return self._db.execute(sql, parameters).fetchall()
            except sqlite3.Error as exc:
                raise IndexCorruptError(
                    f"{self.path} is damaged ({_first_line(exc)}); {REBUILD}"
                ) from exc

    def _checked(self, chunk_id: int, row: Sequence[Any]) -> Chunk:
        """Return a chunk read from the store, refusing it if it no longer matches its checksum."""
        chunk = stored_chunk(row[:-1])
        if chunk_checksum(chunk) != row[-1]:
            raise IndexCorruptError(
                f"{self.path} is damaged (chunk {chunk_id} no longer matches its checksum); "
                f"{REBUILD}"
            )
        return chunk


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
