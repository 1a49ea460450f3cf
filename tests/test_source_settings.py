"""Sites and repositories as settings: citebot.toml, the environment over it, clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.cli import main
from bot.settings import Settings, duration_seconds
from bot.sources import remote_sources, source_roots
from index.errors import ConfigError

_TOML = """
[sites.docs]
start_url = "https://docs.example.com/guide/"
every = "30m"

[repos.handbook]
url = "https://github.com/acme/handbook"
paths = ["docs/**/*.md"]
"""


def test_settings_read_sources_from_citebot_toml_with_the_environment_winning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "citebot.toml").write_text(_TOML, encoding="utf-8")
    monkeypatch.setenv("CITEBOT_SITES__DOCS__MAX_PAGES", "7")
    monkeypatch.setenv("CITEBOT_REPOS__HANDBOOK__TOKEN", "ghp_secret")
    settings = Settings()
    site = settings.sites["docs"]
    assert site.start_url == "https://docs.example.com/guide/"
    assert site.every_seconds == 1800
    assert site.max_pages == 7  # the variable merged into the file's table
    repo = settings.repos["handbook"]
    assert repo.paths == ["docs/**/*.md"]
    assert repo.token is not None and repo.token.get_secret_value() == "ghp_secret"
    assert [(s.name, s.kind, s.every) for s in remote_sources(settings)] == [
        ("docs", "site", "30m"),
        ("handbook", "git", None),
    ]


def test_settings_file_named_by_citebot_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "conf" / "bot.toml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(_TOML, encoding="utf-8")
    monkeypatch.setenv("CITEBOT_CONFIG", str(elsewhere))
    assert set(Settings().sites) == {"docs"}


def test_settings_refuse_a_token_in_the_toml_file(tmp_path: Path) -> None:
    (tmp_path / "citebot.toml").write_text(
        '[repos.handbook]\nurl = "https://github.com/acme/handbook"\ntoken = "ghp_x"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"repos\.handbook\.token.*environment or \.env"):
        Settings()


def test_cli_names_a_broken_toml_file_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "citebot.toml").write_text("[sites.docs\n", encoding="utf-8")
    assert main(["doctor"]) == 1
    err = capsys.readouterr().err
    assert "citebot.toml is not valid TOML" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("sites", "message"),
    [
        ({"Docs Site": {"start_url": "https://x.org/"}}, "lowercase letters"),
        ({"sources": {"start_url": "https://x.org/"}}, "sources folder's name"),
        ({"docs": {}}, "start_url or sitemaps"),
        ({"docs": {"start_url": "https://x.org/", "every": "soon"}}, "not a duration"),
        ({"docs": {"start_url": "https://x.org/", "every": "0s"}}, "at least 1s"),
    ],
)
def test_settings_refuse_unusable_sources(sites: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Settings(sites=sites)


def test_settings_refuse_a_site_and_a_repository_of_one_name() -> None:
    with pytest.raises(ValidationError, match="two sources are named 'docs'"):
        Settings(
            sites={"docs": {"start_url": "https://x.org/"}},
            repos={"docs": {"url": "https://github.com/a/b"}},
        )


def test_duration_seconds_reads_units() -> None:
    assert [duration_seconds(v) for v in ("90", "90s", "30m", "2h", "1d", "1.5h")] == [
        90,
        90,
        1800,
        7200,
        86400,
        5400,
    ]


def test_source_roots_add_synced_mirrors_and_skip_a_missing_sources_folder(
    tmp_path: Path,
) -> None:
    settings = Settings(
        sources=tmp_path / "absent",
        data_dir=tmp_path / "data",
        sites={"docs": {"start_url": "https://x.org/"}},
        repos={"handbook": {"url": "https://github.com/a/b"}},
    )
    assert source_roots(settings) == [tmp_path / "absent"]  # nothing synced: ingest says why
    (tmp_path / "data" / "mirrors" / "docs").mkdir(parents=True)
    assert source_roots(settings) == [tmp_path / "data" / "mirrors" / "docs"]
    (tmp_path / "absent").mkdir()
    assert source_roots(settings) == [tmp_path / "absent", tmp_path / "data" / "mirrors" / "docs"]


def test_sync_without_declared_sources_says_how_to_declare_one(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sync"]) == 1
    assert "add a [sites.<name>] or [repos.<name>] table to citebot.toml" in capsys.readouterr().err


def test_collections_do_not_take_the_default_collections_sites(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        sites={"docs": {"start_url": "https://x.org/"}},
        collections={"handbook": {"sources": str(tmp_path / "handbook")}},
    )
    (tmp_path / "data" / "mirrors" / "docs").mkdir(parents=True)
    (tmp_path / "handbook").mkdir()
    handbook = settings.for_collection("handbook")
    assert handbook.sites == {} and handbook.repos == {}
    assert source_roots(handbook) == [tmp_path / "handbook"]
    assert source_roots(settings)[-1] == tmp_path / "data" / "mirrors" / "docs"
