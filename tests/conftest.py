"""Shared fixtures: a clean environment, the fake embedder, and the real model and index."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import HashingEmbedder
from tests.harness import DEV_SET, SOURCES

# The one setting a whole run may force (`CITEBOT_EMBEDDING__PRECISION=int8 scripts/test`);
# every other CITEBOT_* variable is cleared. Unforced, every test of the real model runs at both
# precisions a CPU can pick ("auto" is int8 with VNNI, float32 without), so the suite's verdict
# never depends on the CPU it runs on: int8 here is this CPU's int8 path (8-bit weights with
# VNNI, 7-bit without).
FORCED_PRECISION = os.environ.get("CITEBOT_EMBEDDING__PRECISION")
MODEL_PRECISIONS = (FORCED_PRECISION,) if FORCED_PRECISION else ("float32", "int8")


@pytest.fixture(scope="session", params=MODEL_PRECISIONS)
def precision(request: pytest.FixtureRequest) -> str:
    """The embedding precision a model-backed test runs at: each of them in turn."""
    return str(request.param)


@pytest.fixture(autouse=True)
def clean_environment(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Drop CITEBOT_* and proxy variables and run each test in its own folder (no stray .env).

    A model-backed test also gets its precision in the environment, so the settings it builds
    and the citebot processes it starts use it too.
    """
    for name in list(os.environ):
        if name.startswith("CITEBOT_") or name.lower() in {"http_proxy", "https_proxy"}:
            monkeypatch.delenv(name, raising=False)
    if "precision" in request.fixturenames:
        monkeypatch.setenv("CITEBOT_EMBEDDING__PRECISION", request.getfixturevalue("precision"))
    elif FORCED_PRECISION:
        monkeypatch.setenv("CITEBOT_EMBEDDING__PRECISION", FORCED_PRECISION)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def fake_embedder() -> HashingEmbedder:
    """Return a fresh deterministic embedder."""
    return HashingEmbedder()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """Copy the default corpus into a scratch folder."""
    target = tmp_path / "corpus"
    shutil.copytree(SOURCES, target)
    return target


@pytest.fixture(scope="session")
def dev_set() -> Path:
    """Return the dev question file kept in tests/data."""
    return DEV_SET


@pytest.fixture(scope="session")
def real_embedder(precision: str):  # type: ignore[no-untyped-def]
    """Load the bundled all-MiniLM-L6-v2 once per session and precision."""
    from bot.core.engine import load_embedder
    from bot.settings import Settings

    return load_embedder(Settings(embedding={"precision": precision}))


@pytest.fixture(scope="session")
def real_index_dir(tmp_path_factory: pytest.TempPathFactory, real_embedder) -> Path:  # type: ignore[no-untyped-def]
    """Build the real index of sources/ with the real model, once per session."""
    from bot.core.engine import run_ingest
    from bot.settings import Settings

    index_dir = tmp_path_factory.mktemp("real") / "index"
    settings = Settings(sources=SOURCES, index_dir=index_dir)
    run_ingest(settings, embedder=real_embedder)
    return index_dir


@pytest.fixture(scope="session")
def real_bot(real_index_dir: Path, real_embedder) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A Citebot over the real corpus with the real model."""
    from bot.core.engine import Citebot
    from bot.settings import Settings

    bot = Citebot.load(Settings(sources=SOURCES, index_dir=real_index_dir), embedder=real_embedder)
    yield bot
    bot.close()


_MODEL_FIXTURES = {"real_embedder", "real_index_dir", "real_bot"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark tests by what they use, so `-m "not slow"` is the fast tier."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if _MODEL_FIXTURES & fixtures:
            item.add_marker(pytest.mark.model)
        marker = item.get_closest_marker("model")
        if marker and "precision" not in fixtures and not marker.kwargs.get("any_precision"):
            raise pytest.UsageError(
                f"{item.nodeid} uses the real model: take the `precision` fixture so it runs at "
                "both precisions, or mark it model(any_precision=True) if it sets its own"
            )
        if item.get_closest_marker("model") or item.get_closest_marker("subprocess"):
            item.add_marker(pytest.mark.slow)
