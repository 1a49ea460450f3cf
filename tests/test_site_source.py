"""The site source against a real docs site on 127.0.0.1: real sockets, no mocks of httpx.

`Site` serves a dozen pages written into tmp_path with ETags, Last-Modified and 304s, a
robots.txt that disallows one folder, an optional sitemap with <lastmod>, and per-path
handlers a test installs for hostile cases. Every request is logged (method, path, status),
so a test counts the 200s and 304s a sync cost and proves nothing off the site was asked for.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import ipaddress
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpcore
import pytest

from ingest.sources import sitemap
from ingest.sources.base import SyncReport
from ingest.sources.mirror import Mirror
from ingest.sources.site import SiteConfig, sync_site
from ingest.sources.site_fetch import (
    AddressPolicy,
    GuardedBackend,
    RefusedAddress,
    retry_after_seconds,
)
from ingest.sources.site_urls import (
    Scope,
    document_extension,
    normalize_url,
    to_mirror_path,
)
from ingest.sources.sitemap import SitemapError, gunzip_capped, parse_sitemap

Route = Callable[[BaseHTTPRequestHandler], None]

PAGES = {
    "docs/index.html": "<h1>Docs</h1>{links}",
    "docs/install.html": '<h1>Install</h1><a href="guide/intro.html">intro</a>',
    "docs/guide/intro.html": '<h1>Intro</h1><a href="../api/client.html">client</a>'
    '<a href="advanced.html#top">advanced</a>',
    "docs/guide/config.html": "<h1>Config</h1><p>Settings.</p>",
    "docs/guide/advanced.html": '<h1>Advanced</h1><a href="/docs/guide/config.html">config</a>',
    "docs/api/index.html": '<h1>API</h1><a href="client.html">c</a><a href="server.html">s</a>',
    "docs/api/client.html": "<h1>Client</h1>",
    "docs/api/server.html": "<h1>Server</h1>",
    "docs/faq.html": "<h1>FAQ</h1>",
    "docs/changelog.html": "<h1>Changelog</h1>",
    "docs/notes.md": "# Notes\n\nPlain *Markdown*.\n",
    "docs/private/secret.html": "<h1>Secret</h1>",
    "blog/post.html": "<h1>Blog</h1>",
    "docs/style.css": "h1 { color: red }",
    "docs/logo.png": "\x89PNG",
}
INDEX_LINKS = [
    "install.html",
    "install.html?utm_source=news&fbclid=1",
    "guide/intro.html",
    "guide/config.html",
    "api/",
    "faq.html",
    "changelog.html",
    "notes.md",
    "private/secret.html",
    "/blog/post.html",
    "style.css",
    "logo.png",
    "mailto:docs@example.com",
    "javascript:alert(1)",
    "file:///etc/passwd",
    "#top",
]
# What a first sync mirrors: every page under /docs/ but the robots-disallowed one, served
# path -> mirror path (taken inside the path_prefix /docs/, so cited "docs/install.html").
MIRRORED = {
    "docs/index.html": "index.html",
    "docs/install.html": "install.html",
    "docs/guide/intro.html": "guide/intro.html",
    "docs/guide/config.html": "guide/config.html",
    "docs/guide/advanced.html": "guide/advanced.html",
    "docs/api/index.html": "api/index.html",
    "docs/api/client.html": "api/client.html",
    "docs/api/server.html": "api/server.html",
    "docs/faq.html": "faq.html",
    "docs/changelog.html": "changelog.html",
    "docs/notes.md": "notes.md",
}
FORBIDDEN = ("/docs/private/", "/blog/", "/elsewhere", "/etc/passwd")
_TYPES = {".html": "text/html; charset=utf-8", ".md": "text/markdown", ".css": "text/css"}


class Site:
    """A docs site on 127.0.0.1: files from a folder, plus handlers for hostile paths."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.log: list[tuple[str, str, int]] = []
        self.authorization: list[str] = []
        self.routes: dict[str, Route] = {}
        self.robots_sitemap = False  # whether robots.txt names /sitemap.xml
        self.stop_after = 0  # stop serving after this many requests (0: never)
        self.fail_pages = 0  # answer every page under /docs/ with this status (0: never)
        self.bytes_sent = 0
        self.streamed = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.authorization.append(self.headers.get("Authorization", ""))
                route = site.routes.get(self.path) or site.routes.get(self.path.split("?")[0])
                if route is not None:
                    route(self)
                else:
                    site.serve(self)

            def send_response(self, code: int, message: str | None = None) -> None:
                site.log.append((self.command, self.path, code))
                if site.stop_after and len(site.log) >= site.stop_after:
                    site.stop_after = 0
                    threading.Thread(target=site.stop, daemon=True).start()
                super().send_response(code, message)

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path: str) -> str:
        """Return the full address of a path on the site."""
        return self.base + path

    def stop(self) -> None:
        """Stop serving: later connections are refused."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def write(self, relative: str, text: str, *, lastmod: str = "2024-01-01") -> None:
        """Write a page, with the date its sitemap entry gives."""
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        (self.root / ".lastmod").mkdir(exist_ok=True)
        (self.root / ".lastmod" / hashlib.sha256(relative.encode()).hexdigest()).write_text(lastmod)

    def requests(self, prefix: str = "/") -> list[tuple[str, int]]:
        """Return (path, status) of the requests for paths under prefix."""
        return [(path, status) for _, path, status in self.log if path.startswith(prefix)]

    def statuses(self, path: str) -> list[int]:
        """Return the statuses given for one path, in order."""
        return [status for _, logged, status in self.log if logged == path]

    def page_statuses(self) -> dict[str, list[int]]:
        """Return the statuses given for each page under /docs/."""
        found: dict[str, list[int]] = {}
        for path, status in self.requests("/docs/"):
            found.setdefault(path, []).append(status)
        return found

    def serve(self, handler: BaseHTTPRequestHandler) -> None:
        """Serve robots.txt, the sitemap or a file, with validators and 304s."""
        path = handler.path.split("?")[0]
        if self.fail_pages and path.startswith("/docs/"):
            self.send(handler, self.fail_pages, b"failing", "text/plain")
            return
        if path == "/robots.txt":
            line = f"Sitemap: {self.url('/sitemap.xml')}\n" if self.robots_sitemap else ""
            body = f"User-agent: *\nDisallow: /docs/private/\n{line}".encode()
            self.send(handler, 200, body, "text/plain")
            return
        if path == "/sitemap.xml":
            self.send(handler, 200, self.sitemap(), "application/xml")
            return
        file = self.root / (path.lstrip("/") + ("index.html" if path.endswith("/") else ""))
        if not file.is_file() or ".lastmod" in file.parts:
            self.send(handler, 404, b"not found", "text/plain")
            return
        body = file.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        modified = datetime.fromtimestamp(int(file.stat().st_mtime), UTC)
        headers = {"ETag": etag, "Last-Modified": format_datetime(modified, usegmt=True)}
        if handler.headers.get("If-None-Match") == etag:
            self.send(handler, 304, b"", "", headers)
            return
        kind = _TYPES.get(file.suffix, "application/octet-stream")
        self.send(handler, 200, body, kind, headers)

    def sitemap(self, *, skip: tuple[str, ...] = ()) -> bytes:
        """Return a sitemap of every page under /docs/ but the private ones, with lastmod."""
        entries = []
        for path in sorted((self.root / "docs").rglob("*")):
            relative = path.relative_to(self.root).as_posix()
            if not path.is_file() or "private" in relative or relative in skip:
                continue
            stamp = self.root / ".lastmod" / hashlib.sha256(relative.encode()).hexdigest()
            lastmod = stamp.read_text() if stamp.exists() else ""
            loc = self.url("/" + relative).removesuffix("index.html")
            entries.append(f"<url><loc>{loc}</loc><lastmod>{lastmod}</lastmod></url>")
        return (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(entries)
            + "</urlset>"
        ).encode()

    @staticmethod
    def send(
        handler: BaseHTTPRequestHandler,
        status: int,
        body: bytes,
        kind: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Send a whole response."""
        handler.send_response(status)
        if kind:
            handler.send_header("Content-Type", kind)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    """Start the docs site with its dozen pages; stop it after the test."""
    served = Site(tmp_path / "site")
    links = "".join(f'<a href="{link}">{link}</a>' for link in INDEX_LINKS)
    for relative, text in PAGES.items():
        served.write(relative, text.replace("{links}", links))
    yield served
    with contextlib.suppress(OSError):
        served.stop()


def sync(site: Site, mirror_root: Path, **settings: object) -> tuple[Mirror, SyncReport]:
    """Sync the site into a mirror folder; return the mirror (re-read from disk) and report."""
    options: dict[str, object] = {
        "start_urls": (site.url("/docs/"),),
        "requests_per_second": 400.0,
        **settings,
    }
    config = SiteConfig("docs", **options)  # type: ignore[arg-type]
    report = sync_site(config, Mirror(mirror_root))
    return Mirror(mirror_root), report


def assert_clean(site: Site, report: SyncReport) -> None:
    """Check that no warning is a traceback or spans lines, and nothing forbidden was asked."""
    for line in report.warnings:
        assert "Traceback" not in line and "\n" not in line
    asked = [path for path, _ in site.requests()]
    assert not [path for path in asked if path.startswith(FORBIDDEN)]
    assert not [path for path in asked if path.endswith((".css", ".png"))]


def warnings_about(report: SyncReport, needle: str) -> list[str]:
    """Return the warning lines that mention needle."""
    return [line for line in report.warnings if needle in line]


def add_index_link(site: Site, href: str) -> None:
    """Add one link to the front page."""
    page = site.root / "docs/index.html"
    page.write_text(page.read_text() + f'<a href="{href}">x</a>')


def snapshot(mirror: Mirror) -> dict[str, bytes]:
    """Return every mirrored file's bytes by path."""
    return {path: mirror.path_of(path).read_bytes() for path in mirror.files}


# A first sync, and re-syncs that fetch only what changed.


def test_sync_site_first_sync_mirrors_every_allowed_page(site: Site, tmp_path: Path) -> None:
    mirror, report = sync(site, tmp_path / "mirror", token="s3cret-token")
    assert report.ok and report.warnings == ()
    assert set(mirror.files) == set(MIRRORED.values())
    for served, mirrored in MIRRORED.items():
        assert mirror.path_of(mirrored).read_bytes() == (site.root / served).read_bytes()
    record = mirror.files["install.html"]
    assert record.url == site.url("/docs/install.html") and record.etag.startswith('"')
    assert mirror.files["index.html"].url == site.url("/docs/")
    assert report.added == 11 and report.downloads == 11
    assert site.statuses("/robots.txt") == [200]
    assert site.statuses("/docs/install.html") == [200]  # the tracking-param link is the same
    assert_clean(site, report)
    assert set(site.authorization) == {"Bearer s3cret-token"}
    assert mirror.status.last_success and not mirror.status.last_error
    assert mirror.status.files == 11


def test_sync_site_resync_fetches_only_changed_pages(site: Site, tmp_path: Path) -> None:
    sync(site, tmp_path / "mirror")
    site.log.clear()
    site.write("docs/install.html", '<h1>Install v2</h1><a href="new.html">new</a>')
    site.write("docs/new.html", "<h1>New</h1>")
    (site.root / "docs/faq.html").unlink()

    mirror, report = sync(site, tmp_path / "mirror")

    statuses = site.page_statuses()
    assert {path for path, got in statuses.items() if got == [200]} == {
        "/docs/install.html",
        "/docs/new.html",
    }
    assert statuses["/docs/faq.html"] == [404]
    assert sum(got == [304] for got in statuses.values()) == 9  # read links from disk copies
    assert (report.added, report.changed, report.unchanged) == (1, 1, 9)
    assert report.kept == 1 and report.removed == 0
    assert len(warnings_about(report, "faq.html")) == 1 and len(report.warnings) == 1
    assert mirror.files["faq.html"].gone == 1
    assert mirror.path_of("faq.html").read_bytes() == b"<h1>FAQ</h1>"
    assert mirror.path_of("new.html").read_bytes() == b"<h1>New</h1>"

    mirror, report = sync(site, tmp_path / "mirror")
    assert report.removed == 1 and report.warnings == ()
    assert "faq.html" not in mirror.files
    assert not mirror.path_of("faq.html").exists()
    assert len(mirror.files) == 11


def test_sync_site_sitemap_lastmod_skips_unchanged_pages(site: Site, tmp_path: Path) -> None:
    settings = {"sitemaps": (site.url("/sitemap.xml"),)}
    mirror, report = sync(site, tmp_path / "mirror", **settings)
    assert report.ok and set(mirror.files) == set(MIRRORED.values())
    assert mirror.files["faq.html"].lastmod == "2024-01-01"
    site.log.clear()

    mirror, report = sync(site, tmp_path / "mirror", **settings)
    assert site.page_statuses() == {}  # the sitemap vouched for every page
    assert report.unchanged == 11 and report.downloads == 0

    site.write("docs/faq.html", "<h1>FAQ v2</h1>", lastmod="2024-02-02")
    site.log.clear()
    mirror, report = sync(site, tmp_path / "mirror", **settings)
    assert site.page_statuses() == {"/docs/faq.html": [200]}
    assert report.changed == 1 and report.unchanged == 10
    assert mirror.files["faq.html"].lastmod == "2024-02-02"


def test_sync_site_same_bytes_without_validators_count_as_unchanged(
    site: Site, tmp_path: Path
) -> None:
    sync(site, tmp_path / "mirror")
    same = (site.root / "docs/faq.html").read_bytes()
    site.routes["/docs/faq.html"] = lambda h: Site.send(h, 200, same, "text/html")
    mirror, report = sync(site, tmp_path / "mirror")
    assert site.statuses("/docs/faq.html") == [200, 200]
    assert (report.changed, report.unchanged, report.downloads) == (0, 11, 1)
    assert mirror.files["faq.html"].etag == ""  # what the server said this time


def test_sync_site_sitemap_longer_than_max_pages_is_cut_with_one_warning(
    site: Site, tmp_path: Path
) -> None:
    settings = {"sitemaps": (site.url("/sitemap.xml"),), "max_pages": 5}
    mirror, report = sync(site, tmp_path / "mirror", **settings)
    assert report.ok and len(report.warnings) == 1 and "max_pages (5)" in report.warnings[0]
    assert len(site.requests("/docs/")) == 5 and len(mirror.files) == 5
    assert_clean(site, report)


def test_sync_site_robots_sitemap_used_when_none_configured(site: Site, tmp_path: Path) -> None:
    site.robots_sitemap = True
    mirror, report = sync(site, tmp_path / "mirror")
    assert report.ok and site.statuses("/sitemap.xml") == [200]
    assert mirror.files["changelog.html"].lastmod == "2024-01-01"


def test_sync_site_page_missing_from_whole_sitemap_is_removed(site: Site, tmp_path: Path) -> None:
    settings = {
        "start_urls": (),
        "sitemaps": (site.url("/sitemap.xml"),),
        "path_prefix": "/docs/",
    }
    sync(site, tmp_path / "mirror", **settings)
    index = site.root / "docs/index.html"
    site.write(
        "docs/index.html",
        index.read_text().replace("changelog.html", "faq.html"),
        lastmod="2024-03-03",
    )
    (site.root / ".lastmod" / hashlib.sha256(b"docs/changelog.html").hexdigest()).unlink()
    site.routes["/sitemap.xml"] = lambda h: Site.send(
        h, 200, site.sitemap(skip=("docs/changelog.html",)), "application/xml"
    )
    mirror, report = sync(site, tmp_path / "mirror", **settings)
    assert report.ok and report.removed == 1
    assert "changelog.html" not in mirror.files
    assert site.statuses("/docs/changelog.html") == [200]  # only the first sync asked


def test_sync_site_page_limit_keeps_pages_not_reached(site: Site, tmp_path: Path) -> None:
    sync(site, tmp_path / "mirror")
    mirror, report = sync(site, tmp_path / "mirror", max_pages=3)
    assert report.ok and report.removed == 0
    assert len(warnings_about(report, "max_pages")) == 1 and len(report.warnings) == 1
    assert len(mirror.files) == 11
    assert len(site.requests("/docs/")) == 11 + 3


def test_sync_site_settings_that_exclude_pages_remove_them(site: Site, tmp_path: Path) -> None:
    sync(site, tmp_path / "mirror")
    mirror, report = sync(site, tmp_path / "mirror", exclude=("/docs/api/*",))
    assert report.removed == 3
    assert not [path for path in mirror.files if path.startswith("api/")]


def test_sync_site_start_url_outside_include_is_read_for_links_only(
    site: Site, tmp_path: Path
) -> None:
    mirror, report = sync(site, tmp_path / "mirror", include=("/docs/api/*",))
    assert report.ok and report.warnings == ()
    assert set(mirror.files) == {
        "api/index.html",
        "api/client.html",
        "api/server.html",
    }
    assert site.statuses("/docs/") == [200] and site.statuses("/docs/faq.html") == []


def test_sync_site_two_allowed_hosts_put_pages_under_their_host(site: Site, tmp_path: Path) -> None:
    hosts = (f"127.0.0.1:{site.port}", f"localhost:{site.port}")
    mirror, report = sync(site, tmp_path / "mirror", allowed_hosts=hosts)
    assert report.ok and len(mirror.files) == 11
    assert f"127.0.0.1_{site.port}/index.html" in mirror.files


def test_sync_site_honours_robots_crawl_delay(site: Site, tmp_path: Path) -> None:
    robots = b"User-agent: *\nDisallow: /docs/private/\nCrawl-delay: 0.1\n"
    site.routes["/robots.txt"] = lambda h: Site.send(h, 200, robots, "text/plain")
    started = time.monotonic()
    mirror, report = sync(site, tmp_path / "mirror")
    assert time.monotonic() - started >= 1.0  # eleven pages, a tenth of a second apart
    assert report.ok and len(mirror.files) == 11


def test_sync_site_progress_counts_up_to_the_total(site: Site, tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    config = SiteConfig("docs", start_urls=(site.url("/docs/"),), requests_per_second=400)
    sync_site(config, Mirror(tmp_path / "mirror"), progress=lambda d, t: calls.append((d, t)))
    assert [done for done, _ in calls] == list(range(1, len(calls) + 1))
    assert all(done <= total for done, total in calls) and calls[-1][0] == calls[-1][1] == 11


# Hostile sites: each is a warning line, never an exception, and nothing off the site is asked.


def redirect(location: str, status: int = 302) -> Route:
    """Return a handler that redirects to location."""

    def respond(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(status)
        handler.send_header("Location", location)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return respond


@pytest.mark.parametrize(
    ("location", "mentioned"),
    [
        ("http://localhost:{port}/elsewhere/page.html", "allowed_hosts"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("file:///etc/passwd", "file:///etc/passwd"),
        ("http://[fd00:ec2::254]/latest/", "fd00:ec2::254"),
    ],
)
def test_sync_site_redirect_off_the_site_is_not_followed(
    site: Site, tmp_path: Path, location: str, mentioned: str
) -> None:
    site.routes["/docs/moved.html"] = redirect(location.format(port=site.port))
    add_index_link(site, "moved.html")
    mirror, report = sync(site, tmp_path / "mirror", token="s3cret-token")
    assert report.ok and len(report.warnings) == 1
    (line,) = warnings_about(report, "moved.html")
    assert mentioned in line and "not followed" in line and "s3cret" not in line
    assert set(mirror.files) == set(MIRRORED.values())
    assert site.statuses("/docs/moved.html") == [302]
    assert_clean(site, report)
    assert all(b"root:" not in body for body in snapshot(mirror).values())


def test_sync_site_redirect_loop_ends_with_one_warning(site: Site, tmp_path: Path) -> None:
    site.routes["/docs/loop-a.html"] = redirect("/docs/loop-b.html")
    site.routes["/docs/loop-b.html"] = redirect("loop-a.html", 301)
    add_index_link(site, "loop-a.html")
    mirror, report = sync(site, tmp_path / "mirror")
    assert len(report.warnings) == 1 and "redirect loop" in report.warnings[0]
    assert site.statuses("/docs/loop-a.html") == [302]
    assert site.statuses("/docs/loop-b.html") == [301]
    assert len(mirror.files) == 11
    assert_clean(site, report)


def test_sync_site_redirect_within_site_is_followed(site: Site, tmp_path: Path) -> None:
    site.routes["/docs/old.html"] = redirect("/docs/guide/config.html", 301)
    add_index_link(site, "old.html")
    mirror, report = sync(site, tmp_path / "mirror")
    assert report.warnings == () and len(mirror.files) == 11
    assert site.statuses("/docs/guide/config.html") == [200]  # fetched once under its own name


def test_sync_site_huge_page_is_cut_at_max_page_bytes(site: Site, tmp_path: Path) -> None:
    total = 60 * 2**20

    def huge(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.end_headers()  # no Content-Length: only counting while reading can stop it
        chunk = b"<p>" + b"x" * 65533
        try:
            while site.bytes_sent < total:
                handler.wfile.write(chunk)
                site.bytes_sent += len(chunk)
        except OSError:
            pass
        finally:
            site.streamed.set()

    def declared(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(total))
        handler.end_headers()

    zeros = gzip.compress(b"\0" * 20 * 2**20, compresslevel=9)

    def bomb(handler: BaseHTTPRequestHandler) -> None:
        Site.send(handler, 200, zeros, "text/html", {"Content-Encoding": "gzip"})

    site.routes.update({"/docs/huge.html": huge, "/docs/declared.html": declared})
    site.routes["/docs/bomb.html"] = bomb
    for page in ("huge.html", "declared.html", "bomb.html"):
        add_index_link(site, page)
    mirror, report = sync(site, tmp_path / "mirror", max_page_bytes=2**20)
    assert site.streamed.wait(10)
    # The client stopped reading at 1 MiB; the server could only fill the socket buffers.
    assert site.bytes_sent < total / 4, site.bytes_sent
    assert report.ok and len(report.warnings) == 3
    for page in ("huge.html", "declared.html", "bomb.html"):
        (line,) = warnings_about(report, page)
        assert "max_page_bytes" in line
    assert set(mirror.files) == set(MIRRORED.values())
    assert_clean(site, report)


def test_sync_site_slow_drip_page_ends_at_timeout(site: Site, tmp_path: Path) -> None:
    def drip_body(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", "100")
        handler.end_headers()
        drip(handler, b"x" * 100)

    def drip_headers(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.0 200 OK\r\n")
        site.log.append(("GET", handler.path, 200))
        drip(handler, b"X-Slow: " + b"a" * 100)

    def drip(handler: BaseHTTPRequestHandler, data: bytes) -> None:
        try:
            for byte in data:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(0.2)
        except OSError:
            pass

    site.routes["/docs/slow.html"] = drip_body
    site.routes["/docs/slow-head.html"] = drip_headers
    add_index_link(site, "slow.html")
    add_index_link(site, "slow-head.html")
    started = time.monotonic()
    mirror, report = sync(site, tmp_path / "mirror", timeout=1.5)
    assert time.monotonic() - started < 5
    assert report.ok and len(report.warnings) == 2
    assert "timeout" in warnings_about(report, "slow.html")[0]
    assert "timeout" in warnings_about(report, "slow-head.html")[0]
    assert set(mirror.files) == set(MIRRORED.values())
    assert_clean(site, report)


def billion_laughs() -> str:
    """Return a sitemap whose one URL expands to 10⁹ "lol"s if entities are resolved."""
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        entities.append(f'<!ENTITY lol{level} "{f"&lol{level - 1};" * 10}">')
    return (
        f'<?xml version="1.0"?><!DOCTYPE urlset [{"".join(entities)}]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>http://x/&lol9;</loc></url></urlset>"
    )


BILLION_LAUGHS = billion_laughs()


def test_sync_site_entity_bomb_sitemap_is_refused(site: Site, tmp_path: Path) -> None:
    site.routes["/sitemap-bomb.xml"] = lambda h: Site.send(
        h, 200, BILLION_LAUGHS.encode(), "application/xml"
    )
    mirror, report = sync(site, tmp_path / "mirror", sitemaps=(site.url("/sitemap-bomb.xml"),))
    assert report.ok and len(report.warnings) == 1
    assert "sitemap-bomb.xml" in report.warnings[0] and "entities" in report.warnings[0]
    assert set(mirror.files) == set(MIRRORED.values())  # still found by following links
    assert_clean(site, report)


def test_sync_site_gzip_sitemap_past_the_cap_is_refused(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sitemap, "MAX_SITEMAP_BYTES", 2**20)
    big = gzip.compress(b"<urlset>" + b" " * 20 * 2**20, compresslevel=9)
    site.routes["/sitemap-big.xml.gz"] = lambda h: Site.send(h, 200, big, "application/gzip")
    mirror, report = sync(site, tmp_path / "mirror", sitemaps=(site.url("/sitemap-big.xml.gz"),))
    assert len(big) < 100_000
    assert report.ok and len(report.warnings) == 1
    assert "sitemap-big.xml.gz" in report.warnings[0] and "decompresses" in report.warnings[0]
    assert set(mirror.files) == set(MIRRORED.values())
    assert_clean(site, report)


def test_sync_site_sitemap_index_listing_itself_ends(site: Site, tmp_path: Path) -> None:
    index = (
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{site.url('/sitemap-index.xml')}</loc></sitemap>"
        f"<sitemap><loc>{site.url('/sitemap.xml')}</loc></sitemap></sitemapindex>"
    ).encode()
    site.routes["/sitemap-index.xml"] = lambda h: Site.send(h, 200, index, "application/xml")
    config = {
        "start_urls": (),
        "sitemaps": (site.url("/sitemap-index.xml"),),
        "path_prefix": "/docs/",
    }
    mirror, report = sync(site, tmp_path / "mirror", **config)
    assert report.ok and report.warnings == ()
    assert site.statuses("/sitemap-index.xml") == [200] and site.statuses("/sitemap.xml") == [200]
    assert set(mirror.files) == set(MIRRORED.values())
    assert_clean(site, report)


def test_sync_site_endless_generated_pages_stop_at_max_pages(site: Site, tmp_path: Path) -> None:
    links = "".join(f'<a href="?page={n}">{n}</a>' for n in range(10_000)).encode()

    def listing(handler: BaseHTTPRequestHandler) -> None:
        body = links if handler.path == "/docs/list.html" else b"<p>one page</p>"
        Site.send(handler, 200, body, "text/html")

    site.routes["/docs/list.html"] = listing
    start = (site.url("/docs/list.html"),)
    mirror, report = sync(site, tmp_path / "mirror", start_urls=start, max_pages=50)
    assert len(site.requests("/docs/list.html")) == 50
    assert report.ok and len(report.warnings) == 1
    assert "max_pages (50)" in report.warnings[0]
    assert len(mirror.files) == 50
    assert sorted(mirror.files)[0].startswith("list-")  # a query gets a hash before the suffix
    assert_clean(site, report)


def test_sync_site_server_error_keeps_the_previous_copy(site: Site, tmp_path: Path) -> None:
    before, _ = sync(site, tmp_path / "mirror")
    site.routes["/docs/faq.html"] = lambda h: Site.send(h, 500, b"oops", "text/plain")
    mirror, report = sync(site, tmp_path / "mirror")
    assert report.ok and report.kept == 1 and len(report.warnings) == 1
    (line,) = warnings_about(report, "faq.html")
    assert "500" in line and "kept" in line
    assert mirror.files == before.files
    assert snapshot(mirror) == snapshot(before)
    assert_clean(site, report)


def test_sync_site_429_is_retried_after_retry_after(site: Site, tmp_path: Path) -> None:
    def busy_once(handler: BaseHTTPRequestHandler) -> None:
        del site.routes["/docs/faq.html"]
        Site.send(handler, 429, b"slow down", "text/plain", {"Retry-After": "1"})

    site.routes["/docs/faq.html"] = busy_once
    started = time.monotonic()
    mirror, report = sync(site, tmp_path / "mirror")
    assert time.monotonic() - started >= 1.0
    assert site.statuses("/docs/faq.html") == [429, 200]
    assert report.ok and report.warnings == () and "faq.html" in mirror.files
    assert_clean(site, report)


def test_sync_site_server_stopping_mid_sync_fails_and_keeps_all(site: Site, tmp_path: Path) -> None:
    before, _ = sync(site, tmp_path / "mirror")
    site.stop_after = len(site.log) + 4
    mirror, report = sync(site, tmp_path / "mirror")
    assert not report.ok and "could not reach" in report.error
    assert "Traceback" not in report.error
    assert mirror.files == before.files and snapshot(mirror) == snapshot(before)
    assert mirror.status.last_error == report.error
    assert mirror.status.last_success == before.status.last_success


def test_sync_site_unreachable_start_url_fails_and_keeps_all(site: Site, tmp_path: Path) -> None:
    before, _ = sync(site, tmp_path / "mirror")
    site.stop()
    mirror, report = sync(site, tmp_path / "mirror")
    assert not report.ok and site.base in report.error
    assert "sync failed, previous files kept" in report.summary()
    assert mirror.files == before.files and snapshot(mirror) == snapshot(before)
    assert mirror.status.last_error and mirror.status.files == 11


def test_sync_site_tls_failure_fails_the_sync(site: Site, tmp_path: Path) -> None:
    start = (site.url("/docs/").replace("http://", "https://"),)
    mirror, report = sync(site, tmp_path / "mirror", start_urls=start)
    assert not report.ok and "could not reach https://127.0.0.1" in report.error
    assert "Traceback" not in report.error and mirror.files == {}
    assert mirror.status.last_error == report.error and not mirror.status.last_success


def test_sync_site_server_errors_everywhere_fail_the_sync(site: Site, tmp_path: Path) -> None:
    before, _ = sync(site, tmp_path / "mirror")
    site.fail_pages = 502
    site.log.clear()
    mirror, report = sync(site, tmp_path / "mirror")
    assert not report.ok and "502" in report.error and "seems down" in report.error
    assert 10 <= len(site.requests("/docs/")) < 10 + 4  # ten in a row, plus those in flight
    assert mirror.files == before.files and report.kept == 10


# The units under the crawl.


def test_normalize_url_gives_one_form_per_page() -> None:
    same = [
        "HTTP://Docs.Example.COM:80/a/./b/../c.html#part",
        "http://docs.example.com/a/c.html?utm_source=x&fbclid=y",
        "http://user:pw@docs.example.com/a/c.html",
    ]
    assert {normalize_url(url) for url in same} == {"http://docs.example.com/a/c.html"}
    assert normalize_url("https://x.org:443/p?b=2&a=1&gclid=3") == "https://x.org/p?a=1&b=2"
    assert normalize_url("../up.html", "https://x.org/a/b/") == "https://x.org/a/up.html"
    assert normalize_url("https://x.org/a b") == "https://x.org/a%20b"
    for refused in ("file:///etc/passwd", "ftp://x.org/", "javascript:alert(1)", "mailto:a@b"):
        assert normalize_url(refused) is None
    assert normalize_url("http://x.org:99999/") is None


def test_to_mirror_path_maps_urls_to_safe_files() -> None:
    html = "text/html; charset=utf-8"

    def path(url: str, kind: str = html, with_host: bool = False) -> str:
        extension = document_extension(kind, url)
        assert extension is not None
        return to_mirror_path(url, extension, with_host=with_host)

    assert path("https://x.org/docs/install.html") == "docs/install.html"
    assert path("https://x.org/docs/") == "docs/index.html"
    assert path("https://x.org/docs/api") == "docs/api.html"
    assert path("https://x.org/docs/notes.md", "text/markdown") == "docs/notes.md"
    assert path("https://x.org/docs/notes.md", "text/plain") == "docs/notes.md"
    assert path("https://x.org/guide.pdf", "application/octet-stream") == "guide.pdf"
    assert path("https://x.org:8080/a.html", with_host=True) == "x.org_8080/a.html"
    with_query = path("https://x.org/docs/list.html?page=2")
    assert with_query.startswith("docs/list-") and with_query.endswith(".html")
    assert with_query != path("https://x.org/docs/list.html?page=3")
    with pytest.raises(ValueError, match="safe path"):
        path("https://x.org/docs/.git/config")
    with pytest.raises(ValueError):
        path("https://x.org/docs/..%2F..%2Fetc/passwd")
    assert document_extension("image/png", "https://x.org/a.png") is None
    assert document_extension("text/css", "https://x.org/a.css") is None


def test_to_mirror_path_is_taken_inside_the_path_prefix() -> None:
    def path(url: str, with_host: bool = False) -> str:
        return to_mirror_path(url, ".html", with_host=with_host, prefix="/docs/")

    assert path("https://x.org/docs/install.html") == "install.html"
    assert path("https://x.org/docs/") == "index.html"
    assert path("https://x.org/docs") == "index.html"
    assert path("https://x.org/docs/guide/") == "guide/index.html"
    with_query = path("https://x.org/docs/list.html?page=2")
    assert with_query.startswith("list-") and with_query.endswith(".html")
    assert with_query != path("https://x.org/docs/list.html?page=3")
    assert path("https://x.org:8080/docs/install.html", with_host=True) == "x.org_8080/install.html"


def test_scope_admits_only_the_site() -> None:
    scope = Scope(frozenset({"x.org"}), "/docs/", ("/docs/*",), ("/docs/old/*",))
    assert scope.admits("https://x.org/docs/a.html")
    assert "allowed_hosts" in scope.refusal("https://y.org/docs/a.html")
    assert "path_prefix" in scope.refusal("https://x.org/blog/a.html")
    assert "exclude" in scope.refusal("https://x.org/docs/old/a.html")
    assert "allowed_hosts" in scope.refusal("https://x.org:8443/docs/a.html")


def test_address_policy_refuses_unnamed_private_and_metadata_addresses() -> None:
    policy = AddressPolicy(frozenset({"127.0.0.1", "docs.internal", "169.254.10.10"}))
    ip = ipaddress.ip_address
    assert policy.refusal("example.org", ip("93.184.215.14")) == ""
    assert policy.refusal("127.0.0.1", ip("127.0.0.1")) == ""
    assert policy.refusal("docs.internal", ip("10.1.2.3")) == ""
    assert policy.refusal("evil.example", ip("10.1.2.3"))
    assert policy.refusal("evil.example", ip("::1"))
    assert policy.refusal("docs.internal", ip("169.254.169.254"))  # named host, metadata IP
    assert policy.refusal("docs.internal", ip("::ffff:169.254.169.254"))
    assert policy.refusal("docs.internal", ip("fd00:ec2::254"))
    assert policy.refusal("169.254.10.10", ip("169.254.10.10")) == ""  # the literal IP named
    assert policy.refusal("evil.example", ip("224.0.0.1"))


def test_guarded_backend_refuses_before_connecting(site: Site) -> None:
    backend = GuardedBackend(AddressPolicy(frozenset({"example.org"})))
    with pytest.raises(RefusedAddress, match="private, loopback"):
        backend.connect_tcp("127.0.0.1", site.port)
    with pytest.raises(RefusedAddress):
        backend.connect_tcp("localhost", site.port)
    allowed = GuardedBackend(AddressPolicy(frozenset({"127.0.0.1"})))
    allowed.connect_tcp("127.0.0.1", site.port, timeout=5).close()
    backend.set_deadline(time.monotonic() - 1)
    with pytest.raises(httpcore.ConnectTimeout):
        backend.remaining(5.0, httpcore.ConnectTimeout)


def test_retry_after_seconds_reads_seconds_and_dates() -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("9999") == 60.0
    later = format_datetime(now + timedelta(seconds=5), usegmt=True)
    assert retry_after_seconds(later, now) == 5.0
    assert retry_after_seconds("soon") is None


def test_parse_sitemap_refuses_entities_and_reads_pages() -> None:
    with pytest.raises(SitemapError, match="entities"):
        parse_sitemap(BILLION_LAUGHS.encode())
    pages = parse_sitemap(
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url>'
        b"<loc> https://x.org/a </loc><lastmod>2024-01-01</lastmod></url></urlset>"
    )
    assert pages.pages == (("https://x.org/a", "2024-01-01"),)
    with pytest.raises(SitemapError, match="decompresses"):
        gunzip_capped(gzip.compress(b"\0" * 10_000), 1_000)
    with pytest.raises(SitemapError, match="not a sitemap"):
        parse_sitemap(b"<html></html>")


def test_site_config_refuses_settings_that_cannot_work() -> None:
    from index.errors import ConfigError

    with pytest.raises(ConfigError, match="neither start_urls nor sitemaps"):
        SiteConfig("docs")
    with pytest.raises(ConfigError, match="not an http"):
        SiteConfig("docs", start_urls=("file:///etc/passwd",))
    with pytest.raises(ConfigError, match="max_pages"):
        SiteConfig("docs", start_urls=("https://x.org/",), max_pages=0)


def test_sync_site_leaves_a_dead_link_alone_for_a_week(site: Site, tmp_path: Path) -> None:
    site.write(
        "docs/install.html",
        '<h1>Install</h1><a href="guide/intro.html">intro</a><a href="missing.html">gone</a>',
    )
    mirror, report = sync(site, tmp_path / "mirror")
    dead = site.url("/docs/missing.html")
    assert site.statuses("/docs/missing.html") == [404]
    assert report.ok and report.warnings == ()  # a broken link is not the admin's problem
    assert set(mirror.dead) == {dead}

    site.log.clear()
    mirror, report = sync(site, tmp_path / "mirror")
    assert site.statuses("/docs/missing.html") == []  # not asked for again
    assert set(mirror.dead) == {dead}  # and still remembered

    # A week later it is tried again; the page exists now, so it is mirrored and forgotten.
    state = json.loads(mirror.state_path.read_text())
    state["dead"][dead] = (datetime.now(UTC) - timedelta(days=8)).isoformat(timespec="seconds")
    mirror.state_path.write_text(json.dumps(state))
    site.write("docs/missing.html", "<h1>Found</h1>")
    site.log.clear()
    mirror, report = sync(site, tmp_path / "mirror")
    assert site.statuses("/docs/missing.html") == [200]
    assert "missing.html" in mirror.files and mirror.dead == {}
