"""Loading every supported format, titles, and bad input skipped with a named reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.formats.base import SkippedFile
from ingest.loaders import load_document
from tests.harness import load_page, run_python

LIMIT = 10_000_000


def minimal_pdf(page_texts: list[str]) -> bytes:
    """Build a small valid PDF whose pages show the given text (or nothing, if empty)."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(page_texts)))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(page_texts)} >>".encode())
    font_id = 3 + 2 * len(page_texts)
    for i, text in enumerate(page_texts):
        content_id = 4 + 2 * i
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {content_id} 0 R "
            f"/Resources << /Font << /F1 {font_id} 0 R >> >> >>".encode()
        )
        stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode() if text else b""
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def test_load_txt_uses_front_matter_title_and_real_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text('---\ntitle: "My Title"\n---\nFirst paragraph.\n\nSecond one.\n')
    document, warnings = load_document(path, "a.txt", max_bytes=LIMIT)
    assert document.title == "My Title"
    assert [(b.text, b.start) for b in document.blocks] == [
        ("First paragraph.", 4),
        ("Second one.", 6),
    ]
    assert warnings == []


def test_load_txt_joins_hard_wrapped_lines(tmp_path: Path) -> None:
    path = tmp_path / "wrapped.txt"
    path.write_text(
        "This paragraph was wrapped by an editor at a fixed width, as\n"
        "plain text often is, and must read as one paragraph.\n"
    )
    document, _ = load_document(path, "wrapped.txt", max_bytes=LIMIT)
    assert len(document.blocks) == 1
    assert document.blocks[0].line_at(document.blocks[0].text.index("plain")) == 2


def test_load_txt_title_falls_back_to_first_line(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Return to Articles\n\nQuarterly planning notes\n\nWe met and agreed.\n")
    document, _ = load_document(path, "notes.txt", max_bytes=LIMIT)
    assert document.title == "Quarterly planning notes"


def test_load_markdown_headings_and_inline_markup(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text(
        "# Install guide\n\nRun **pip** and see [the docs](http://x).\n\n## Next\n\nMore.\n"
    )
    document, _ = load_document(path, "guide.md", max_bytes=LIMIT)
    assert document.title == "Install guide"
    assert [(b.text, b.is_heading) for b in document.blocks] == [
        ("Install guide", True),
        ("Run pip and see the docs.", False),
        ("Next", True),
        ("More.", False),
    ]


def test_load_markdown_setext_tables_reference_links_and_yaml_front_matter(
    tmp_path: Path,
) -> None:
    path = tmp_path / "guide.md"
    path.write_text(
        "---\ntitle: >-\n  A folded\n  title\ntags: [a, b]\n---\n\n"
        "Setext Title\n============\n\n"
        "See the [manual][ref] for *details*,\nwrapped onto a second line.\n\n"
        "Sub part\n--------\n\n"
        "| Name | Default |\n|------|---------|\n| depth | 1 |\n\n"
        "```sh\ngit stash\n```\n\n[ref]: http://example.com\n"
    )
    document, _ = load_document(path, "guide.md", max_bytes=LIMIT)
    assert document.title == "A folded title"
    assert [(b.text, b.is_heading, b.level) for b in document.blocks] == [
        ("Setext Title", True, 1),
        ("See the manual for details, wrapped onto a second line.", False, 1),
        ("Sub part", True, 2),
        ("Name | Default", False, 1),
        ("depth | 1", False, 1),
        ("git stash", False, 1),
    ]
    paragraph = document.blocks[1]
    assert (paragraph.start, paragraph.line_at(paragraph.text.index("wrapped"))) == (11, 12)


@pytest.mark.parametrize(
    ("name", "page"),
    [
        ("page.html", "<p>Enter it:</p><pre>cd trunk\ngit branch</pre><p>You are there.</p>"),
        ("page.md", "Enter it:\n\n```sh\ncd trunk\ngit branch\n```\n\nYou are there.\n"),
        ("page.md", "Enter it:\n\n<pre>cd trunk\ngit branch</pre>\n\nYou are there.\n"),
        ("page.rst", "Enter it::\n\n    cd trunk\n    git branch\n\nYou are there.\n"),
    ],
)
def test_a_code_blocks_lines_are_known_as_code_whatever_they_read_as(
    tmp_path: Path, name: str, page: str
) -> None:
    # "cd trunk" reads as prose: only the page's markup tells it is code.
    path = tmp_path / name
    path.write_text(page)
    document, _ = load_document(path, name, max_bytes=LIMIT)
    code = [b.text for b in document.blocks if b.code]
    prose = [b.text for b in document.blocks if not b.code and not b.is_heading]
    assert code == ["cd trunk\ngit branch"]
    assert prose[-1] == "You are there."


def test_load_markdown_bad_front_matter_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "odd.md"
    path.write_text("---\ntitle: [unclosed\n---\n\nBody text here.\n")
    document, _ = load_document(path, "odd.md", max_bytes=LIMIT)
    assert "Body text here." in [b.text for b in document.blocks]


def test_load_html_title_and_visible_text(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text("<title>Page</title><nav>Home</nav><p>Visible text here.</p>")
    document, _ = load_document(path, "page.html", max_bytes=LIMIT)
    assert document.title == "Page"
    assert [b.text for b in document.blocks] == ["Visible text here."]


def test_html_table_cells_are_set_apart_only_after_text(tmp_path: Path) -> None:
    # AsciiDoc's admonition: an icon cell, then the note. "| There is a difference…" was
    # indexed and quoted with the separator of a cell that shows nothing.
    path = tmp_path / "note.html"
    path.write_text(
        '<table><tr><td class="icon">\n<div class="title">Note</div>\n</td>\n'
        '<td class="content">There is a difference.</td></tr></table>'
        "<table><tr><td>a</td><td></td><td>c</td></tr></table>"
    )
    document, _ = load_document(path, "note.html", max_bytes=LIMIT)
    assert [b.text for b in document.blocks] == ["Note", "There is a difference.", "a | | c"]


def test_load_malformed_html_keeps_its_text(tmp_path: Path) -> None:
    path = tmp_path / "broken.htm"
    path.write_text("<html><body><p>Unclosed paragraph <div>and a div</span><p>Last")
    document, _ = load_document(path, "broken.htm", max_bytes=LIMIT)
    assert [b.text for b in document.blocks] == ["Unclosed paragraph", "and a div", "Last"]


def test_load_pdf_text_layer_with_page_numbers(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(minimal_pdf(["Hello from page one.", "And page two."]))
    document, _ = load_document(path, "report.pdf", max_bytes=LIMIT)
    assert [(b.text, b.unit, b.start) for b in document.blocks] == [
        ("Hello from page one.", "page", 1),
        ("And page two.", "page", 2),
    ]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "empty"),
        ("blank.md", b"   \n\n  ", "empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
        ("scan.pdf", minimal_pdf(["", ""]), "no text layer"),
        ("fake.pdf", b"%PDF-1.4 this is not really a pdf", "not a readable PDF"),
        ("only-nav.html", b"<nav>Home</nav><script>x()</script>", "no text left"),
        ("data.csv", b"a,b\n1,2\n", "unsupported file type"),
    ],
)
def test_load_bad_input_is_skipped_with_its_name_and_reason(
    tmp_path: Path, name: str, content: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SkippedFile) as caught:
        load_document(path, name, max_bytes=LIMIT)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)


def test_load_invalid_utf8_is_read_with_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    path.write_bytes("Café menu: crème brûlée.\n".encode("latin-1"))
    document, warnings = load_document(path, "latin.txt", max_bytes=LIMIT)
    assert document.blocks[0].text == "Café menu: crème brûlée."
    assert len(warnings) == 1
    assert "latin.txt" in warnings[0]
    assert "UTF-8" in warnings[0]


def test_load_file_over_size_limit_is_skipped_naming_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    path.write_text("word " * 300_000)
    with pytest.raises(SkippedFile, match="CITEBOT_INGEST__MAX_FILE_MB"):
        load_document(path, "huge.txt", max_bytes=1_000_000)


def test_load_large_file_under_limit_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    paragraphs = [f"Paragraph number {i} says something." for i in range(50_000)]
    path.write_text("\n\n".join(paragraphs))
    document, _ = load_document(path, "big.txt", max_bytes=LIMIT)
    assert len(document.blocks) == 50_000
    assert document.blocks[-1].text == "Paragraph number 49999 says something."


# Inputs that took quadratic time (issue 16): at these sizes linear code takes seconds and the
# old code tens of minutes, so the deadline detects a hang; it is not a speed measurement.
_HOSTILE_LOAD = """
import sys
from pathlib import Path
from ingest.loaders import load_document
from index.sentences import sentence_spans
folder = Path(sys.argv[1])
(folder / "dots.txt").write_text("Dots follow. " + "." * 400_000)
(folder / "stray.html").write_text("<title>Stray</title>" + "<p>x</b>" * 100_000)
(folder / "spaces.txt").write_text("Spaces follow. " + " " * 400_000 + "Then words.")
spaces, _ = load_document(folder / "spaces.txt", "spaces.txt", max_bytes=10**8)
assert "Then words." in "".join(block.text for block in spaces.blocks)
dots, _ = load_document(folder / "dots.txt", "dots.txt", max_bytes=10**8)
stray, _ = load_document(folder / "stray.html", "stray.html", max_bytes=10**8)
dots_text = "".join(block.text for block in dots.blocks)
stray_text = "".join(block.text for block in stray.blocks)
print(len(sentence_spans("." * 400_000)), len(dots_text), stray_text.count("x"))
"""


@pytest.mark.subprocess
def test_pathological_text_and_html_load_in_linear_time(tmp_path: Path) -> None:
    printed = run_python(_HOSTILE_LOAD, str(tmp_path), timeout=120)
    sentences, dots_length, xs = map(int, printed.split())
    assert sentences == 1
    assert dots_length >= 400_000  # nothing lost
    assert xs == 100_000  # every paragraph's text kept


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_wide_unicode_with_a_byte_order_mark_is_read(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "wide.txt"
    text = "Wide notes\n\nThe café opens at seven.\n"
    bom = {"utf-16-be": "\ufeff"}.get(encoding, "")  # the -be codec writes no mark of its own
    path.write_bytes((bom + text).encode(encoding))
    document, _ = load_document(path, "wide.txt", max_bytes=LIMIT)
    assert document.title == "Wide notes"
    assert "The café opens at seven." in [block.text for block in document.blocks]


@pytest.mark.parametrize("name", ["ansi.txt", "ansi.md", "ansi.html"])
def test_escape_sequences_and_control_characters_never_reach_the_text(
    tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    path.write_text(
        "Terminal notes\n\nThe \x1b[31mred\x1b[0m light\x07 means stop.\x1b]0;pwned\x07\x1b[2J\n"
    )
    document, _ = load_document(path, name, max_bytes=LIMIT)
    text = "\n".join(block.text for block in document.blocks)
    assert "The red light means stop." in text
    assert not any(ord(char) < 32 and char not in "\t\n" for char in text)
    assert "\x1b" not in text and "pwned" not in text


@pytest.mark.parametrize(
    ("name", "content", "url"),
    [
        (
            "page.html",
            '<html><head><link rel="canonical" href="https://docs.example.com/a/">'
            '<meta property="og:url" content="https://og.example.com/a"></head>'
            "<body><p>Some text here.</p></body></html>",
            "https://docs.example.com/a/",
        ),
        (
            "og.html",
            '<html><head><meta property="og:url" content="https://og.example.com/b">'
            "</head><body><p>Some text here.</p></body></html>",
            "https://og.example.com/b",
        ),
        (
            "evil.html",
            '<html><head><link rel="canonical" href="javascript:alert(1)"></head>'
            "<body><p>Some text here.</p></body></html>",
            "",
        ),
        (
            "relative.html",
            '<html><head><link rel="canonical" href="/docs/c"></head>'
            "<body><p>Some text here.</p></body></html>",
            "",
        ),
        (
            "notes.md",
            "---\nurl: https://wiki.example.com/notes\n---\nSome text here.\n",
            "https://wiki.example.com/notes",
        ),
        (
            "source.txt",
            "---\nsource: https://wiki.example.com/src\n---\nSome text here.\n",
            "https://wiki.example.com/src",
        ),
        ("local.md", "---\nurl: file:///etc/passwd\n---\nSome text here.\n", ""),
        ("plain.txt", "Some text here.\n", ""),
    ],
)
def test_a_document_keeps_the_address_it_gives_for_itself(
    tmp_path: Path, name: str, content: str, url: str
) -> None:
    path = tmp_path / name
    path.write_text(content)
    document, _ = load_document(path, f"docs/{name}", max_bytes=LIMIT)
    assert document.url == url


@pytest.mark.parametrize(
    "chrome",
    [
        '<div class="navheader"><table><tr><td>Prev</td><td>Up</td><td>Chapter 17. '
        "Installation from Source Code</td><td>Home</td><td>Next</td></tr></table></div>",
        '<div class="related" role="navigation"><ul><li>previous</li><li>next</li></ul></div>',
        '<nav class="md-nav"><a>Getting started</a></nav><div class="md-footer">Next</div>',
        '<nav class="pagination-nav"><a>Previous Install</a></nav>',
        # AsciiDoc's footer (Git's pages), a Sphinx theme's sidebar (Django's "Last update").
        '<div id="footer"><div id="footer-text">Last updated 2024-05-31 00:35:55 UTC</div></div>',
        '<div class="yui-b" id="sidebar"><h3>Last update:</h3><p>May 26, 2026</p></div>',
        '<div class="toc"><p><b>Table of Contents</b></p><dl><dt>Getting updates</dt></dl></div>',
    ],
)
def test_generator_navigation_is_never_text(tmp_path: Path, chrome: str) -> None:
    path = tmp_path / "page.html"
    path.write_text(f"<title>Page</title>{chrome}<p>The content itself.</p>{chrome}")
    document, _ = load_document(path, "page.html", max_bytes=LIMIT)
    assert [b.text for b in document.blocks] == ["The content itself."]


def test_asciidocs_header_is_the_page_not_chrome(tmp_path: Path) -> None:
    # Its id is "header", but it holds the page's title and NAME line: what the page is about.
    path = tmp_path / "git-blame.html"
    path.write_text(
        '<div id="header"><h1>git-blame(1) Manual Page</h1><h2>NAME</h2><div class="sectionbody">'
        "<p>git-blame - Show what revision and author last modified each line of a file</p>"
        '</div></div><div id="content"><p>Annotates each line.</p></div>'
    )
    document, _ = load_document(path, "git-blame.html", max_bytes=LIMIT)
    texts = [b.text for b in document.blocks]
    assert "git-blame - Show what revision and author last modified each line of a file" in texts


def test_a_markdown_reference_link_left_unresolved_reads_as_its_text(tmp_path: Path) -> None:
    # Hatch's pages cite "[the standard][project metadata standard]" and "[PEP 517][]" from a
    # links file the site appends at build time; read alone, the brackets showed.
    document = load_page(
        tmp_path,
        "metadata.md",
        "# Metadata\n\nBased on [the standard][project metadata standard], [PEP 517][] and "
        "[a link](https://example.org).\n",
    )
    assert document.blocks[1].text == "Based on the standard, PEP 517 and a link."


def test_an_inline_highlighters_language_mark_is_not_text(tmp_path: Path) -> None:
    # Hatch writes `#!toml packages = ["src/foo"]` (pymdownx.inlinehilite); the site shows the
    # code highlighted, without the mark.
    document = load_page(
        tmp_path, "build.md", '# Build\n\nSet `#!toml packages = ["src/foo"]` to ship it.\n'
    )
    assert document.blocks[1].text == 'Set `packages = ["src/foo"]` to ship it.'
