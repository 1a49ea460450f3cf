"""Sites and repositories from the settings: sync each into its mirror, and what ingest reads.

The wiring between Settings and ingest/sources (which take plain arguments): which sources are
declared, where each one's mirror lives, the folders an ingest reads (the sources folder and
every mirror synced so far) and the link each synced file's citations show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import (
    RepoSourceSettings,
    Settings,
    SiteSourceSettings,
    duration_seconds,
)
from ingest.sources.base import SyncReport
from ingest.sources.mirror import Mirror

if TYPE_CHECKING:  # httpx and dulwich load only when a sync runs: `citebot ask` stays quick
    from ingest.sources.git import RepoConfig
    from ingest.sources.site import SiteConfig

Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class RemoteSource:
    """A declared site or repository: its name, kind and schedule."""

    name: str
    kind: str  # "site" or "git"
    every: str | None  # as written ("30m"); None: synced only by `citebot sync`

    @property
    def every_seconds(self) -> float | None:
        """Return the schedule in seconds, or None."""
        return duration_seconds(self.every) if self.every else None


def remote_sources(settings: Settings) -> list[RemoteSource]:
    """Return every site and repository the settings declare, sites first, each by name."""
    sites = [RemoteSource(name, "site", site.every) for name, site in settings.sites.items()]
    repos = [RemoteSource(name, "git", repo.every) for name, repo in settings.repos.items()]
    return sorted(sites, key=lambda s: s.name) + sorted(repos, key=lambda s: s.name)


def mirror_folder(settings: Settings, name: str) -> Path:
    """Return the folder a source is synced into (its name starts the citations)."""
    return settings.mirrors_dir / name


def sync_source(settings: Settings, name: str, *, progress: Progress | None = None) -> SyncReport:
    """Sync one declared source into its mirror; the index is not touched."""
    mirror = Mirror(mirror_folder(settings, name))
    if name in settings.sites:
        from ingest.sources.site import sync_site  # noqa: PLC0415

        return sync_site(_site_config(name, settings.sites[name]), mirror, progress=progress)
    if name in settings.repos:
        from ingest.sources.git import sync_repo  # noqa: PLC0415

        clone = settings.mirrors_dir / ".repos" / f"{name}.git"
        return sync_repo(_repo_config(name, settings.repos[name]), mirror, clone, progress=progress)
    known = [source.name for source in remote_sources(settings)]
    raise KeyError(f"no site or repository named {name!r}; the declared ones are {known}")


def source_roots(settings: Settings) -> list[Path]:
    """Return the folders an ingest reads: the sources folder and every mirror synced so far.

    Without sites or repositories this is the sources folder alone, missing or not (ingest says
    what to do about a missing one). With them, a missing sources folder is simply not read.
    """
    mirrors = [
        mirror_folder(settings, source.name)
        for source in remote_sources(settings)
        if mirror_folder(settings, source.name).is_dir()
    ]
    if not mirrors or settings.sources.exists():
        return [settings.sources, *mirrors]
    return mirrors


def address_book(settings: Settings) -> Callable[[Path], str]:
    """Return a function giving a synced file the link its citations show ("" for others)."""
    mirrors = [
        Mirror(mirror_folder(settings, source.name))
        for source in remote_sources(settings)
        if mirror_folder(settings, source.name).is_dir()
    ]

    def address_of(path: Path) -> str:
        for mirror in mirrors:
            url = mirror.address_of(path)
            if url:
                return url
        return ""

    return address_of


def secret_values(settings: Settings) -> list[str]:
    """Return the sources' tokens, for the log filter that keeps them out of every line."""
    declared: list[SiteSourceSettings | RepoSourceSettings] = [
        *settings.sites.values(),
        *settings.repos.values(),
    ]
    return [source.token.get_secret_value() for source in declared if source.token]


def _site_config(name: str, site: SiteSourceSettings) -> SiteConfig:
    from ingest.sources.site import SiteConfig  # noqa: PLC0415

    return SiteConfig(
        name=name,
        start_urls=(site.start_url,) if site.start_url else (),
        sitemaps=tuple(site.sitemaps),
        allowed_hosts=tuple(site.allowed_hosts),
        path_prefix=site.path_prefix,
        include=tuple(site.include),
        exclude=tuple(site.exclude),
        max_pages=site.max_pages,
        requests_per_second=site.requests_per_second,
        concurrency=site.concurrency,
        timeout=site.timeout,
        max_page_bytes=int(site.max_page_mb * 1_000_000),
        token=site.token.get_secret_value() if site.token else None,
    )


def _repo_config(name: str, repo: RepoSourceSettings) -> RepoConfig:
    from ingest.sources.git import RepoConfig  # noqa: PLC0415

    return RepoConfig(
        name=name,
        url=repo.url,
        branch=repo.branch,
        paths=tuple(repo.paths),
        link_template=repo.link_template,
        token=repo.token.get_secret_value() if repo.token else None,
    )
