"""Word and reStructuredText documents, read through the format registry."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.query import make_query
from index.search import search
from index.store import StoredIndex
from ingest.formats import FORMATS, SUPPORTED_LIST, SUPPORTED_SUFFIXES, format_for
from ingest.formats.base import SkippedFile
from ingest.loaders import load_document
from ingest.pipeline import IngestPlan, ingest
from ingest.rst_text import rst_blocks
from tests.fakes import HashingEmbedder
from tests.harness import run_python

LIMIT = 10_000_000


def test_every_suffix_has_one_format_and_the_message_names_each_format() -> None:
    suffixes = [suffix for entry in FORMATS for suffix in entry.suffixes]
    assert len(suffixes) == len(set(suffixes)) == len(SUPPORTED_SUFFIXES)
    for entry in FORMATS:
        assert entry.suffixes[0] in SUPPORTED_LIST
        assert format_for(entry.suffixes[0].upper()) is entry
    assert format_for(".doc") is None


def write_docx(path: Path) -> None:
    """Write a Word document with a title, headings, a list and a table."""
    document = docx.Document()
    document.core_properties.title = "Travel policy"
    document.add_heading("Travel policy", level=0)
    document.add_paragraph("Staff book travel through the portal.")
    document.add_heading("Expenses", level=1)
    document.add_paragraph("Claims are filed within 30 days of the trip.")
    document.add_paragraph("Keep every receipt", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Item"
    table.cell(0, 1).text = "Limit"
    table.cell(1, 0).text = "Hotel"
    table.cell(1, 1).text = "150 EUR a night"
    document.save(str(path))


def test_docx_paragraphs_headings_lists_and_tables_in_reading_order(tmp_path: Path) -> None:
    path = tmp_path / "travel.docx"
    write_docx(path)
    document, warnings = load_document(path, "travel.docx", max_bytes=LIMIT)
    assert warnings == []
    assert document.title == "Travel policy"
    texts = [block.text for block in document.blocks]
    assert texts == [
        "Travel policy",
        "Staff book travel through the portal.",
        "Expenses",
        "Claims are filed within 30 days of the trip.",
        "- Keep every receipt",
        "Item | Limit",
        "Hotel | 150 EUR a night",
    ]
    headings = [(block.text, block.level) for block in document.blocks if block.is_heading]
    assert headings == [("Travel policy", 1), ("Expenses", 1)]


def test_a_docx_that_expands_past_the_limit_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * 300_000_000)
    path.write_bytes(buffer.getvalue())
    assert path.stat().st_size < 1_000_000
    with pytest.raises(SkippedFile, match="zip bomb"):
        load_document(path, "bomb.docx", max_bytes=LIMIT)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "not a zip archive"),  # an OLE file
        (b"PK\x05\x06" + b"\0" * 18, "not a readable .docx"),  # an empty zip
    ],
)
def test_broken_or_locked_docx_is_skipped_with_a_reason(
    tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "locked.docx"
    path.write_bytes(content)
    with pytest.raises(SkippedFile, match=reason):
        load_document(path, "locked.docx", max_bytes=LIMIT)


RST = """\
=============
Backup guide
=============

Nightly backups
===============

Backups run at 02:00 and keep *fourteen* copies. See :ref:`restore` for more.

.. note:: Restores need the on-call engineer.

Restoring
---------

- Stop the service.
- Run ``restore --latest``.

.. include:: {secret}

.. raw:: html

   <script>alert(1)</script>

.. toctree::

   other
"""


def test_rst_sections_lists_and_inline_markup_without_file_inclusion(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOKEN=xoxb-do-not-ingest\n")
    path = tmp_path / "guide.rst"
    path.write_text(RST.format(secret=secret))
    document, _ = load_document(path, "guide.rst", max_bytes=LIMIT)
    text = "\n".join(block.text for block in document.blocks)
    assert document.title == "Backup guide"
    assert "Backups run at 02:00 and keep fourteen copies. See restore for more." in text
    assert "Restores need the on-call engineer." in text
    assert "Run restore --latest." in text
    headings = [block.text for block in document.blocks if block.is_heading]
    assert headings[:3] == ["Backup guide", "Nightly backups", "Restoring"]
    assert "xoxb" not in text  # `.. include::` never reads another file
    assert "alert" not in text  # raw HTML is not passed through


def test_docx_and_rst_are_ingested_and_answer_questions(tmp_path: Path) -> None:
    sources = tmp_path / "sources"
    sources.mkdir()
    write_docx(sources / "travel.docx")
    (sources / "guide.rst").write_text(RST.format(secret="/nonexistent"))
    embedder = HashingEmbedder()
    plan = IngestPlan("fake", embedder.fingerprint, lambda: embedder, 80, 10, LIMIT)
    report = ingest([sources], tmp_path / "index", plan)
    assert (report.added, report.skipped) == (2, ())
    index = StoredIndex.open(tmp_path / "index")
    assert set(index.documents()) == {"sources/travel.docx", "sources/guide.rst"}
    hits = search(index, make_query(index, embedder, "hotel limit a night"), top_k=1)
    assert "150 EUR a night" in hits[0].passage
    assert hits[0].chunk.title == "Travel policy"
    index.close()


RST_STRUCTURE = """\
Install
=======

Run this::

    pip install citebot
    citebot ingest

- First item that wraps
  onto a second line.
- Second item.

:param sources: the folder to read.

+--------+---------+
| Option | Default |
+========+=========+
| top_k  | 5       |
+--------+---------+

.. code-block:: python
   :linenos:

   print("hello")

.. _target:

.. This comment is never read.
"""


def test_rst_literal_blocks_lists_fields_tables_and_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "install.rst"
    path.write_text(RST_STRUCTURE)
    document, _ = load_document(path, "install.rst", max_bytes=LIMIT)
    texts = [block.text for block in document.blocks]
    assert texts == [
        "Install",
        "Run this:",
        "pip install citebot\ncitebot ingest",
        "- First item that wraps onto a second line.",
        "- Second item.",
        "param sources: the folder to read.",
        "Option | Default",
        "top_k | 5",
        'print("hello")',
    ]
    by_text = {block.text: block for block in document.blocks}
    assert by_text["- Second item."].start == 11  # the line it is on in the file
    assert by_text["pip install citebot\ncitebot ingest"].line_at(20) == 7


_HOSTILE_RST = """
import sys
from pathlib import Path
from ingest.loaders import load_document
path = Path(sys.argv[1]) / "stars.rst"
path.write_text("*a " * 200_000)  # docutils: 13 s at a fifth of this, 4x per doubling
document, _ = load_document(path, "stars.rst", max_bytes=10**8)
print(sum(block.text.count("a") for block in document.blocks))
"""


@pytest.mark.subprocess
def test_pathological_rst_loads_in_linear_time_with_nothing_lost(tmp_path: Path) -> None:
    assert int(run_python(_HOSTILE_RST, str(tmp_path), timeout=60)) == 200_000


_RST_PIECES = st.sampled_from(
    [
        "Title\n",
        "=====\n",
        "-----\n",
        "\n",
        "  ",
        ".. note:: ",
        ".. include:: x\n",
        ".. _t:\n",
        "::\n",
        "- ",
        "#. ",
        "+---+---+\n",
        "| a | b |\n",
        ":field: ",
        "*",
        "**",
        "`",
        "``",
        "_",
        "|",
        ":ref:`",
        " <t>`_",
        "word ",
        "Sentence. ",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_RST_PIECES, max_size=40).map("".join))
def test_rst_reader_never_crashes_and_keeps_no_empty_block(text: str) -> None:
    for block in rst_blocks(text):
        assert block.text.strip()
        assert block.start <= block.end
