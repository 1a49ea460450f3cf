"""Writing an index generation from whole lists, for tests and benchmarks (the ingest writes
a document at a time through GenerationWriter)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from index.embedder import Vectors
from index.manifest import Manifest
from index.records import Chunk, IndexedDocument
from index.store import GenerationWriter


def write_generation(
    root: Path,
    manifest: Manifest,
    documents: Sequence[IndexedDocument],
    chunks: Sequence[Chunk],
    vectors: Vectors,
    summary_vectors: Mapping[str, Vectors] | None = None,
) -> Path:
    """Write a new generation from whole lists and make it live (tests and benchmarks: the
    ingest writes a document at a time); chunks are grouped by document in order.

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
