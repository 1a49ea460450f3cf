"""Markdown as site generators take it: what the reader of the built site sees, nothing more."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest.loaders import load_document

MKDOCS_PAGE = """\
# Request Files { #request-files }

--8<-- "docs/snippets/intro.md"

You can define files to be uploaded by the client.

!!! note "Technical Details"
    Files are read in chunks, so large uploads never fill the memory.

=== "Python 3.10+"

    Install it with pip install python-multipart before you start.

/// tip | Use the newest version
The form parser needs version two or later.
///

//// tab | Python 3.8+
Older interpreters work too.
////

{* ../../docs_src/request_files/tutorial001.py hl[3] *}

::: fastapi.UploadFile
    options:
      members:
        - read

Uploads are stored in a spooled file :material-check: until read.{ .annotate }

Press ++ctrl+c++ to stop the upload, or pick ++"Upload: Cancel"++ from the palette:

<figure markdown>
    ![Upload form](form.png){ loading=lazy role="img" }
</figure>

*[HTML]: Hyper Text Markup Language

Term one
:   The definition of term one.

```console
$ <font color="#4E9A06">fastapi</font> run <u style="text-decoration-style:single">main.py</u>
```

```jinja
{% for item in items %}{{ item }}{% endfor %}
```
"""

DOCUSAURUS_PAGE = """\
---
title: Install
---
import Tabs from '@theme/Tabs';
import TabItem from '@theme/TabItem';

# Install

:::note Before you start
You need Node 18 or newer.
:::

<Tabs>
<TabItem value="npm">

Run npm install to fetch the packages.

</TabItem>
</Tabs>

{{< figure src="x.png" >}} Hugo pages show {{% param "name" %}} figures.
"""

# What must never reach a reader as text.
MARKUP = re.compile(
    r"\{\s*[#.]|^\s*/{3}|^\s*:::|^\s*(!!!|\?\?\?)|^\s*===|\{\*|--8<--|\{\{[<%]|:material-|"
    r"<font|<Tab|import Tabs|\*\[HTML\]|options:|members:|\+\+|!\[|\{\s*[\w-]+=",
    re.MULTILINE,
)


def _blocks(tmp_path: Path, name: str, text: str) -> list[str]:
    path = tmp_path / name
    path.write_text(text)
    document, _ = load_document(path, name, max_bytes=10**6)
    return [document.title, *(block.text for block in document.blocks)]


def test_mkdocs_material_dialect_reads_as_the_site_shows_it(tmp_path: Path) -> None:
    blocks = _blocks(tmp_path, "files.md", MKDOCS_PAGE)
    assert blocks[0] == "Request Files"  # the title carries no attribute list
    shown = "\n".join(blocks)
    assert not MARKUP.search(shown), [b for b in blocks if MARKUP.search(b)]
    for kept in (
        "You can define files to be uploaded by the client.",
        "Files are read in chunks, so large uploads never fill the memory.",  # admonition body
        "Install it with pip install python-multipart before you start.",  # tab body, not code
        "The form parser needs version two or later.",
        "Older interpreters work too.",
        "Uploads are stored in a spooled file until read.",
        'Press ctrl+c to stop the upload, or pick "Upload: Cancel" from the palette:',
        "Upload form",  # Markdown in HTML (md_in_html): the image's alt text, as for any image
        "Term one: The definition of term one.",
        "{% for item in items %}{{ item }}{% endfor %}",  # code keeps its template tags
    ):
        assert kept in blocks, (kept, blocks)
    assert any(b.startswith("$ fastapi run") for b in blocks), blocks  # colours gone, text kept
    assert "Technical Details" not in blocks  # a box's caption, not a sentence of the page


def test_docusaurus_and_hugo_markup_is_left_out(tmp_path: Path) -> None:
    blocks = _blocks(tmp_path, "install.mdx.md", DOCUSAURUS_PAGE)
    shown = "\n".join(blocks)
    assert not MARKUP.search(shown), blocks
    assert "You need Node 18 or newer." in blocks
    assert "Run npm install to fetch the packages." in blocks
    assert "Hugo pages show figures." in " ".join(blocks)


@pytest.mark.parametrize(
    "line",
    [
        "## Tags { #tags .shiny data-x=1 }",
        "## Tags {: #tags }",
        "## Tags { .shiny }",
        # Hatch's changelog: dotted ids after the heading's closing hashes.
        "## Tags ## {: #hatch-v1.17.1 }",
    ],
)
def test_headings_never_carry_an_attribute_list(tmp_path: Path, line: str) -> None:
    blocks = _blocks(tmp_path, "tags.md", f"# Page\n\n{line}\n\nSome text under it.\n")
    assert "Tags" in blocks and not any("{" in block or "#" in block for block in blocks)


def test_line_numbers_survive_the_rewrite(tmp_path: Path) -> None:
    path = tmp_path / "lines.md"
    path.write_text(MKDOCS_PAGE)
    document, _ = load_document(path, "lines.md", max_bytes=10**6)
    lines = MKDOCS_PAGE.split("\n")
    for block in document.blocks:
        if block.text.startswith(("You can define", "Older interpreters")):
            assert block.text in lines[block.start - 1], (block.start, block.text)


def test_html_line_breaks_separate_words_in_cells_and_prose(tmp_path: Path) -> None:
    # Hatch's version table: "`micro`<br>`patch`<br>`fix`" was shown as "micropatchfix".
    page = (
        "# Versions\n\n| Segments | New version |\n| --- | --- |\n"
        "| `micro`<br>`patch`<br>`fix` | `1.0.1` |\n| Stops here.<br/>Then goes on | x |\n\n"
        "One line<br>and the next.\n"
    )
    blocks = _blocks(tmp_path, "version.md", page)
    # Each cell's inline code stays marked, unless the cell is nothing else.
    assert "`micro`, `patch`, `fix` | 1.0.1" in blocks, blocks
    assert "Stops here. Then goes on | x" in blocks, blocks  # a sentence's end needs no comma
    assert "One line and the next." in blocks, blocks


def test_inline_code_in_markdown_stays_marked_where_a_sentence_holds_it(tmp_path: Path) -> None:
    page = (
        "# The `check` option\n\nUse `--check` in CI to verify lockfiles.\n\n"
        "`hatch env lock --check`\n\nTerm `x`\n: Its `value`.\n"
    )
    blocks = _blocks(tmp_path, "lock.md", page)
    assert blocks[:4] == [
        "The check option",  # the title
        "The check option",  # a heading never carries marks
        "Use `--check` in CI to verify lockfiles.",
        "hatch env lock --check",  # a command on a line of its own reads as code
    ]
    # The term reads plain, its description marked; and the term is not kept again alone.
    assert blocks[4:] == ["Term x: Its `value`."]
