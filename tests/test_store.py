"""The on-disk index: round trip, atomic replacement, refusal of corrupt or mismatched indexes."""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
import pytest

from index import store
from index.errors import IndexCorruptError, IndexMismatchError, IndexMissingError, IndexWriteError
from index.generations import live_generation
from index.manifest import IndexSpec, Manifest
from index.records import Chunk, IndexedDocument
from index.store import StoredIndex
from tests.generation import write_generation

SPEC = IndexSpec(
    model="m", model_fingerprint="f1", dimension=4, chunk_tokens=100, overlap_tokens=10
)


def build(root: Path, texts: list[str], spec: IndexSpec = SPEC) -> Path:
    chunks = [
        Chunk("a.txt", "A", "", text, "line", i + 1, i + 1, i) for i, text in enumerate(texts)
    ]
    vectors = np.eye(4, dtype=np.float32)[: len(texts)]
    manifest = Manifest(spec, 1, len(chunks), "flat", "2026-01-01T00:00:00+00:00")
    return write_generation(
        root, manifest, [IndexedDocument("a.txt", "A", "h", len(chunks))], chunks, vectors
    )


def test_write_index_round_trips_chunks_vectors_and_terms(tmp_path: Path) -> None:
    build(tmp_path, ["alpha beta", "gamma delta", "beta gamma"])
    index = StoredIndex.open(tmp_path, expect=SPEC)
    assert index.chunk_count == 3
    assert index.chunks([1])[1].text == "gamma delta"
    assert index.search_dense(np.array([0, 1, 0, 0], dtype=np.float32), 1) == [(1, 1.0)]
    assert [chunk_id for chunk_id, _ in index.search_lexical(["beta"], 5)] in ([0, 2], [2, 0])
    assert index.document_frequencies(["gamma", "zeta"]) == {"gamma": 2, "zeta": 0}
    index.close()


def test_which_lines_are_code_is_stored_with_a_chunk_and_checked(tmp_path: Path) -> None:
    chunk = Chunk("a.txt", "A", "", "Enter it:\ncd trunk", "line", 1, 2, 0, "", ("cd trunk",))
    manifest = Manifest(SPEC, 1, 1, "flat", "2026-01-01T00:00:00+00:00")
    vectors = np.eye(4, dtype=np.float32)[:1]
    write_generation(tmp_path, manifest, [IndexedDocument("a.txt", "A", "h", 1)], [chunk], vectors)
    index = StoredIndex.open(tmp_path, expect=SPEC)
    assert index.chunks([0])[0] == chunk
    assert index.chunk_run(0, 1) == [chunk]
    index.close()


def test_term_counts_are_stored_and_older_indexes_still_count(tmp_path: Path) -> None:
    import sqlite3

    folder = build(tmp_path, ["alpha beta", "gamma delta", "beta gamma", "beta"])
    index = StoredIndex.open(tmp_path)
    counted = index.document_frequencies(["beta", "gamma", "zeta"])
    index.close()
    assert counted == {"beta": 3, "gamma": 2, "zeta": 0}
    # An index written before term_counts existed answers the same from the FTS vocabulary.
    with sqlite3.connect(folder / store.CHUNKS) as connection:
        connection.execute("DROP TABLE term_counts")
    connection.close()
    index = StoredIndex.open(tmp_path)
    assert index.document_frequencies(["beta", "gamma", "zeta"]) == counted
    index.close()


def test_open_without_index_names_the_command(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError, match="citebot ingest"):
        StoredIndex.open(tmp_path / "nothing")


def test_open_refuses_index_built_with_another_model(tmp_path: Path) -> None:
    build(tmp_path, ["alpha"])
    other = IndexSpec(
        model="other", model_fingerprint="f2", dimension=4, chunk_tokens=100, overlap_tokens=10
    )
    with pytest.raises(IndexMismatchError, match=r"model m \(f1\).*run `citebot ingest`"):
        StoredIndex.open(tmp_path, expect=other)


def test_open_refuses_other_chunking(tmp_path: Path) -> None:
    build(tmp_path, ["alpha"])
    other = IndexSpec(
        model="m", model_fingerprint="f1", dimension=4, chunk_tokens=50, overlap_tokens=10
    )
    with pytest.raises(IndexMismatchError, match="chunk size 100"):
        StoredIndex.open(tmp_path, expect=other)


def test_crash_while_writing_leaves_previous_index_loadable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(tmp_path, ["first version"])

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(store.faiss, "write_index", crash)
    with pytest.raises(IndexWriteError, match=r"could not write the new index .*\(disk full\)"):
        build(tmp_path, ["second version"])
    index = StoredIndex.open(tmp_path, expect=SPEC)
    assert index.chunks([0])[0].text == "first version"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_write_index_keeps_only_the_live_generation(tmp_path: Path) -> None:
    build(tmp_path, ["one"])
    live = build(tmp_path, ["two"])
    assert live_generation(tmp_path) == live
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("gen-")] == [live.name]


def test_truncated_vectors_file_is_reported_with_the_fix(tmp_path: Path) -> None:
    live = build(tmp_path, ["alpha", "beta"])
    vectors = live / store.VECTORS
    vectors.write_bytes(vectors.read_bytes()[:40])
    with pytest.raises(IndexCorruptError, match="citebot ingest --rebuild"):
        StoredIndex.open(tmp_path)


def test_corrupt_chunk_database_is_reported_with_the_fix(tmp_path: Path) -> None:
    live = build(tmp_path, ["alpha", "beta"])
    (live / store.CHUNKS).write_bytes(b"not a database at all" * 100)
    with pytest.raises(IndexCorruptError, match="citebot ingest --rebuild"):
        StoredIndex.open(tmp_path)


def test_vectors_and_chunks_disagreeing_is_reported(tmp_path: Path) -> None:
    live = build(tmp_path, ["alpha", "beta"])
    index = faiss.IndexFlatIP(4)
    index.add(np.eye(4, dtype=np.float32)[:1])
    faiss.write_index(index, str(live / store.VECTORS))
    with pytest.raises(IndexCorruptError, match="1 vectors for 2 chunks"):
        StoredIndex.open(tmp_path)


def test_unreadable_manifest_is_reported(tmp_path: Path) -> None:
    live = build(tmp_path, ["alpha"])
    (live / store.MANIFEST).write_text("{not json")
    with pytest.raises(IndexCorruptError, match="manifest"):
        StoredIndex.open(tmp_path)


def test_ivf_sq8_index_finds_what_exact_search_finds(tmp_path: Path) -> None:
    from index.vectors import IVF_SQ8, build_vector_index

    rng = np.random.default_rng(7)
    centres = rng.normal(size=(50, 32)).astype(np.float32)
    vectors = centres[rng.integers(0, 50, 20_000)] + 0.3 * rng.normal(size=(20_000, 32))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    exact = faiss.IndexFlatIP(32)
    exact.add(vectors)
    approximate, params = build_vector_index(vectors, IVF_SQ8)
    queries = vectors[rng.integers(0, 20_000, 200)] + 0.05
    _, truth = exact.search(queries, 10)
    _, found = approximate.search(queries, 10)
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
    assert recall >= 0.95, (recall, params)
    assert np.allclose(approximate.reconstruct(5), vectors[5], atol=0.02)


def test_ivf_sq8_round_trips_through_the_store(tmp_path: Path) -> None:
    texts = [f"chunk number {i} about topic {i % 17}" for i in range(800)]
    rng = np.random.default_rng(3)
    vectors = rng.normal(size=(800, 4)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    chunks = [Chunk("a.txt", "A", "", t, "line", i + 1, i + 1, i) for i, t in enumerate(texts)]
    manifest = Manifest(SPEC, 1, 800, "ivf-sq8", "2026-01-01T00:00:00+00:00")
    write_generation(tmp_path, manifest, [IndexedDocument("a.txt", "A", "h", 800)], chunks, vectors)
    index = StoredIndex.open(tmp_path, expect=SPEC)
    assert index.manifest.index_type == "ivf-sq8"
    assert index.manifest.index_params["nprobe"] >= 8
    best, score = index.search_dense(vectors[42], 1)[0]
    assert best == 42 and score > 0.95
    assert index.vectors(0, 800).shape == (800, 4)
    index.close()


def test_selective_terms_drop_only_common_terms_of_large_corpora() -> None:
    from index.search import selective_terms

    assert sorted(selective_terms({"crux": 3, "sb": 46, "ai": 100}, 103)) == ["ai", "crux", "sb"]
    frequencies = {"crux": 40, "policy": 4_000, "ai": 90_000}
    assert sorted(selective_terms(frequencies, 1_000_000)) == ["crux", "policy"]
    assert selective_terms({"ai": 600_000}, 1_000_000) == []
    # The rarest terms come first and fill the postings budget; the rest go to dense search.
    budgeted = {"a": 4_900, "b": 4_000, "c": 3_000, "d": 20}
    assert sorted(selective_terms(budgeted, 1_000_000)) == ["b", "c", "d"]
    crowded = {f"t{n}": 900 for n in range(23)}  # 20,700 postings, over the budget
    assert len(selective_terms(crowded, 1000)) == 23  # small corpora keep every term
    # A real manual's size: every term but those in more than half the chunks ("git").
    manual = {"git": 6_000, "commit": 3_500, "table": 1_200, "rerere": 12}
    assert sorted(selective_terms(manual, 9_000)) == ["commit", "rerere", "table"]
