"""Hybrid search over a small real index: passages read with their neighbours, said once."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.core.answer import compose_answer, with_links
from index.query import corpus_variants, make_query, unknown_words
from index.records import Chunk
from index.search import search
from index.store import StoredIndex
from ingest.pipeline import IngestPlan, ingest
from tests.fakes import HashingEmbedder

SENTENCES = [
    "Llamas graze on the upper meadow every morning.",
    "The shepherd counts them at noon.",
    "Alpacas prefer the lower field near the barn.",
    "Their wool is sheared each spring.",
    "Goats climb the rocks above the river.",
    "A fence keeps them out of the orchard.",
    "Ducks nest beside the pond in April.",
    "Their eggs hatch after four weeks.",
]


def build(
    corpus: Path,
    index_dir: Path,
    embedder: HashingEmbedder,
    *,
    chunk_tokens: int,
    overlap_tokens: int,
) -> None:
    """Ingest a folder with the fake embedder; small chunks make neighbours and pages matter."""
    plan = IngestPlan("fake", "fake-1", lambda: embedder, chunk_tokens, overlap_tokens, 1_000_000)
    ingest([corpus], index_dir, plan)


def indexed(
    tmp_path: Path, files: dict[str, str], *, chunk_tokens: int, overlap_tokens: int = 0
) -> tuple[StoredIndex, HashingEmbedder]:
    """Write files into a docs folder, ingest it with the fake embedder and open the index."""
    corpus = tmp_path / "docs"
    corpus.mkdir()
    for name, text in files.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text)
    embedder = HashingEmbedder()
    build(
        corpus,
        tmp_path / "index",
        embedder,
        chunk_tokens=chunk_tokens,
        overlap_tokens=overlap_tokens,
    )
    return StoredIndex.open(tmp_path / "index"), embedder


def index_of(tmp_path: Path) -> tuple[StoredIndex, HashingEmbedder]:
    farm = "Farm notes\n\n" + "\n\n".join(SENTENCES) + "\n"
    other = "Other notes\n\nThe pond freezes in January.\n"
    files = {"farm.txt": farm, "other.txt": other}
    return indexed(tmp_path, files, chunk_tokens=20, overlap_tokens=6)


def test_search_reads_a_chunk_with_its_neighbours_once(tmp_path: Path) -> None:
    index, embedder = index_of(tmp_path)
    hits = search(index, make_query(index, embedder, "sheared wool alpacas"), top_k=3)
    best = hits[0].chunk.text
    assert "sheared" in best
    assert "shepherd" in best or "Goats" in best  # the text around the match comes along
    for sentence in SENTENCES:
        assert best.count(sentence) <= 1  # the overlap between chunks is said once
    for sentence in SENTENCES:  # passages never overlap: each sentence is cited once at most
        assert sum(hit.chunk.text.count(sentence) for hit in hits) <= 1
    index.close()


def test_a_match_just_past_a_better_passage_is_shown_not_lost(tmp_path: Path) -> None:
    # The chunk after a passage repeats its last sentence; it once was skipped for that, and the
    # answer it held with it.
    index, embedder = index_of(tmp_path)
    question = "alpacas prefer the lower field near the barn, and when do the eggs hatch"
    hits = search(index, make_query(index, embedder, question), top_k=2)
    shown = "\n".join(hit.passage for hit in hits)
    assert "Alpacas prefer the lower field" in shown
    assert "Their eggs hatch after four weeks." in shown
    for sentence in SENTENCES:
        assert shown.count(sentence) <= 1
    index.close()


def test_no_sentence_is_shown_twice_however_passages_meet(tmp_path: Path) -> None:
    # Chunks repeat the sentence before them; passages that meet, or grow into each other,
    # must still show each sentence once.
    animals = ["llamas", "alpacas", "goats", "ducks", "geese", "sheep", "pigs", "hens"]
    places = ["meadow", "barn", "river", "orchard", "pond", "field", "yard", "hill"]
    sentences = [
        f"The {animal} number {n} rest near the {place} {n}."
        for n, (animal, place) in enumerate((a, p) for a in animals for p in places[:4])
    ]
    notes = "Farm log\n\n" + "\n\n".join(sentences) + "\n"
    index, embedder = indexed(tmp_path, {"log.txt": notes}, chunk_tokens=40, overlap_tokens=16)
    for first in range(0, len(sentences), 3):
        for second in (first + 4, first + 9):
            words = sentences[first].split()[1:4] + sentences[second % len(sentences)].split()[1:4]
            hits = search(index, make_query(index, embedder, " ".join(words)), top_k=5)
            shown = "\n".join(hit.chunk.text for hit in hits)
            for sentence in sentences:
                assert shown.count(sentence) <= 1, (words, sentence)
    index.close()


def test_a_one_line_section_is_read_with_the_sections_after_it(tmp_path: Path) -> None:
    # A man page opens with a one-line NAME section; what the command does comes a section on.
    shear = (
        "# shear(1)\n\n## NAME\n\nshear - cut alpaca wool\n\n## SYNOPSIS\n\nshear [--gentle]\n\n"
        "## DESCRIPTION\n\nClippers run along the flank while the animal lies calm on a mat.\n\n"
        "## OPTIONS\n\nThe gentle flag slows the blade for young animals in their first year.\n"
    )
    other = "# Ponds\n\nThe duck pond freezes in January.\n"
    index, embedder = indexed(tmp_path, {"shear.md": shear, "other.md": other}, chunk_tokens=24)
    hits = search(index, make_query(index, embedder, "shear cut alpaca wool"), top_k=2)
    assert "shear - cut alpaca wool" in hits[0].chunk.text
    assert "Clippers run along the flank" in hits[0].chunk.text  # two sections on
    index.close()


def test_a_passage_shows_the_headings_of_the_sections_it_begins_and_never_quotes_them(
    tmp_path: Path,
) -> None:
    # A heading names what its section answers ("Serving files uploaded by a user during
    # development"): a passage that begins the section shows it where the page has it.
    barn = (
        "# Barn handbook\n\n## Feeding\n\nHay is given twice a day in the long rack.\n\n"
        "## Shearing the alpacas\n\n### Before the clip\n\n"
        "Wool is brushed clean of straw before the clippers run.\n\n"
        "The mat is laid flat on dry boards.\n"
    )
    pond = "# Pond\n\nThe duck pond freezes in January.\n"
    index, embedder = indexed(tmp_path, {"barn.md": barn, "pond.md": pond}, chunk_tokens=40)
    query = make_query(index, embedder, "shearing alpacas wool brushed straw clippers")
    hit = next(h for h in search(index, query, top_k=2) if "brushed clean" in h.passage)
    lines = hit.passage.split("\n")
    shearing = lines.index("Shearing the alpacas")
    assert lines[shearing + 1] == "Before the clip"  # each heading begun, in the page's order
    assert lines[shearing + 2].startswith("Wool is brushed clean")
    assert "Barn handbook" not in lines  # the page title is the citation's own header
    assert hit.headings == ("Feeding", "Shearing the alpacas", "Before the clip")
    # Each line knows its section, though the passage runs across two.
    assert hit.section_at(hit.passage.index("Hay is given")) == "Feeding"
    assert hit.section_at(hit.passage.index("The mat is laid")) == (
        "Shearing the alpacas › Before the clip"
    )
    answer = compose_answer(query, [hit], min_similarity=-1.0)
    quoted = [quote.text for quote in answer.quotes]
    assert quoted and not {"Shearing the alpacas", "Before the clip"} & set(quoted)
    index.close()


def test_a_passage_reaches_back_to_the_opening_of_its_section(tmp_path: Path) -> None:
    # What a section is about is in its opening lines ("HEAD normally refers to a named
    # branch…"); a passage matched two chunks into the section shows them, but no further back.
    # One word is one token to the fake embedder: each paragraph here fills one chunk.
    openings = [
        "Detached hooves grow back slowly in winter.",
        "Farriers trim them with curved steel knives.",
        "Ointment soothes the cracked sole after trimming.",
        "Muddy pastures soften the horn and rot.",
        "Gravel paths harden the horn within fortnights.",
    ]
    animals = ["hens", "geese", "sheep", "pigs", "goats", "cows"]

    def paragraph(opening: str, animal: str) -> str:
        places = ["barn", "mill", "yard", "shed"]
        return " ".join(
            [opening, *(f"The {animal} walked past the {p} before dusk." for p in places)]
        )

    barn = "# Barn handbook\n\n## Feeding\n\n"
    barn += paragraph("Hay is given twice daily in racks.", animals[-1]) + "\n\n## Hoof care\n\n"
    barn += "\n\n".join(paragraph(o, a) for o, a in zip(openings, animals, strict=False)) + "\n"
    pond = "# Pond\n\nThe duck pond freezes in January.\n"
    index, embedder = indexed(tmp_path, {"barn.md": barn, "pond.md": pond}, chunk_tokens=48)

    def passage_about(question: str) -> str:
        return search(index, make_query(index, embedder, question), top_k=1)[0].passage

    shown = passage_about("ointment soothes cracked sole")
    assert "Ointment soothes" in shown
    assert "Hoof care\nDetached hooves grow back slowly" in shown  # two chunks back: its opening
    shown = passage_about("gravel paths harden fortnights")
    assert "Gravel paths harden" in shown
    assert "Detached hooves" not in shown  # three back: a section's middle stays its own
    index.close()


def test_the_same_text_in_two_pages_is_shown_once(tmp_path: Path) -> None:
    # Git's manual includes one section, word for word, in several pages.
    shared = "## Shearing\n\nWool is washed in cold water before spinning.\n"
    pages = {
        name: f"# Page {name}\n\nIntro of {name}.\n\n{shared}" for name in ("a.md", "b.md", "c.md")
    }
    index, embedder = indexed(tmp_path, pages, chunk_tokens=40)
    hits = search(index, make_query(index, embedder, "wool washed in cold water"), top_k=3)
    assert sum("washed in cold water" in hit.chunk.text for hit in hits) == 1
    index.close()


def test_search_neighbours_stay_within_their_document(tmp_path: Path) -> None:
    index, embedder = index_of(tmp_path)
    hits = search(index, make_query(index, embedder, "pond freezes january"), top_k=2)
    other = next(hit for hit in hits if hit.chunk.source.endswith("other.txt"))
    assert "Llamas" not in other.chunk.text and "Ducks" not in other.chunk.text
    index.close()


def every_word_unusual(words: Sequence[str]) -> list[int]:
    """Count word pieces as if the tokenizer split every word: all unusual English."""
    return [2] * len(words)


def test_make_query_names_unknown_words_but_not_parts_of_ids(tmp_path: Path) -> None:
    index, embedder = index_of(tmp_path)

    embedder.count_tokens = every_word_unusual  # type: ignore[method-assign]
    query = make_query(index, embedder, "Do llamas graze on Bitbucket like v2.1-14-gabc?")
    assert query.unknown == ("bitbucket",)
    # A path typed in the question says where, not what about; a URL's host is still a name.
    query = make_query(index, embedder, "Can llamas graze in ./.pasturewiki or ~/meadowdb?")
    assert query.unknown == ()
    query = make_query(index, embedder, "Do llamas graze on https://bitbucket.org/farm?")
    assert "bitbucket" in query.unknown
    index.close()


def test_a_name_written_as_code_that_the_documents_never_write_is_unknown(
    tmp_path: Path,
) -> None:
    # The documents write `shear_log` and say "the pond ... freezes"; never `pond_freezes` (its
    # words come one after another only once stop words are dropped: "the pond freezes in").
    files = {
        "farm.txt": "Farm notes\n\nRecord each clip in the `shear_log()` table.\n",
        "pond.txt": "Pond notes\n\nThe pond freezes in January.\n",
    }
    index, embedder = indexed(tmp_path, files, chunk_tokens=40)

    query = make_query(index, embedder, "Does shear_log() keep the pond_freezes date?")
    assert query.unknown == ("pond_freezes",)
    query = make_query(index, embedder, "Can Llama.graze_hay() read SHEAR_LOG?")
    assert query.unknown == ("Llama.graze_hay()",)
    # The asker's own names, a call of a plain word, ids with digits: no subject of theirs.
    for question in (
        "Why does my pond_freezes check fail?",
        "fixture 'my_pond' not found, and test_pond_freezes fails",
        "How do I read POND_FREEZES_AT from the environment?",
        "Does farm.records.shear_log() keep dates?",  # qualified otherwise, still `shear_log()`
        "a helper called graze_hay() says hello",
        "Does print() show the shear log?",
        "Is pond_2024 frozen?",
    ):
        assert make_query(index, embedder, question).unknown == (), question
    index.close()


def test_a_word_the_corpus_says_with_another_affix_is_no_unknown_name(tmp_path: Path) -> None:
    # The documents say "llamas" and "graze", never "overgrazing" or "sublamas"; "bitbucket"
    # has no base they use.
    index, embedder = index_of(tmp_path)

    embedder.count_tokens = every_word_unusual  # type: ignore[method-assign]
    query = make_query(index, embedder, "Does overgrazing harm llamas on Bitbucket?")
    assert query.unknown == ("bitbucket",)
    assert corpus_variants(["grazer", "bitbucket", "regrazing"], index.document_frequencies) == {
        "grazer",
        "regrazing",
    }
    # A base shorter than four letters ("re" + "do") is no word of the corpus's, nor is the
    # word's own stem ("llamas" is "llama": a plural, not a word made from another).
    assert corpus_variants(["redo", "llamas"], lambda stems: dict.fromkeys(stems, 5)) == set()
    index.close()


def test_unknown_words_are_names_not_ordinary_english_the_tokenizer_splits() -> None:
    # The real word frequencies: "regenerate" and "spits" are split into word pieces by the
    # embedding model's tokenizer, yet a chat user types them in passing; "ubuntu" and "gitlab"
    # name things, which the documents not mentioning them means they don't cover.
    words = ["regenerate", "spits", "ubuntu", "gitlab", "halfway", "patroni"]
    unknown = unknown_words(words, {}, lambda batch: [3] * len(batch))
    assert unknown == ("ubuntu", "gitlab", "patroni")


def test_a_passage_deep_in_a_document_carries_its_opening_line(tmp_path: Path) -> None:
    index, embedder = index_of(tmp_path)
    hits = search(index, make_query(index, embedder, "ducks nest beside the pond"), top_k=3)
    deep = next(hit for hit in hits if "Ducks nest" in hit.chunk.text)
    assert deep.chunk.position > 1  # far enough in that its window leaves the start out
    assert deep.lede == "Llamas graze on the upper meadow every morning."
    assert deep.passage.startswith(deep.lede + "\n") and deep.lede not in deep.chunk.text
    near = search(index, make_query(index, embedder, "shepherd counts at noon"), top_k=1)[0]
    assert near.lede == ""  # its window already holds the opening line: said once
    assert near.passage == near.chunk.text
    index.close()


def test_a_hit_reports_the_questions_own_similarity_not_the_feedback_vectors(
    tmp_path: Path,
) -> None:
    # Feedback moves the search vector toward the best passages; the similarity that decides
    # whether to answer must still be the question's, or feedback would answer everything.
    index, embedder = index_of(tmp_path)
    query = make_query(index, embedder, "ducks nest beside the pond")
    hits = search(index, query, top_k=3)
    stored = index.similarities(query.vector, [hit_id(index, hit.chunk) for hit in hits])
    assert [hit.similarity for hit in hits] == pytest.approx(list(stored.values()))
    index.close()


def hit_id(index: StoredIndex, chunk: Chunk) -> int:
    every = index.chunks(range(index.chunk_count))
    return next(
        i for i, c in every.items() if c.source == chunk.source and c.position == chunk.position
    )


def test_a_pages_summary_line_lifts_its_passages_over_the_same_words_elsewhere(
    tmp_path: Path,
) -> None:
    # Two pages share a paragraph word for word; only their opening lines say what each page
    # is about. The question names one page's subject: its copy of the paragraph comes first.
    shared = "".join(f"<p>{sentence}</p>" for sentence in SENTENCES[:6])
    closing = "<p>Wool is washed in cold water before spinning.</p>"
    pages = {}
    for name, summary in (
        ("a.html", "Duck pond upkeep for the farm"),
        ("b.html", "Alpaca shearing guide for the farm"),
    ):
        body = f"<p>{summary}</p>{shared}{closing}"
        pages[name] = f"<html><head><title>Notes</title></head><body>{body}</body></html>"
    index, embedder = indexed(tmp_path, pages, chunk_tokens=20)

    def shown(question: str) -> list[str]:
        hits = search(index, make_query(index, embedder, question), top_k=6)
        return [hit.chunk.source for hit in hits if "washed in cold" in hit.chunk.text]

    # The copy from the page the question is about comes first. Without the summary lines the
    # copies tie, and the same copy would come first for both questions.
    assert shown("alpaca shearing: is wool washed in cold water?")[0] == "docs/b.html"
    assert shown("duck pond upkeep: is wool washed in cold water?")[0] == "docs/a.html"
    index.close()


def test_a_citation_links_to_the_documents_own_address_before_the_base_url(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "docs"
    corpus.mkdir()
    (corpus / "llamas.html").write_text(
        '<html><head><title>Llamas</title><link rel="canonical" href="https://farm.example/llamas">'
        "</head><body><p>Llamas graze on the upper meadow every morning.</p></body></html>"
    )
    (corpus / "ducks.md").write_text("# Ducks\n\nDucks nest beside the pond in April.\n")
    embedder = HashingEmbedder()

    def cited(question: str) -> tuple[str, str]:
        build(corpus, tmp_path / "index", embedder, chunk_tokens=40, overlap_tokens=0)
        index = StoredIndex.open(tmp_path / "index")
        try:
            query = make_query(index, embedder, question)
            answer = compose_answer(query, search(index, query, top_k=1), min_similarity=0.0)
        finally:
            index.close()
        citation = with_links(answer, "https://wiki.example/files").citations[0]
        return citation.source, citation.url

    llamas = ("docs/llamas.html", "https://farm.example/llamas")
    assert cited("llamas graze upper meadow") == llamas
    assert cited("ducks nest pond april") == (
        "docs/ducks.md",
        "https://wiki.example/files/ducks.md",
    )
    # An incremental ingest copies unchanged documents forward: their address comes along.
    (corpus / "geese.md").write_text("# Geese\n\nGeese honk at dawn.\n")
    assert cited("llamas graze upper meadow") == llamas


def test_only_the_headings_a_chunk_begins_are_shown_before_it() -> None:
    def chunk(section: str, position: int, source: str = "a.html") -> Chunk:
        return Chunk(source, "Manual", section, "text", "line", 1, 1, position)

    setup = chunk("Setup › Install", 3)
    assert setup.headings_begun(chunk("Setup › Install", 2)) == ()  # the section goes on
    assert setup.headings_begun(chunk("Setup", 2)) == ("Install",)
    assert setup.headings_begun(chunk("Usage › Install", 2)) == ("Setup", "Install")
    assert setup.headings_begun(None) == ()  # not known to begin: the location names it
    first = chunk("Manual › Setup", 0)
    assert first.headings_begun(chunk("Setup", 9, "other.html")) == ("Setup",)  # title left out


def test_release_notes_give_way_to_the_guide_unless_the_question_is_about_versions(
    tmp_path: Path,
) -> None:
    # The changelog's entry shares more of the question's words than the guide's sentence: a
    # how-to question is still answered from the guide, a question about versions from the log.
    files = {
        "guide/locking.md": "# Locking\n\nLockfiles for every env are written by hatch env lock.\n",
        "history/hatch.md": "# Hatch history\n\nhatch env lock writes lockfiles for every env "
        "(added in 1.17).\n",
    }
    for n in range(8):  # other pages, so scores are not normalised over two passages alone
        files[f"other/page{n}.md"] = f"# Page {n}\n\nCows graze on meadow {n} by fence {n}.\n"
    index, embedder = indexed(tmp_path, files, chunk_tokens=40, overlap_tokens=6)
    question = "how do I write lockfiles for every env"
    how = search(index, make_query(index, embedder, question), top_k=2)
    assert how[0].chunk.source.endswith("guide/locking.md")
    since = "since which version can hatch write lockfiles for every env, added in 1.17"
    when = search(index, make_query(index, embedder, since), top_k=2)
    assert when[0].chunk.source.endswith("history/hatch.md")
    index.close()
