"""A documentation website as a source: crawl it into a mirror folder, fetching only what changed.

`sync_site` reads each host's robots.txt, then the sitemaps (the configured ones or, when none
are configured, those robots.txt lists), then crawls breadth-first from the start URLs and the
sitemap pages, following `<a href>` links that stay on the site (`site_urls.Scope`). Requests go
out from a small thread pool through one `Fetcher` (`site_fetch`), which keeps the polite rate,
bounds each response's time and size, and refuses addresses the admin did not name; everything
that touches the mirror happens on the calling thread.

Only what changed is downloaded: a page whose sitemap <lastmod> equals the recorded one is not
requested at all, a mirrored page is asked for with If-None-Match / If-Modified-Since (a 304
costs no body), and a 200 with the recorded SHA-256 leaves the file as it is. The links of a
page that did not change (or could not be fetched) are read from its mirrored copy, so a
re-sync reaches every page a full crawl would.

What is removed from the mirror, and when (nothing is ever removed by a failed sync):
- a page that answers 404 or 410, or redirects permanently (301/308), on two syncs in a row:
  the first time it is kept with `gone=1` and one warning;
- a page the current settings put outside the site (its host, path_prefix, include, exclude);
- a page absent from the sitemaps and not reached by the crawl, but only when every sitemap
  was read whole (fetched, parsed, within the limits) and the crawl was not cut at max_pages.
Every other page not reached this time (a crawl cut short, a page behind an error) is kept.

A per-page problem (a timeout, a 5xx, a page too large, a refused redirect) is one line in
`SyncReport.warnings` and the page's previous copy is kept. The sync fails as a whole, with
`SyncReport.error` set, when the site cannot be reached at all (DNS, refused connection, TLS),
when nothing could be fetched, or when ten requests in a row fail on the server's side; then
nothing is removed or marked gone, and pages fetched before the failure keep their new copy.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

import httpx
from protego import Protego

from index.errors import ConfigError
from ingest.sources import sitemap
from ingest.sources.base import SyncReport
from ingest.sources.mirror import Mirror, MirroredFile, SyncStatus, content_hash, safe_relative
from ingest.sources.site_fetch import AddressPolicy, Fetched, Fetcher
from ingest.sources.site_urls import (
    DOCUMENT_SUFFIXES,
    HTML_SUFFIXES,
    Scope,
    document_extension,
    extract_links,
    folder_of,
    host_entry,
    hostname_of,
    is_html,
    looks_like_document,
    netloc_of,
    normalize_url,
    origin_of,
    to_mirror_path,
)

logger = logging.getLogger(__name__)

MAX_REDIRECTS = 5
MAX_ROBOTS_BYTES = 512 * 1024  # RFC 9309 asks crawlers to read at least 500 KiB
MAX_FAILURES_IN_A_ROW = 10  # server-side failures with no success between: the site is down
DEAD_LINK_RECHECK = timedelta(days=7)  # how long a link that answered 404/410 is left alone
_ALLOW_ALL = Protego.parse("")
_DISALLOW_ALL = Protego.parse("User-agent: *\nDisallow: /\n")


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """What to crawl for one site source, and how politely."""

    name: str
    start_urls: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()  # sitemap.xml / sitemap index URLs (may be .gz)
    allowed_hosts: tuple[str, ...] = ()  # "host" or "host:port"; empty: those of the URLs above
    path_prefix: str = ""  # a folder; empty: the first start URL's folder ("/" if none)
    include: tuple[str, ...] = ()  # fnmatch globs on the URL path; empty: all
    exclude: tuple[str, ...] = ()
    max_pages: int = 5000
    requests_per_second: float = 8.0  # polite rate, across the whole sync
    concurrency: int = 4
    timeout: float = 30.0  # seconds for one whole response: connect, headers and body
    max_page_bytes: int = 10_000_000
    token: str | None = None  # sent as "Authorization: Bearer ..." to allowed hosts only
    user_agent: str = "citebot (+https://github.com/citebot/citebot)"

    def __post_init__(self) -> None:
        where = f"site source {self.name!r}"
        if not self.name.strip():
            raise ConfigError("A site source has no name; give each site source a name.")
        if not self.start_urls and not self.sitemaps:
            raise ConfigError(f"{where} has neither start_urls nor sitemaps; give at least one.")
        for url in (*self.start_urls, *self.sitemaps):
            if normalize_url(url) is None:
                raise ConfigError(f"{where}: {url!r} is not an http(s) URL; fix or remove it.")
        for host in self.allowed_hosts:
            try:
                host_entry(host)
            except ValueError:
                raise ConfigError(f"{where}: allowed_hosts entry {host!r} is not a host.") from None
        if self.path_prefix and not self.path_prefix.startswith("/"):
            raise ConfigError(f"{where}: path_prefix {self.path_prefix!r} must start with /.")
        numbers = {
            "max_pages": self.max_pages,
            "requests_per_second": self.requests_per_second,
            "concurrency": self.concurrency,
            "timeout": self.timeout,
            "max_page_bytes": self.max_page_bytes,
        }
        for setting, value in numbers.items():
            if not value > 0:
                raise ConfigError(f"{where}: {setting} must be above zero (it is {value}).")


@dataclass(frozen=True, slots=True)
class _Page:
    """A URL waiting in the crawl queue."""

    url: str
    chain: tuple[str, ...] = ()  # the URLs that redirected here, in order
    seed: bool = False  # a start URL, or reached from one by redirects
    keep: bool = True  # False: a start URL outside include/exclude, read only for its links
    lastmod: str = ""  # the sitemap's <lastmod>, if it lists the page


def sync_site(
    config: SiteConfig,
    mirror: Mirror,
    *,
    progress: Callable[[int, int], None] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> SyncReport:
    """Crawl a site into its mirror, fetching only what changed; per-page problems are warnings.

    transport replaces the guarded network layer (address checks, whole-response deadline);
    it exists for tests.
    """
    started = time.monotonic()
    attempt = datetime.now(UTC).isoformat(timespec="seconds")
    crawl = _Crawl(config, mirror, progress, transport)
    error = "the sync stopped unexpectedly"  # what the status keeps if a bug escapes below
    try:
        crawl.run()
        error = crawl.error
    finally:
        crawl.close()
        previous = mirror.status
        if not error:
            mirror.dead = crawl.dead  # the links still dead, as this whole crawl found them
        mirror.save(
            SyncStatus(
                last_attempt=attempt,
                last_success=previous.last_success if error else attempt,
                last_error=error,
                files=len(mirror.files),
            )
        )
    return crawl.report(time.monotonic() - started)


class _Crawl:
    """The state of one sync of one site."""

    def __init__(
        self,
        config: SiteConfig,
        mirror: Mirror,
        progress: Callable[[int, int], None] | None,
        transport: httpx.BaseTransport | None,
    ) -> None:
        self.config = config
        self.mirror = mirror
        self.progress = progress
        self.seeds = [url for url in map(normalize_url, config.start_urls) if url]
        self.sitemap_urls = [url for url in map(normalize_url, config.sitemaps) if url]
        self.scope = _scope_of(config, self.seeds, self.sitemap_urls)
        self.site = (self.seeds or self.sitemap_urls)[0]
        # Sitemaps the admin named may live on another host (a CDN): fetched, never crawled.
        self.sitemap_hosts = self.scope.hosts | {netloc_of(url) for url in self.sitemap_urls}
        named = {hostname_of(url) for url in (*self.seeds, *self.sitemap_urls)}
        named |= {hostname_of(f"http://{host_entry(host)}/") for host in config.allowed_hosts}
        self.fetcher = Fetcher(
            user_agent=config.user_agent,
            timeout=config.timeout,
            requests_per_second=config.requests_per_second,
            connections=config.concurrency,
            policy=AddressPolicy(frozenset(named)),
            token=config.token,
            token_hosts=self.scope.hosts,
            transport=transport,
        )
        # Frozen at the start: worker threads never see the mirror change under them. A record
        # with an unsafe path (a hand-edited state file) is never trusted, read or written.
        self.by_url = {record.url: record for record in mirror.files.values() if _safe(record.path)}
        self.queue: deque[_Page] = deque()
        self.seen: set[str] = set()  # queued or fetched: each URL once per sync
        self.reached: set[str] = set()  # answered, confirmed unchanged, or kept after an error
        self.claimed: dict[str, str] = {}  # mirror path -> the URL that filled it this sync
        self.robots: dict[str, Protego] = {}
        self.listed: dict[str, str] = {}  # sitemap page -> lastmod
        self.sitemaps_whole = False
        self.discovered = False  # the sitemaps came from robots.txt, not the settings
        self.gone: dict[str, MirroredFile] = {}  # applied only if the sync succeeds
        self.counts: Counter[str] = Counter()
        self.warnings: list[str] = []
        self.error = ""
        self.first_problem = ""
        self.answered = False  # some page answered: the site is there
        self.failures_in_a_row = 0
        self.budget_used = 0
        self.done = 0
        self.limit_hit = False
        self.started = datetime.now(UTC)
        self.dead: dict[str, str] = {}  # dead links as they stand after this sync

    def close(self) -> None:
        """Close the connections."""
        self.fetcher.close()

    def report(self, seconds: float) -> SyncReport:
        """Return what the sync did."""
        return SyncReport(
            name=self.config.name,
            kind="site",
            added=self.counts["added"],
            changed=self.counts["changed"],
            removed=self.counts["removed"],
            unchanged=self.counts["unchanged"],
            kept=self.counts["kept"],
            downloads=self.counts["downloads"],
            warnings=tuple(self.warnings),
            error=self.error,
            seconds=seconds,
        )

    def run(self) -> None:
        """Read robots.txt and the sitemaps, crawl, and settle what is gone."""
        for url in self.seeds:
            self._robots_for(url)
            if self.error:
                return
        self._read_sitemaps()
        if self.error:
            return
        for url in self.seeds:
            refusal = self.scope.refusal(url, filters=False)
            if refusal:
                self._warn(f"{url}: a start URL {refusal}; not fetched")
            else:
                keep = self.scope.admits(url)
                self._enqueue(_Page(url, seed=True, keep=keep, lastmod=self.listed.get(url, "")))
        for url, lastmod in self.listed.items():
            self._enqueue(_Page(url, lastmod=lastmod))
        self._crawl()
        if not self.error and not self.answered:
            self.error = self.first_problem or (
                f"{self.site}: found no page to fetch; check start_urls, sitemaps, "
                "path_prefix, include and exclude"
            )
        if not self.error:
            self._settle()

    # The crawl loop: the calling thread decides, the pool only fetches.

    def _crawl(self) -> None:
        """Fetch queued pages on the pool, handling each answer on this thread."""
        concurrency = self.config.concurrency
        with ThreadPoolExecutor(concurrency, thread_name_prefix="site-sync") as pool:
            running: dict[Future[Fetched], _Page] = {}
            while not self.error and (self.queue or running):
                while not self.error and self.queue and len(running) < concurrency:
                    page = self.queue.popleft()
                    if self._should_fetch(page):
                        headers = self._validators(page)
                        running[pool.submit(self._fetch, page, headers)] = page
                if not running:
                    continue
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    page = running.pop(future)
                    if not self.error:
                        self._handle(page, future.result())
                    self._progress(len(running))

    def _fetch(self, page: _Page, headers: dict[str, str]) -> Fetched:
        """GET a page on a pool thread (reads no crawl state)."""
        return self.fetcher.get(
            page.url,
            max_bytes=self.config.max_page_bytes,
            headers=headers,
            wanted=lambda content_type: document_extension(content_type, page.url) is not None,
        )

    def _enqueue(self, page: _Page, *, first: bool = False) -> None:
        """Queue a page once per sync."""
        if page.url in self.seen:
            return
        self.seen.add(page.url)
        if first:
            self.queue.appendleft(page)
        else:
            self.queue.append(page)

    def _should_fetch(self, page: _Page) -> bool:
        """Check robots.txt and max_pages; skip the request if the sitemap's lastmod says so."""
        robots = self._robots_for(page.url)
        if self.error:
            return False
        if not robots.can_fetch(page.url, self.config.user_agent):
            if page.seed:
                self._problem(f"{page.url}: robots.txt disallows it for our user agent; skipped")
            return False
        if self._filled_by_another_address(page.url):
            return False
        if self._recently_dead(page):
            return False
        if not page.chain:  # a redirect's target is part of the page that led to it
            if self.budget_used >= self.config.max_pages:
                self._limit_reached()
                return False
            self.budget_used += 1
        record = self.by_url.get(page.url)
        if (
            page.keep
            and record is not None
            and page.lastmod
            and page.lastmod == record.lastmod
            and not record.gone
            and self.mirror.path_of(record.path).exists()
        ):
            # The sitemap says the page has not changed since it was fetched: no request.
            self.answered = True
            self.reached.add(page.url)
            self.claimed.setdefault(record.path, page.url)
            self.counts["unchanged"] += 1
            self._follow_links_on_disk(page, record)
            self._progress(0)
            return False
        return True

    def _recently_dead(self, page: _Page) -> bool:
        """Tell whether a link answered 404/410 at a recent sync: not asked for again yet.

        A site's broken links (a manual linking source pages its package doesn't ship) would
        otherwise cost a request each at every sync. Start URLs and sitemap pages are always
        asked for; a dead link is tried again once DEAD_LINK_RECHECK has passed.
        """
        since = self.mirror.dead.get(page.url)
        if since is None or page.seed or page.url in self.listed or page.chain:
            return False
        try:
            age = self.started - datetime.fromisoformat(since)
        except (ValueError, TypeError):
            return False
        if not timedelta(0) <= age < DEAD_LINK_RECHECK:
            return False
        self.dead[page.url] = since
        return True

    def _filled_by_another_address(self, url: str) -> bool:
        """Tell whether another URL of the same file already filled it this sync.

        A sitemap lists "/guide/" and pages link "/guide/index.html": both are one mirror
        file, and fetching the second would download a page only to throw it away, every sync.
        Only URLs whose suffix fixes their file are checked before the request.
        """
        suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()
        if suffix not in HTML_SUFFIXES and suffix not in DOCUMENT_SUFFIXES:
            return False
        try:
            path = to_mirror_path(
                url, suffix, with_host=self.scope.multi_host, prefix=self.scope.prefix
            )
        except ValueError:
            return False
        return self.claimed.get(path, url) != url

    def _validators(self, page: _Page) -> dict[str, str]:
        """Return the conditional-request headers for a page the mirror holds."""
        record = self.by_url.get(page.url)
        if not page.keep or record is None or not self.mirror.path_of(record.path).exists():
            return {}
        headers = {}
        if record.etag:
            headers["If-None-Match"] = record.etag
        if record.last_modified:
            headers["If-Modified-Since"] = record.last_modified
        return headers

    def _progress(self, running: int) -> None:
        """Count a finished page and tell the caller."""
        self.done += 1
        if self.progress is not None:
            waiting = self.done + running + len(self.queue)
            self.progress(self.done, max(self.done, min(waiting, self.config.max_pages)))

    # What an answer means for the mirror.

    def _handle(self, page: _Page, fetched: Fetched) -> None:
        """Act on one page's answer."""
        self.reached.add(page.url)
        status = fetched.status
        if fetched.unreachable:
            self._unreachable(origin_of(page.url), fetched)
            return
        if status == 0 or status >= 500 or status == 429:
            self._failed(page, fetched.problem, server_side=not fetched.refused)
            return
        self.answered = True
        self.failures_in_a_row = 0
        if fetched.skipped:
            logger.debug("%s is %s, not a document; skipped", page.url, fetched.content_type)
        elif fetched.ok:
            self._store(page, fetched)
        elif status == 200:
            self._failed(page, fetched.problem)
        elif status == 304:
            self._unchanged(page, fetched)
        elif 300 <= status < 400:
            self._redirect(page, fetched)
        elif status in (404, 410):
            self._gone(page, fetched.problem)
        else:
            self._failed(page, fetched.problem, quiet=True)

    def _store(self, page: _Page, fetched: Fetched) -> None:
        """Write a downloaded page to the mirror and follow its links."""
        self.counts["downloads"] += 1
        extension = document_extension(fetched.content_type, page.url)
        path = self._claim(page, extension) if page.keep and extension else None
        if path is not None:
            record = MirroredFile(
                path=path,
                url=page.url,
                sha256=content_hash(fetched.body),
                etag=fetched.etag,
                last_modified=fetched.last_modified,
                lastmod=page.lastmod,
            )
            before = self.mirror.files.get(path)
            try:
                changed = self.mirror.put(record, fetched.body)
            except OSError as exc:
                self.error = (
                    f"cannot write the mirror at {self.mirror.root} ({exc.strerror}); free "
                    "some space or fix its permissions, then sync again"
                )
                return
            self.counts["added" if before is None else "changed" if changed else "unchanged"] += 1
            old = self.by_url.get(page.url)
            if old is not None and old.path != path and old.path not in self.claimed:
                # The same page under a new name (allowed_hosts changed): drop the old name.
                with contextlib.suppress(OSError):
                    self.mirror.remove(old.path)
        if is_html(fetched.content_type):
            self._follow(extract_links(fetched.body, page.url))

    def _claim(self, page: _Page, extension: str) -> str | None:
        """Return the mirror path a page fills, or None if it cannot or another URL has it."""
        try:
            path = to_mirror_path(
                page.url, extension, with_host=self.scope.multi_host, prefix=self.scope.prefix
            )
        except ValueError:
            self._warn(f"{page.url}: its path has a hidden or unsafe segment; not mirrored")
            return None
        owner = self.claimed.setdefault(path, page.url)
        if owner != page.url:
            logger.debug("%s and %s both map to %s; keeping the first", owner, page.url, path)
            return None
        return path

    def _unchanged(self, page: _Page, fetched: Fetched) -> None:
        """Record a 304: the mirrored copy is current."""
        record = self.by_url.get(page.url)
        if record is None:
            self._failed(page, "answered 304 to a request that had no validators")
            return
        self.claimed.setdefault(record.path, page.url)
        self.mirror.touch(
            dataclasses.replace(
                record,
                etag=fetched.etag or record.etag,
                last_modified=fetched.last_modified or record.last_modified,
                lastmod=page.lastmod or record.lastmod,
                gone=0,
            )
        )
        self.counts["unchanged"] += 1
        self._follow_links_on_disk(page, record)

    def _redirect(self, page: _Page, fetched: Fetched) -> None:
        """Queue a redirect's target if it is safe and on the site; otherwise warn."""
        shown = " ".join(fetched.location.split())[:200] or "nowhere"
        target = normalize_url(fetched.location, page.url) if fetched.location.strip() else None
        chain = (*page.chain, page.url)
        if fetched.status in (301, 308):
            self._gone(page, f"moved permanently to {shown}", quiet=True)
        if target is None:
            problem = f"redirects to {shown}, which is not an http(s) URL"
        elif target in chain:
            problem = f"redirect loop ({' -> '.join((*chain, target))})"
        elif len(chain) > MAX_REDIRECTS:
            problem = f"more than {MAX_REDIRECTS} redirects in a row"
        else:
            refusal = self.scope.refusal(target, filters=not page.seed)
            problem = f"redirects to {target}, {refusal}" if refusal else ""
        if problem:
            self._problem(f"{page.url}: {problem}; not followed")
            return
        assert target is not None
        keep = self.scope.admits(target) if page.seed else page.keep
        lastmod = self.listed.get(target, "")
        self._enqueue(_Page(target, chain, page.seed, keep, lastmod), first=True)

    def _gone(self, page: _Page, problem: str, *, quiet: bool = False) -> None:
        """Count a page the site says is gone; it is removed the second time in a row."""
        record = self.by_url.get(page.url) if page.keep else None
        if record is None:
            if page.seed and not quiet:
                self._problem(f"{page.url}: {problem}; check the start URL")
            elif not quiet:  # a broken link: remembered, not asked for at every sync
                self.dead[page.url] = self.mirror.dead.get(page.url) or self.started.isoformat(
                    timespec="seconds"
                )
            return
        if record.path in self.gone:
            return
        # The path is not claimed: a moved page's new URL may fill it this very sync.
        self.gone[record.path] = dataclasses.replace(record, gone=record.gone + 1)
        if record.gone + 1 < 2 and not quiet:
            self.counts["kept"] += 1
            self._warn(
                f"{page.url}: {problem}; kept this time, removed if still gone at the next sync"
            )

    def _failed(
        self, page: _Page, problem: str, *, server_side: bool = False, quiet: bool = False
    ) -> None:
        """Keep a page's previous copy after an error; stop the sync if the site is failing."""
        record = self.by_url.get(page.url) if page.keep else None
        if record is not None:
            self.counts["kept"] += 1
            self.claimed.setdefault(record.path, page.url)
            self._follow_links_on_disk(page, record)
        if record is not None or page.seed or not quiet:
            outcome = "kept the copy from the last sync" if record else "not mirrored"
            self._problem(f"{page.url}: {problem}; {outcome}, tried again at the next sync")
        if not server_side:
            return
        self.failures_in_a_row += 1
        if self.failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
            self.error = (
                f"{origin_of(page.url)}: the last {self.failures_in_a_row} requests failed "
                f"({problem}); the site seems down, sync again later"
            )

    def _follow(self, links: Iterable[str]) -> None:
        """Queue the links that stay on the site."""
        if self.limit_hit:
            return
        for link in links:
            if link not in self.seen and looks_like_document(link) and self.scope.admits(link):
                self._enqueue(_Page(link, lastmod=self.listed.get(link, "")))

    def _follow_links_on_disk(self, page: _Page, record: MirroredFile) -> None:
        """Follow the links of a page not downloaded this time, from its mirrored copy."""
        if record.path.lower().endswith(HTML_SUFFIXES):
            body = self.mirror.read(record.path)
            if body is not None:
                self._follow(extract_links(body, page.url))

    def _limit_reached(self) -> None:
        """Stop taking new pages at max_pages, with one warning."""
        if not self.limit_hit:
            self.limit_hit = True
            self._warn(
                f"{self.site}: reached max_pages ({self.config.max_pages}); further pages were "
                "not fetched and nothing was removed; raise max_pages to mirror them all"
            )
        self.queue = deque(page for page in self.queue if page.chain)

    def _settle(self) -> None:
        """After a successful crawl, remove what is really gone (see the module docstring)."""
        for path, record in self.gone.items():
            if self.claimed.get(path, record.url) != record.url:
                continue  # another URL (where the page moved) filled the path this sync
            if record.gone >= 2:
                self._remove(path)
            else:
                self.mirror.touch(record)
        unlisted_is_gone = bool(self.listed) and self.sitemaps_whole and not self.limit_hit
        for record in list(self.mirror.files.values()):
            if record.path in self.gone:
                continue
            outside = normalize_url(record.url) is None or bool(self.scope.refusal(record.url))
            unlisted = record.url not in self.reached and record.url not in self.listed
            if outside or (unlisted_is_gone and unlisted):
                self._remove(record.path)

    def _remove(self, path: str) -> None:
        """Delete a page that is really gone."""
        try:
            self.mirror.remove(path)
        except (OSError, ValueError) as exc:
            self._warn(f"{path}: could not be removed from the mirror ({exc})")
            return
        self.counts["removed"] += 1

    # robots.txt and sitemaps, read on this thread before the crawl.

    def _robots_for(self, url: str) -> Protego:
        """Return the robots.txt rules of url's host, reading them the first time."""
        origin = origin_of(url)
        if origin not in self.robots:
            self.robots[origin] = rules = self._read_robots(origin)
            delay = rules.crawl_delay(self.config.user_agent)
            if delay:
                self.fetcher.slow_down(delay)
        return self.robots[origin]

    def _read_robots(self, origin: str) -> Protego:
        """Fetch and parse a host's robots.txt, as RFC 9309 says to treat each outcome."""
        url = f"{origin}/robots.txt"
        fetched = self._get_following(url, MAX_ROBOTS_BYTES, self.scope.hosts)
        if fetched.unreachable:
            self._unreachable(origin, fetched)
            return _DISALLOW_ALL
        if fetched.ok:
            return Protego.parse(fetched.body.decode("utf-8", errors="replace"))
        if 300 <= fetched.status < 500 and fetched.status != 429:
            return _ALLOW_ALL  # no robots.txt (or none we may read): no rules
        # A robots.txt the server fails to give means "crawl nothing" until it can.
        self._problem(
            f"{url}: {fetched.problem}; nothing was fetched from {origin} because its "
            "robots.txt could not be read, sync again later"
        )
        return _DISALLOW_ALL

    def _read_sitemaps(self) -> None:
        """Read the configured sitemaps, or those robots.txt lists if none are configured."""
        urls = self.sitemap_urls
        self.discovered = not urls
        if not urls:
            listed = (normalize_url(url) for seed in self.seeds for url in self._robots_of(seed))
            urls = list(dict.fromkeys(u for u in listed if u and netloc_of(u) in self.scope.hosts))
        if not urls:
            return
        reading = sitemap.read_sitemaps(
            urls,
            self._fetch_sitemap,
            page_wanted=lambda url: self.scope.admits(url) and looks_like_document(url),
            sitemap_wanted=lambda url: netloc_of(url) in self.sitemap_hosts,
            limit=self.config.max_pages,
        )
        for line in reading.warnings:
            self._warn(line)
        self.listed = reading.pages
        self.sitemaps_whole = reading.whole and not self.error
        if reading.truncated:
            self._limit_reached()

    def _robots_of(self, url: str) -> list[str]:
        """Return the sitemaps a start URL's robots.txt lists."""
        return list(self.robots[origin_of(url)].sitemaps)

    def _fetch_sitemap(self, url: str) -> bytes | None:
        """Return a sitemap's bytes, or None (with a warning) if it could not be fetched."""
        if self.error:
            return None
        fetched = self._get_following(url, sitemap.MAX_SITEMAP_BYTES, self.sitemap_hosts)
        if fetched.unreachable:
            self._unreachable(url, fetched)
            return None
        if fetched.ok:
            return fetched.body
        if not (self.discovered and fetched.status == 404):
            self._problem(f"{url}: {fetched.problem}; its pages are still found by links")
        return None

    def _get_following(self, url: str, max_bytes: int, hosts: frozenset[str]) -> Fetched:
        """GET a robots.txt or sitemap, following up to MAX_REDIRECTS redirects within hosts."""
        chain: list[str] = []
        for _ in range(MAX_REDIRECTS + 1):
            fetched = self.fetcher.get(url, max_bytes=max_bytes)
            if not 300 <= fetched.status < 400 or fetched.status == 304:
                return fetched
            chain.append(url)
            target = normalize_url(fetched.location, url) if fetched.location.strip() else None
            if target is None or target in chain or netloc_of(target) not in hosts:
                shown = " ".join(fetched.location.split())[:200]
                return dataclasses.replace(fetched, problem=f"redirects to {shown}, not followed")
            url = target
        return dataclasses.replace(fetched, problem=f"more than {MAX_REDIRECTS} redirects")

    def _unreachable(self, where: str, fetched: Fetched) -> None:
        """Fail the sync: the site did not answer at all."""
        self.error = (
            f"could not reach {where}: {fetched.problem}; check the URL and that the site is "
            "up, then sync again"
        )

    def _problem(self, line: str) -> None:
        """Warn, and remember the first problem in case the whole sync fails."""
        self._warn(line)
        self.first_problem = self.first_problem or line

    def _warn(self, line: str) -> None:
        """Add one warning line."""
        line = " ".join(line.split())[:600]
        logger.info("%s", line)  # the report carries it to the user; this is for debugging
        self.warnings.append(line)


def _safe(path: str) -> bool:
    """Tell whether a recorded path stays inside the mirror."""
    try:
        safe_relative(path)
    except ValueError:
        return False
    return True


def _scope_of(config: SiteConfig, seeds: list[str], sitemaps: list[str]) -> Scope:
    """Return the site's scope: the allowed hosts, the path prefix and the globs."""
    hosts = {host_entry(host) for host in config.allowed_hosts}
    if not hosts:
        hosts = {netloc_of(url) for url in (*seeds, *sitemaps)}
    hosts |= {netloc_of(url) for url in seeds}  # a start URL's host is always on the site
    prefix = config.path_prefix or (folder_of(seeds[0]) if seeds else "/")
    if not prefix.endswith("/"):
        prefix += "/"
    return Scope(frozenset(hosts), prefix, config.include, config.exclude)
