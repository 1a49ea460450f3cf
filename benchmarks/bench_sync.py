"""A 1,000-page docs site over loopback: first sync and a 1% re-sync, against a folder ingest.

Run: .venv/bin/python benchmarks/bench_sync.py [--pages 1000] [--share 0.01]
(needs the manuals benchmarks/quality/fetch.py puts in data/manuals/)

The site is real HTML: the Django, Git and pytest manuals' pages, served by tests/docs_server.py
(ETags, Last-Modified, 304s, a sitemap with lastmod) on 127.0.0.1. In one run, with the real
model: `citebot ingest` of the same files as a folder (the baseline); the first sync of the
site (fetch everything, then ingest); then a re-sync after `share` of the pages changed, with
the server's count of 200 and 304 responses. The chunks of the first sync are compared with
the folder's: a site source must read its pages exactly as a folder of them is read.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from common import REPO, print_machine, report

_MANUALS = ("django", "git", "pytest", "hatch")


def _build_site(into: Path, pages: int) -> list[Path]:
    """Copy the first `pages` HTML pages of the manuals into a site folder; return them."""
    chosen: list[Path] = []
    for manual in _MANUALS:
        source = REPO / "data" / "manuals" / manual
        if not source.is_dir():
            raise SystemExit(f"{source} is missing; run benchmarks/quality/fetch.py first")
        for page in sorted(source.rglob("*.html")):
            if len(chosen) == pages:
                return chosen
            target = into / manual / page.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(page, target)
            chosen.append(target)
    return chosen


def _front_page(site: Path) -> None:
    """Write the site's front page: a line about it and a link to each manual's index."""
    links = "".join(
        f'<li><a href="{manual}/index.html">The {manual} manual</a></li>'
        for manual in _MANUALS
        if (site / manual / "index.html").exists()
    )
    (site / "index.html").write_text(
        "<title>Manuals</title><h1>Manuals</h1><p>Four projects' documentation, served for "
        f"the sync benchmark as one site.</p><ul>{links}</ul>",
        encoding="utf-8",
    )


def _chunks(index_dir: Path) -> set[tuple[str, str, str]]:
    """Read every chunk's source, section and text from an index's live generation."""
    live = (index_dir / "CURRENT").read_text().strip()
    with sqlite3.connect(index_dir / live / "chunks.sqlite") as db:
        return set(db.execute("SELECT source, section, text FROM chunks"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--share", type=float, default=0.01)
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    print_machine()

    from bot.core.engine import load_embedder, run_ingest
    from bot.settings import Settings
    from bot.sources import remote_sources, sync_source
    from bot.sync_schedule import sync_and_ingest
    from tests.docs_server import DocsServer

    work = Path(tempfile.mkdtemp(prefix="citebot-bench-sync-"))
    os.chdir(work)
    site = work / "docs"  # named as the site source is, so both cite "docs/<page>"
    pages = _build_site(site, args.pages)
    server = DocsServer(site)
    try:
        embedder = load_embedder(Settings())

        folder = Settings(sources=site, index_dir=work / "folder-index", data_dir=work / "d1")
        started = time.perf_counter()
        folder_report = run_ingest(folder, embedder=embedder)
        folder_seconds = time.perf_counter() - started

        synced = Settings(
            sources=work / "no-folder",
            index_dir=work / "site-index",
            data_dir=work / "d2",
            sites={
                "docs": {
                    "start_url": server.start_url,
                    "sitemaps": [f"{server.base}/sitemap.xml"],
                    "max_pages": 10 * args.pages,  # dead links count as requests too
                    # Loopback: the polite default rate would measure the sleep, not the sync.
                    "requests_per_second": 1000,
                }
            },
        )
        sources = remote_sources(synced)
        started = time.perf_counter()
        (first,), first_ingest = sync_and_ingest(synced, sources, embedder=lambda: embedder)
        first_seconds = time.perf_counter() - started
        first_statuses = server.statuses()
        assert first_ingest is not None
        folder_chunks, site_chunks = _chunks(folder.index_dir), _chunks(synced.index_dir)

        changed = pages[:: max(1, round(1 / args.share))][: max(1, round(len(pages) * args.share))]
        for page in changed:
            with page.open("a", encoding="utf-8") as out:
                out.write("<p>A paragraph added for the re-sync benchmark.</p>\n")
            later = page.stat().st_mtime + 5  # a lastmod the sitemap shows as newer
            os.utime(page, (later, later))
        server.reset_log()
        started = time.perf_counter()
        (again,), again_ingest = sync_and_ingest(synced, sources, embedder=lambda: embedder)
        again_seconds = time.perf_counter() - started
        again_statuses = server.statuses()

        # The same re-sync without a sitemap: the crawl follows links and asks for every page
        # it holds with If-None-Match, so unchanged pages cost a 304 each instead of nothing.
        _front_page(site)
        server.advertise_sitemap = False  # nor found through robots.txt
        crawled = synced.model_copy(
            update={
                "data_dir": work / "d3",
                "sites": {"docs": synced.sites["docs"].model_copy(update={"sitemaps": []})},
            }
        )
        crawl_first = sync_source(crawled, "docs")
        for page in changed:
            with page.open("a", encoding="utf-8") as out:
                out.write("<p>A second paragraph added for the crawl re-sync.</p>\n")
        server.reset_log()
        crawl_again = sync_source(crawled, "docs")
        crawl_statuses = server.statuses()
    finally:
        server.stop()
        os.chdir(REPO)
        shutil.rmtree(work, ignore_errors=True)

    report(
        "sync",
        {
            "pages": len(pages),
            "chunks": first_ingest.chunk_count,
            "folder_ingest_s": folder_seconds,
            "first_sync_s": first_seconds,
            "first_sync_vs_folder": first_seconds / folder_seconds,
            "first_sync_fetch_s": first.seconds,
            "first_sync_200s": first_statuses[200],
            "first_sync_warnings": len(first.warnings),
            "same_chunks_as_folder": folder_chunks == site_chunks,
            "chunks_only_in_folder": len(folder_chunks - site_chunks),
            "chunks_only_in_site": len(site_chunks - folder_chunks),
            "pages_changed": len(changed),
            "resync_s": again_seconds,
            "resync_vs_first_sync": again_seconds / first_seconds,
            "resync_200s": again_statuses[200],
            "resync_304s": again_statuses[304],
            "resync_requests": sum(again_statuses.values()),
            "resync_changed": again.changed,
            "resync_chunks_embedded": again_ingest.chunks_embedded if again_ingest else 0,
            "resync_404s": again_statuses[404],
            "crawl_only_pages": crawl_first.added,
            "crawl_only_first_fetch_s": crawl_first.seconds,
            "crawl_only_resync_fetch_s": crawl_again.seconds,
            "crawl_only_resync_200s": crawl_statuses[200],
            "crawl_only_resync_304s": crawl_statuses[304],
            "crawl_only_resync_changed": crawl_again.changed,
            "folder_chunks_embedded": folder_report.chunks_embedded,
        },
    )


if __name__ == "__main__":
    main()
