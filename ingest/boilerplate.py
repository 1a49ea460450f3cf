"""Page furniture learned from the corpus: lines a site prints on most of its pages.

Generators mark their navigation (`<nav>`, DocBook's `navheader`, Sphinx's `related`, MkDocs'
`md-nav`: ingest/html_text.py), but a site built with anything else, or a theme's own footer
("Part of the git(1) suite", under 80% of Git's man pages), has no marker to go by. What gives
it away is that the same short line recurs on most pages of the site, while a sentence of the
documentation seldom appears on more than a few. So a line (a one-line block that is not a
heading) found on at least half of a corpus's HTML pages, and on at least MIN_PAGES of them, is
furniture and is left out of every page. Headings are never furniture: "SYNOPSIS" and
"Description" recur because they structure every page.

The lines of each page are remembered by the file's SHA-256 in a JSON file beside the index
(never pickle), so an ingest that re-reads a few pages still counts every page without parsing
the rest again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

from ingest.document import Block, Document

MIN_PAGES = 10  # fewer pages can't tell a site's frame from a sentence a few pages share
SHARE = 0.5
MAX_LINE_CHARS = 200  # navigation and footers are short; a recurring paragraph is content
CACHE_NAME = "page-lines.json"
_KEY_HEX = 16


def line_key(text: str) -> str:
    """Return the key a line is counted by: case and spacing don't make it another line."""
    folded = " ".join(text.casefold().split())
    return hashlib.sha256(folded.encode("utf-8", "surrogatepass")).hexdigest()[:_KEY_HEX]


def _furniture_key(block: Block) -> str:
    """Return the key of a block that could be furniture (a short line, not a heading), or ""."""
    if block.is_heading or "\n" in block.text or len(block.text) > MAX_LINE_CHARS:
        return ""
    return line_key(block.text)


def page_lines(document: Document) -> frozenset[str]:
    """Return the keys of the lines of a page that could be furniture."""
    return frozenset(filter(None, map(_furniture_key, document.blocks)))


def learn_furniture(pages: Iterable[frozenset[str]]) -> frozenset[str]:
    """Return the keys of lines on at least half of the pages (and MIN_PAGES of them)."""
    counts: Counter[str] = Counter()
    total = 0
    for lines in pages:
        counts.update(lines)
        total += 1
    if total < MIN_PAGES:
        return frozenset()
    needed = max(MIN_PAGES, SHARE * total)
    return frozenset(key for key, count in counts.items() if count >= needed)


def without_furniture(
    document: Document, furniture: frozenset[str]
) -> tuple[Document, dict[str, str]]:
    """Return the document without its furniture lines, and those lines' text by key."""
    if not furniture:
        return document, {}
    kept = []
    removed: dict[str, str] = {}
    for block in document.blocks:
        key = _furniture_key(block)
        if key in furniture:
            removed[key] = block.text
        else:
            kept.append(block)
    if not removed:
        return document, {}
    page = Document(
        document.source, document.title, tuple(kept), document.content_hash, document.url
    )
    return page, removed


def read_cache(index_dir: Path) -> dict[str, frozenset[str]]:
    """Return the remembered lines of each page by file SHA-256 ({} if missing or damaged)."""
    try:
        raw = json.loads((index_dir / CACHE_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a cache: anything wrong with it costs a re-parse, nothing else
    if not isinstance(raw, dict):
        return {}
    return {
        str(digest): frozenset(str(key) for key in keys)
        for digest, keys in raw.items()
        if isinstance(keys, list)
    }


def write_cache(index_dir: Path, pages: Mapping[str, frozenset[str]]) -> None:
    """Remember these pages' lines (only these: pages gone are forgotten), written atomically."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / CACHE_NAME
    staging = index_dir / f".tmp-{CACHE_NAME}"
    body = {digest: sorted(keys) for digest, keys in sorted(pages.items())}
    try:
        staging.write_text(json.dumps(body, separators=(",", ":")), encoding="utf-8")
        os.replace(staging, path)
    except OSError:
        # A full disk or a read-only folder: the next ingest parses those pages again.
        with contextlib.suppress(OSError):
            staging.unlink()
