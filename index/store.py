"""The index on disk: a folder of generations, one of which CURRENT points to.

    data/index/
        CURRENT                  name of the live generation, replaced atomically
        gen-<time>-<id>/
            manifest.json        model, dimension, chunking, versions, counts
            vectors.faiss        one unit vector per chunk (exact or IVF-SQ8); row i is chunk id i
            chunks.sqlite        documents, chunks and their FTS5 lexical index

A new generation is written beside the live one and CURRENT is switched last, so a crash at
any moment leaves the previous index loadable. Nothing is pickled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import logging
import os
import re
import shutil
import sqlite3
import threading
import weakref
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex
from typing import Any

import faiss
import numpy as np

from index.embedder import Vectors
from index.errors import IndexCorruptError, IndexMissingError, IndexWriteError
from index.lexical import to_terms
from index.manifest import IndexSpec, Manifest
from index.records import Chunk, IndexedDocument
from index.sqlite_files import open_database
from index.vectors import build_vector_index_from, configure

logger = logging.getLogger(__name__)

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
VECTORS = "vectors.faiss"
CHUNKS = "chunks.sqlite"

_SCHEMA = """
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

_REBUILD = "run `citebot ingest --rebuild` to rebuild it"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
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


def write_vector_index(index: faiss.Index, path: Path) -> None:
    """Write a FAISS index so that a failed write raises.

    faiss.write_index to a path prints "close error: No space left on device" and returns as if
    it had worked, leaving a truncated file; through a Python writer every write is ours, and
    an OSError stops FAISS.
    """
    with path.open("wb") as handle:
        written = 0

        def write(data: bytes) -> None:
            nonlocal written
            handle.write(data)
            written += len(data)

        faiss.write_index(index, faiss.PyCallbackIOWriter(write))  # type: ignore[attr-defined]
        handle.flush()
        os.fsync(handle.fileno())
        size = os.fstat(handle.fileno()).st_size
    if size != written:
        raise OSError(f"{path.name}: {size} of {written} bytes written")


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
        raise IndexCorruptError(f"{root / CURRENT} names no index generation; {_REBUILD}")
    return root / name


def write_index(
    root: Path,
    manifest: Manifest,
    documents: Sequence[IndexedDocument],
    chunks: Sequence[Chunk],
    vectors: Vectors,
    summary_vectors: Mapping[str, Vectors] | None = None,
) -> Path:
    """Write a new generation and make it live; chunks are grouped by document in order.

    summary_vectors holds, by source, the embedding of each document's summary line.
    """
    if len(chunks) != len(vectors) or sum(d.chunk_count for d in documents) != len(chunks):
        raise ValueError("documents, chunks and vectors disagree in count")
    writer = GenerationWriter(root, manifest.spec.dimension)
    first = 0
    for document in documents:
        last = first + document.chunk_count
        vector = (summary_vectors or {}).get(document.source)
        writer.add(document, chunks[first:last], vectors[first:last], vector)
        first = last
    return writer.finish(manifest)


_RAW_VECTORS = "vectors.f32"  # staging only: vectors appended as written, indexed at the end


class GenerationWriter:
    """A new generation written a document at a time beside the live one; finish() switches.

    Nothing is held but the document being added: chunk rows go to SQLite and vectors to a
    flat file in the staging folder as they come, and the vector index is built from that file
    at the end. Until finish() renames the folder and moves CURRENT, the live index is untouched,
    and a failure (or abort()) removes the staging folder.
    """

    def __init__(self, root: Path, dimension: int, *, expected_bytes: int = 0) -> None:
        """Open a staging folder under root; expected_bytes sizes the disk-full message."""
        self.root = root
        self.dimension = dimension
        self._expected_bytes = expected_bytes
        self.chunk_count = 0
        self.document_count = 0
        self._text_chars = 0
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        self.name = f"gen-{stamp}-{token_hex(4)}"
        self.staging = root / f".tmp-{self.name}"
        try:
            root.mkdir(parents=True, exist_ok=True)
            self.staging.mkdir()
            self._connection = open_database(self.staging / CHUNKS)
            self._connection.executescript(_SCHEMA)
            self._vectors = (self.staging / _RAW_VECTORS).open("wb")
        except (OSError, sqlite3.Error) as exc:
            raise self._failed(exc) from exc

    def add(
        self,
        document: IndexedDocument,
        chunks: Sequence[Chunk],
        vectors: Vectors,
        summary_vector: Vectors | None = None,
    ) -> None:
        """Write one document's rows and vectors; its chunks take the next ids in order."""
        if not document.chunk_count == len(chunks) == len(vectors):
            self.abort()
            raise ValueError("documents, chunks and vectors disagree in count")
        try:
            _write_chunks(self._connection, self.chunk_count, document, chunks, summary_vector)
            block = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dimension)
            self._vectors.write(block.tobytes())
        except (OSError, sqlite3.Error) as exc:
            raise self._failed(exc) from exc
        except BaseException:
            self.abort()
            raise
        self.chunk_count += len(chunks)
        self.document_count += 1
        self._text_chars += sum(len(chunk.text) for chunk in chunks)

    def read_back(self, ids: Sequence[int]) -> tuple[list[Chunk], Vectors]:
        """Return chunks as written so far, with the vectors written for them (a check)."""
        try:
            self._vectors.flush()
            rows = [
                self._connection.execute(
                    'SELECT source, title, section, text, unit, start, "end", position '
                    "FROM chunks WHERE id = ?",
                    (chunk_id,),
                ).fetchone()
                for chunk_id in ids
            ]
            row_bytes = self.dimension * 4
            stored = []
            with (self.staging / _RAW_VECTORS).open("rb") as handle:
                for chunk_id in ids:
                    handle.seek(chunk_id * row_bytes)
                    stored.append(np.frombuffer(handle.read(row_bytes), dtype=np.float32))
            vectors = np.array(stored, dtype=np.float32).reshape(-1, self.dimension)
        except (OSError, sqlite3.Error) as exc:
            raise self._failed(exc) from exc
        return [Chunk(*row) for row in rows], vectors

    def finish(self, manifest: Manifest) -> Path:
        """Index the vectors, write the manifest, and make this generation the live one."""
        if (manifest.chunk_count, manifest.document_count) != (
            self.chunk_count,
            self.document_count,
        ):
            self.abort()
            raise ValueError("the manifest's counts disagree with what was written")
        staging = self.staging
        try:
            # fts5vocab counts a term's chunks by walking its postings at every question (20 ms
            # for a common term at 1M chunks); counted once here, a lookup is a B-tree probe.
            self._connection.execute("INSERT INTO term_counts SELECT term, doc FROM chunk_vocab")
            self._connection.commit()
            self._connection.close()
            self._vectors.close()
            index, params = self._vector_index(manifest)
            write_vector_index(index, staging / VECTORS)
            del index
            (staging / _RAW_VECTORS).unlink()
            _fsync_file(staging / CHUNKS)
            sums = {file: file_checksum(staging / file) for file in (CHUNKS, VECTORS)}
            manifest = dataclasses.replace(manifest, index_params=params, checksums=sums)
            write_durably(staging / MANIFEST, manifest.to_json().encode("utf-8"))
            _fsync_dir(staging)
            # A write is done when it has been read back: the generation is opened as a
            # question would open it before it may replace the one that serves.
            verify_generation(staging, manifest)
            staging.rename(self.root / self.name)
            pointer = self.root / f".{CURRENT}.{token_hex(4)}"
            write_durably(pointer, (self.name + "\n").encode("utf-8"))
            os.replace(pointer, self.root / CURRENT)
        except (OSError, sqlite3.Error, RuntimeError, IndexCorruptError) as exc:
            raise self._failed(exc) from exc
        except BaseException:
            self.abort()
            raise
        try:
            _fsync_dir(self.root)
        except OSError as exc:
            # The new generation serves, but a power cut could bring the old pointer back:
            # the old generation stays until a later ingest switches durably.
            logger.warning("the new index serves, but %s could not be synced (%s)", self.root, exc)
            return self.root / self.name
        # Only once CURRENT names the new generation (read back, not assumed) does the old go.
        if live_generation(self.root) == self.root / self.name:
            _remove_stale(self.root, keep=self.name)
        return self.root / self.name

    def abort(self) -> None:
        """Drop the half-written generation; the live one was never touched."""
        with contextlib.suppress(Exception):
            self._connection.close()
        with contextlib.suppress(Exception):
            self._vectors.close()
        shutil.rmtree(self.staging, ignore_errors=True)

    def _vector_index(self, manifest: Manifest) -> tuple[faiss.Index, dict[str, Any]]:
        raw = self.staging / _RAW_VECTORS
        row_bytes = self.dimension * 4

        def read_rows(first: int, count: int) -> Vectors:
            # Read, not mapped: mapped pages of a 1.5 GB file would count as this process's.
            with raw.open("rb") as handle:
                handle.seek(first * row_bytes)
                data = handle.read(count * row_bytes)
            return np.frombuffer(data, dtype=np.float32).reshape(-1, self.dimension)

        return build_vector_index_from(
            self.chunk_count, self.dimension, read_rows, manifest.index_type, manifest.index_params
        )

    def _failed(self, exc: BaseException) -> IndexWriteError:
        """Remove the staging folder; say what failed and how much space the index needs."""
        # Full disk, quota or a read-only mount: FAISS says "write error", SQLite "database or
        # disk is full", the OS ENOSPC. The half-written generation goes; CURRENT never moved.
        self.abort()
        if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return IndexWriteError(
                f"cannot write the new index under {self.root}: it is not writable "
                f"({exc.strerror or exc}). Give the user running citebot write access to it, or "
                "set CITEBOT_INDEX_DIR to a writable folder; the previous index is still the "
                "one served"
            )
        # Vectors twice (the flat file and the index built from it), text twice (rows, terms).
        written = self.chunk_count * self.dimension * 8 + 3 * self._text_chars + 1_000_000
        need = max(written, self._expected_bytes)
        try:
            free = shutil.disk_usage(self.root).free
        except OSError:
            free = 0
        return IndexWriteError(
            f"could not write the new index under {self.root} ({_first_line(exc)}); it needs "
            f"about {need / 1e6:.0f} MB and {free / 1e6:.0f} MB are free. Free some space and "
            "run the ingest again; the previous index is still the one served"
        )


def verify_generation(folder: Path, manifest: Manifest) -> None:
    """Read a written generation back: its manifest, vectors and chunks agree, or raise."""
    stored = Manifest.from_json(
        (folder / MANIFEST).read_text(encoding="utf-8"), where=str(folder / MANIFEST)
    )
    if stored != manifest:
        raise IndexCorruptError(f"{folder / MANIFEST} does not read back as written")
    changed = changed_files(folder, manifest)
    if changed:
        raise IndexCorruptError(f"{', '.join(changed)} in {folder} do not read back as written")
    # Opened as a question opens it: that checks vectors, chunks and manifest agree in count.
    index = StoredIndex.load(folder, manifest)
    documents = len(index.documents())
    index.close()
    if documents != manifest.document_count:
        raise IndexCorruptError(
            f"the new index at {folder} reads back {documents} documents; "
            f"{manifest.document_count} were written"
        )


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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _write_chunks(
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
        "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    fields = (chunk.source, chunk.title, chunk.section, chunk.text, chunk.unit)
    numbers = f"{chunk.start}:{chunk.end}:{chunk.position}"
    return zlib.crc32("\x1f".join((*fields, numbers)).encode("utf-8", "surrogatepass"))


def _in_batches(values: Sequence[Any]) -> Iterator[tuple[Sequence[Any], str]]:
    """Split values for SQL IN lists: each batch with its run of "?" placeholders."""
    for start in range(0, len(values), _SQL_BATCH):
        batch = values[start : start + _SQL_BATCH]
        yield batch, ",".join("?" * len(batch))


def remove_staging(root: Path) -> None:
    """Delete staging folders an interrupted ingest left; call only while holding the lock."""
    if root.is_dir():
        for entry in root.iterdir():
            if entry.is_dir() and entry.name.startswith(".tmp-"):
                shutil.rmtree(entry, ignore_errors=True)


def _remove_stale(root: Path, *, keep: str) -> None:
    for entry in root.iterdir():
        stale_generation = entry.name.startswith("gen-") and entry.name != keep
        if entry.is_dir() and (stale_generation or entry.name.startswith(".tmp-")):
            # A bot may still read the old files: on POSIX, open files outlive their unlinking.
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(f".{CURRENT}."):
            entry.unlink(missing_ok=True)


class StoredIndex:
    """A loaded, read-only index generation: vectors in FAISS, text and terms in SQLite."""

    def __init__(self, folder: Path, manifest: Manifest, vectors: faiss.Index) -> None:
        self.folder = folder
        self.manifest = manifest
        self._vectors = vectors
        try:
            self._db = open_database(folder / CHUNKS, mode="read", threads=True)
        except sqlite3.Error as exc:
            raise IndexCorruptError(
                f"cannot open {folder / CHUNKS} ({exc}); check its permissions, or {_REBUILD}"
            ) from exc
        # Closed explicitly, or when the last user drops a replaced index after a reload.
        self._closer = weakref.finalize(self, self._db.close)
        self._lock = threading.Lock()  # one connection, shared by the bot's worker threads
        try:
            stored = self._db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            # Indexes written before term_counts existed count terms the slow way.
            has_counts = self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'term_counts'"
            ).fetchone()
            starts = self._db.execute(
                "SELECT rowid, first_chunk FROM documents ORDER BY first_chunk, rowid"
            ).fetchall()
        except sqlite3.Error as exc:
            self._db.close()
            raise IndexCorruptError(f"{folder / CHUNKS} is unreadable ({exc}); {_REBUILD}") from exc
        self._has_term_counts = has_counts is not None
        self._document_rows = np.array([row[0] for row in starts], dtype=np.int64)
        self._document_starts = np.array([row[1] for row in starts], dtype=np.int64)
        if stored != vectors.ntotal or stored != manifest.chunk_count:
            self._db.close()
            raise IndexCorruptError(
                f"the index at {folder} holds {vectors.ntotal} vectors for {stored} chunks "
                f"(manifest says {manifest.chunk_count}); {_REBUILD}"
            )

    @classmethod
    def open(cls, root: Path, *, expect: IndexSpec | None = None) -> StoredIndex:
        """Load the live generation under root, refusing one built with other parameters."""
        folder = live_generation(root)
        if folder is None:
            raise IndexMissingError(f"no index at {root}; run `citebot ingest` to build it")
        try:
            manifest_text = (folder / MANIFEST).read_text(encoding="utf-8")
        except OSError as exc:
            raise IndexCorruptError(f"cannot read {folder / MANIFEST} ({exc}); {_REBUILD}") from exc
        except UnicodeDecodeError as exc:
            raise IndexCorruptError(f"{folder / MANIFEST} is not text; {_REBUILD}") from exc
        manifest = Manifest.from_json(manifest_text, where=str(folder / MANIFEST))
        if expect is not None:
            manifest.check_compatible(expect, where=str(root))
        return cls.load(folder, manifest)

    @classmethod
    def load(cls, folder: Path, manifest: Manifest) -> StoredIndex:
        """Load one generation's files, given its manifest; refuse files that disagree with it."""
        try:
            vectors = faiss.read_index(str(folder / VECTORS))
        except RuntimeError as exc:
            raise IndexCorruptError(
                f"cannot read {folder / VECTORS} ({str(exc).splitlines()[0]}); {_REBUILD}"
            ) from exc
        configure(vectors, manifest.index_params)
        if vectors.d != manifest.spec.dimension:
            raise IndexCorruptError(
                f"{folder / VECTORS} has dimension {vectors.d}, manifest says "
                f"{manifest.spec.dimension}; {_REBUILD}"
            )
        return cls(folder, manifest, vectors)

    def close(self) -> None:
        """Release the database connection."""
        self._closer()

    @property
    def chunk_count(self) -> int:
        """Return how many chunks the index holds."""
        return int(self._vectors.ntotal)

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
            f'SELECT id, source, title, section, text, unit, start, "end", position, checksum '  # noqa: S608
            f"FROM chunks WHERE id IN ({marks})",
            wanted,
        )
        return {row[0]: self._checked(row[0], row[1:]) for row in rows}

    def chunk_run(self, first: int, count: int) -> list[Chunk]:
        """Return chunks first .. first+count-1 in order (a whole document, however long)."""
        rows = self._query(
            'SELECT id, source, title, section, text, unit, start, "end", position, checksum '
            "FROM chunks WHERE id BETWEEN ? AND ? ORDER BY id",
            (first, first + count - 1),
        )
        return [self._checked(row[0], row[1:]) for row in rows]

    def vectors(self, first: int, count: int) -> Vectors:
        """Return the stored vectors of chunks first .. first+count-1."""
        if count == 0:
            return np.zeros((0, self._vectors.d), dtype=np.float32)
        return np.asarray(self._vectors.reconstruct_n(first, count), dtype=np.float32)

    def search_dense(self, query: Vectors, k: int) -> list[tuple[int, float]]:
        """Return (chunk id, cosine similarity) of the k nearest chunks."""
        if self.chunk_count == 0:
            return []
        scores, ids = self._vectors.search(query.reshape(1, -1), min(k, self.chunk_count))
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def search_lexical(self, terms: Sequence[str], k: int) -> list[tuple[int, float]]:
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
        """Run SQLite's integrity check on the chunk store; return what it finds wrong."""
        with self._lock:
            try:
                rows = self._db.execute("PRAGMA integrity_check").fetchall()
            except sqlite3.DatabaseError as exc:
                return [str(exc)]
        return [str(row[0]) for row in rows if row[0] != "ok"]

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

    def vectors_of(self, chunk_ids: Sequence[int]) -> Vectors:
        """Return the stored vectors of the given chunks, in that order."""
        ids = np.asarray(chunk_ids, dtype=np.int64)
        return np.asarray(self._vectors.reconstruct_batch(ids), dtype=np.float32)

    def summary_vectors(self, sources: Iterable[str]) -> dict[str, Vectors]:
        """Return the stored summary-line vectors of the given documents that have one."""
        rows: list[Any] = []
        for batch, marks in _in_batches(list(sources)):
            rows += self._query(
                f"SELECT source, summary_vector FROM documents "  # noqa: S608
                f"WHERE source IN ({marks}) AND summary_vector IS NOT NULL",
                batch,
            )
        return {row[0]: self._vector_from(row[1]) for row in rows}

    def document_rows(self, chunk_ids: Sequence[int]) -> list[int]:
        """Return the row of the documents table each chunk belongs to."""
        if not chunk_ids or not len(self._document_starts):
            return []
        ids = np.asarray(chunk_ids, dtype=np.int64)
        # Documents hold consecutive chunk ids: a chunk's is the last that starts at or before it.
        found = np.searchsorted(self._document_starts, ids, side="right") - 1
        return [int(row) for row in self._document_rows[found]]

    def document_urls(self, rows: Iterable[int]) -> dict[int, str]:
        """Return, by document row, the addresses documents give for themselves."""
        found: list[Any] = []
        for batch, marks in _in_batches(sorted(set(rows))):
            found += self._query(
                f"SELECT rowid, url FROM documents "  # noqa: S608
                f"WHERE rowid IN ({marks}) AND url != ''",
                batch,
            )
        return {row[0]: row[1] for row in found}

    def summary_similarities(self, query: Vectors, rows: Iterable[int]) -> dict[int, float]:
        """Return, by document row, how similar each document's summary line is to the query."""
        stored: list[Any] = []
        for batch, marks in _in_batches(sorted(set(rows))):
            stored += self._query(
                f"SELECT rowid, summary_vector FROM documents "  # noqa: S608
                f"WHERE rowid IN ({marks}) AND summary_vector IS NOT NULL",
                batch,
            )
        if not stored:
            return {}
        scores = np.vstack([self._vector_from(row[1]) for row in stored]) @ query.reshape(-1)
        return {row[0]: float(score) for row, score in zip(stored, scores, strict=True)}

    def _query(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        """Run one read; a damaged or altered chunk store is one line with the fix, not a
        traceback (undecodable text, a dropped table, a malformed page)."""
        with self._lock:
            try:
                return self._db.execute(sql, parameters).fetchall()
            except sqlite3.Error as exc:
                raise IndexCorruptError(
                    f"{self.folder / CHUNKS} is damaged ({_first_line(exc)}); {_REBUILD}"
                ) from exc

    def _checked(self, chunk_id: int, row: Sequence[Any]) -> Chunk:
        """Return a chunk read from the store, refusing it if it no longer matches its checksum."""
        chunk = Chunk(*row[:-1])
        if chunk_checksum(chunk) != row[-1]:
            raise IndexCorruptError(
                f"{self.folder / CHUNKS} is damaged (chunk {chunk_id} no longer matches its "
                f"checksum); {_REBUILD}"
            )
        return chunk

    def _vector_from(self, blob: bytes) -> Vectors:
        vector = np.frombuffer(blob, dtype=np.float32)
        if vector.shape != (self._vectors.d,):
            raise IndexCorruptError(
                f"{self.folder / CHUNKS} holds a summary vector of {vector.size} numbers, not "
                f"{self._vectors.d}; {_REBUILD}"
            )
        return vector

    def similarities(self, query: Vectors, chunk_ids: Sequence[int]) -> dict[int, float]:
        """Return the cosine similarity of the query to each of the given stored chunks."""
        if not chunk_ids:
            return {}
        scores = self.vectors_of(chunk_ids) @ query.reshape(-1)
        return {chunk_id: float(score) for chunk_id, score in zip(chunk_ids, scores, strict=True)}
