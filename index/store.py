"""An index generation, written and read: GenerationWriter builds one beside the live one and
switches CURRENT to it once it reads back whole; StoredIndex serves one.

    gen-<time>-<id>/
        manifest.json        model, dimension, chunking, versions, counts, file checksums
        vectors.faiss        one unit vector per chunk (exact or IVF-SQ8); row i is chunk id i
        chunks.sqlite        documents, chunks and their FTS5 lexical index (chunk_store.py)

The folder of generations and CURRENT are generations.py's; the FAISS file, vectors.py's. A
crash at any moment leaves the previous generation loadable. Nothing is pickled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import logging
import os
import re
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from secrets import token_hex
from typing import Any

import faiss
import numpy as np

from index.chunk_store import CHUNKS, SCHEMA, ChunkStore, stored_chunk, write_chunks
from index.embedder import Vectors
from index.errors import IndexCorruptError, IndexMissingError, IndexWriteError
from index.generations import (
    CURRENT,
    MANIFEST,
    REBUILD,
    changed_files,
    file_checksum,
    fsync_dir,
    fsync_file,
    live_generation,
    remove_stale,
    write_durably,
)
from index.manifest import IndexSpec, Manifest
from index.records import Chunk, IndexedDocument
from index.sqlite_files import open_database
from index.vectors import build_vector_index_from, configure, write_vector_index

logger = logging.getLogger(__name__)

VECTORS = "vectors.faiss"


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
            self._connection.executescript(SCHEMA)
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
            write_chunks(self._connection, self.chunk_count, document, chunks, summary_vector)
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
                    'SELECT source, title, section, text, unit, start, "end", position, anchor, '
                    "code_lines FROM chunks WHERE id = ?",
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
        return [stored_chunk(row) for row in rows], vectors

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
            fsync_file(staging / CHUNKS)
            sums = {file: file_checksum(staging / file) for file in (CHUNKS, VECTORS)}
            manifest = dataclasses.replace(manifest, index_params=params, checksums=sums)
            write_durably(staging / MANIFEST, manifest.to_json().encode("utf-8"))
            fsync_dir(staging)
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
            fsync_dir(self.root)
        except OSError as exc:
            # The new generation serves, but a power cut could bring the old pointer back:
            # the old generation stays until a later ingest switches durably.
            logger.warning("the new index serves, but %s could not be synced (%s)", self.root, exc)
            return self.root / self.name
        # Only once CURRENT names the new generation (read back, not assumed) does the old go.
        if live_generation(self.root) == self.root / self.name:
            remove_stale(self.root, keep=self.name)
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class StoredIndex:
    """A loaded, read-only index generation: vectors in FAISS, text and terms in its chunk store."""

    def __init__(self, folder: Path, manifest: Manifest, vectors: faiss.Index) -> None:
        self.folder = folder
        self.manifest = manifest
        self._vectors = vectors
        self._chunks = ChunkStore(folder / CHUNKS)
        self._named: dict[str, frozenset[int]] = {}  # rows_of_documents_named, by pattern
        self._lock = threading.Lock()
        stored = self._chunks.chunk_count
        if stored != vectors.ntotal or stored != manifest.chunk_count:
            self._chunks.close()
            raise IndexCorruptError(
                f"the index at {folder} holds {vectors.ntotal} vectors for {stored} chunks "
                f"(manifest says {manifest.chunk_count}); {REBUILD}"
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
            raise IndexCorruptError(f"cannot read {folder / MANIFEST} ({exc}); {REBUILD}") from exc
        except UnicodeDecodeError as exc:
            raise IndexCorruptError(f"{folder / MANIFEST} is not text; {REBUILD}") from exc
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
                f"cannot read {folder / VECTORS} ({str(exc).splitlines()[0]}); {REBUILD}"
            ) from exc
        configure(vectors, manifest.index_params)
        if vectors.d != manifest.spec.dimension:
            raise IndexCorruptError(
                f"{folder / VECTORS} has dimension {vectors.d}, manifest says "
                f"{manifest.spec.dimension}; {REBUILD}"
            )
        return cls(folder, manifest, vectors)

    def close(self) -> None:
        """Release the chunk store's connection."""
        self._chunks.close()

    @property
    def chunk_count(self) -> int:
        """Return how many chunks the index holds."""
        return int(self._vectors.ntotal)

    def documents(self) -> dict[str, tuple[IndexedDocument, int]]:
        """Map each source to its record and the id of its first chunk."""
        return self._chunks.documents()

    def chunks(self, ids: Iterable[int]) -> dict[int, Chunk]:
        """Fetch chunks by id."""
        return self._chunks.chunks(ids)

    def chunk_run(self, first: int, count: int) -> list[Chunk]:
        """Return chunks first .. first+count-1 in order (a whole document, however long)."""
        return self._chunks.chunk_run(first, count)

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
        return self._chunks.search(terms, k)

    def integrity_problems(self) -> list[str]:
        """Run SQLite's integrity check on the chunk store; return what it finds wrong."""
        return self._chunks.integrity_problems()

    def document_frequencies(self, terms: Iterable[str]) -> dict[str, int]:
        """Count, for each term, the chunks that contain it."""
        return self._chunks.document_frequencies(terms)

    def phrase_chunks(self, terms: Sequence[str], limit: int) -> list[int]:
        """Return up to limit chunks holding these terms one after another."""
        return self._chunks.phrase_chunks(terms, limit)

    def vectors_of(self, chunk_ids: Sequence[int]) -> Vectors:
        """Return the stored vectors of the given chunks, in that order."""
        ids = np.asarray(chunk_ids, dtype=np.int64)
        return np.asarray(self._vectors.reconstruct_batch(ids), dtype=np.float32)

    def summary_vectors(self, sources: Iterable[str]) -> dict[str, Vectors]:
        """Return the stored summary-line vectors of the given documents that have one."""
        stored = self._chunks.summary_blobs(sources)
        return {source: self._vector_from(blob) for source, blob in stored}

    def document_rows(self, chunk_ids: Sequence[int]) -> list[int]:
        """Return the row of the documents table each chunk belongs to."""
        starts, rows = self._chunks.document_starts, self._chunks.document_rows
        if not chunk_ids or not len(starts):
            return []
        ids = np.asarray(chunk_ids, dtype=np.int64)
        # Documents hold consecutive chunk ids: a chunk's is the last that starts at or before it.
        found = np.searchsorted(starts, ids, side="right") - 1
        return [int(row) for row in rows[found]]

    def document_urls(self, rows: Iterable[int]) -> dict[int, str]:
        """Return, by document row, the addresses documents give for themselves."""
        return self._chunks.document_urls(rows)

    def rows_of_documents_named(self, pattern: re.Pattern[str]) -> frozenset[int]:
        """Return the rows of the documents whose source or title matches pattern (once per
        pattern and generation: the documents of a generation never change)."""
        with self._lock:
            found = self._named.get(pattern.pattern)
        if found is None:
            found = frozenset(
                row
                for row, source, title in self._chunks.document_names()
                if pattern.search(source) or pattern.search(title)
            )
            with self._lock:
                self._named[pattern.pattern] = found
        return found

    def summary_similarities(self, query: Vectors, rows: Iterable[int]) -> dict[int, float]:
        """Return, by document row, how similar each document's summary line is to the query."""
        stored = self._chunks.summary_blobs_by_row(rows)
        if not stored:
            return {}
        scores = np.vstack([self._vector_from(blob) for _, blob in stored]) @ query.reshape(-1)
        return {row: float(score) for (row, _), score in zip(stored, scores, strict=True)}

    def _vector_from(self, blob: bytes) -> Vectors:
        vector = np.frombuffer(blob, dtype=np.float32)
        if vector.shape != (self._vectors.d,):
            raise IndexCorruptError(
                f"{self.folder / CHUNKS} holds a summary vector of {vector.size} numbers, not "
                f"{self._vectors.d}; {REBUILD}"
            )
        return vector

    def similarities(self, query: Vectors, chunk_ids: Sequence[int]) -> dict[int, float]:
        """Return the cosine similarity of the query to each of the given stored chunks."""
        if not chunk_ids:
            return {}
        scores = self.vectors_of(chunk_ids) @ query.reshape(-1)
        return {chunk_id: float(score) for chunk_id, score in zip(chunk_ids, scores, strict=True)}
