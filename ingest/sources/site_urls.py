"""Which URLs a site sync fetches, and where each page lands in its mirror.

A page is keyed by one normalised URL (lowercase scheme and host, no default port, no fragment,
no tracking parameters, sorted query), so the same page reached by two spellings is fetched
once. A `Scope` says which normalised URLs belong to a site: an allowed host (compared as
`host` or `host:port`), under the path prefix, matching the include globs and none of the
exclude globs. `to_mirror_path` turns a page URL and its document kind into a safe relative
path: `/docs/` becomes `docs/index.html`, `/docs/api` served as HTML `docs/api.html`, and a
query string a short hash before the extension.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import PurePosixPath
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

import lxml.html
from lxml import etree

from ingest.sources.mirror import safe_relative

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Characters a path may keep as they are; anything else (spaces, non-ASCII) is percent-encoded.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
_HOST = re.compile(r"[a-z0-9._\-\[\]:]+")

# Query parameters that only say where a visitor came from: the page is the same without them.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "ref",
        "ref_src",
        "ref_url",
    }
)

# Links that are never documents: not worth a request to learn their content type.
SKIPPED_SUFFIXES = frozenset(
    {
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".svg",
        ".webp",
        ".ico",
        ".bmp",
        ".css",
        ".js",
        ".mjs",
        ".map",
        ".json",
        ".xml",
        ".zip",
        ".gz",
        ".tgz",
        ".bz2",
        ".xz",
        ".tar",
        ".whl",
        ".exe",
        ".dmg",
        ".msi",
        ".deb",
        ".rpm",
        ".jar",
        ".mp3",
        ".mp4",
        ".webm",
        ".mov",
        ".woff",
        ".woff2",
        ".ttf",
        ".otf",
        ".eot",
    }
)

# Content type -> (the extension given to a path without a fitting one, the suffixes that fit).
_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "text/html": (".html", (".html", ".htm")),
    "application/xhtml+xml": (".html", (".html", ".htm", ".xhtml")),
    "text/markdown": (".md", (".md", ".markdown")),
    "text/x-markdown": (".md", (".md", ".markdown")),
    # Markdown and reStructuredText are often served as plain text: their suffix says more.
    "text/plain": (".txt", (".txt", ".md", ".markdown", ".rst")),
    "application/pdf": (".pdf", (".pdf",)),
}
# A document served with a vague type (octet-stream, text/x-rst) is kept by its suffix.
_BY_SUFFIX = frozenset({".md", ".markdown", ".txt", ".rst", ".pdf"})
DOCUMENT_SUFFIXES = _BY_SUFFIX  # suffixes that say what a non-HTML document is
_VAGUE_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
HTML_SUFFIXES = (".html", ".htm", ".xhtml")


def normalize_url(url: str, base: str = "") -> str | None:
    """Return url in the one form a sync keys pages by, or None if it is not an http(s) URL."""
    url = url.strip()
    try:
        if base:
            url = urljoin(base, url)
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            return None
    if scheme not in _DEFAULT_PORTS or not host or not _HOST.fullmatch(host):
        return None
    if ":" in host:
        host = f"[{host}]"
    # User info is dropped: a credential never travels in a URL a sync keeps or shows.
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = quote(_remove_dot_segments(parts.path), safe=_PATH_SAFE)
    path = _ESCAPE.sub(lambda match: match.group(0).upper(), path)
    return urlunsplit((scheme, netloc, path, _clean_query(parts.query), ""))


def _remove_dot_segments(path: str) -> str:
    """Resolve "." and ".." segments as RFC 3986 does, keeping a trailing slash."""
    segments = path.split("/")[1:] if path.startswith("/") else path.split("/")
    kept: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment in (".", ".."):
            if segment == ".." and kept:
                kept.pop()
            if last:
                kept.append("")
        else:
            kept.append(segment)
    return "/" + "/".join(kept)


def _clean_query(query: str) -> str:
    """Drop tracking parameters and sort the rest, so one page has one query string."""
    pairs = [
        (key, value)
        for key, value in parse_qsl(query, keep_blank_values=True)
        if not key.lower().startswith("utm_") and key.lower() not in TRACKING_PARAMS
    ]
    return urlencode(sorted(pairs), quote_via=quote)


def host_entry(entry: str) -> str:
    """Return an allowed-hosts entry ("Docs.Example.com:443", a URL) as a comparable netloc."""
    entry = entry.strip()
    url = normalize_url(entry if "://" in entry else f"http://{entry}/")
    if url is None:
        raise ValueError(f"{entry!r} is not a host name")
    netloc = urlsplit(url).netloc
    return netloc.removesuffix(":443")


def netloc_of(url: str) -> str:
    """Return the host (and non-default port) of a normalised URL."""
    return urlsplit(url).netloc


def hostname_of(url: str) -> str:
    """Return the bare host name or IP of a URL, as a connection resolves it."""
    return (urlsplit(url).hostname or "").lower()


def origin_of(url: str) -> str:
    """Return the scheme and host of a URL: where its robots.txt lives."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def folder_of(url: str) -> str:
    """Return the folder part of a URL's path: "/docs/" for "/docs/intro.html"."""
    path = urlsplit(url).path or "/"
    return path[: path.rfind("/") + 1]


@dataclass(frozen=True, slots=True)
class Scope:
    """Which normalised URLs belong to a site."""

    hosts: frozenset[str]  # netlocs: "docs.example.com", "127.0.0.1:8000"
    prefix: str = "/"  # a folder; ends with "/"
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    @property
    def multi_host(self) -> bool:
        """Tell whether mirror paths start with the host (more than one host allowed)."""
        return len(self.hosts) > 1

    def refusal(self, url: str, *, filters: bool = True) -> str:
        """Return why url is outside the site ("" if it is inside), naming the setting."""
        netloc = netloc_of(url)
        if netloc not in self.hosts:
            return f"whose host {netloc} is not in allowed_hosts"
        path = unquote(urlsplit(url).path)
        if not (path.startswith(self.prefix) or path == self.prefix.rstrip("/")):
            return f"which is outside path_prefix {self.prefix}"
        if filters and self.include and not any(fnmatchcase(path, g) for g in self.include):
            return "which matches no include pattern"
        if filters and any(fnmatchcase(path, glob) for glob in self.exclude):
            return "which matches an exclude pattern"
        return ""

    def admits(self, url: str) -> bool:
        """Tell whether url is a page of the site."""
        return not self.refusal(url)


def is_html(content_type: str) -> bool:
    """Tell whether a content type is an HTML page whose links are followed."""
    return _media_type(content_type) in HTML_TYPES


def _media_type(content_type: str) -> str:
    """Return a Content-Type's media type, without parameters: "text/html"."""
    return content_type.partition(";")[0].strip().lower()


def looks_like_document(url: str) -> bool:
    """Tell whether a link may be a document (not an image, stylesheet, archive...)."""
    suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()
    return suffix not in SKIPPED_SUFFIXES


def document_extension(content_type: str, url: str) -> str | None:
    """Return the extension a page of this type is mirrored with, or None if it is not kept."""
    kind = _media_type(content_type)
    suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()
    if kind in _KINDS:
        added, fitting = _KINDS[kind]
        return suffix if suffix in fitting else added
    if kind in _VAGUE_TYPES or kind.startswith("text/"):
        return suffix if suffix in _BY_SUFFIX else None
    return None


def to_mirror_path(url: str, extension: str, *, with_host: bool, prefix: str = "/") -> str:
    """Return where a page lands in the mirror; raise ValueError for an unsafe path.

    The path is taken inside the site's folder (prefix): the pages under /docs/ of a site
    named "docs" are cited "docs/install.html", not "docs/docs/install.html".
    """
    parts = urlsplit(url)
    path = unquote(parts.path) or "/"
    if path == prefix.rstrip("/"):
        path = prefix
    if path.startswith(prefix):
        path = "/" + path[len(prefix) :]
    if path.endswith("/"):
        path += "index"
    stem, suffix = path, extension
    if path.lower().endswith(extension):
        stem, suffix = path[: -len(extension)], path[-len(extension) :]
    if parts.query:
        stem += "-" + hashlib.sha256(parts.query.encode()).hexdigest()[:10]
    relative = (stem + suffix).lstrip("/")
    if with_host:
        # A port's colon is not a safe character in a file name on every system.
        relative = parts.netloc.replace(":", "_").strip("[]") + "/" + relative
    segments = [_shorten(segment) for segment in relative.split("/")]
    return safe_relative("/".join(segments))


def _shorten(segment: str) -> str:
    """Keep a path segment under file systems' 255-byte name limit, stably."""
    if len(segment.encode()) <= 200:
        return segment
    digest = hashlib.sha256(segment.encode()).hexdigest()[:16]
    return segment[:80] + "-" + digest + PurePosixPath(segment).suffix[:16]


def extract_links(body: bytes, url: str) -> list[str]:
    """Return the normalised targets of an HTML page's <a href> links, in page order."""
    try:
        document = lxml.html.document_fromstring(body)
    except (etree.ParserError, ValueError):
        return []
    base = url
    for href in document.xpath("//base/@href")[:1]:
        base = urljoin(url, str(href).strip())
    links: list[str] = []
    for href in document.xpath("//a/@href"):
        target = normalize_url(str(href), base)
        if target is not None:
            links.append(target)
    return links
