"""Incremental ingest with the fake embedder: only changes are embedded, failures lose nothing."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.embedder import Vectors
from index.errors import SourcesError
from index.generations import live_generation
from index.store import StoredIndex
from ingest.pipeline import IngestPlan, IngestReport, ingest
from ingest.writing import ALIGNMENT_SAMPLE, EMBED_BATCH
from tests.fakes import HashingEmbedder
from tests.harness import run_python


def write_notes(corpus: Path, count: int, sentences: int) -> None:
    """Write count small text files of numbered sentences into corpus (made if missing)."""
    corpus.mkdir(exist_ok=True)
    for n in range(count):
        (corpus / f"note{n:03d}.txt").write_text(
            f"Note {n}\n\n" + " ".join(f"Sentence {i} of note {n}." for i in range(sentences))
        )


def run(
    corpus: Path, index_dir: Path, embedder: HashingEmbedder, **options: object
) -> IngestReport:
    plan = IngestPlan("fake", "fake-1", lambda: embedder, 80, 10, 10_000_000)
    return ingest([corpus], index_dir, dataclasses.replace(plan, **options))  # type: ignore[arg-type]


def test_ingest_first_run_adds_every_document(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    report = run(corpus, tmp_path / "index", fake_embedder)
    assert (report.added, report.updated, report.removed, report.unchanged) == (5, 0, 0, 0)
    assert report.chunks_embedded == report.chunk_count > 0
    index = StoredIndex.open(tmp_path / "index")
    summaries = {s: r.summary for s, (r, _) in index.documents().items() if r.summary}
    assert summaries  # the seed documents open with a title line
    # Every chunk and summary line once, and a sample again to check each vector is its chunk's.
    assert fake_embedder.embedded == report.chunks_embedded + len(summaries) + ALIGNMENT_SAMPLE
    assert "5 added" in report.summary()
    assert_summary_vectors(index, fake_embedder, summaries)
    index.close()


def assert_summary_vectors(
    index: StoredIndex, embedder: HashingEmbedder, summaries: dict[str, str]
) -> None:
    """Each document's stored summary vector is its own summary line's embedding."""
    stored = index.summary_vectors(summaries)
    assert stored.keys() == summaries.keys()
    for source, line in summaries.items():
        np.testing.assert_allclose(stored[source], embedder.embed_batch([line])[0], atol=1e-6)


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
        IngestPlan("fake", "fake-1", counting_loader, 80, 10, 10_000_000),
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
    assert report.chunks_embedded == record.chunk_count
    assert fake_embedder.embedded == record.chunk_count + min(record.chunk_count, ALIGNMENT_SAMPLE)
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
    summaries = {s: r.summary for s, (r, _) in index.documents().items() if r.summary}
    assert any(source.endswith("sub/moved.txt") for source in summaries)
    assert_summary_vectors(index, fake_embedder, summaries)  # carried over under the new name
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
        IngestPlan("fake", "fake-1", lambda: fake_embedder, 60, 10, 10_000_000),
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


def test_ingest_failing_after_part_was_written_removes_it_and_keeps_the_previous_index(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "first.txt").write_text("First\n\nThe first note says little.\n")
    run(corpus, tmp_path / "index", fake_embedder)
    live = live_generation(tmp_path / "index")
    write_notes(corpus, 150, 80)  # chunks for several batches: some written before it fails

    staged: list[int] = []

    class ExplodingLater(HashingEmbedder):
        def embed_batch(self, texts):  # type: ignore[no-untyped-def]
            if self.embedded >= 2 * EMBED_BATCH:
                folders = (tmp_path / "index").glob(".tmp-gen-*")
                staged.extend(len(list(folder.iterdir())) for folder in folders)
                raise RuntimeError("out of memory")
            return super().embed_batch(texts)

    with pytest.raises(RuntimeError):
        run(corpus, tmp_path / "index", ExplodingLater())
    assert staged and staged[0] > 0  # part of the new generation was on disk when it failed
    assert live_generation(tmp_path / "index") == live
    assert not [p for p in (tmp_path / "index").iterdir() if p.name.startswith(".tmp-")]
    index = StoredIndex.open(tmp_path / "index")
    assert set(index.documents()) == {"corpus/first.txt"}
    index.close()


def test_ingest_progress_counts_the_changed_files_bytes_up_to_their_total(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    corpus = tmp_path / "corpus"
    write_notes(corpus, 30, 150)
    (corpus / "broken.txt").write_bytes(b"\x00\x01binary" * 100)  # skipped, but read
    seen: list[tuple[int, int]] = []
    report = ingest(
        [corpus],
        tmp_path / "index",
        IngestPlan("fake", "fake-1", lambda: fake_embedder, 80, 10, 10**7),
        progress=lambda done, total: seen.append((done, total)),
    )
    assert report.skipped and report.chunk_count > EMBED_BATCH
    total = sum(path.stat().st_size for path in corpus.iterdir())
    assert {t for _, t in seen} == {total}
    done = [d for d, _ in seen]
    assert done == sorted(done) and done[-1] == total
    assert len(set(done)) > 3  # it moves during the ingest, not only at the end


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


def stored_vectors_match_their_chunks(index_dir: Path, embedder: HashingEmbedder) -> bool:
    """Tell whether every stored vector is the embedding of the chunk with its id."""
    index = StoredIndex.open(index_dir)
    try:
        chunks = index.chunks(range(index.chunk_count))
        expected = embedder.embed_batch([chunks[i].embedding_text() for i in sorted(chunks)])
        stored = index.vectors(0, index.chunk_count)
        return bool(np.allclose(stored, expected, atol=1e-5))
    finally:
        index.close()


def test_ingest_vectors_belong_to_their_chunks_when_a_file_and_folder_share_a_stem(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    # Path order puts faq/ before faq.md; name order puts "faq.md" before "faq/...".
    corpus = tmp_path / "docs"
    (corpus / "faq").mkdir(parents=True)
    (corpus / "faq.md").write_text("# Billing\n\nInvoices are sent on the first Monday.\n")
    (corpus / "faq" / "a.md").write_text("# Ovens\n\nThe oven preheats in nine minutes.\n")
    (corpus / "faq" / "b.md").write_text("# Llamas\n\nLlamas are fed hay twice a day.\n")
    run(corpus, tmp_path / "index", fake_embedder)
    assert stored_vectors_match_their_chunks(tmp_path / "index", fake_embedder)


names = st.sampled_from(["faq", "faq.md", "a", "a.md", "a-b.txt", "a_b", "z.txt", "FAQ.md"])
trees = st.lists(st.lists(names, min_size=1, max_size=3), min_size=1, max_size=8)


@given(trees)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_ingest_vectors_belong_to_their_chunks_in_any_tree(
    tmp_path_factory: pytest.TempPathFactory, tree: list[list[str]]
) -> None:
    root = tmp_path_factory.mktemp("tree")
    corpus = root / "docs"
    corpus.mkdir()
    for number, parts in enumerate(tree):
        folder = corpus.joinpath(*parts[:-1]) if len(parts) > 1 else corpus
        name = parts[-1] if parts[-1].endswith((".md", ".txt")) else parts[-1] + ".md"
        path = folder / name
        if any(parent.is_file() for parent in path.parents) or path.is_dir():
            continue  # a file already holds a folder's name, or the other way round
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(f"Document number {number} talks about topic{number} and word{number}.\n")
    embedder = HashingEmbedder()
    run(corpus, root / "index", embedder)
    assert stored_vectors_match_their_chunks(root / "index", embedder)
    # An incremental ingest that changes one file and keeps the rest must stay aligned too.
    for path in [p for p in sorted(corpus.rglob("*.md")) if p.is_file()][:1]:
        path.write_text(path.read_text() + "A later note on giraffes.\n")
    run(corpus, root / "index", embedder)
    assert stored_vectors_match_their_chunks(root / "index", embedder)


def test_ingest_skips_links_that_leave_the_sources_folder(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    secret = tmp_path / ".env"
    secret.write_text("SLACK_BOT_TOKEN=xoxb-secret-token-value\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.txt").write_text("The launch code is swordfish and nobody may know it.\n")
    (corpus / "env.txt").symlink_to(secret)
    (corpus / "linked").symlink_to(outside, target_is_directory=True)
    (corpus / "inside.txt").symlink_to(corpus / "004_5ce1db5897da7ab0.txt")
    report = run(corpus, tmp_path / "index", fake_embedder)
    index = StoredIndex.open(tmp_path / "index")
    texts = " ".join(chunk.text for chunk in index.chunks(range(index.chunk_count)).values())
    sources = set(index.documents())
    index.close()
    assert "xoxb" not in texts and "swordfish" not in texts
    assert not any("env.txt" in source or "linked" in source for source in sources)
    outside_warnings = [w for w in report.warnings if "links outside" in w]
    assert len(outside_warnings) == 2, report.warnings


def test_ingest_skips_hidden_files(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    (corpus / ".env.txt").write_text("CITEBOT_SLACK__BOT_TOKEN=xoxb-hidden\n")
    (corpus / ".notes").mkdir()
    (corpus / ".notes" / "a.md").write_text("Hidden folder text about xoxb tokens.\n")
    run(corpus, tmp_path / "index", fake_embedder)
    index = StoredIndex.open(tmp_path / "index")
    texts = " ".join(chunk.text for chunk in index.chunks(range(index.chunk_count)).values())
    index.close()
    assert "xoxb" not in texts


def _pdf_with_a_decompression_bomb(path: Path) -> None:
    """Write a small PDF whose font map inflates past pypdf's decompression limit."""
    import zlib

    import pypdf.filters
    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, StreamObject

    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    bomb = StreamObject()
    bomb._data = zlib.compress(b" " * (pypdf.filters.ZLIB_MAX_OUTPUT_LENGTH + 1), 9)
    bomb[NameObject("/Filter")] = NameObject("/FlateDecode")
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
            NameObject("/ToUnicode"): writer._add_object(bomb),
        }
    )
    fonts = DictionaryObject({NameObject("/F1"): writer._add_object(font)})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
    content = StreamObject()
    content._data = b"BT /F1 12 Tf 10 10 Td (hello) Tj ET"
    page[NameObject("/Contents")] = writer._add_object(content)
    with path.open("wb") as out:
        writer.write(out)


def test_ingest_skips_hostile_files_and_ingests_the_rest(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    _pdf_with_a_decompression_bomb(corpus / "bomb.pdf")
    # AES-256 with an empty user password: readable only with the optional cryptography package.
    shutil.copyfile(Path(__file__).parent / "data" / "aes-encrypted.pdf", corpus / "aes.pdf")
    (corpus / os.fsdecode(b"caf\xe9.txt")).write_text("Latin-1 named file about ferries.\n")
    (corpus / os.fsdecode(b"old\xff")).mkdir()
    (corpus / os.fsdecode(b"old\xff") / "inside.txt").write_text("Inside a badly named folder.\n")
    (tmp_path / "secret.txt").write_text("The vault code is 4711.\n")
    (corpus / "vault.txt").symlink_to(tmp_path / "secret.txt")
    # Pathological but readable: ingested, in linear time, in bounded chunks.
    (corpus / "dots.txt").write_text("Dots\n\n" + "." * 200_000 + "\n")
    (corpus / "stray.html").write_text("<title>Stray</title>" + "<p>word</b>" * 20_000)
    (corpus / "huge.txt").write_text("Huge\n\n" + " ".join(["x" * 1_000_000] * 3) + "\n")
    report = run(corpus, tmp_path / "index", fake_embedder)
    assert report.added == 8  # every good file
    reasons = "\n".join(report.skipped)
    assert "bomb.pdf: the PDF expands past the decompression limit" in reasons
    assert "aes.pdf: the PDF is encrypted (AES)" in reasons
    names = [w for w in report.warnings if "not valid UTF-8" in w]
    assert any("caf\\xe9.txt" in w for w in names) and any("old\\xff" in w for w in names)
    assert any("vault.txt: it links outside" in w for w in report.warnings)
    index = StoredIndex.open(tmp_path / "index")
    assert len(index.documents()) == 8
    chunks = index.chunks(range(index.chunk_count)).values()
    assert not any("4711" in chunk.text for chunk in chunks)
    assert max(len(chunk.text) for chunk in chunks) <= 80 * 12  # chunk_tokens 80 here
    index.close()


def test_ingest_turns_any_loader_failure_into_a_skipped_file(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.loaders import load_document as real_load

    def load_document(path: Path, source: str, *, max_bytes: int) -> object:
        if path.name.startswith("001"):  # stands in for a parser bug nobody has met yet
            raise RecursionError("maximum recursion depth exceeded")
        return real_load(path, source, max_bytes=max_bytes)

    monkeypatch.setattr("ingest.pipeline.load_document", load_document)
    report = run(corpus, tmp_path / "index", fake_embedder)
    assert report.added == 4
    assert len(report.skipped) == 1
    assert "it could not be read (RecursionError: maximum recursion depth" in report.skipped[0]


def test_sources_are_named_from_their_folder_never_the_server_path(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    folder = tmp_path / "srv" / "app" / "handbook"
    (folder / "guides").mkdir(parents=True)
    (folder / "guides" / "intro.md").write_text("# Intro\n\nThe office opens at nine.\n")
    (folder / "faq.txt").write_text("FAQ\n\nParking is behind the building.\n")
    run(folder.absolute(), tmp_path / "index", fake_embedder)
    index = StoredIndex.open(tmp_path / "index")
    names = set(index.documents())
    chunk_sources = {chunk.source for chunk in index.chunks(range(index.chunk_count)).values()}
    index.close()
    assert names == chunk_sources == {"handbook/guides/intro.md", "handbook/faq.txt"}


def test_two_folders_that_would_cite_the_same_name_are_refused(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    for team in ("a", "b"):
        (tmp_path / team / "docs").mkdir(parents=True)
        (tmp_path / team / "docs" / "readme.txt").write_text(f"Team {team}\n\nNotes of {team}.\n")
    with pytest.raises(SourcesError, match=r"would both be cited as docs/readme\.txt"):
        ingest(
            [tmp_path / "a" / "docs", tmp_path / "b" / "docs"],
            tmp_path / "index",
            IngestPlan("fake", "fake-1", lambda: fake_embedder, 80, 10, 10_000_000),
        )
    assert not (tmp_path / "index").exists() or live_generation(tmp_path / "index") is None


def test_an_unchanged_ingest_removes_what_a_killed_one_left(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    run(corpus, tmp_path / "index", fake_embedder)
    leftover = tmp_path / "index" / ".tmp-gen-20260101T000000-deadbeef"
    leftover.mkdir()
    (leftover / "chunks.sqlite").write_bytes(b"half written")
    report = run(corpus, tmp_path / "index", fake_embedder)
    assert report.chunks_embedded == 0  # nothing changed, nothing written
    assert not leftover.exists()


def test_a_file_unreadable_for_one_ingest_keeps_its_previous_version(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(corpus, tmp_path / "index", fake_embedder)
    victim = sorted(corpus.iterdir())[0]
    (corpus / "new.txt").write_text("New notes\n\nThe harbour opens at dawn.\n")
    if os.geteuid() != 0:
        victim.chmod(0)
    else:  # root reads any file: stand in for the OS refusing this one
        from ingest.pipeline import hash_file as real_hash

        monkeypatch.setattr(
            "ingest.pipeline.hash_file", lambda path: "" if path == victim else real_hash(path)
        )
    try:
        report = run(corpus, tmp_path / "index", fake_embedder)
    finally:
        victim.chmod(0o644)
    assert report.added == 1 and report.removed == 0
    assert any("cannot be read now; kept the version indexed before" in w for w in report.warnings)
    index = StoredIndex.open(tmp_path / "index")
    assert any(source.endswith(victim.name) for source in index.documents())
    index.close()


def test_a_file_over_its_time_budget_is_skipped_and_the_rest_ingested(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from ingest.loaders import load_document as real_load

    def load_document(path: Path, source: str, *, max_bytes: int) -> object:
        if path.name.startswith("002"):  # stands in for a parser stuck on a hostile file
            time.sleep(30)
        return real_load(path, source, max_bytes=max_bytes)

    monkeypatch.setattr("ingest.pipeline.load_document", load_document)
    report = run(corpus, tmp_path / "index", fake_embedder, file_seconds=0.5)
    assert report.added == 4  # without the budget the stuck file would load, late, and count
    assert len(report.skipped) == 1 and "reading it took over 0.5 s" in report.skipped[0]


def test_the_time_budget_holds_when_ingest_runs_on_a_worker_thread(
    corpus: Path, tmp_path: Path, fake_embedder: HashingEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import concurrent.futures
    import time

    from ingest.loaders import load_document as real_load

    def load_document(path: Path, source: str, *, max_bytes: int) -> object:
        if path.name.startswith("002"):  # a parser looping on a hostile file, in Python
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                pass
        return real_load(path, source, max_bytes=max_bytes)

    monkeypatch.setattr("ingest.pipeline.load_document", load_document)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(1) as worker:  # signals never reach it
        report = worker.submit(
            run, corpus, tmp_path / "index", fake_embedder, file_seconds=0.5
        ).result()
        # The worker goes on to other work; no late exception may surface there.
        assert worker.submit(lambda: sum(range(10**6))).result() == sum(range(10**6))
    assert time.monotonic() - started < 20
    assert report.added == 4
    assert len(report.skipped) == 1 and "reading it took over 0.5 s" in report.skipped[0]


class _WorkerPoolEmbedder(HashingEmbedder):
    """A fake that, like the Ray embedder, needs many texts a call to keep its workers busy."""

    texts_per_call = 2 * EMBED_BATCH

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        """Record each call's size, then embed."""
        self.calls.append(len(texts))
        return super().embed_batch(texts)


def test_an_embedder_with_workers_is_handed_enough_texts_to_keep_them_busy(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "corpus"
    write_notes(corpus, 120, 60)
    embedder = _WorkerPoolEmbedder()
    report = ingest(
        [corpus], tmp_path / "index", IngestPlan("fake", "fake-1", lambda: embedder, 40, 5, 10**7)
    )
    assert report.chunk_count > 2 * _WorkerPoolEmbedder.texts_per_call
    # Two shards' worth a call, not one batch: the first calls carry all of them.
    assert max(embedder.calls) == _WorkerPoolEmbedder.texts_per_call


# Ingest a corpus of 40 KB text files with the fake embedder; print the corpus's size and the
# peak memory the ingest took beyond what the process held before (Linux's high-water mark,
# reset by clear_refs).
_INGEST_MEMORY = """
import random, sys
from pathlib import Path
from ingest.pipeline import IngestPlan, ingest
from tests.fakes import HashingEmbedder
from tests.harness import run_python

root, count = Path(sys.argv[1]), int(sys.argv[2])
corpus = root / "corpus"
corpus.mkdir(parents=True)
words = "the commit branch merge rebase index table column migration query field".split()
rng = random.Random(7)
total = 0
for n in range(count):
    parts, size = [], 0
    while size < 40_000:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(6, 30)))
        parts.append(sentence.capitalize() + ". ")
        size += len(parts[-1])
    (corpus / f"doc{n:04d}.txt").write_text("".join(parts))
    total += size

def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024

Path("/proc/self/clear_refs").write_text("5")
before = status("VmRSS:")
plan = IngestPlan("fake", "fake-1", HashingEmbedder, 2000, 100, 10**8)
report = ingest([corpus], root / "index", plan)
assert report.chunk_count > count
print(total, status("VmHWM:") - before)
"""


@pytest.mark.subprocess
def test_ingest_memory_stays_flat_as_the_corpus_grows(tmp_path: Path) -> None:
    small_size, small_peak = map(
        int, run_python(_INGEST_MEMORY, str(tmp_path / "small"), "100", timeout=300).split()
    )
    large_size, large_peak = map(
        int, run_python(_INGEST_MEMORY, str(tmp_path / "large"), "400", timeout=300).split()
    )
    # Documents go through in batches of chunks: 12 MB more text should cost little more than
    # the vector index's own share. Holding the corpus (as ingest once did) cost 3.4x its size.
    grew = large_peak - small_peak
    assert grew < 0.25 * (large_size - small_size), (
        f"peak memory grew {grew / 1e6:.1f} MB for {(large_size - small_size) / 1e6:.1f} MB "
        "more text"
    )
