"""Documents on their way into a new generation: queued in order, embedded in batches, written.

An ingest holds at most one batch of documents (and the one being read) in memory, not the
corpus: fresh documents wait in a queue until about EMBED_BATCH chunks are pending (more if the
embedder has workers to keep busy), are embedded together (longest texts side by side, so
padding wastes little), and are written with the unchanged documents between them, in source
order. Unchanged documents are read from the previous generation one at a time as they are
written. Nothing is written, and no staging folder made, until something is known to have
changed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from index.embedder import Embedder, Vectors
from index.errors import IndexCorruptError
from index.manifest import Manifest
from index.records import Chunk, IndexedDocument
from index.store import GenerationWriter, StoredIndex

Progress = Callable[[int, int], None]  # (bytes of changed files read so far, bytes to read)

EMBED_BATCH = 256  # chunks embedded together: enough to sort by length, little to hold
ALIGNMENT_SAMPLE = 9  # chunks re-embedded per ingest that embeds anything
# Re-embedding a text in another batch moves its vector a little (int8 inputs are scaled per
# batch): cosine stays above 0.98. A vector stored against the wrong chunk measures 0.04-0.19.
_ALIGNED_COSINE = 0.9


@dataclass(frozen=True, slots=True)
class _Queued:
    """A document waiting its turn: fresh (chunks to embed) or kept (read when written)."""

    record: IndexedDocument
    chunks: list[Chunk] = field(default_factory=list)
    weight: int = 0  # bytes of its file, for progress; 0 for a kept document
    kept_from: tuple[str, int] | None = None  # (source, first chunk) in the previous index


class GenerationStream:
    """Queue documents in source order; embed and write them to a new generation in batches."""

    def __init__(
        self,
        open_writer: Callable[[int], GenerationWriter],
        load_embedder: Callable[[], Embedder],
        previous: StoredIndex | None,
        *,
        progress: Progress | None,
        total_bytes: int,
    ) -> None:
        self._open_writer = open_writer
        self._load_embedder = load_embedder
        self._embedder: Embedder | None = None
        self._previous = previous
        self._progress = progress
        self._total_bytes = total_bytes
        self._done_bytes = 0
        self._queue: list[_Queued] = []
        self._queued_chunks = 0
        self._fresh_ids: list[tuple[int, int]] = []  # (first, count) of each embedded document
        self.writer: GenerationWriter | None = None
        self.chunks_embedded = 0

    def __enter__(self) -> GenerationStream:
        """Stream inside a with block: an exception leaving it aborts the new generation."""
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is not None:
            self.abort()

    @property
    def embedder(self) -> Embedder:
        """Load the embedder the first time anything needs it."""
        if self._embedder is None:
            self._embedder = self._load_embedder()
        return self._embedder

    def keep(self, record: IndexedDocument, *, source: str, first: int) -> None:
        """Queue an unchanged document, stored under source from chunk first on."""
        self._queue.append(_Queued(record, kept_from=(source, first)))

    def add(self, record: IndexedDocument, chunks: list[Chunk], *, weight: int) -> None:
        """Queue a freshly read document; embed and write the queue once a batch is pending."""
        self._queue.append(_Queued(record, chunks, weight))
        self._queued_chunks += len(chunks)
        if self._queued_chunks >= texts_per_call(self.embedder):
            self.flush()

    def skipped(self, weight: int) -> None:
        """Count a changed file that could not be read as done, for progress."""
        self._done_bytes += weight
        self._report(0, 0, 0)

    def flush(self) -> None:
        """Embed the fresh documents queued and write every queued document, in order."""
        fresh = [item for item in self._queue if item.kept_from is None]
        texts = [chunk.embedding_text() for item in fresh for chunk in item.chunks]
        summaries = [item.record.summary for item in fresh if item.record.summary]
        weight = sum(item.weight for item in fresh)
        embedded = (
            _embed(
                self.embedder,
                texts + summaries,
                lambda done, total: self._report(weight, done, total),
            )
            if fresh
            else None
        )
        writer = self._writer()
        offset, summary_at = 0, len(texts)
        for item in self._queue:
            if item.kept_from is not None:
                self._write_kept(writer, item.record, *item.kept_from)
                continue
            assert embedded is not None
            vectors = embedded[offset : offset + len(item.chunks)]
            offset += len(item.chunks)
            summary_vector = None
            if item.record.summary:
                summary_vector = embedded[summary_at]
                summary_at += 1
            self._fresh_ids.append((writer.chunk_count, len(item.chunks)))
            writer.add(item.record, item.chunks, vectors, summary_vector)
        self.chunks_embedded += len(texts)
        self._done_bytes += weight
        self._report(0, 0, 0)
        self._queue.clear()
        self._queued_chunks = 0

    def finish(self, manifest_for: Callable[[GenerationWriter], Manifest]) -> None:
        """Write what is queued, check a sample of vectors, and make the generation live."""
        self.flush()
        writer = self._writer()
        if self.chunks_embedded:
            chunks, vectors = writer.read_back(self._alignment_sample())
            try:
                check_alignment(self.embedder, chunks, vectors)
            except BaseException:
                writer.abort()
                raise
        writer.finish(manifest_for(writer))

    def _alignment_sample(self) -> list[int]:
        """Pick ALIGNMENT_SAMPLE ids evenly spread over the chunks embedded by this ingest."""
        picks = spread(range(self.chunks_embedded), ALIGNMENT_SAMPLE)
        ids, passed = [], 0
        runs = iter(self._fresh_ids)
        first, count = next(runs)
        for pick in picks:  # in order: walk the runs of fresh chunks once
            while pick >= passed + count:
                passed += count
                first, count = next(runs)
            ids.append(first + pick - passed)
        return ids

    def abort(self) -> None:
        """Drop anything written; the live generation was never touched."""
        if self.writer is not None:
            self.writer.abort()

    def _writer(self) -> GenerationWriter:
        if self.writer is None:
            if self._previous is not None:
                dimension = self._previous.manifest.spec.dimension
            else:
                dimension = self.embedder.dimension
            self.writer = self._open_writer(dimension)
        return self.writer

    def _write_kept(
        self, writer: GenerationWriter, record: IndexedDocument, source: str, first: int
    ) -> None:
        assert self._previous is not None  # only documents of the previous index are kept
        chunks = self._previous.chunk_run(first, record.chunk_count)
        if len(chunks) != record.chunk_count:
            writer.abort()
            raise IndexCorruptError(
                f"the previous index is missing chunks of {source}; "
                "run `citebot ingest --rebuild` to rebuild it"
            )
        if source != record.source:  # the same bytes, moved or renamed
            chunks = [dataclasses.replace(chunk, source=record.source) for chunk in chunks]
        vectors = self._previous.vectors(first, record.chunk_count)
        summary = self._previous.summary_vectors([source]).get(source)
        writer.add(record, chunks, vectors, summary)

    def _report(self, weight: int, done: int, total: int) -> None:
        if self._progress is not None and self._total_bytes:
            share = weight * done // total if total else 0
            self._progress(min(self._done_bytes + share, self._total_bytes), self._total_bytes)


def _embed(
    embedder: Embedder, texts: list[str], progress: Callable[[int, int], None] | None
) -> Vectors:
    """Embed in batches, longest texts together so padding wastes little, reporting progress."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]), reverse=True)
    vectors = np.zeros((len(texts), embedder.dimension), dtype=np.float32)
    batch = texts_per_call(embedder)
    for begin in range(0, len(order), batch):
        ids = order[begin : begin + batch]
        vectors[ids] = embedder.embed_batch([texts[i] for i in ids])
        if progress is not None:
            progress(min(begin + batch, len(order)), len(order))
    return vectors


def texts_per_call(embedder: Embedder) -> int:
    """Return the texts to hand an embedder at once: EMBED_BATCH, or more if it asks for more.

    An embedder that spreads each call over workers (a Ray cluster) says how many texts keep
    them all busy; given EMBED_BATCH it would send one shard to one worker at a time.
    """
    return max(EMBED_BATCH, int(getattr(embedder, "texts_per_call", EMBED_BATCH)))


def check_alignment(embedder: Embedder, chunks: Sequence[Chunk], vectors: Vectors) -> None:
    """Re-embed chunks as written and refuse to go on if a stored vector is not theirs."""
    wrong = misaligned(embedder, chunks, vectors)
    if wrong:
        chunk, cosine = wrong[0]
        raise IndexCorruptError(
            f"the vector stored for {chunk.source} ({chunk.location}) is not that passage's "
            f"(cosine {cosine:.2f}); the index was not changed. This is a bug in citebot: "
            "please report it"
        )


def spread(ids: Sequence[int], count: int) -> list[int]:
    """Pick up to count ids evenly spaced from first to last."""
    if not ids:
        return []
    picks = np.linspace(0, len(ids) - 1, min(len(ids), count))
    return sorted({ids[round(float(pick))] for pick in picks})


def misaligned(
    embedder: Embedder, chunks: Sequence[Chunk], vectors: Vectors
) -> list[tuple[Chunk, float]]:
    """Re-embed chunks; return those whose stored vector (same row) is not theirs, worst first."""
    if not chunks:
        return []
    again = embedder.embed_batch([chunk.embedding_text() for chunk in chunks])
    cosine = (again * vectors).sum(axis=1)
    wrong = [(chunk, float(c)) for chunk, c in zip(chunks, cosine, strict=True)]
    return sorted((item for item in wrong if item[1] < _ALIGNED_COSINE), key=lambda item: item[1])
