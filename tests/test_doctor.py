"""`citebot doctor`: every problem found with its fix; secrets never shown."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.doctor import all_well, check_index, check_writer, run_checks
from bot.settings import Settings
from index.generations import live_generation
from index.manifest import FORMAT_VERSION
from tests.harness import SOURCES

TOKEN = "xoxb-doctor-secret-123456"


def by_name(settings: Settings) -> dict[str, tuple[str, str]]:
    return {c.name: (c.status, c.fix) for c in run_checks(settings)}


def test_doctor_all_well_with_index_and_tokens(real_index_dir: Path, tmp_path: Path) -> None:
    settings = Settings(
        sources=SOURCES,
        index_dir=real_index_dir,
        data_dir=tmp_path / "data",
        slack_bot_token=TOKEN,
        slack_app_token="xapp-1-abcdef",
    )
    checks = run_checks(settings)
    assert all_well(checks), checks
    assert {c.name for c in checks} >= {
        "model",
        "index",
        "index settings",
        "sources",
        "slack",
        "data folder",
    }


def test_doctor_missing_index_names_ingest(tmp_path: Path) -> None:
    found = by_name(Settings(sources=SOURCES, index_dir=tmp_path / "none"))
    assert found["index"] == ("problem", "run `citebot ingest`")


def test_doctor_notices_changed_sources(real_index_dir: Path, tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    shutil.copytree(SOURCES, sources)
    (sources / "new.md").write_text("# New\n\nA new document.\n")
    settings = Settings(sources=sources, index_dir=real_index_dir)
    status, fix = by_name(settings)["sources"]
    assert status == "warning" and fix == "run `citebot ingest`"


def test_doctor_notices_other_chunking(real_index_dir: Path) -> None:
    settings = Settings(sources=SOURCES, index_dir=real_index_dir, chunking={"chunk_tokens": 100})
    assert by_name(settings)["index settings"][0] == "problem"


def test_doctor_notices_other_precision(real_index_dir: Path, real_embedder) -> None:  # type: ignore[no-untyped-def]
    # Other than the one the index was built with (auto's, or the one a run forces).
    other = "float32" if real_embedder.precision != "float32" else "int8"
    settings = Settings(sources=SOURCES, index_dir=real_index_dir, embedding={"precision": other})
    status, fix = by_name(settings)["index settings"]
    assert (status, fix) == ("problem", "run `citebot ingest` to rebuild with the current settings")


def test_doctor_flags_bad_tokens_without_printing_them(
    real_index_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CITEBOT_INDEX_DIR", str(real_index_dir))
    monkeypatch.setenv("CITEBOT_SOURCES", str(SOURCES))
    monkeypatch.setenv("SLACK_BOT_TOKEN", "not-a-bot-token-secret")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "SLACK_BOT_TOKEN should start with xoxb-" in out
    assert "Socket Mode needs SLACK_APP_TOKEN" in out
    assert "not-a-bot-token-secret" not in out


def test_doctor_flags_unwritable_data_folder(real_index_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "data"
    blocker.write_text("a file where a folder should be")
    found = by_name(Settings(sources=SOURCES, index_dir=real_index_dir, data_dir=blocker))
    assert found["data folder"][0] == "problem"


@pytest.mark.model
def test_doctor_deep_finds_vectors_stored_against_the_wrong_chunks(
    real_index_dir: Path, tmp_path: Path
) -> None:
    import faiss
    import numpy as np

    from index.generations import live_generation
    from index.store import VECTORS

    copy = tmp_path / "index"
    shutil.copytree(real_index_dir, copy)
    settings = Settings(sources=SOURCES, index_dir=copy, data_dir=tmp_path / "data")
    deep = {c.name: c for c in run_checks(settings, deep=True)}
    assert deep["index vectors"].status == "ok", deep["index vectors"]
    assert deep["index integrity"].status == "ok"

    generation = live_generation(copy)
    assert generation is not None
    stored = faiss.read_index(str(generation / VECTORS))
    vectors = stored.reconstruct_n(0, stored.ntotal)
    shuffled = faiss.IndexFlatIP(vectors.shape[1])
    shuffled.add(np.roll(vectors, 1, axis=0))  # every vector one chunk off
    faiss.write_index(shuffled, str(generation / VECTORS))
    deep = {c.name: c for c in run_checks(settings, deep=True)}
    assert deep["index vectors"].status == "problem"
    assert "citebot ingest --rebuild" in deep["index vectors"].fix


def test_a_word_changed_inside_the_index_is_caught_and_not_copied_forward(
    real_index_dir: Path,
    real_embedder,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from bot.core.engine import run_ingest
    from index.chunk_store import CHUNKS
    from index.generations import live_generation
    from index.store import StoredIndex

    index_dir = tmp_path / "index"
    shutil.copytree(real_index_dir, index_dir)
    chunks = live_generation(index_dir) / CHUNKS  # type: ignore[operator]
    raw = chunks.read_bytes()
    assert raw.count(b"Yale University") >= 1
    chunks.write_bytes(raw.replace(b"Yale University", b"Evil University"))  # same length
    settings = Settings(sources=SOURCES, index_dir=index_dir, data_dir=tmp_path / "data")
    assert by_name(settings)["index files"] == ("problem", "run `citebot ingest --rebuild`")
    report = run_ingest(settings, embedder=real_embedder)  # an ordinary incremental ingest
    assert "changed since it was written" in report.rebuilt_because
    index = StoredIndex.open(index_dir)
    text = " ".join(c.text for c in index.chunks(range(index.chunk_count)).values())
    index.close()
    assert "Evil University" not in text and "Yale University" in text
    assert by_name(settings)["index files"][0] == "ok"


def test_doctor_notices_an_index_written_in_an_older_format(
    real_index_dir: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "index"
    shutil.copytree(real_index_dir, copy)
    manifest = live_generation(copy) / "manifest.json"  # type: ignore[operator]
    data = json.loads(manifest.read_text())
    data["spec"]["format_version"] -= 1
    manifest.write_text(json.dumps(data))
    settings = Settings(sources=SOURCES, index_dir=copy)
    checks = {check.name: check for check in check_index(settings)}
    assert checks["index settings"].status == "problem"
    assert f"index format {FORMAT_VERSION - 1} (settings want {FORMAT_VERSION})" in (
        checks["index settings"].detail
    )


@pytest.mark.parametrize(
    ("llm", "status", "words"),
    [
        ({"model": ""}, "problem", "without a model"),
        ({"model": "m", "base_url": "http://127.0.0.1:11434/v1"}, "ok", "unchecked sentences"),
        ({"model": "m", "base_url": "http://10.0.0.5:8000/v1"}, "ok", "10.0.0.5"),
        ({"model": "m", "base_url": "https://api.example.com/v1"}, "warning", "are sent there"),
    ],
)
def test_doctor_says_who_writes_and_where_passages_go(
    llm: dict[str, str], status: str, words: str
) -> None:
    check = check_writer(Settings(writer="llm", llm=llm))
    assert check.status == status and words in check.detail
    assert check_writer(Settings()).detail.startswith("extractive")


def test_doctor_deep_asks_the_writers_model_and_names_what_to_fix() -> None:
    from bot.doctor import check_writer_answers
    from tests.fake_llm import Scripted, running_fake_llm

    with running_fake_llm(Scripted("OK"), Scripted(status=401)) as fake:
        settings = Settings(writer="llm", llm={"base_url": fake.base_url, "model": "m"})
        answered = check_writer_answers(settings)
        refused = check_writer_answers(settings)
    assert answered.status == "ok" and answered.detail.startswith("m answered in")
    assert refused.status == "problem" and "AuthenticationError 401" in refused.detail
    assert "CITEBOT_LLM__API_KEY" in refused.fix
