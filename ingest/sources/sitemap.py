"""Read sitemaps and sitemap indexes safely: what pages they list, with their <lastmod>.

Sitemaps come from the site, so they are parsed as hostile input: no DTD loading, no network,
no entity expansion (a sitemap declaring entities is refused: none needs them, and "billion
laughs" is the usual reason to), lxml's default size limits, and gzip inflated with a hard cap
on the decoded size. An index is walked breadth-first with a seen-set (an index listing itself
ends there) and a depth cap. `read_sitemaps` also says whether every sitemap was read whole:
only then may a sync treat "not listed" as "gone".
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from lxml import etree

from ingest.sources.site_urls import normalize_url

MAX_SITEMAP_BYTES = 50_000_000  # decoded; the protocol's own limit per sitemap file
MAX_DEPTH = 3  # index -> index -> sitemap is already more nesting than the protocol allows
MAX_SITEMAPS = 500


class SitemapError(ValueError):
    """A sitemap cannot be used; the message says why in a few words."""


@dataclass(frozen=True, slots=True)
class Sitemap:
    """One parsed sitemap file: the pages it lists, or the sitemaps an index lists."""

    pages: tuple[tuple[str, str], ...] = ()  # (loc, lastmod) as written
    children: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SitemapReading:
    """The pages a set of sitemaps lists, and whether all of them were read whole."""

    pages: dict[str, str]  # normalised URL -> lastmod ("" if none), in listed order
    whole: bool
    truncated: bool  # more pages than the limit: only the first were taken
    warnings: tuple[str, ...] = ()


def gunzip_capped(data: bytes, limit: int) -> bytes:
    """Inflate gzip data, raising SitemapError once it passes limit decoded bytes."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise SitemapError("is not valid gzip") from exc
    if len(out) > limit:
        raise SitemapError(f"decompresses to more than {limit:,} bytes; refused")
    return out


def parse_sitemap(body: bytes) -> Sitemap:
    """Parse a sitemap, sitemap index or plain-text URL list (gzip or not)."""
    if body[:2] == b"\x1f\x8b":
        body = gunzip_capped(body, MAX_SITEMAP_BYTES)
    if len(body) > MAX_SITEMAP_BYTES:
        raise SitemapError(f"is larger than {MAX_SITEMAP_BYTES:,} bytes; refused")
    if not body.lstrip().startswith(b"<"):
        lines = body.decode("utf-8", errors="replace").split()
        return Sitemap(pages=tuple((line, "") for line in lines if "://" in line))
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    entities = "declares XML entities, which a sitemap never needs; refused"
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        # libxml2 stops an amplifying entity (billion laughs) even when not resolving them.
        raise SitemapError(
            entities if "entity" in str(exc).lower() else "is not valid XML"
        ) from exc
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise SitemapError(entities)
    kind = etree.QName(root).localname
    if kind == "urlset":
        pages = tuple(
            (_child_text(entry, "loc"), _child_text(entry, "lastmod"))
            for entry in _elements(root, "url")
        )
        return Sitemap(pages=tuple(page for page in pages if page[0]))
    if kind == "sitemapindex":
        children = (_child_text(entry, "loc") for entry in _elements(root, "sitemap"))
        return Sitemap(children=tuple(child for child in children if child))
    raise SitemapError(f"is not a sitemap (its root element is <{kind}>)")


def _elements(parent: etree._Element, name: str) -> Iterable[etree._Element]:
    """Yield parent's child elements of a local name, in any namespace."""
    for child in parent:
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            yield child


def _child_text(parent: etree._Element, name: str) -> str:
    """Return the stripped text of parent's first child of a local name ("" if none)."""
    for child in _elements(parent, name):
        return str(child.text or "").strip()
    return ""


def read_sitemaps(
    urls: Iterable[str],
    fetch: Callable[[str], bytes | None],
    *,
    page_wanted: Callable[[str], bool],
    sitemap_wanted: Callable[[str], bool],
    limit: int,
) -> SitemapReading:
    """Walk sitemaps and indexes breadth-first; fetch returns None for one it could not get."""
    pages: dict[str, str] = {}
    warnings: list[str] = []
    whole, truncated = True, False
    seen: set[str] = set()
    queue = deque((url, 0) for url in urls)
    while queue:
        url, depth = queue.popleft()
        if url in seen:
            continue  # an index listing itself, or two indexes listing each other
        if len(seen) >= MAX_SITEMAPS:
            warnings.append(f"{url}: more than {MAX_SITEMAPS} sitemaps; the rest were not read")
            whole = False
            break
        seen.add(url)
        body = fetch(url)
        if body is None:
            whole = False
            continue
        try:
            sitemap = parse_sitemap(body)
        except SitemapError as exc:
            warnings.append(f"{url}: {exc}; its pages are found by following links instead")
            whole = False
            continue
        for child in sitemap.children:
            target = normalize_url(child, url)
            if target is None or not sitemap_wanted(target) or target in seen:
                continue
            if depth + 1 > MAX_DEPTH:
                warnings.append(f"{url}: sitemap indexes nest deeper than {MAX_DEPTH}; ignored")
                whole = False
                break
            queue.append((target, depth + 1))
        for loc, lastmod in sitemap.pages:
            page = normalize_url(loc, url)
            if page is None or not page_wanted(page) or page in pages:
                continue
            if len(pages) >= limit:
                whole, truncated = False, True
                break
            pages[page] = lastmod
        if truncated:
            break  # later sitemaps could only add pages past the limit
    return SitemapReading(pages, whole, truncated, tuple(warnings))
