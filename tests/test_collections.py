"""Several document collections in one process: routed per channel, one model, one CLI flag."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.cli import main
from bot.core.chat import Chat, Place
from bot.core.engine import Citebot, load_collections, run_ingest
from bot.core.guard import RateLimiter
from bot.settings import Settings
from tests.fake_slack import FakeSlack
from tests.harness import SOURCES
from tests.slack_harness import HttpBot, make_slack, slack_settings

QUESTION = "How many days of paid leave do employees get each year?"
HANDBOOK = (
    "# Leave policy\n\nEvery employee gets 30 days of paid leave each year, taken in agreement "
    "with their team. Unused days carry over to the next year, up to ten of them.\n"
)


def routing(**settings: object) -> Chat:
    configured = Settings(**settings)  # type: ignore[arg-type]
    return Chat(None, configured, None, RateLimiter(1))  # type: ignore[arg-type]


def test_the_most_specific_place_routed_picks_the_collection() -> None:
    declared = {"handbook": {"sources": "hb"}, "docs": {"sources": "docs"}}
    slack = routing(collections=declared, slack={"collections": {"C2": "handbook"}})
    assert slack.collection(Place("slack", "C2")) == "handbook"
    assert slack.collection(Place("slack", "C1")) == "default"
    discord = routing(
        collections=declared, discord={"collections": {7: "docs", 60: "handbook", 800: "docs"}}
    )
    assert discord.collection(Place("discord", "800", "7", parent="60")) == "docs"  # channel
    assert discord.collection(Place("discord", "801", "7", parent="60")) == "handbook"  # forum
    assert discord.collection(Place("discord", "802", "7")) == "docs"  # the server's
    assert discord.collection(Place("discord", "803", "8")) == "default"


def test_an_unknown_or_reserved_collection_name_is_refused_at_start_with_the_fix() -> None:
    with pytest.raises(ValidationError) as unknown:
        Settings(slack={"collections": {"C2": "handbok"}})
    assert "CITEBOT_SLACK__COLLECTIONS sends C2 to 'handbok'" in str(unknown.value)
    assert "declare it in CITEBOT_COLLECTIONS" in str(unknown.value)
    with pytest.raises(ValidationError) as reserved:
        Settings(collections={"default": {"sources": "x"}})
    assert "another name" in str(reserved.value)


@pytest.fixture
def handbook(tmp_path: Path) -> Path:
    folder = tmp_path / "handbook"
    folder.mkdir()
    (folder / "leave.md").write_text(HANDBOOK)
    return folder


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    server = FakeSlack()
    yield server
    server.stop()


def test_the_same_question_is_answered_from_each_channels_collection(
    fake: FakeSlack, tmp_path: Path, handbook: Path, real_bot: Citebot, real_embedder: object
) -> None:
    documents = {"handbook": {"sources": handbook}}
    settings = slack_settings(fake, tmp_path, documents=documents, collections={"C2": "handbook"})
    chosen = settings.for_collection("handbook")
    run_ingest(chosen, embedder=real_embedder)  # type: ignore[arg-type]
    handbook_bot = Citebot.load(chosen, embedder=real_embedder)  # type: ignore[arg-type]
    served = HttpBot(make_slack(real_bot, settings, collections={"handbook": handbook_bot}))
    try:
        served.slash(QUESTION, fake, channel="C1")  # #support: the default documents
        from_default = str(fake.wait_for("response_url")[0])
        served.slash(QUESTION, fake, channel="C2")  # #people-ops: the handbook
        from_handbook = str(fake.wait_for("response_url", 2)[1])
    finally:
        served.stop()
        handbook_bot.close()
    assert "30 days of paid leave" in from_handbook and "leave.md" in from_handbook
    assert "30 days of paid leave" not in from_default


def test_ask_and_ingest_take_a_collection_by_name(
    tmp_path: Path,
    handbook: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    precision: str,
) -> None:
    monkeypatch.setenv("CITEBOT_SOURCES", str(SOURCES))
    monkeypatch.setenv("CITEBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CITEBOT_COLLECTIONS", f'{{"handbook": {{"sources": "{handbook}"}}}}')
    assert main(["ingest", "--collection", "handbook"]) == 0
    assert (tmp_path / "data" / "collections" / "handbook" / "index" / "CURRENT").exists()
    capsys.readouterr()
    assert main(["ask", "--collection", "handbook", QUESTION]) == 0
    assert "30 days of paid leave" in capsys.readouterr().out
    assert main(["ask", "--collection", "handbok", QUESTION]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no collection 'handbok'") and "'handbook'" in err


def test_serving_loads_every_collection_with_the_one_model_building_what_is_missing(
    tmp_path: Path, handbook: Path, real_embedder: object
) -> None:
    settings = Settings(
        sources=SOURCES,
        data_dir=tmp_path / "data",
        collections={"handbook": {"sources": handbook}},
    )
    loaded = load_collections(settings, real_embedder)  # type: ignore[arg-type]
    try:
        assert list(loaded) == ["handbook"]
        assert "30 days of paid leave" in loaded["handbook"].answer(QUESTION).text
    finally:
        for bot in loaded.values():
            bot.close()
    again = load_collections(settings, real_embedder)  # type: ignore[arg-type]
    try:  # now built: loaded with the very model given, not a second one
        assert again["handbook"].embedder is real_embedder
    finally:
        again["handbook"].close()
