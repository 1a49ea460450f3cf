"""Composing answers from hits: verbatim quotes, resolvable markers, plain abstention."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pytest

from bot.core.answer import (
    NOT_FOUND,
    Quote,
    compose_answer,
    passage_link,
    quote_blocks,
    render_quotes,
)
from index.lexical import query_words, stem
from index.query import RARE_MENTIONS, Query, unknown_words
from index.records import Chunk, Hit
from tests.harness import run_python


def hit(rank: int, text: str, similarity: float) -> Hit:
    chunk = Chunk(f"doc{rank}.txt", f"Doc {rank}", "", text, "line", rank, rank + 2, 0)
    return Hit(chunk, score=1.0 / rank, similarity=similarity, rank=rank)


HITS = [
    hit(1, "Cats sleep a lot. Cats sleep up to sixteen hours a day in warm places.", 0.6),
    hit(2, "Dogs bark at strangers. Some dogs sleep in the afternoon.", 0.5),
    hit(3, "Fish swim.", 0.2),
]


def pieces(words: Sequence[str]) -> list[int]:
    """Count word pieces as a WordPiece vocabulary of common English would."""
    return [1 if word in {"hours", "cats", "sleep", "many"} else 2 for word in words]


def query(question: str, frequencies: dict[str, int] | None = None) -> Query:
    words = query_words(question)
    terms = tuple(stem(word) for word in words)
    known = frequencies or {"cat": 1, "sleep": 2, "hour": 1}
    counts = {term: known.get(term, 1) for term in terms}
    vector = np.zeros(4, dtype=np.float32)
    return Query(question, terms, counts, 3, vector, unknown_words(words, counts, pieces))


def compose(question: str, hits: list[Hit], threshold: float = 0.3):  # type: ignore[no-untyped-def]
    return compose_answer(query(question), hits, min_similarity=threshold)


def best_quote(question: str, passage: str) -> list[str]:
    """Return what an answer allowed one quote quotes from one passage."""
    answer = compose_answer(
        query(question), [hit(1, passage, 0.6)], min_similarity=0.3, max_quotes=1
    )
    return [quote.text for quote in answer.quotes]


def quoted_from(passage: str) -> list[str]:
    """Return what the answer to the cats question quotes from one passage."""
    answer = compose("How many hours do cats sleep?", [hit(1, passage, 0.6)])
    return [quote.text for quote in answer.quotes]


def test_compose_answer_quotes_verbatim_sentences_with_markers() -> None:
    answer = compose("How many hours do cats sleep?", HITS)
    assert answer.found
    assert answer.quotes[0].text == "Cats sleep up to sixteen hours a day in warm places."
    by_number = {c.n: c for c in answer.citations}
    for quote in answer.quotes:
        assert quote.text in by_number[quote.n].text
    assert answer.text.endswith("[1]")


def test_compose_answer_numbers_only_cited_passages() -> None:
    answer = compose("How many hours do cats sleep?", HITS)
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert {q.n for q in answer.quotes} == {c.n for c in answer.citations}


def test_compose_answer_declines_below_threshold_and_cites_nothing() -> None:
    answer = compose("What is the capital of France?", HITS, threshold=0.9)
    assert not answer.found
    assert answer.text == NOT_FOUND
    assert answer.citations == () and answer.quotes == ()
    assert [c.source for c in answer.related] == ["doc1.txt", "doc2.txt", "doc3.txt"]


def test_compose_answer_declines_without_hits() -> None:
    assert not compose("Anything?", []).found


def test_compose_answer_to_dict_has_documented_keys() -> None:
    data = compose("How many hours do cats sleep?", HITS).to_dict()
    assert set(data) == {
        "question",
        "answer",
        "found",
        "quotes",
        "citations",
        "related",
        "writer",
        "dropped",
        "note",
        "unknown",
        "uncovered",
    }
    assert set(data["citations"][0]) == {"n", "title", "source", "location", "text", "score", "url"}


def test_compose_answer_quotes_no_heading_list_marker_or_repeat() -> None:
    text = (
        "Cat naps\n"
        "- • Cats sleep up to sixteen hours a day in warm places.\n"
        "How long do cats sleep?\n"
        "Cats sleep up to sixteen hours a day in warm places."
    )
    chunk = Chunk("cats.md", "Cat naps", "Sleep › Cat naps", text, "line", 1, 4, 0)
    answer = compose("How many hours do cats sleep?", [Hit(chunk, 1.0, 0.6, 1)])
    quoted = [quote.text for quote in answer.quotes]
    assert quoted[0] == "Cats sleep up to sixteen hours a day in warm places."
    assert len(quoted) == len({q.casefold() for q in quoted})  # never the same sentence twice
    assert not any(q in ("Cat naps", "How long do cats sleep?") for q in quoted)
    assert all(quote in text for quote in quoted)  # still verbatim


def test_a_sentence_two_pages_say_alike_but_for_marks_is_quoted_once() -> None:
    # gitrevisions is included in two man pages, once with "`A...B`", once with '`"A...B"`'.
    first = "Cats sleep up to sixteen hours a day, in `warm` places."
    again = 'Cats sleep up to sixteen hours a day, in `"warm"` places.'
    other = "Cats sleep up to sixteen hours a day in cold places."
    hits = [hit(1, first, 0.6), hit(2, f"{again} {other}", 0.55)]
    quoted = [quote.text for quote in compose("How many hours do cats sleep?", hits).quotes]
    assert first in quoted
    assert again not in quoted
    assert other in quoted  # a word apart is another sentence


def test_a_sections_first_sentence_is_quoted_before_an_equal_one_further_on() -> None:
    # A section's first sentence says what the section is about.
    text = "Cats sleep sixteen hours on soft beds.\nNaps\nCats sleep sixteen hours in the sun."
    chunk = Chunk("cats.md", "Cats", "Care", text, "line", 1, 3, 0)
    opened = Hit(chunk, 1.0, 0.6, 1, headings=("Naps",))
    answer = compose_answer(
        query("How many hours do cats sleep?"), [opened], min_similarity=0.3, max_quotes=1
    )
    assert [quote.text for quote in answer.quotes] == ["Cats sleep sixteen hours in the sun."]


def test_a_line_of_bare_markup_is_never_quoted() -> None:
    # A short best sentence takes the next one with it; a docstring's quotes are not a sentence.
    text = 'Cats sleep sixteen hours a day.\n"""\n----\nThat is a lot of sleep.'
    quoted = quoted_from(text)
    assert quoted and not any(q in ('"""', "----") for q in quoted)


def test_a_short_sentence_takes_the_next_only_if_it_reads_on() -> None:
    # A table row's cells follow a plugin's one-line summary: a date is no second sentence.
    row = "pytest-cats: Cats sleep sixteen hours a day.\nFeb 21, 2019\nDogs bark at the cats."
    quoted = [
        quote.text for quote in compose("How many hours do cats sleep?", [hit(1, row, 0.6)]).quotes
    ]
    assert quoted[0].endswith("Cats sleep sixteen hours a day.") and "Feb 21, 2019" not in quoted
    assert "Dogs bark at the cats." not in quoted  # nor the row after it, in its place
    # Nor after a cell that is no whole sentence: a plugin list's summary, then its date.
    row = "A custom cats oriented sleep reporter for hours\nMay 22, 2018\nDogs bark."
    quoted = [
        quote.text for quote in compose("How many hours do cats sleep?", [hit(1, row, 0.6)]).quotes
    ]
    assert quoted[0].startswith("A custom cats") and "May 22, 2018" not in quoted
    # A sentence left open ends on the command that completes it.
    open_ended = "To see how long cats sleep, run\ncat sleep --hours\nThe answer is in hours."
    quoted = [
        q.text for q in compose("How many hours do cats sleep?", [hit(1, open_ended, 0.6)]).quotes
    ]
    assert quoted[:2] == ["To see how long cats sleep, run", "cat sleep --hours"]
    # A whole sentence is not led on to the code after it: only a lead-in ending ":" introduces
    # code (a page's NAME line is followed by its synopsis, which alone reads as a fragment).
    led = "Set the hours cats sleep.\ncats.sleep(hours=16)\nThe answer is in hours."
    quoted = quoted_from(led)
    assert quoted[0] == "Set the hours cats sleep." and "cats.sleep(hours=16)" not in quoted
    introduced = "Set the hours cats sleep:\ncats.sleep(hours=16)\nThe answer is in hours."
    quoted = [
        q.text for q in compose("How many hours do cats sleep?", [hit(1, introduced, 0.6)]).quotes
    ]
    assert quoted[:2] == ["Set the hours cats sleep:", "cats.sleep(hours=16)"]


def test_a_heading_in_the_passage_is_never_quoted_even_in_pieces() -> None:
    # DocBook's "Chapter 4. Sharing development with others" splits into two "sentences".
    passage = "Cats sleep sixteen hours a day.\nChapter 4. Sleeping cats and hours\nDogs bark."
    heading = "Chapter 4. Sleeping cats and hours"
    cited = dataclasses.replace(hit(1, passage, 0.6), headings=(heading,))
    quoted = [q.text for q in compose("How many hours do cats sleep?", [cited]).quotes]
    assert quoted and not any(q.startswith(("Chapter 4", "Sleeping cats")) for q in quoted)


def test_a_lead_in_brings_only_the_lines_right_after_it() -> None:
    # A line left out between two (a cut-off sentence, with nothing to quote) ends the block:
    # lines the page keeps apart are never joined into one quote.
    cut = "Cats sleep like this:\nnap---nap---nap\nand so on, for hours\nnap---dream\nThe end."
    quoted = quoted_from(cut)
    assert quoted[:2] == ["Cats sleep like this:", "nap---nap---nap"]
    assert "nap---dream" not in quoted
    # A drawing's line without a word ("/   \\") is part of the drawing: it is quoted whole.
    drawn = "Cats sleep in hours like this:\nnap---nap---nap\n  /   \\\nnap---dream\nThe end."
    assert quoted_from(drawn)[:3] == [
        "Cats sleep in hours like this:",
        "nap---nap---nap\n  /   \\",
        "nap---dream",
    ]


def test_a_code_block_closes_what_it_opens() -> None:
    # Cut at six lines, "settings = [" was quoted without its end: code that cannot run.
    items = "".join(f'    "cat{n}",\n' for n in range(1, 5))
    closable = f"Cats sleep by these settings:\nimport cats\nsettings = [\n{items}]\nThe end."
    quoted = quoted_from(closable)
    assert quoted[1:] == [
        "import cats",
        "settings = [",
        *[line.rstrip() for line in items.splitlines()[:3]],
        '    "cat4",\n]',
    ]
    # Too long to close within a few lines more: the block stops before it opened.
    many = "".join(f'    "cat{n}",\n' for n in range(1, 12))
    unclosable = f"Cats sleep by these settings:\nimport cats\ncats.wake()\nsettings = [\n{many}]\n"
    assert quoted_from(unclosable)[1:] == ["import cats", "cats.wake()"]
    # Cut down to its imports, a block shows nothing of what its lead-in announces: neither is
    # quoted.
    imports_only = unclosable.replace("cats.wake()\n", "") + "Cats sleep in the sun."
    assert quoted_from(imports_only) == ["Cats sleep in the sun."]
    # A triple-quoted string is closed the same way, or left out with what opened it.
    text = f'Cats sleep by these settings:\nimport cats\nabout = """\n{items}"""\nThe end.'
    assert quoted_from(text)[-1] == '    "cat4",\n"""'


def test_a_code_blocks_lines_are_shown_as_code_whatever_they_read_as() -> None:
    # Git's git-svn page: "cd trunk" and "git branch" read as prose, so they were quoted as
    # sentences between code blocks holding only the comments above them.
    page = (
        "Cats sleep in a trunk; enter it for hours:\n"
        "# Find the trunk:\n"
        "  cat find http://cats.example.com/trunk\n"
        "# Enter the trunk where cats sleep:\n"
        "  cd trunk\n"
        "Cats sleep there.\n"
        "Reference: cats.sleep"
    )
    passage = dataclasses.replace(
        hit(1, page, 0.6),
        chunk=dataclasses.replace(
            hit(1, page, 0.6).chunk,
            code_lines=(
                "# Find the trunk:",
                "cat find http://cats.example.com/trunk",
                "# Enter the trunk where cats sleep:",
                "cd trunk",
            ),
        ),
    )
    answer = compose("How many hours do cats sleep in the trunk?", [passage])
    code = [quote.text for quote in answer.quotes if quote.code]
    assert code == [
        "# Find the trunk:",
        "  cat find http://cats.example.com/trunk",
        "# Enter the trunk where cats sleep:",
        "  cd trunk",
    ]
    assert next(q.text for q in answer.quotes if not q.code) == page.split("\n", maxsplit=1)[0]
    # The block ends where the page's does: "Reference: cats.sleep" reads as code, but is not.
    assert not [quote for quote in answer.quotes if quote.code][-1].continues
    assert all("Reference" not in quote.text for quote in answer.quotes)
    assert answer.citations[0].code_lines == passage.chunk.code_lines  # for its excerpt


def with_code_lines(passage: Hit, *lines: str) -> Hit:
    """Return a hit whose chunk knows which of its lines are a code block's."""
    return dataclasses.replace(passage, chunk=dataclasses.replace(passage.chunk, code_lines=lines))


def test_the_sentence_after_a_code_block_that_says_what_it_does_is_quoted_with_it() -> None:
    # Git's SubmittingPatches: the trailer, then "This line can be added by Git if you run the
    # git-commit command with the -s option." — the how of "how do I add it".
    page = (
        "Cats sleep for hours; a sleeping cat shows a line like this:\n"
        "Zzz: sixteen hours\n"
        "This line can be added by a cat if you run the nap command with the -s option.\n"
        "Dogs bark."
    )
    answer = compose(
        "How many hours do cats sleep?", [with_code_lines(hit(1, page, 0.6), "Zzz: sixteen hours")]
    )
    assert [q.text for q in answer.quotes] == page.split("\n")[:3]
    # A line that leads on to more code is no sentence: it is not brought.
    lead_on = page.replace(page.split("\n")[2], "then the command")
    answer = compose(
        "How many hours do cats sleep?",
        [with_code_lines(hit(1, lead_on, 0.6), "Zzz: sixteen hours")],
    )
    assert "then the command" not in [q.text for q in answer.quotes]


def test_blocks_give_way_from_the_last_until_the_answer_fits_a_chat() -> None:
    # Each lead-in brings its code whole, after the quotes are chosen: three such blocks ran
    # an answer past 1,000 characters.
    def block(n: int) -> str:
        lines = "".join(
            f"cats.sleep(hours={h}, place='warm spot number {n}{h}')\n" for h in range(6)
        )
        return f"Cats sleep many hours; set the hours of place {n} like this:\n{lines}The end."

    hits = [hit(rank, block(rank), 0.6 - rank / 100) for rank in (1, 2, 3)]
    answer = compose("How many hours do cats sleep?", hits)
    assert len(answer.text) <= 1000
    assert answer.quotes[0].text == block(1).split("\n", maxsplit=1)[0]  # the best stays
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    assert {q.n for q in answer.quotes} == {c.n for c in answer.citations}


def test_a_lead_in_brings_its_command_but_not_the_prose_after_it() -> None:
    # A command at a prompt is code though all its words are plain ("$ git branch"); its
    # output, and the page's next sentence and command, are not what the lead-in introduced.
    page = (
        "Cats show the hours they sleep with:\n"
        "$ cat hours\n"
        "sixteen\n"
        "To see the naps instead, run\n"
        "$ cat naps --all"
    )
    quoted = quoted_from(page)
    assert quoted[:2] == ["Cats show the hours they sleep with:", "$ cat hours"]
    assert "$ cat naps --all" not in quoted  # its lead-in does not end ":"; never alone


def test_a_lead_in_brings_the_command_not_what_the_shell_prints() -> None:
    page = (
        "Cats sleep for hours; count them with:\n"
        "$ cats --hours\n"
        "======== 16 hours in 0.12s ========\n"
        "E  cat not found"
    )
    quoted = quoted_from(page)
    assert quoted[:2] == ["Cats sleep for hours; count them with:", "$ cats --hours"]
    assert not any(q.startswith(("====", "E ")) for q in quoted)


def test_a_sentence_that_runs_on_into_a_command_is_quoted_with_it() -> None:
    # A man page: "…continue the rebase with" and the command on the next line, no ":".
    page = (
        "Cats wake after sixteen hours; to let a cat sleep on, continue the nap with\n"
        "cat nap --continue\n"
        "Value | Hours\n"
        "# sixteen hours of sleep\n"
        "naps = 16"
    )
    quoted = quoted_from(page)
    at = quoted.index(page.split("\n", maxsplit=1)[0])
    assert quoted[at + 1] == "cat nap --continue"  # never the sentence cut off before it
    # A comment is code, so it needs what says what it does: a table's header row is no
    # sentence running on, and the comment and its code are left out.
    assert "# sixteen hours of sleep" not in quoted and "naps = 16" not in quoted
    # A word or two of a program's output runs on into nothing (pytest's "E  '5'", then
    # "E  Use -v to get more diff").
    output = "Cats sleep sixteen hours a day.\nE    '5'\nE    Use -v to see the hours cats sleep"
    assert quoted_from(output) == ["Cats sleep sixteen hours a day."]
    # What a program prints is no command a line runs on into (pytest's "run-last-failure:
    # rerun previous 2 failures first" above "test_50.py FF.... [100%]").
    log = "naps-of-cats: sleep hours sixteen\ncats_test.py FF........ [100%]\n===== 2 naps ====="
    assert quoted_from(log) == ["naps-of-cats: sleep hours sixteen"]


def test_a_paragraph_that_ends_in_a_lead_in_is_quoted_to_its_code() -> None:
    # The quoted sentence says what a thing is for; the paragraph's last sentence says how, and
    # the settings after it ("detached = true": plain words, yet code) are the answer.
    page = (
        "Cats that sleep sixteen hours a day need a quiet room. Enabling the quiet option "
        "makes the room dark:\n"
        "[cats.room]\n"
        "quiet = true\n"
        "class Room(Quiet):\n"
        "Dogs bark at night."
    )
    quoted = quoted_from(page)
    assert quoted[:4] == [
        "Cats that sleep sixteen hours a day need a quiet room.",
        "Enabling the quiet option makes the room dark:",
        "[cats.room]",
        "quiet = true",
    ]
    # A block never ends on a line that opens one ("class Room(Quiet):" without its body).
    assert "class Room(Quiet):" not in quoted


def test_a_pages_opening_line_introduces_nothing_further_on() -> None:
    # The opening line is shown above a passage from deeper in the page: what follows it in
    # the passage is not what it introduced on the page ("…options:" then a log's "luck").
    opened = dataclasses.replace(
        hit(1, "luck\nCats sleep sixteen hours a day.", 0.6),
        lede="Cats offer two ways to sleep for hours:",
    )
    quoted = [q.text for q in compose("How many hours do cats sleep?", [opened]).quotes]
    assert "luck" not in quoted and "Cats sleep sixteen hours a day." in quoted


def test_a_pages_opening_line_is_favoured_only_over_the_best_passage() -> None:
    # "git-push - Update remote refs along with associated objects" opened an answer about
    # squashing commits: another page's summary line, shown over a lesser passage, read as
    # filler; blind readers preferred the answers without it in 23 of 31 pairs.
    def answer_to(lede_rank: int) -> str:
        hits = [
            dataclasses.replace(
                hit(rank, "Cats sleep many hours a day.", 0.6),
                lede="cat-nap - Cats sleep many hours" if rank == lede_rank else "",
            )
            for rank in (1, 2)
        ]
        quotes = compose_answer(
            query("How many hours do cats sleep?"), hits, min_similarity=0.3, max_quotes=1
        ).quotes
        return quotes[0].text

    assert answer_to(lede_rank=1) == "cat-nap - Cats sleep many hours"
    assert answer_to(lede_rank=2) == "Cats sleep many hours a day."


def test_a_pages_opening_line_is_quoted_without_the_passage_below_it() -> None:
    # "git-show-branch - Show branches and their commits" ran on into "This option makes them
    # appear in topological order…", from deep in the page: a short best quote takes the next
    # sentence, but the opening line shown above a passage is whole on its own.
    passage = dataclasses.replace(
        hit(1, "This option makes them appear in order.\nDogs bark.", 0.6),
        lede="cat-nap - Cats sleep many hours",
    )
    answer = compose("How many hours do cats sleep?", [passage])
    assert [quote.text for quote in answer.quotes] == ["cat-nap - Cats sleep many hours"]


def test_compose_answer_declines_a_question_about_a_thing_the_corpus_never_names() -> None:
    unknown = query("How many hours do cats sleep on Bitbucket?", {"bitbucket": 0})
    answer = compose_answer(unknown, HITS, min_similarity=0.3)
    assert not answer.found and answer.quotes == ()
    assert [c.source for c in answer.related] == ["doc1.txt", "doc2.txt", "doc3.txt"]
    # The reply says which word the sources never use, so the asker can try their own term.
    assert answer.text.startswith(NOT_FOUND) and "“bitbucket”" in answer.text
    assert answer.to_dict()["unknown"] == ["bitbucket"]
    # Numbers, short tokens and plain English words missing from a small corpus never decline.
    detail = query("How many hours do cats sleep in 2024 on a PC?", {"2024": 0, "pc": 0})
    assert compose_answer(detail, HITS, min_similarity=0.3).found
    plain = query("How many hours do cats sleep?", {"many": 0})
    assert compose_answer(plain, HITS, min_similarity=0.3).found


def test_a_quote_never_grows_with_an_endless_sentence() -> None:
    endless = "Cats sleep " + " ".join(["and sleep"] * 5000)  # 45 KB, no full stop
    answer = compose("How many hours do cats sleep?", [hit(1, endless, 0.6)])
    assert answer.found
    quote = answer.quotes[0].text
    assert len(quote) <= 601 and quote.endswith("…")
    assert endless.startswith(quote[:-1])  # what is shown is verbatim, cut at a word


def test_citation_links_are_the_path_inside_the_sources_folder() -> None:
    from bot.core.answer import document_url, with_links

    assert (
        document_url("handbook/guides/intro notes.md", "https://docs.example.com/")
        == "https://docs.example.com/guides/intro%20notes.md"
    )
    answer = compose("How many hours do cats sleep?", HITS)
    assert all(c.url == "" for c in answer.citations)  # no base URL: no links
    linked = with_links(answer, "https://docs.example.com")
    assert [c.url for c in linked.citations] == [
        f"https://docs.example.com/{c.source}" for c in answer.citations
    ]


def test_a_lead_in_is_quoted_with_the_command_it_introduces() -> None:
    passage = (
        "Stashes keep work in progress aside.\n"
        "To stash your changes and keep the index, run:\n"
        "git stash push --keep-index\n"
        "Later, restore the stash with pop."
    )
    answer = compose("how do I stash changes but keep the index", [hit(1, passage, 0.6)])
    quoted = [quote.text for quote in answer.quotes]
    at = quoted.index("To stash your changes and keep the index, run:")
    assert quoted[at + 1] == "git stash push --keep-index"  # never the lead-in alone


def test_a_code_line_is_never_quoted_without_what_says_what_it_does() -> None:
    from bot.core.answer import _Candidate, _whole_blocks

    passage = (
        "The index keeps staged changes until you commit them to history, as the glossary says.\n"
        "See the glossary for more words.\n"
        "index = open('staged.idx').read()"
    )
    source = hit(1, passage, 0.6)
    lines = passage.split("\n")
    candidates = [
        _Candidate(source, passage.index(line), line, 1.0 - n / 10, 0.5)
        for n, line in enumerate(lines)
    ]
    kept = _whole_blocks([candidates[0], candidates[2]], candidates)
    assert [c.text for c in kept] == [lines[0]]  # the code line had nothing saying what it does


def test_passage_link_points_at_the_lines_or_the_section() -> None:
    lines = Chunk("handbook/leave.md", "Leave", "", "Ask first.", "line", 40, 52, 0)
    blob = "https://github.com/acme/handbook/blob/0123abc/leave.md#L{start}-L{end}"
    assert passage_link(blob, lines) == (
        "https://github.com/acme/handbook/blob/0123abc/leave.md#L40-L52"
    )
    paragraphs = dataclasses.replace(lines, unit="paragraph")
    assert passage_link(blob, paragraphs) == (
        "https://github.com/acme/handbook/blob/0123abc/leave.md"
    )
    section = dataclasses.replace(paragraphs, anchor="requirements")
    page = "https://docs.example.com/install.html"
    assert passage_link(page, section) == page + "#requirements"
    assert passage_link(page + "#top", section) == page + "#top"  # a fragment of its own wins
    assert passage_link("", section) == ""  # no page to point into


def test_compose_answer_declines_when_no_quoted_passage_mentions_a_rare_name() -> None:
    def asked(question: str, frequencies: dict[str, int]) -> Query:
        words = query_words(question)
        counts = {stem(word): frequencies.get(stem(word), 1) for word in words}
        rare = unknown_words(words, counts, pieces, mentions=range(1, RARE_MENTIONS + 1))
        return Query(question, tuple(counts), counts, 3, np.zeros(4, np.float32), rare=rare)

    # "pgbouncer" appears once in the corpus (a release note), in none of the passages found.
    pooled = asked("How many hours do cats sleep behind pgbouncer?", {"pgbouncer": 1})
    answer = compose_answer(pooled, HITS, min_similarity=0.3)
    assert not answer.found and answer.uncovered == ("pgbouncer",)
    assert "“pgbouncer” only in passing" in answer.text
    assert answer.to_dict()["uncovered"] == ["pgbouncer"]
    # The same question is answered when a passage about to be quoted names it ...
    named = [hit(1, "Cats behind pgbouncer sleep up to sixteen hours a day.", 0.6), *HITS[1:]]
    assert compose_answer(pooled, named, min_similarity=0.3).found
    # ... or when the name is common English, or mentioned in many chunks, or only in a page's
    # heading: a chat word ("blob") or a subject the corpus covers never declines.
    assert compose_answer(
        asked("Do cats sleep in a blob?", {"blob": 1}), HITS, min_similarity=0.3
    ).found
    common = asked("How many hours do cats sleep behind pgbouncer?", {"pgbouncer": 40})
    assert compose_answer(common, HITS, min_similarity=0.3).found
    headed = [
        dataclasses.replace(HITS[0], chunk=dataclasses.replace(HITS[0].chunk, section="Pgbouncer")),
        *HITS[1:],
    ]
    assert compose_answer(pooled, headed, min_similarity=0.3).found


def test_quotes_that_stand_together_in_the_passage_form_one_block() -> None:
    # Two sentences of one paragraph, a lead-in's two lines of code: one block with one
    # citation, its prose and its code apart; nothing is joined across a line left out.
    page = (
        "Cats sleep for hours. Cats sleep sixteen hours a day, count them with:\n"
        "$ cat hours --all\n"
        "$ cat hours --today\n"
        "Dogs bark.\n"
        "Cats that sleep for hours in winter sleep more."
    )
    answer = compose("How many hours do cats sleep?", [hit(1, page, 0.6)])
    assert [(q.text, q.code, q.joined_by) for q in answer.quotes] == [
        ("Cats sleep for hours.", False, ""),
        ("Cats sleep sixteen hours a day, count them with:", False, " "),
        ("$ cat hours --all", True, "\n"),
        ("$ cat hours --today", True, "\n"),
        ("Cats that sleep for hours in winter sleep more.", False, ""),  # "Dogs bark." between
    ]
    first, second = quote_blocks(answer.quotes)
    assert [(part.text, part.code) for part in first.parts] == [
        ("Cats sleep for hours. Cats sleep sixteen hours a day, count them with:", False),
        ("$ cat hours --all\n$ cat hours --today", True),
    ]
    assert [part.text for part in second.parts] == [answer.quotes[-1].text]
    assert answer.text == (
        "Cats sleep for hours. Cats sleep sixteen hours a day, count them with:\n"
        "$ cat hours --all\n$ cat hours --today [1] "
        "Cats that sleep for hours in winter sleep more. [1]"
    )
    assert answer.to_dict()["quotes"][2] == {
        "text": "$ cat hours --all",
        "n": 1,
        "code": True,
        "joined_by": "\n",
    }


def test_prose_after_code_is_a_block_with_its_own_citation() -> None:
    # "…use the `--private` flag like so:", its command, then "This when combined…" [1]: one
    # block, cited once at its end, and readers took the lead-in above the code for a quote
    # nobody cited. Code closes its block; the prose after it starts one.
    quotes = [
        Quote("Cats sleep for hours, count them with:", 1),
        Quote("$ cat hours --all", 1, code=True, joined_by="\n"),
        Quote("This shows every nap.", 1, joined_by="\n"),
    ]
    first, second = quote_blocks(quotes)
    assert [part.code for part in first.parts] == [False, True]
    assert [part.text for part in second.parts] == ["This shows every nap."]
    assert render_quotes(True, quotes) == (
        "Cats sleep for hours, count them with:\n$ cat hours --all [1] This shows every nap. [1]"
    )


def test_a_quote_cut_short_starts_no_block_with_the_next() -> None:
    # A sentence clipped to its first words ("…") has words left out after it.
    long_sentence = "Cats sleep many hours " + "and dream " * 80 + "of mice."
    page = f"{long_sentence} Cats sleep sixteen hours a day."
    answer = compose("How many hours do cats sleep?", [hit(1, page, 0.6)])
    assert [q.text.endswith("…") for q in answer.quotes] == [True, False]
    assert [q.joined_by for q in answer.quotes] == ["", ""]
    assert len(quote_blocks(answer.quotes)) == 2


def test_code_keeps_its_indents_less_what_its_lines_share() -> None:
    page = (
        "Cats sleep for hours, and count them like this:\n"
        "    def hours(cat):\n"
        "        return cat.sleep\n"
        "Dogs bark."
    )
    answer = compose("How many hours do cats sleep?", [hit(1, page, 0.6)])
    assert [q.text for q in answer.quotes if q.code] == [
        "    def hours(cat):",
        "        return cat.sleep",
    ]
    (block,) = quote_blocks(answer.quotes)
    assert block.parts[1].text == "def hours(cat):\n    return cat.sleep"


def test_what_a_program_prints_at_the_console_is_never_quoted() -> None:
    # Hatch's "Lockfile is up to date: pylock.toml" under "$ hatch env lock" matched the
    # question's words; it says what happened, not what to do. Prose after the session is
    # quotable again, and so is a line typed at a prompt or a comment.
    page = (
        "$ cats count --hours\n"
        "Cats sleep hours: sixteen\n"
        "cats.log FF.. sixteen hours [100%]\n"
        ">>> cats.sleep(hours=16)\n"
        "Cats sleep sixteen hours a day, more in winter.\n"
        "cats asleep: sixteen hours"
    )
    quoted = quoted_from(page)
    assert "Cats sleep hours: sixteen" not in quoted
    assert "cats.log FF.. sixteen hours [100%]" not in quoted
    assert "Cats sleep sixteen hours a day, more in winter." in quoted
    assert "cats asleep: sixteen hours" in quoted  # after prose: the page, not the console


def test_an_answer_without_code_is_given_its_passage_s_example() -> None:
    # The quote says how long cats sleep; the passage shows how to count it further on, under
    # a lead-in too weak to be quoted on its own.
    page = (
        "Cats sleep sixteen hours a day in warm places, more in winter and less in a noisy home.\n"
        "Dogs bark at strangers and at the postman.\n"
        "Count them with:\n"
        "$ cats --hours\n"
        "Birds sing."
    )
    answer = compose("How do I count the hours cats sleep in warm places?", [hit(1, page, 0.6)])
    assert [q.text for q in answer.quotes] == [
        "Cats sleep sixteen hours a day in warm places, more in winter and less in a noisy home.",
        "Count them with:",
        "$ cats --hours",
    ]
    assert answer.quotes[-1].code and answer.quotes[-1].joined_by == "\n"
    # Asked what a thing is, the answer is what the page says it is, not an example.
    what = compose("What are the hours cats sleep in warm places?", [hit(1, page, 0.6)])
    assert [q.text for q in what.quotes] == [page.split("\n", maxsplit=1)[0]]


def test_an_example_takes_the_place_of_the_weakest_sentences_past_600_characters() -> None:
    filler = " ".join(["in warm places"] * 12)
    page = (
        f"Cats sleep sixteen hours a day in warm places, {filler}.\n"
        f"Cats sleep in warm places, {filler}.\n"
        f"Hours of sleep matter to cats, {filler}.\n"
        "Count them with:\n"
        "$ cats --hours"
    )
    question = "How do I count the hours cats sleep in warm places?"
    answer = compose_answer(query(question), [hit(1, page, 0.6)], min_similarity=0.3)
    quoted = [q.text for q in answer.quotes]
    lines = page.split("\n")
    assert quoted[-2:] == ["Count them with:", "$ cats --hours"]  # the example came
    assert quoted[0] == lines[0]  # the best sentence stays
    assert len(quoted) == 4  # a weaker sentence made room: 3 x 218 + 30 characters > 654


def test_making_room_for_an_example_never_breaks_a_lead_in_from_its_block() -> None:
    filler = " ".join(["in warm places"] * 15)
    page = (
        f"Cats sleep sixteen hours a day in warm places, {filler}.\n"
        f"Hours of sleep matter to cats, {filler}.\n"
        "Cats sleep hours in a warm bed you pick with:\n"
        "Warm bed\n"
        "Count them with:\n"
        "$ cats --hours"
    )
    question = "How do I count the hours cats sleep in warm places?"
    quoted = [q.text for q in compose(question, [hit(1, page, 0.6)]).quotes]
    assert quoted[-2:] == ["Count them with:", "$ cats --hours"]  # the example came
    lead = "Cats sleep hours in a warm bed you pick with:"
    assert lead in quoted and quoted[quoted.index(lead) + 1] == "Warm bed"  # whole
    assert not any(q.startswith("Hours of sleep") for q in quoted)  # the weakest made room
    # An example's lead-in starts a sentence (or a name: "cats.count(): Count them with:");
    # "then count them with:" is the end of one.
    cut = page.replace("Count them with:", "then count them with:")
    assert "$ cats --hours" not in [q.text for q in compose(question, [hit(1, cut, 0.6)]).quotes]
    named = page.replace("Count them with:", "cats.count(): Count them with:")
    assert "$ cats --hours" in [q.text for q in compose(question, [hit(1, named, 0.6)]).quotes]


def test_a_quote_pointing_back_brings_the_sentence_it_points_at() -> None:
    # "This allows it to prefetch many-to-many…" without the sentence naming prefetch_related.
    passage = (
        "Felines purr at dusk.\nThe purr module wraps a nap timer. "
        "This lets them sleep sixteen hours a day.\nDogs bark."
    )
    quoted = quoted_from(passage)
    assert quoted[:2] == [
        "The purr module wraps a nap timer.",
        "This lets them sleep sixteen hours a day.",
    ]
    assert "Felines purr at dusk." not in quoted  # another paragraph: not what "this" means
    plain = passage.replace("This lets them", "Purring cats")
    assert quoted_from(plain)[0] == "Purring cats sleep sixteen hours a day."
    forward = passage.replace("This lets them", "Here’s how cats")  # points ahead, not back
    assert quoted_from(forward)[0] == "Here’s how cats sleep sixteen hours a day."
    useful = passage.replace("This lets them", "This is useful to let them")
    assert quoted_from(useful)[0] == "The purr module wraps a nap timer."
    dummy = passage.replace("This lets them", "It is useful to let cats")  # "it" means nothing
    assert quoted_from(dummy)[0] == "It is useful to let cats sleep sixteen hours a day."


@pytest.mark.parametrize(
    "pointing",
    [
        "Cats in such a state sleep",
        "However, this last nap lets them sleep",
        "With the above timer they sleep",
    ],
)
def test_a_quote_pointing_back_a_few_words_in_brings_the_sentence_it_points_at(
    pointing: str,
) -> None:
    # Git's glossary: "The HEAD in such a state is called "detached"." was quoted without the
    # sentence saying which state; "However, this last command…" and "While the above method…"
    # read to blind readers as fragments alike.
    passage = (
        "Felines purr at dusk.\nThe purr module wraps a nap timer. "
        f"{pointing} sixteen hours a day.\nDogs bark."
    )
    quoted = quoted_from(passage)
    assert quoted[:2] == ["The purr module wraps a nap timer.", f"{pointing} sixteen hours a day."]
    far = passage.replace(pointing, f"Cats that nap after lunch and wake up in {pointing.lower()}")
    assert "The purr module wraps a nap timer." not in quoted_from(far)  # past its first words


def test_a_sentence_a_command_interrupted_is_quoted_from_its_start() -> None:
    # Git's user manual: "…you can replace the most recent commit using / $ git commit --amend /
    # which will replace the old commit…. This is useful for fixing typos…" was quoted as its
    # last sentence alone, "this" pointing at nothing shown.
    passage = (
        "Dogs bark.\nYou can give cats a longer nap using\n$ cats --nap\n"
        "which turns the lights down. This lets them sleep sixteen hours a day.\nThe end."
    )
    assert quoted_from(passage)[:4] == [
        "You can give cats a longer nap using",
        "$ cats --nap",
        "which turns the lights down.",
        "This lets them sleep sixteen hours a day.",
    ]
    # Where the sentence's start is not there whole, no piece of it is quoted.
    cut = passage.replace("Dogs bark.\nYou can give cats a longer nap using\n", "")
    assert quoted_from(cut)[0] == "This lets them sleep sixteen hours a day."


def test_a_paragraph_about_the_code_above_brings_that_code() -> None:
    # "This test will fail if myfunction does not issue a deprecation warning" was quoted
    # without the test it is about.
    test = "def test_nap():\n    assert cats.sleep(\n        16\n    )\n"
    about = "This test fails when cats sleep fewer than sixteen hours a day."
    passage = f"Dogs bark.\nWrite the test like this:\n{test}{about}\nThe end."
    assert quoted_from(passage)[:5] == [
        "Write the test like this:",
        "def test_nap():",
        "    assert cats.sleep(",
        "        16\n    )",
        about,
    ]
    # The code's top is not in the passage, or it leaves a bracket open: nothing of it.
    assert quoted_from(f"    assert cats.sleep(\n        16\n    )\n{about}")[0] == about
    unclosed = passage.replace("        16\n    )\n", "        16\n")
    assert quoted_from(unclosed)[0] == about
    # Code inside a sentence ("then the command … will result in:"): its end is no lead-in.
    inside = passage.replace("Write the test like this:", "will pass, as in:")
    assert quoted_from(inside)[0] == about


def test_a_table_introduced_is_shown_as_one() -> None:
    # Hatch's segments table: rows of numbers were shown as code, a row of words
    # ("micro, patch, fix | 1.0.1") as a sentence between them.
    table = "Segment | Hours\nrelease | 1.0.0\nmicro, patch, fix | 1.0.1\nmajor | 2.0.0"
    passage = f"Here is how many hours cats sleep in each segment:\n{table}\nDogs bark."
    answer = compose("How many hours do cats sleep?", [hit(1, passage, 0.6)])
    rows = [quote for quote in answer.quotes if " | " in quote.text]
    assert [quote.text for quote in rows] == table.split("\n")
    assert all(quote.code for quote in rows)


def test_nothing_to_quote_but_a_lead_in_declines_with_the_passage_related() -> None:
    # The lead-in's block cannot be quoted whole, and nothing else reads as a sentence: a lone
    # "…by these settings:" would be a fragment, and an empty answer would say nothing.
    many = "".join(f'    "cat{n}",\n' for n in range(1, 12))
    passage = f"Cats sleep by these settings:\nimport cats\nsettings = [\n{many}]\n"
    answer = compose("How many hours do cats sleep?", [hit(1, passage, 0.6)])
    assert not answer.found and answer.text == NOT_FOUND
    assert [c.text for c in answer.related] == [passage]


def test_a_definition_entry_with_a_signature_is_quoted_as_prose() -> None:
    # An API reference's entry: the signature and what it does, one whole block. Before, its code
    # characters made it a bare signature, never quoted, and a sentence merely naming a
    # "Set-Cookie" header answered instead.
    text = (
        "HttpResponse.set_cookie(key, value='', max_age=None, path='/'): Sets a cookie.\n"
        "Cookies sleep in the browser for many hours."
    )
    answer = compose("How do I set a cookie on a response?", [hit(1, text, 0.6)])
    first = answer.quotes[0]
    assert first.text.startswith("HttpResponse.set_cookie(key") and not first.code


def test_a_bare_signature_is_still_code() -> None:
    # No description, or one that is itself code: nothing a reader takes as an answer.
    text = "HttpResponse.set_cookie(key, value='', max_age=None, path='/')\nCookies last hours."
    answer = compose("How do I set a cookie on a response?", [hit(1, text, 0.6)])
    assert all(not quote.text.startswith("HttpResponse") for quote in answer.quotes)


def test_a_name_joined_by_case_counts_as_its_words() -> None:
    # "HttpResponse" answers a question about a response; "Response headers" alone names less.
    text = (
        "Cookies travel in response headers of many kinds.\n"
        "Call HttpResponse.set_cookie() to set a cookie."
    )
    assert best_quote("How do I set a cookie on a response?", text) == [
        "Call HttpResponse.set_cookie() to set a cookie."
    ]


def test_a_quote_using_a_name_brings_the_names_definition() -> None:
    # "The field names in list_display will also appear as CSS classes…" answered "which columns
    # appear in the admin list" without "ModelAdmin.list_display: Set list_display to control…".
    passage = (
        "CatAdmin.nap_hours: Set nap_hours to choose how long a cat naps.\n"
        "Dogs bark at the mail.\n"
        "The hours in nap_hours show how many hours cats sleep a day."
    )
    quoted = quoted_from(passage)
    assert quoted[0] == "CatAdmin.nap_hours: Set nap_hours to choose how long a cat naps."
    # A name used with its owner's dots ("CatAdmin.nap_hours") is the same name.
    dotted = passage.replace("in nap_hours", "in CatAdmin.nap_hours")
    assert quoted_from(dotted)[0] == quoted[0]
    # A plain word before a colon defines no name: "Note: …" is not brought.
    plain = passage.replace("CatAdmin.nap_hours: Set nap_hours", "Note: Set it").replace(
        "in nap_hours", "in it"
    )
    assert not any(quote.startswith("Note:") for quote in quoted_from(plain))


def test_a_name_run_together_from_the_questions_words_counts_as_them() -> None:
    # "You can prevent the test databases from being destroyed by using the test --keepdb
    # option" answers "can we keep the db", though it says neither "keep" nor "db" apart.
    passage = "A cat is a small animal of the house.\nTurn the catnap setting on for longer sleeps."
    assert best_quote("Can the cat nap?", passage) == [
        "Turn the catnap setting on for longer sleeps."
    ]


def test_a_quote_brings_the_next_sentence_that_says_what_to_do_about_it() -> None:
    # Hatch: "By default, environments … install it in editable mode." was quoted without
    # "Set dev-mode to false to disable this behavior and have your project installed only…".
    passage = (
        "Dogs bark.\nBy default, cats sleep sixteen hours a day in warm places all around the "
        "house and the garden. Set naps to false to disable this behavior. Dogs run.\nThe end."
    )
    assert quoted_from(passage)[:2] == [
        "By default, cats sleep sixteen hours a day in warm places all around the house and the "
        "garden.",
        "Set naps to false to disable this behavior.",
    ]
    # A sentence that only mentions "this" without saying what to do is no such step.
    plain = passage.replace("Set naps to false to disable this behavior.", "This is a lot.")
    assert "This is a lot." not in quoted_from(plain)
    # Nor is a lead-in, whose block would not come with it.
    # Nor is a lead-in whose block is too long to quote whole: it would lead to nothing.
    many = "".join(f'    "cat{n}",\n' for n in range(1, 12))
    lead_in = passage.replace(
        "disable this behavior. Dogs run.", f"do this, list them:\nnaps = [\n{many}]"
    )
    assert "Set naps to false to do this, list them:" not in quoted_from(lead_in)


def test_a_function_or_class_being_defined_is_code() -> None:
    # "async def current_datetime(request):" read as prose (two plain words of three): Django's
    # async view example stopped at its imports. An API entry ("class X(y): …") is prose.
    passage = (
        "Cats sleep as this shows:\nimport cats\nasync def nap(request):\n"
        "    return cats.sleep(16)\nThe end."
    )
    assert quoted_from(passage)[:4] == [
        "Cats sleep as this shows:",
        "import cats",
        "async def nap(request):",
        "    return cats.sleep(16)",
    ]
    entry = "class CatNap(hours): Cats sleep sixteen hours a day.\nDogs bark."
    answer = compose("How many hours do cats sleep?", [hit(1, entry, 0.6)])
    assert answer.quotes[0].text.startswith("class CatNap") and not answer.quotes[0].code


def test_a_decorator_is_code() -> None:
    # "@classmethod" read as a word of prose ended a block after its imports ("from
    # django.db.models import DEFERRED" alone under its lead-in) and could be quoted alone.
    passage = (
        "Cats sleep as this shows:\nfrom cats import nap\n@classmethod\ndef sleep(cls):\n"
        "    return nap(16)\nThe end."
    )
    assert quoted_from(passage)[:5] == [
        "Cats sleep as this shows:",
        "from cats import nap",
        "@classmethod",
        "def sleep(cls):",
        "    return nap(16)",
    ]


def test_code_cut_for_room_says_it_goes_on() -> None:
    # Readers took a cut example ("def from_db(…):" and two comment lines) for the whole: the
    # block's last line shown is followed by "…" when the passage's block goes on unquoted.
    body = "".join(f"    naps.append({n})\n" for n in range(12))
    passage = f"Cats sleep as this shows:\ndef sleep_hours(naps):\n{body}    return naps\nThe end."
    answer = compose("How many hours do cats sleep?", [hit(1, passage, 0.6)])
    code = [quote for quote in answer.quotes if quote.code]
    assert code and code[-1].continues and not any(q.continues for q in code[:-1])
    assert answer.text.split(" [1]")[0].endswith("\n…")
    assert answer.to_dict()["quotes"][len(answer.quotes) - 1]["continues"] is True
    # A block quoted whole does not.
    whole = "Cats sleep as this shows:\ndef sleep_hours(naps):\n    return 16\nThe end."
    assert not any(
        q.continues for q in compose("How many hours do cats sleep?", [hit(1, whole, 0.6)]).quotes
    )


def test_a_code_block_ending_a_few_lines_past_the_room_is_shown_whole() -> None:
    # Readers marked down examples cut with "…" just before the line that does what the
    # lead-in says (the function under its decorators, the view's return).
    def block(lines: int) -> list[str]:
        return (
            ["def sleep_hours(naps):"]
            + [f"    naps.append({n})" for n in range(lines - 2)]
            + ["    return naps"]
        )

    for lines, whole in ((9, True), (14, False)):
        code = block(lines)
        page = "Cats sleep as this shows:\n" + "\n".join(code) + "\nThe end."
        answer = compose(
            "How many hours do cats sleep?",
            [with_code_lines(hit(1, page, 0.6), *(line.strip() for line in code))],
        )
        shown = [quote.text.strip() for quote in answer.quotes if quote.code]
        if whole:
            assert shown == [line.strip() for line in code]
            assert not any(quote.continues for quote in answer.quotes)
        else:  # too long to show whole: cut within the room, as before, and said to go on
            assert 6 <= len(shown) < 10
            assert shown == [line.strip() for line in code[: len(shown)]]
            assert answer.quotes[-1].continues


def test_a_bare_lead_in_is_quoted_with_the_sentence_that_says_what_its_code_does() -> None:
    # Hatch: "For example:" and `hatch python update 3.12 …` were quoted without "To update
    # installed Python distributions, use the `python update` command." before them.
    page = (
        "Cats purr when they sleep.\n"
        "To set how long they sleep, run the nap tool. For example:\n"
        "$ cats sleep --hours 16\n"
        "Dogs bark."
    )
    quotes = compose("How many hours do cats sleep?", [hit(1, page, 0.6)]).quotes
    texts = [quote.text for quote in quotes]
    at = texts.index("For example:")
    assert texts[at - 1 : at + 2] == [
        "To set how long they sleep, run the nap tool.",
        "For example:",
        "$ cats sleep --hours 16",
    ]
    assert quotes[at].joined_by == " "  # one paragraph, shown as the page has it


def test_a_table_row_quoted_alone_is_shown_under_the_tables_header() -> None:
    # Hatch's "--client-cert | client-cert | The path to a client certificate…" read as a
    # sentence, "path | hatch_build.py | …" as a fragment: under "Flag | Config name |
    # Description" each reads as the table's row it is.
    page = (
        "Cats can be told how to nap.\n"
        "Flag | Config name | Description\n"
        "--purr | purr | Whether cats purr\n"
        "--hours | hours | How many hours cats sleep a day\n"
        "Dogs bark."
    )
    quotes = compose("How many hours do cats sleep a day?", [hit(1, page, 0.6)]).quotes
    table = [quote for quote in quotes if quote.code]
    assert [quote.text for quote in table] == page.split("\n")[1:4]
    assert [quote.joined_by for quote in table[1:]] == ["\n", "\n"]  # one block
    # A shell's pipe is no table: lines of a man page's examples stay the prose they are.
    examples = (
        "Cats can be archived.\n"
        "cat archive --all | gzip >all.tar.gz: Archive every cat, asleep or awake.\n"
        "cat archive --asleep | gzip >asleep.tar.gz: Archive the cats that sleep for hours.\n"
        "Dogs bark."
    )
    quotes = compose("How many hours do cats sleep?", [hit(1, examples, 0.6)]).quotes
    assert not any(quote.code for quote in quotes)


def test_a_list_item_naming_options_is_prose() -> None:
    # Hatch's "The username is derived from the following sources…:" list opened with "The
    # --user / -u cli option.", taken for a command: the list stopped at it, the rest unquoted.
    passage = (
        "Cats find their naps in these places, in order of precedence:\n"
        "The  --nap / -n cli option.\nThe CATS_NAP environment variable.\nThe end of the day.\n"
        "Dogs bark."
    )
    quoted = quoted_from(passage)
    assert quoted[:4] == [
        "Cats find their naps in these places, in order of precedence:",
        "The  --nap / -n cli option.",
        "The CATS_NAP environment variable.",
        "The end of the day.",
    ]
    answer = compose("How many hours do cats sleep?", [hit(1, passage, 0.6)])
    assert not any(quote.code for quote in answer.quotes)


def test_a_block_that_is_only_a_build_placeholder_is_not_quoted() -> None:
    # Hatch's docs: "You can override the default series of matrices:" over
    # "<HATCH_TEST_ENV_MATRIX>", which the site's build replaces; the lead-in goes with it.
    passage = "Cats sleep in this many hours:\n<CATS_NAP_TABLE>\nCats sleep sixteen hours a day."
    quoted = quoted_from(passage)
    assert "<CATS_NAP_TABLE>" not in quoted and "Cats sleep in this many hours:" not in quoted
    # A metavariable inside code is the code's own: "[cats.<NAME>]" is quoted.
    inside = passage.replace("<CATS_NAP_TABLE>", "[cats.<NAME>]\nhours = 16")
    assert "[cats.<NAME>]" in quoted_from(inside)


def test_inline_code_marks_change_nothing_about_how_a_line_reads() -> None:
    # With its options marked as code, as the page marks them, the list item is prose still.
    passage = (
        "Cats find their naps in these places, in order of precedence:\n"
        "The  `--nap` / `-n` cli option.\nThe `CATS_NAP` environment variable.\n"
        "The end of the day.\nDogs bark."
    )
    answer = compose("How many hours do cats sleep?", [hit(1, passage, 0.6)])
    assert [q.text for q in answer.quotes][1:3] == [
        "The  `--nap` / `-n` cli option.",
        "The `CATS_NAP` environment variable.",
    ]
    assert not any(quote.code for quote in answer.quotes)


def test_a_table_row_shown_as_code_drops_its_cells_marks() -> None:
    # In a code block a mark shows as typed: "`kitten` | `20`" would read with its backticks.
    passage = "Cats sleep this many hours a day:\n`cat` | 16\n`kitten` | 20\nDogs bark."
    answer = compose("How many hours do cats sleep?", [hit(1, passage, 0.6)])
    code = [quote.text for quote in answer.quotes if quote.code]
    assert code == ["cat | 16", "kitten | 20"]


def titled(rank: int, title: str, text: str, similarity: float) -> Hit:
    return dataclasses.replace(
        hit(rank, text, similarity), chunk=Chunk(f"doc{rank}.txt", title, "", text, "line", 1, 2, 0)
    )


def test_a_sentence_sending_the_reader_to_a_page_already_quoted_gives_way_to_that_page() -> None:
    checklist = "Review the secret key. Set debug to false in production."
    pointer = "Before you deploy to production, run through our deployment checklist."
    question = "checklist for deploying to production"
    answer = compose(
        question,
        [titled(1, "Deployment checklist", checklist, 0.6), titled(2, "Deploying", pointer, 0.5)],
    )
    assert answer.quotes[0].text == "Set debug to false in production."
    # No page of that title among the passages: the pointer is the best there is to quote.
    answer = compose(
        question, [titled(1, "Security", checklist, 0.6), titled(2, "Deploying", pointer, 0.5)]
    )
    assert answer.quotes[0].text == pointer


def sectioned_hit(title: str, sections: list[tuple[str, str]]) -> Hit:
    """A passage running across sections: (heading path, text) each, as search joins them."""
    text, starts = "", []
    for path, body in sections:
        starts.append((len(text) + 1 if text else 0, path))
        text = f"{text}\n{body}" if text else body
    chunk = Chunk("history.md", title, sections[0][0], text, "line", 1, 9, 0)
    return Hit(chunk, score=1.0, similarity=0.6, rank=1, sections=tuple(starts))


def test_a_changelog_line_is_shown_under_its_release() -> None:
    # "Drop support for Python 3.8" answered "when did they drop 3.8?" only with the release's
    # heading, which readers found in the citation's location, if at all.
    history = sectioned_hit(
        "Cat history",
        [
            ("1.16.0 - 2025-11-02", "- Cats nap on Python 3.14 keyboards"),
            ("1.15.0 - 2025-10-15", "- Drop support for Python 3.8 laps\n- Cats sleep less"),
        ],
    )
    answer = compose("when did cats drop support for python 3.8 laps", [history])
    blocks = quote_blocks(answer.quotes)
    assert blocks[0].parts[0].text.startswith("Drop support for Python 3.8 laps")
    # A release numbered only is named with its page: which history it is in matters.
    assert blocks[0].under == "Cat history › 1.15.0 - 2025-10-15"
    assert answer.text.startswith(
        "Cat history › 1.15.0 - 2025-10-15 · Drop support for Python 3.8 laps"
    )


def test_a_sentence_is_shown_under_the_name_its_section_is_about_unless_it_says_it() -> None:
    # "This allows it to prefetch many-to-many…" named neither prefetch_related() nor anything.
    reference = sectioned_hit(
        "Cat API reference",
        [
            ("Methods › nap()", "nap() puts a cat to sleep for a while."),
            ("Methods › purr_loudly()", "This makes cats purr for sixteen hours a day."),
        ],
    )
    answer = compose("how do I make cats purr for sixteen hours", [reference])
    blocks = quote_blocks(answer.quotes)
    assert [block.under for block in blocks] == ["purr_loudly()"]
    said = sectioned_hit(
        "Cat API reference",
        [("Methods › purr_loudly()", "purr_loudly() makes cats purr for sixteen hours a day.")],
    )
    answer = compose("how do I make cats purr for sixteen hours", [said])
    assert [block.under for block in quote_blocks(answer.quotes)] == [""]
    # Headings in words name no one thing: "Sleeping" is no label.
    guide = sectioned_hit(
        "Cat guide", [("Sleeping", "Cats purr for sixteen hours a day when warm.")]
    )
    answer = compose("how do I make cats purr for sixteen hours", [guide])
    assert [block.under for block in quote_blocks(answer.quotes)] == [""]


def test_a_sentence_with_names_marked_as_code_in_it_is_prose() -> None:
    # Hatch's changelog line read as code by its characters: shown as a code block under
    # "Added:".
    line = "Support PEP 794 (core metadata `Import-Name` and `Import-Namespace` fields and 2.5)"
    answer = compose("which core metadata fields", [hit(1, f"Added:\n{line}", 0.6)])
    assert [(q.text, q.code) for q in answer.quotes] == [(line, False)]


def test_a_later_sentence_of_an_entry_is_quoted_with_the_entrys_first() -> None:
    # "The keyid argument is optional…" answered how to sign commits without naming -S; shown
    # under "-S[<keyid>], --gpg-sign[=<keyid>] ·", readers took the term for a label without
    # its description. The entry's first sentence names it and says what it does.
    entry = (
        "-S[<keyid>], --purr[=<keyid>]: Purr loudly while the cat naps in the sun. "
        "The keyid argument makes cats purr for sixteen hours a day."
    )
    answer = compose("how do I make cats purr for sixteen hours", [hit(1, entry, 0.6)])
    blocks = quote_blocks(answer.quotes)
    assert blocks[0].parts[0].text == entry
    assert blocks[0].under == ""  # the quote says its term
    # The later sentence keeps its term, shown when it stands alone (no room for the first).
    later = next(quote for quote in answer.quotes if quote.text.startswith("The keyid"))
    assert later.under == "-S[<keyid>], --purr[=<keyid>]"
    # A term in words is no name: "Note: …" labels nothing.
    note = "Note: Purr loudly. The keyid argument makes cats purr for sixteen hours a day."
    answer = compose("how do I make cats purr for sixteen hours", [hit(1, note, 0.6)])
    assert [block.under for block in quote_blocks(answer.quotes)] == [""]


@pytest.mark.parametrize(
    "opening",
    [
        "This makes",
        "The latter makes",
        "Similarly, warm",
        "In this situation warm",
        "And then",
        "Now warm",
    ],
)
def test_a_sentence_pointing_back_gives_way_to_one_that_says_as_much_alone(opening: str) -> None:
    # "This metaphor falls apart when dealing with many-to-many…" opened an answer, "this" never
    # shown; the sentence that names its subject says the same on its own. Readers marked "The
    # latter is used…", "Similarly, when…", "In this situation…", "And then check…" and "Now we
    # might…" as often as "This…".
    passage = (
        f"Cats nap in boxes. {opening} cats sleep sixteen hours a day.\n"
        "Warm cats sleep sixteen hours a day."
    )
    assert best_quote("how many hours a day do cats sleep", passage) == [
        "Warm cats sleep sixteen hours a day."
    ]


def test_a_quote_opening_on_a_name_of_its_own_is_not_shown_under_another() -> None:
    # "`select_related` works by creating an SQL join…" sat under "prefetch_related() ·", which
    # compares the two: readers took the label for the wrong name.
    reference = sectioned_hit(
        "Cat API reference",
        [("Methods › purr_loudly()", "`nap` makes cats purr for sixteen hours a day.")],
    )
    answer = compose("how do I make cats purr for sixteen hours", [reference])
    assert [block.under for block in quote_blocks(answer.quotes)] == [""]


_HOSTILE_HEADING = """
from bot.core.headings import entry_term, heading_label
from index.records import Chunk, Hit
heading = "a_" * 5000 + "!"
chunk = Chunk("x.md", heading, heading, "Cats sleep.", "line", 1, 1, 0)
print(repr(heading_label(Hit(chunk, 1.0, 0.5, 1), 0)), repr(entry_term(heading + ": Cats sleep.")))
"""


@pytest.mark.subprocess
def test_a_hostile_heading_is_read_in_time_its_length() -> None:
    # "a_a_a_…!" made the name pattern try every way to split it: 22 pairs took 0.65 s, and
    # each pair more doubled it. In its own process, a regression fails on the timeout.
    assert run_python(_HOSTILE_HEADING, timeout=60).split() == ["''", "''"]
