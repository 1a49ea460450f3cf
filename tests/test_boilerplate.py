"""Page furniture learned from the corpus: a site's frame left out whatever generator made it."""

from __future__ import annotations

import json
from pathlib import Path

from index.store import StoredIndex
from ingest.boilerplate import CACHE_NAME, learn_furniture, line_key
from ingest.pipeline import IngestPlan, IngestReport, ingest
from tests.fakes import HashingEmbedder

# A generator nobody here knows: no <nav>, no role, no class any cleaner looks for.
TOP_BAR = "Acme Docs · Home · Guides · Blog · Pricing"
FOOTER = "Built by the Acme docs team in Lisbon, with love and coffee."
SHARED = "This feature needs the Pro plan of Acme Cloud."  # content a few pages share


def page(n: int, *, shared: bool = False, footer: bool = True) -> str:
    return f"""<!DOCTYPE html><html><head><title>Topic {n}</title></head><body>
<div class="xq-top"><span>{TOP_BAR}</span></div>
<div class="xq-body">
<h1>Topic {n}</h1>
<h2>Overview</h2>
<p>Topic {n} explains how widget number {n} turns its crank {n} times a day.</p>
{f"<p>{SHARED}</p>" if shared else ""}
<p>Widget {n} stores its cranks in the cellar, beside the {n} jars.</p>
</div>
{f'<div class="xq-bottom"><p>{FOOTER}</p></div>' if footer else ""}
</body></html>"""


def write_site(folder: Path, pages: range, **options: bool) -> None:
    folder.mkdir(exist_ok=True)
    for n in pages:
        (folder / f"topic{n:02d}.html").write_text(page(n, **options))


def run(corpus: Path, index_dir: Path, embedder: HashingEmbedder) -> IngestReport:
    plan = IngestPlan("fake", "fake-1", lambda: embedder, 200, 20, 10_000_000)
    return ingest([corpus], index_dir, plan)


def texts(index_dir: Path) -> list[str]:
    index = StoredIndex.open(index_dir)
    try:
        return [chunk.text for chunk in index.chunk_run(0, index.chunk_count)]
    finally:
        index.close()


def test_a_sites_frame_is_left_out_but_its_content_and_headings_stay(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    site = tmp_path / "site"
    write_site(site, range(12))
    for n in (3, 4, 5):  # a sentence three pages share is content, not furniture
        (site / f"topic{n:02d}.html").write_text(page(n, shared=True))
    report = run(site, tmp_path / "index", fake_embedder)
    assert report.added == 12 and not report.skipped
    # What is left out is said once, when it is learned: nothing goes unannounced.
    (told,) = [w for w in report.warnings if "site's frame" in w]
    assert TOP_BAR in told and FOOTER in told
    again = run(site, tmp_path / "index", fake_embedder)
    assert not [w for w in again.warnings if "site's frame" in w]
    shown = "\n".join(texts(tmp_path / "index"))
    assert TOP_BAR not in shown and FOOTER not in shown
    assert shown.count(SHARED) >= 3
    assert "Topic 7 explains how widget number 7" in shown
    index = StoredIndex.open(tmp_path / "index")
    try:
        sections = {chunk.section for chunk in index.chunk_run(0, index.chunk_count)}
        assert any("Overview" in section for section in sections)  # on every page, yet kept
        assert set(index.manifest.furniture) == {line_key(TOP_BAR), line_key(FOOTER)}
    finally:
        index.close()


def test_a_small_corpus_learns_nothing(tmp_path: Path, fake_embedder: HashingEmbedder) -> None:
    site = tmp_path / "site"
    write_site(site, range(6))  # too few pages to tell a frame from shared content
    run(site, tmp_path / "index", fake_embedder)
    assert sum(TOP_BAR in text for text in texts(tmp_path / "index")) == 6


def test_only_pages_whose_furniture_changed_are_read_again(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    site = tmp_path / "site"
    write_site(site, range(8), footer=False)
    write_site(site, range(8, 14))  # the footer on 6 of 14 pages: under half, kept
    first = run(site, tmp_path / "index", fake_embedder)
    assert first.added == 14
    assert sum(FOOTER in text for text in texts(tmp_path / "index")) == 6
    # Unchanged, nothing is read again: every page's lines come from the cache.
    again = run(site, tmp_path / "index", fake_embedder)
    assert (again.unchanged, again.chunks_embedded, again.wrote_index) == (14, 0, False)
    # Four new pages with the footer: now on 10 of 18, so it is furniture, and the six pages
    # that had it are read again without it; the eight without it are reused untouched.
    write_site(site, range(14, 18))
    grown = run(site, tmp_path / "index", fake_embedder)
    assert (grown.added, grown.updated, grown.unchanged) == (4, 6, 8)
    assert any(FOOTER in warning and TOP_BAR not in warning for warning in grown.warnings)
    assert not any(FOOTER in text for text in texts(tmp_path / "index"))


def test_the_page_cache_is_json_and_a_damaged_one_is_only_a_re_parse(
    tmp_path: Path, fake_embedder: HashingEmbedder
) -> None:
    site = tmp_path / "site"
    write_site(site, range(12))
    run(site, tmp_path / "index", fake_embedder)
    cache = tmp_path / "index" / CACHE_NAME
    remembered = json.loads(cache.read_text())
    assert len(remembered) == 12
    assert all(line_key(TOP_BAR) in keys for keys in remembered.values())
    cache.write_text("{not json")
    (site / "topic00.html").write_text(page(0).replace("crank 0 times", "crank twice"))
    report = run(site, tmp_path / "index", fake_embedder)
    assert (report.updated, report.unchanged) == (1, 11) and not report.skipped
    assert not any(TOP_BAR in text for text in texts(tmp_path / "index"))
    assert len(json.loads(cache.read_text())) == 12  # rebuilt whole


def test_furniture_needs_half_the_pages_and_ten_of_them() -> None:
    frame, shared = "k-frame", "k-shared"
    pages = [frozenset({frame, f"own-{n}"} | ({shared} if n < 9 else set())) for n in range(20)]
    assert learn_furniture(pages) == {frame}  # shared: 9 of 20, under half and under ten
    assert learn_furniture(pages[:9]) == frozenset()  # nine pages: too few to learn from
