"""Incremental ingest with the fake embedder: only changes are embedded, failures lose nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from index.errors import SourcesError
from index.store import StoredIndex, live_generation
from ingest.pipeline import IngestReport, ingest
from tests.fakes import HashingEmbedder


def run(
    corpus: Path, index_dir: Path, embedder: HashingEmbedder, **options: object
) -> IngestReport:
    return ingest(
        [corpus],
        index_dir,
        model="fake",
        fingerprint="fake-1",
        load_embedder=lambda: embedder,
        chunk_tokens=80,
        overlap_tokens=10,
        max_file_bytes=10_000_000,
        **options,  # type: ignore[arg-type]
    )


def test_ingest_first_run_adds_every_document(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    report = run(corpus, tmp_path / "index", fake_embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (5, 0, 0, 0)
    assert report.chunks_embedded == report.chunk_count == fake_embedder.embedded > 0
    assert "5 added" in report.summary()


def test_ingest_unchanged_corpus_embeds_nothing_and_writes_nothing(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    run(corpus, tmp_path / "index", fake_embedder)
    live = live_generation(tmp_path / "index")
    loads: list[int] = []

    def counting_loader() -> HashingEmbedder:
        loads.append(1)
        return fake_embedder

    report = ingest(
        [corpus],
        tmp_path / "index",
        model="fake",
        fingerprint="fake-1",
        load_embedder=counting_loader,
        chunk_tokens=80,
        overlap_tokens=10,
        max_file_bytes=10_000_000,
    )
    assert (report.added, report.updated, report.unchanged, report.chunks_embedded) == (0, 0, 5, 0)
    assert loads == []  # the model is not even loaded
    assert not report.wrote_index
    assert live_generation(tmp_path / "index") == live


def test_ingest_reembeds_only_the_changed_document(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    run(corpus, tmp_path / "index", fake_embedder)
    changed = corpus / "004_5ce1db5897da7ab0.txt"
    changed.write_text(changed.read_text() + "\nA new closing sentence about zebras.\n")
    fake_embedder.embedded = 0
    report = run(corpus, tmp_path / "index", fake_embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 0, 4)
    index = StoredIndex.open(tmp_path / "index")
    hits = index.search_lexical(["zebra"], 3)
    assert hits and "zebras" in index.chunks([hits[0][0]])[hits[0][0]].text
    ((record, _),) = [
        entry for source, entry in index.documents().items() if source.endswith(changed.name)
    ]
    assert report.chunks_embedded == fake_embedder.embedded == record.chunk_count
    index.close()


def test_ingest_removes_deleted_documents(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    run(corpus, tmp_path / "index", fake_embedder)
    (corpus / "000_ca3d6efa5a66f41a.txt").unlink()
    report = run(corpus, tmp_path / "index", fake_embedder)
    assert (report.removed, report.unchanged, report.chunks_embedded) == (1, 4, 0)
    index = StoredIndex.open(tmp_path / "index")
    assert len(index.documents()) == 4
    index.close()


def test_ingest_moved_document_reuses_its_vectors(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    run(corpus, tmp_path / "index", fake_embedder)
    (corpus / "sub").mkdir()
    shutil.move(corpus / "000_ca3d6efa5a66f41a.txt", corpus / "sub" / "moved.txt")
    fake_embedder.embedded = 0
    report = run(corpus, tmp_path / "index", fake_embedder)
    assert report.chunks_embedded == fake_embedder.embedded == 0
    index = StoredIndex.open(tmp_path / "index")
    assert any(source.endswith("sub/moved.txt") for source in index.documents())
    index.close()


def test_ingest_skips_broken_files_and_ingests_the_rest(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    (corpus / "empty.txt").write_text("")
    (corpus / "photo.txt").write_bytes(b"\x00\x01\x02binary" * 50)
    (corpus / "notes.xyz").write_text("ignored")
    (corpus / ".hidden.txt").write_text("hidden files are not documents")
    report = run(corpus, tmp_path / "index", fake_embedder)
    assert report.added == 5
    assert len(report.skipped) == 2
    assert any("empty.txt" in message for message in report.skipped)
    assert any("photo.txt" in message for message in report.skipped)
    assert any("notes.xyz" in message for message in report.warnings)


def test_ingest_with_nothing_ingestible_keeps_the_previous_index(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    run(corpus, tmp_path / "index", fake_embedder)
    live = live_generation(tmp_path / "index")
    for path in corpus.iterdir():
        path.write_bytes(b"")
    with pytest.raises(SourcesError, match="previous index was left"):
        run(corpus, tmp_path / "index", fake_embedder)
    assert live_generation(tmp_path / "index") == live
    assert StoredIndex.open(tmp_path / "index").chunk_count > 0


def test_ingest_missing_folder_says_what_to_pass(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    with pytest.raises(SourcesError, match="does not exist"):
        run(tmp_path / "nope", tmp_path / "index", fake_embedder)


def test_ingest_changed_chunk_size_rebuilds_everything(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    run(corpus, tmp_path / "index", fake_embedder)
    report = ingest(
        [corpus],
        tmp_path / "index",
        model="fake",
        fingerprint="fake-1",
        load_embedder=lambda: fake_embedder,
        chunk_tokens=60,
        overlap_tokens=10,
        max_file_bytes=10_000_000,
    )
    assert report.rebuilt_because.startswith("settings changed: chunk size")
    assert report.chunks_embedded == report.chunk_count


def test_ingest_failure_during_embedding_keeps_the_previous_index(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    run(corpus, tmp_path / "index", fake_embedder)
    live = live_generation(tmp_path / "index")
    (corpus / "new.md").write_text("# New\n\nSomething new to embed.\n")

    class Exploding(HashingEmbedder):
        def embed_batch(self, texts):  # type: ignore[no-untyped-def]
            raise RuntimeError("out of memory")

    with pytest.raises(RuntimeError):
        run(corpus, tmp_path / "index", Exploding())
    assert live_generation(tmp_path / "index") == live


def test_ingest_switches_to_ivf_above_the_threshold_and_back(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    run(corpus, tmp_path / "index", fake_embedder)
    assert StoredIndex.open(tmp_path / "index").manifest.index_type == "flat"
    fake_embedder.embedded = 0
    report = run(corpus, tmp_path / "index", fake_embedder, ann_threshold=50)
    assert report.wrote_index and report.chunks_embedded == fake_embedder.embedded == 0
    index = StoredIndex.open(tmp_path / "index")
    assert index.manifest.index_type == "ivf-sq8"
    assert index.manifest.index_params["nlist"] >= 1
    assert index.search_dense(fake_embedder.embed_batch(["AI Alliance"])[0], 3)
    index.close()
    run(corpus, tmp_path / "index", fake_embedder, index_type="flat")
    assert StoredIndex.open(tmp_path / "index").manifest.index_type == "flat"
