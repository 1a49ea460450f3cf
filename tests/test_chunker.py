"""Chunks fit the model, overlap a little, lose no text and know where they came from."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.errors import ConfigError
from index.records import Chunk
from ingest.chunker import chunk_document
from ingest.document import Block, Document
from ingest.loaders import load_document
from tests.harness import SOURCES, load_page, run_python


def words(texts: list[str]) -> list[int]:
    """Count tokens as whitespace-separated words."""
    return [len(text.split()) for text in texts]


def make_document(*paragraphs: str, title: str = "Doc") -> Document:
    blocks = tuple(
        Block(text, False, "line", n, n, ((0, n),)) for n, text in enumerate(paragraphs, start=1)
    )
    return Document("doc.txt", title, blocks, "hash")


def test_chunk_document_never_exceeds_max_tokens_on_real_corpus() -> None:
    for path in sorted(SOURCES.iterdir()):
        document, _ = load_document(path, path.name, max_bytes=10**8)
        chunks = chunk_document(document, words, max_tokens=60, overlap_tokens=10)
        assert chunks
        assert max(words([c.embedding_text() for c in chunks])) <= 60


def test_chunk_document_overlaps_consecutive_chunks() -> None:
    sentences = [f"Sentence number {i} is here." for i in range(20)]
    chunks = chunk_document(
        make_document(" ".join(sentences)), words, max_tokens=30, overlap_tokens=6
    )
    assert len(chunks) > 2
    for previous, current in itertools.pairwise(chunks):
        last_sentence = previous.text.split(". ")[-1]
        assert current.text.startswith(last_sentence.rstrip("."))


def test_chunk_document_keeps_a_code_blocks_lines_where_a_sentence_ends() -> None:
    # "..." ends a "sentence": the line after it was joined on with a space, so the stored
    # passage read '  ... "Framework :: Hatch",' where the page has two lines.
    code = 'classifiers = [\n  ...\n  "Framework :: Hatch",\n  ...\n]'
    prose = "One sentence here. Another one there."
    chunks = chunk_document(make_document(code, prose), words, max_tokens=200, overlap_tokens=0)
    assert chunks[0].text == f"{code}\n{prose}"


def test_chunk_document_knows_which_lines_are_a_code_blocks() -> None:
    # "cd trunk" reads as prose; the page set it in a code block, which the chunk remembers.
    blocks = (
        Block("Clone the trunk, then enter it:", False, "line", 1, 1, ((0, 1),)),
        Block(
            "# Clone a repo:\n  git svn clone http://svn.example.com/trunk\n"
            'cd trunk. print("a. b")',
            False,
            "line",
            2,
            4,
            ((0, 2),),
            code=True,
        ),
        Block("You are on the master branch.", False, "line", 5, 5, ((0, 5),)),
    )
    [chunk] = chunk_document(
        Document("doc.md", "Doc", blocks, "h"), words, max_tokens=200, overlap_tokens=0
    )
    # Each line whole, though a sentence's end inside it cut it into pieces.
    assert chunk.code_lines == (
        "# Clone a repo:",
        "git svn clone http://svn.example.com/trunk",
        'cd trunk. print("a. b")',
    )
    assert all(
        line in chunk.text.split("\n") or f"  {line}" in chunk.text for line in chunk.code_lines
    )


def test_a_code_blocks_first_line_keeps_its_indent(tmp_path: Path) -> None:
    # Git's drawn histories lost the first line's indent: "H---I topicB" no longer sat over
    # the "/" and "A---B" under it.
    document = load_page(
        tmp_path,
        "rebase.html",
        "<p>If we have the following situation:</p>"
        "<pre><code>      H---I topicB\n     /\nA---B master</code></pre>",
    )
    [chunk] = chunk_document(document, words, max_tokens=200, overlap_tokens=0)
    assert chunk.text.split("\n")[1:] == ["      H---I topicB", "     /", "A---B master"]


def test_chunk_document_splits_over_long_sentence_without_losing_words() -> None:
    long_sentence = " ".join(f"w{i}" for i in range(500)) + "."
    chunks = chunk_document(make_document(long_sentence), words, max_tokens=50, overlap_tokens=0)
    assert max(words([c.embedding_text() for c in chunks])) <= 50
    assert " ".join(c.text for c in chunks).split() == long_sentence.split()


def test_chunk_document_records_section_and_lines() -> None:
    blocks = (
        Block("Intro", True, "line", 1, 1, ((0, 1),)),
        Block("First line of text. Second", False, "line", 3, 4, ((0, 3), (20, 4))),
        Block("Next part", True, "line", 6, 6, ((0, 6),)),
        Block("Under the next part.", False, "line", 8, 8, ((0, 8),)),
    )
    chunks = chunk_document(
        Document("d.txt", "T", blocks, "h"), words, max_tokens=100, overlap_tokens=0
    )
    assert [(c.section, c.start, c.end, c.text) for c in chunks] == [
        ("Intro", 3, 4, "First line of text. Second"),
        ("Next part", 8, 8, "Under the next part."),
    ]
    assert chunks[0].location == "lines 3-4, Intro"


def test_chunk_document_rejects_overlap_of_half_the_chunk() -> None:
    with pytest.raises(ConfigError, match="OVERLAP"):
        chunk_document(make_document("Text."), words, max_tokens=40, overlap_tokens=20)


def test_chunk_document_line_numbers_point_at_the_text() -> None:
    source = SOURCES / "002_ada3f840144639bd.txt"
    lines = source.read_text(encoding="utf-8").splitlines()
    document, _ = load_document(source, source.name, max_bytes=10**8)
    for chunk in chunk_document(document, words, max_tokens=120, overlap_tokens=20):
        first_words = " ".join(chunk.text.split()[:3])
        assert first_words in " ".join(" ".join(lines[chunk.start - 1 : chunk.end]).split())


@settings(max_examples=60, deadline=None)
@given(
    paragraphs=st.lists(
        st.text(alphabet=st.sampled_from("abc def. Ghi! jk? \n"), min_size=1, max_size=400),
        min_size=1,
        max_size=6,
    ),
    max_tokens=st.integers(min_value=24, max_value=120),
)
def test_chunk_document_property_fits_and_keeps_every_word(
    paragraphs: list[str], max_tokens: int
) -> None:
    texts = [" ".join(p.split()) for p in paragraphs if p.split()]
    if not texts:
        return
    chunks = chunk_document(
        make_document(*texts), words, max_tokens=max_tokens, overlap_tokens=max_tokens // 4
    )
    assert all(n <= max_tokens for n in words([c.embedding_text() for c in chunks]))
    chunked_words = {w for c in chunks for w in c.text.split()}
    assert {w for t in texts for w in t.split()} <= chunked_words


def test_chunks_stay_small_when_words_are_megabytes_long(real_embedder) -> None:  # type: ignore[no-untyped-def]
    # WordPiece reads each of these as one [UNK] token: counted in tokens alone, all five
    # would fit in one 10 MB chunk.
    words = [letter * 2_000_000 for letter in "abcde"]
    document = Document("huge.txt", "Huge", (Block(" ".join(words), False, "line", 1, 1),), "h")
    chunks = chunk_document(document, real_embedder.count_tokens, max_tokens=240, overlap_tokens=32)
    assert max(len(chunk.text) for chunk in chunks) <= 240 * 12
    assert sum(len(chunk.text.replace(" ", "").replace("\n", "")) for chunk in chunks) >= 10_000_000


# Loading and chunking one file, peak memory over what the model already holds. Linux's
# clear_refs resets the high-water mark after the model loads, so only this work is measured.
_LOAD_AND_CHUNK_MEMORY = """
import random, sys
from pathlib import Path
from index.embedder import SentenceTransformerEmbedder
from ingest.chunker import chunk_document
from ingest.loaders import load_document

path = Path(sys.argv[1])
words = "the commit branch merge rebase index table column migration query field".split()
rng = random.Random(7)
with path.open("w") as out:
    while out.tell() < 6_000_000:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(6, 30)))
        out.write(sentence.capitalize() + (". " if rng.random() < 0.8 else ".\\n\\n"))

def status(field):
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) * 1024

embedder = SentenceTransformerEmbedder(precision="float32")
embedder.count_tokens(["warm up the tokenizer"])
Path("/proc/self/clear_refs").write_text("5")
before = status("VmRSS:")
document, _ = load_document(path, path.name, max_bytes=10**8)
chunks = chunk_document(document, embedder.count_tokens, max_tokens=240, overlap_tokens=32)
print(path.stat().st_size, status("VmHWM:") - before, len(chunks))
"""


@pytest.mark.subprocess
@pytest.mark.model(any_precision=True)  # counts tokens only: precision never enters
def test_loading_and_chunking_a_large_file_takes_memory_in_proportion_to_it(
    tmp_path: Path,
) -> None:
    size, peak, chunks = map(
        int, run_python(_LOAD_AND_CHUNK_MEMORY, str(tmp_path / "big.txt"), timeout=300).split()
    )
    assert chunks > 1000
    # A 45 MB file once took 4.4 GB (98x: every token's encoding kept alive at once); counted
    # a batch at a time it is the text, its chunks and a batch of encodings: 12x with batches
    # of 2,048 sentences, 8x with 512.
    assert peak < 10 * size, f"{peak / size:.1f}x the file's size"


def test_chunk_document_carries_the_nearest_heading_anchor(tmp_path: Path) -> None:
    page = tmp_path / "install.html"
    page.write_text(
        '<title>Install</title><section id="install"><h1>Install</h1><p>Start here.</p>'
        '<h2 id="requirements">Requirements</h2><p>Python 3.11 or newer is needed.</p>'
        "<h3>Optional</h3><p>A GPU is not needed.</p></section>",
        encoding="utf-8",
    )
    document, _ = load_document(page, "site/install.html", max_bytes=10**6)
    chunks = chunk_document(document, words, max_tokens=40, overlap_tokens=0)
    anchors = {chunk.text: chunk.anchor for chunk in chunks}
    assert anchors["Start here."] == "install"
    assert anchors["Python 3.11 or newer is needed."] == "requirements"
    # A heading without an id of its own links to the nearest one above it that has one.
    assert anchors["A GPU is not needed."] == "requirements"


def test_inline_code_marks_are_left_out_of_what_is_embedded() -> None:
    chunk = Chunk("a.md", "Locks", "Locks", "Use `--check` in CI.", "line", 1, 1, 0)
    assert chunk.embedding_text() == "Locks\nUse --check in CI."
