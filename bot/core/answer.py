"""Answers made only of sentences quoted verbatim from retrieved passages, each cited."""

from __future__ import annotations

import dataclasses
import re
import textwrap
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.headings import entry_term, heading_label, names_its_own_subject, says_heading
from index.clipping import ELLIPSIS, clip_words
from index.lexical import inverse_document_frequency, query_words, stem, to_terms
from index.query import Query
from index.records import CODE_MARK, Chunk, Hit, unmarked
from index.sentences import sentence_spans

NOT_FOUND = "The sources don't cover this question."
# Under every answer a language model wrote, so readers know which kind they are reading.
MODEL_WRITTEN = (
    "Written by a language model from the quoted sentences; its words, numbers and links were "
    "checked against them."
)
# Passages beyond these are too weakly related to quote from.
_QUOTE_FROM_PASSAGES = 3
_MAX_ANSWER_CHARS = 900
_MAX_SHOWN_CHARS = 1000  # the answer as read, its quotes' blocks and citation numbers too
# An answer given an example (a lead-in and its code) may grow to this; beyond, weaker
# sentences make room (tuning halves: median answer 578 -> 655 characters on Django otherwise).
_EXAMPLE_ROOM = 600
# "What is a bare repo…", "why…": asks what a thing is, not how to do something.
_ASKS_WHAT_IT_IS = re.compile(r"\s*(?:what\s+(?:is|are|does)|what'?s|whats|why|who)\b", re.I)
_MIN_QUOTE_WORDS = 4
# A sentence that opens by pointing back at the one before: "This allows…", "These are…".
_POINTS_BACK = re.compile(
    r"(?!here(?:\s+(?:is|are)\b|['’]s\b))"  # "Here is how…" points forward
    # "It is possible to…" points at nothing; "This is useful for…" points back.
    r"(?!it\s+(?:is|are)\s+(?:recommended|possible|important|useful|necessary)\b)"
    r"(?:this|these|that|those|it|its|they|their|them|such|here|thus|therefore|otherwise|then"
    # "The latter is used…", "Similarly, …", "In this situation…", "For those cases…"
    r"|the\s+(?:latter|former|above)|likewise|similarly|secondly"
    r"|in\s+(?:this|that|such\s+a|either)\s+(?:case|situation)"
    r"|for\s+(?:those|these|such)\s+cases|as\s+(?:mentioned|shown|outlined|described)\s+above"
    # "And then check the resulting branch out.", "Now we might be able to get away with…",
    # "Another option is…": what they go on from is unshown. ("However, …" and "On the other
    # hand, …" were measured too: they say something new of their own, "…`select_related` is
    # limited to single-valued relationships", and answers lost it.)
    r"|and|or|now|another)\b"
    r"|(?:second|finally|also),",
    re.I,
)
# Pointing back from inside a sentence, near its start: "The HEAD in such a state is called
# "detached".", "However, this last command can be dangerous…", "While the above method…".
_POINTS_BACK_INSIDE = re.compile(
    r"^(?:\S+\s+){0,6}?(?:the\s+above|this\s+last|such\s+a\s+(?:state|case|setup|situation)"
    r"|those\s+(?:two|three|four|commits|changes|commands|files|steps)"
    r"|in\s+the\s+(?:above|previous)\s+example)\b",
    re.I,
)
_SHORT_QUOTE_WORDS = 15
# A "sentence" without punctuation can run for pages: a quote shows its start, cut at a word.
_MAX_QUOTE_CHARS = 600
# A page's opening line says what the page is for ("git-clean - Remove untracked files from the
# working tree"), a section's first sentence what the section is about ("The test client is a
# Python class that acts as a dummy Web browser"): often the answer to "how do I…", so a small
# edge when it covers the question as well as another sentence. Quoted on the tuning halves, Git
# then Django: page lines 0.26 -> 0.31, 0.14 -> 0.17; section openers 0.29 -> 0.34, 0.20 -> 0.26.
_OPENING_BONUS = 0.1
# A sentence that opens by pointing back ("This metaphor falls apart…", "It's meant…") reads as
# a fragment unless what it points at comes too, which room doesn't always allow: it gives way
# to a sentence that says as much on its own. Tuning halves, 0.05-0.2: holds Django
# 0.371 -> 0.429, Hatch 0.469 -> 0.438, Git unchanged; answers opening so 22 -> 11; read blind,
# changed answers scored 2: 11 -> 13 of 22.
_POINTS_BACK_PENALTY = 0.2
_CODE = re.compile(r"[()\[\]{}=_./<>$-]")  # characters of a command or code, not of prose
# A shell's or Python's prompt, or a comment: a line of code whatever its words.
_PROMPT = re.compile(r"(?:\$|%|#|//|>>>|\.\.\.)\s")
_SHELL_PROMPT = re.compile(r"[$%]\s")
# A setting or variable given a value ("detached = true", "x := 1"): code, however plain.
_ASSIGNMENT = re.compile(r"[\w.\-\[\]\"']+\s*[:+]?=\s*\S")
# A Python import ("from django.conf import settings"): code, though its words are plain.
_IMPORT = re.compile(r"(?:from\s+[\w.]+\s+)?import\s+[\w.]+(?:\s+as\s+\w+)?(?:,\s*[\w.]+)*\s*$")
# A Python decorator line: "@classmethod", "@pytest.mark.parametrize(…)".
_DECORATOR = re.compile(r"\s*@[A-Za-z_][\w.]*(?:\(.*\))?\s*")
# A line that is only a name in angle brackets, in capitals: a placeholder the site's build
# fills in ("<HATCH_TEST_ENV_MATRIX>"); a metavariable stands inside code ("envs.<ENV_NAME>").
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*>")
# A Python function or class being defined: "async def current_datetime(request):".
_DEFINES = re.compile(r"\s*(?:async\s+def|def|class)\s+[A-Za-z_]\w*\s*[(:]")
_COMMAND_WORDS = 10
_OPTION = re.compile(r"--?[A-Za-z]")
_SENTENCE_END = re.compile(r"[.!?…;:][\"'”’)\]]*$")
_PLAIN_WORD = re.compile(r"[A-Za-z][a-z'’]*[,.;:!?]?")
# What a lead-in ending ":" brings along: the list, command or code it introduces.
_MAX_BLOCK_LINES = 6
_BLOCK_ROOM = 450
_WHOLE_BLOCK_LINES = 10  # a code block that ends within these is shown whole, not cut
_WHOLE_BLOCK_ROOM = 650
# A code block cut inside a bracket or a string ("dependencies = [", 'description = """') shows
# code that cannot run: it goes on this many lines more to close it, or stops before it opened.
_CLOSING_LINES = 3
_CLOSING_ROOM = 150
_TRIPLE_QUOTES = ('"""', "'''")
# Lines of code without a word, no sentence of their own: what closes the code above them
# ("]", "})", '"""') or stands for code left out ("...").
_CLOSING_MARKS = re.compile(r"(?:\n[^\w\n]*[^\w\s][^\w\n]*(?=\n|$))+")
_TABLE_ROW = " | "  # how a table's row reads once ingested: its cells set apart
# A TOML table's header ("[tool.hatch.env]"): like a lead-in, it says nothing without its keys.
_TABLE_HEADER = re.compile(r"\s*\[[^\]]+\]\s*$")
# A list item's marker ("- ", "•", "3) ") is layout, not part of the sentence quoted.
_LIST_MARKER = re.compile(r"(?:[-*+]\s+|[•▪◦‣⁃·]\s*|\d{1,3}[.)]\s+)+")


@dataclass(frozen=True, slots=True)
class Citation:
    """A passage an answer rests on (or, when nothing was found, a related one)."""

    n: int
    title: str
    source: str
    location: str
    text: str
    score: float  # cosine similarity of question and passage
    url: str = ""  # where readers can open the document, when it is published
    code_lines: tuple[str, ...] = ()  # its lines that are a code block's (Chunk.code_lines)


@dataclass(frozen=True, slots=True)
class Quote:
    """A sentence of the answer and the citation n it rests on.

    From the extractive writer, text is copied verbatim from passage n. From a language model,
    text is the model's sentence and span the words of passage n it cites, checked verbatim.
    """

    text: str
    n: int
    span: str = ""
    also: tuple[int, ...] = ()  # further citations of a model's sentence that joins two facts
    code: bool = False  # a command or code line: shown as code, not as a sentence in quotes
    # What joins this quote to the one before when it goes on from it in the passage, with
    # nothing left out between: " " (the same paragraph) or "\n" (the next line). "" starts a
    # new block.
    joined_by: str = ""
    # Code whose block goes on in its passage past this line, left out for room: shown with
    # "…" after it, so a cut example never passes for a whole one.
    continues: bool = False
    # The heading it sits under when that names a release or a thing ("1.15.0 - 2025-10-15",
    # "prefetch_related()"): shown before it unless the quote says it (quote_blocks).
    under: str = ""

    @property
    def label(self) -> str:
        """Return the citation numbers as shown after the sentence: "1", or "1, 3"."""
        return ", ".join(str(n) for n in (self.n, *self.also))


@dataclass(frozen=True, slots=True)
class QuotePart:
    """A run of one block's quotes that read alike: prose sentences, or lines of code."""

    text: str
    code: bool
    continues: bool = False  # code that goes on in its passage: shown with "…" after it


@dataclass(frozen=True, slots=True)
class QuoteBlock:
    """Quotes that stand together in their passage, shown as one quote with one citation.

    Five sentences and a command quoted as nine separate quotes, each in its own quotation
    marks with its own [1], read as fragments: "from django.conf import settings" [1]. Shown
    as the paragraph and the code block they are, they read as the page does. A block ends
    with its code: the prose after it is the next block, with its own citation.
    """

    parts: tuple[QuotePart, ...]
    label: str  # the citation numbers, as Quote.label
    span: str = ""  # a model's sentence: the words of its passage it was checked against
    under: str = ""  # the heading shown before it (Quote.under), "" for none


def quote_blocks(quotes: Sequence[Quote]) -> list[QuoteBlock]:
    """Group quotes into the blocks they form in their passages, in the answer's order."""
    groups: list[list[Quote]] = []
    for quote in quotes:
        previous = groups[-1][-1] if groups else None
        # Prose after code starts a block of its own: shown after a code block without its
        # citation, the lead-in above read to readers as a quote nobody cited.
        after_code = previous is not None and previous.code and not quote.code
        if (
            previous is not None
            and quote.joined_by
            and quote.n == previous.n
            and not quote.span
            and not after_code
        ):
            groups[-1].append(quote)
        else:
            groups.append([quote])
    blocks: list[QuoteBlock] = []
    before = ""  # the heading of the block before, shown or said there
    for group in groups:
        parts: list[QuotePart] = []
        for quote in group:
            if parts and parts[-1].code == quote.code:
                text = f"{parts[-1].text}{quote.joined_by or ' '}{quote.text}"
                parts[-1] = QuotePart(text, quote.code, quote.continues)
            else:
                parts.append(QuotePart(quote.text, quote.code, quote.continues))
        # Code keeps its indents, less what all its lines share: a method's body, quoted
        # without its "def", starts at the margin.
        shown = tuple(
            QuotePart(textwrap.dedent(p.text), True, p.continues) if p.code else p for p in parts
        )
        # A block runs inside one section: its heading is shown with it, unless its quotes say
        # what the heading names or the block just before showed or said it. One that opens on
        # a name of its own ("`select_related` works by…" under prefetch_related()) goes without.
        heading = group[0].under
        said = heading == before or any(says_heading(quote.text, heading) for quote in group)
        shown_heading = "" if said or names_its_own_subject(group[0].text, heading) else heading
        before = heading if said or shown_heading else ""
        blocks.append(QuoteBlock(shown, group[0].label, group[0].span, shown_heading))
    return blocks


@dataclass(frozen=True, slots=True)
class Answer:
    """The reply to a question: quoted sentences, what they cite, whether anything was found."""

    question: str
    found: bool
    quotes: tuple[Quote, ...]
    citations: tuple[Citation, ...]
    related: tuple[Citation, ...] = ()
    writer: str = "extractive"  # which answer writer produced it
    # The reply as read: a writer may give its own; by default the quotes, each with its [n].
    text: str = ""
    dropped: int = 0  # sentences a model wrote that failed the check and were left out
    note: str = ""  # why the answer is not the configured writer's, when it fell back
    # The question's words the sources never use, when it was declined: what to ask otherwise.
    unknown: tuple[str, ...] = ()
    # Names the sources mention only in passing, and not in any passage that would answer.
    uncovered: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.text:
            text = render_quotes(self.found, self.quotes)
            if not self.found and self.unknown:
                text = f"{text} {unknown_words_hint(self.unknown)}"
            elif not self.found and self.uncovered:
                text = f"{text} {uncovered_words_hint(self.uncovered)}"
            object.__setattr__(self, "text", text)

    @property
    def footnote(self) -> str:
        """Return the line under the quotes: why the configured writer's answer isn't shown,
        or that a language model wrote this one; "" for a plain quoted answer."""
        if self.note:
            return self.note
        return MODEL_WRITTEN if self.writer == "llm" else ""

    def quoted_from(self, n: int) -> tuple[str, ...]:
        """Return the words quoted from citation n, in the answer's order."""
        return tuple(
            quote.span or quote.text for quote in self.quotes if n in (quote.n, *quote.also)
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the documented JSON shape of an answer."""
        return {
            "question": self.question,
            "answer": self.text,
            "found": self.found,
            "quotes": [
                {
                    "text": q.text,
                    "n": q.n,
                    **({"span": q.span} if q.span else {}),
                    **({"also": list(q.also)} if q.also else {}),
                    **({"code": True} if q.code else {}),
                    **({"joined_by": q.joined_by} if q.joined_by else {}),
                    **({"continues": True} if q.continues else {}),
                    **({"under": q.under} if q.under else {}),
                }
                for q in self.quotes
            ],
            "citations": [_citation_dict(c) for c in self.citations],
            "related": [_citation_dict(c) for c in self.related],
            "writer": self.writer,
            "dropped": self.dropped,
            "note": self.note,
            "unknown": list(self.unknown),
            "uncovered": list(self.uncovered),
        }


def _uncovered(names: Sequence[str], passages: Sequence[Hit]) -> tuple[str, ...]:
    """Return the names no passage about to be quoted mentions (in its text or headings)."""
    if not names:
        return ()
    mentioned: set[str] = set()
    for hit in passages:
        chunk = hit.chunk
        mentioned.update(to_terms(f"{chunk.title} {chunk.section} {hit.passage}"))
    return tuple(name for name in names if stem(name) not in mentioned)


def render_quotes(found: bool, quotes: Sequence[Quote]) -> str:
    """Render quotes as plain text, each block followed by its citation marker (its prose and
    its code on lines of their own), or say nothing was found."""
    if not found:
        return NOT_FOUND
    return " ".join(
        f"{block.under + HEADING_SEPARATOR if block.under else ''}"
        f"{chr(10).join(shown_text(part) for part in block.parts)} [{block.label}]"
        for block in quote_blocks(quotes)
    )


# Between the heading a block sits under and the block, on its first line: on a line of its
# own above the block, readers took a heading for all the quotes after it.
HEADING_SEPARATOR = " · "


CONTINUES = ELLIPSIS


def shown_text(part: QuotePart) -> str:
    """Return a block's part as shown: code that goes on in its passage ends in a line "…"."""
    return f"{part.text}\n{CONTINUES}" if part.continues else part.text


def unknown_words_hint(words: Sequence[str]) -> str:
    """Say which of the question's words the sources never use, and what to do about it."""
    named = ", ".join(f"“{word}”" for word in words)
    return f"They never mention {named}; if they call it something else, ask with that word."


def uncovered_words_hint(words: Sequence[str]) -> str:
    """Say which of the question's names the sources only mention in passing."""
    named = ", ".join(f"“{word}”" for word in words)
    return (
        f"They mention {named} only in passing, never where they explain something; if they "
        "call it something else, ask with that word."
    )


def _citation_dict(citation: Citation) -> dict[str, Any]:
    return {
        "n": citation.n,
        "title": citation.title,
        "source": citation.source,
        "location": citation.location,
        "text": citation.text,
        "score": round(citation.score, 4),
        "url": citation.url,
    }


@dataclass(frozen=True, slots=True)
class _Candidate:
    hit: Hit
    start: int  # offset of the sentence in the passage, to keep quotes in reading order
    text: str
    score: float
    coverage: float
    in_code: bool = False  # a line inside code's open bracket ('"cats",'), whatever it reads as
    in_block: bool = False  # a line of a code block on the page (<pre>, a fence): code for sure
    term: str = ""  # the term of the definition entry it is a later sentence of


def compose_answer(
    query: Query,
    hits: Sequence[Hit],
    *,
    min_similarity: float,
    max_quotes: int = 5,
) -> Answer:
    """Quote the sentences of the best passages that best cover the question, or decline."""
    best_similarity = max((hit.similarity for hit in hits), default=-1.0)
    uncovered = _uncovered(query.rare, hits[:_QUOTE_FROM_PASSAGES])
    related = tuple(cite_hit(n, hit) for n, hit in enumerate(hits[:3], start=1))
    if best_similarity < min_similarity or query.unknown or uncovered:
        return Answer(
            query.text, False, (), (), related, unknown=query.unknown, uncovered=uncovered
        )

    weights = _term_weights(query)
    joined = _joined_words(query)
    quoted_from = hits[:_QUOTE_FROM_PASSAGES]
    candidates = [
        candidate
        for hit in quoted_from
        for candidate in _candidates(
            hit, weights, best_similarity, joined, _titles_besides(hit, quoted_from)
        )
    ]
    chosen = _choose(candidates, max_quotes)
    if not _ASKS_WHAT_IT_IS.match(query.text):  # a definition is the answer, not an example
        chosen = _with_an_example(chosen, candidates, weights)
    chosen = _with_what_they_refer_to(chosen, candidates)
    chosen = _with_a_definition(chosen, candidates)
    chosen = _with_what_refers_to_them(chosen, candidates)
    chosen = _with_table_headers(chosen, candidates)
    if not chosen:  # nothing the passages say reads as a sentence: headings, code alone
        return Answer(query.text, False, (), (), related)
    numbers, quotes = _within_room(chosen, candidates)
    cited = {hit.rank: hit for hit in hits}
    citations = tuple(cite_hit(n, cited[rank]) for rank, n in numbers.items())
    return Answer(query.text, True, quotes, citations)


def _quoted(
    chosen: Sequence[_Candidate], candidates: Sequence[_Candidate]
) -> tuple[dict[int, int], tuple[Quote, ...]]:
    """Return the chosen candidates as quotes, with each hit rank's citation number."""
    numbers: dict[int, int] = {}  # hit rank -> citation number, in order of first use
    for candidate in chosen:
        numbers.setdefault(candidate.hit.rank, len(numbers) + 1)
    quotes = tuple(
        _quote(c, numbers[c.hit.rank], _joined_by(before, c), _goes_on(c, after, candidates))
        for before, c, after in zip([None, *chosen[:-1]], chosen, [*chosen[1:], None], strict=True)
    )
    return numbers, quotes


def _within_room(
    chosen: Sequence[_Candidate], candidates: Sequence[_Candidate]
) -> tuple[dict[int, int], tuple[Quote, ...]]:
    """Quote the chosen candidates within what a chat answer may take, as read.

    Whole blocks (a lead-in with its code, a paragraph's sentences) are added after the quotes
    are chosen, so an answer could run past 1,000 characters; blocks give way until it fits,
    from the last passage's last block on, never the answer's opening quote or the best one's
    block. A block goes whole or not at all. (Weakest block first was measured too: it kept
    unrelated sentences over the features list pytest's unittest page opens with.)
    """
    units: list[list[_Candidate]] = []
    for before, candidate in zip([None, *chosen[:-1]], chosen, strict=True):
        if before is not None and _joined_by(before, candidate):
            units[-1].append(candidate)  # goes on from the one before in its passage
        else:
            units.append([candidate])
    best = max(chosen, key=lambda c: c.score)
    while True:
        kept = [c for unit in units for c in unit]
        numbers, quotes = _quoted(kept, candidates)
        others = [unit for unit in units[1:] if best not in unit]
        if len(render_quotes(True, quotes)) <= _MAX_SHOWN_CHARS or not others:
            return numbers, quotes
        units.remove(max(others, key=lambda unit: _reading_order(unit[0])))


def _quote(candidate: _Candidate, n: int, joined_by: str, continues: bool) -> Quote:
    under = candidate.term or heading_label(candidate.hit, candidate.start)
    if _code(candidate):
        # Shown as a code block, where a mark would show as typed: a table's row ("`micro` |
        # 1.0.1") reads without them.
        text = (
            unmarked(_indented(candidate)) if _TABLE_ROW in candidate.text else _indented(candidate)
        )
        return Quote(text, n, code=True, joined_by=joined_by, continues=continues, under=under)
    return Quote(candidate.text, n, joined_by=joined_by, under=under)


def _goes_on(
    candidate: _Candidate, after: _Candidate | None, candidates: Sequence[_Candidate]
) -> bool:
    """Tell whether a quoted code line's block goes on in its passage past it, unquoted: the
    next line of the passage is code, and not the next quote."""
    if not _code(candidate):
        return False
    end = candidate.start + len(candidate.text)
    following = [c for c in candidates if c.hit is candidate.hit and c.start >= end]
    if not following:
        return False
    nearest = min(following, key=lambda c: c.start)
    if after is not None and after.hit is candidate.hit and after.start <= nearest.start:
        return False  # the block goes on in the answer's next quote
    if candidate.in_block and not nearest.in_block:
        return False  # the page's code block ends with it
    gap = candidate.hit.passage[end : nearest.start]
    return not gap.strip() and _code(nearest)


def _indented(candidate: _Candidate) -> str:
    """Return a line of code with the indent it has on the page: Python without it is wrong."""
    passage = candidate.hit.passage
    line_start = passage.rfind("\n", 0, candidate.start) + 1
    indent = passage[line_start : candidate.start]
    return indent + candidate.text if indent and not indent.strip() else candidate.text


def _joined_by(before: _Candidate | None, candidate: _Candidate) -> str:
    """Say what joins a quote to the one before it, when it goes on from it in its passage."""
    if before is None or before.hit is not candidate.hit:
        return ""
    passage = candidate.hit.passage
    end = before.start + len(before.text)
    if not passage.startswith(before.text, before.start) or end > candidate.start:
        return ""  # the quote before was cut short ("…"): words are left out between
    gap = passage[end : candidate.start]
    if gap.strip() and not _LIST_MARKER.fullmatch(gap.strip() + " "):
        return ""
    return "\n" if "\n" in gap else " "


def _term_weights(query: Query) -> dict[str, float]:
    """Weight each question term by inverse document frequency, as BM25 does."""
    total, counts = query.total_chunks, query.frequencies
    return {
        term: inverse_document_frequency(total, counts.get(term, 0)) for term in set(query.terms)
    }


def _joined_words(query: Query) -> dict[str, tuple[str, str]]:
    """Return two of the question's words run together as a name runs them ("keepdb" of "keep"
    and "db"), each with the terms it is made of."""
    words = [word for word in query_words(query.text) if word.isalpha()]
    return {
        first + second: (stem(first), stem(second))
        for first in words
        for second in words
        if first != second and len(first + second) >= _JOINED_MIN_LETTERS
    }


_JOINED_MIN_LETTERS = 5
_WORD_RUN = re.compile(r"[a-z]+")


def _candidates(
    hit: Hit,
    weights: Mapping[str, float],
    best_similarity: float,
    joined: Mapping[str, tuple[str, str]] | None = None,
    other_titles: Sequence[str] = (),
) -> list[_Candidate]:
    total = sum(weights.values())
    chunk = hit.chunk
    # Headings are context, not answers: a quote never restates the page title or a heading.
    headings = {
        _fold(part) for part in (chunk.title, *chunk.section.split(" › "), *hit.headings) if part
    }
    code_lines = set(chunk.code_lines)
    found = []
    offset = 0
    after_heading = False
    at_console = False  # after a command at a shell prompt, until prose
    for line in hit.passage.split("\n"):
        opens_section, after_heading = after_heading, _fold(line) in headings
        at_console, printed = _console_state(line, at_console)
        if after_heading or printed:
            # A heading, whole or in pieces ("Chapter 4." "Sharing …"), is context; what a
            # program prints ("Lockfile is up to date: pylock.toml") is not what to do.
            offset += len(line) + 1
            continue
        # A code block's line is one line of code, whatever it reads as ("cd trunk"): never
        # split into sentences, nor its "- " taken for a list's.
        in_block = bool(line.strip()) and line.strip() in code_lines
        spans = (
            [(len(line) - len(line.lstrip()), len(line.rstrip()))]
            if in_block
            else sentence_spans(line)
        )
        for n, (start, end) in enumerate(spans):
            marker = None if in_block else _LIST_MARKER.match(line, start, end)
            begin = marker.end() if marker else start
            text = clip_words(line[begin:end], _MAX_QUOTE_CHARS)
            if not any(char.isalnum() for char in text) or _PLACEHOLDER.fullmatch(text.strip()):
                # Markup left alone on a line ('"""', "----") says nothing, nor does what a
                # site's build puts in place of "<HATCH_TEST_ENV_MATRIX>".
                continue
            if _fold(text) in headings or text.rstrip("”\"’' ").endswith("?"):
                continue  # a heading or a question restated in the text does not answer
            terms = _terms(text)
            if joined:
                # "--keepdb" answers "can we keep the db": a name made of the question's words.
                for word in _WORD_RUN.findall(text.casefold()):
                    terms.update(joined.get(word, ()))
            coverage = sum(w for t, w in weights.items() if t in terms) / total if total else 0.0
            # Lexical coverage picks the sentence; the passage's similarity breaks ties.
            score = coverage + 0.25 * (hit.similarity / best_similarity if best_similarity else 0)
            if len(text.split()) < _MIN_QUOTE_WORDS or _points_to(text, other_titles):
                score -= 0.5  # quoted only when nothing else says as much
            # The page's opening line over a lesser passage is another page's summary ("git-push
            # - Update remote refs…" in an answer on squashing): readers read it as filler.
            page_line = offset + begin < len(hit.lede) and hit.rank == 1
            if page_line or (n == 0 and opens_section):
                score += _OPENING_BONUS
            if not in_block and _POINTS_BACK.match(text):
                score -= _POINTS_BACK_PENALTY
            # A later sentence of an entry ("The keyid argument is optional…") is about its
            # term ("-S[<keyid>], --gpg-sign[=<keyid>]"), which only the first one shows.
            term = entry_term(line) if start > 0 and not in_block else ""
            found.append(
                _Candidate(hit, offset + begin, text, score, coverage, in_block, in_block, term)
            )
        offset += len(line) + 1
    return found


# A sentence sending the reader elsewhere: "see …", "run through our …", "read more in …".
_POINTER = re.compile(
    r"\b(?:see|read|refer\s+to|consult|run\s+through|check\s+out|visit|"
    r"(?:described|covered|documented|explained|discussed)\s+in|"
    r"for\s+(?:more\s+)?(?:details|information))\b",
    re.IGNORECASE,
)
_TITLE_MIN_WORDS = 2  # a one-word title ("Settings", "Logging") is any sentence's word too


def _titles_besides(hit: Hit, hits: Sequence[Hit]) -> list[str]:
    """Return the page titles of the other passages quoted from, folded, not hit's own."""
    own = _fold(_bare_title(hit.chunk.title))
    titles = {_fold(_bare_title(other.chunk.title)) for other in hits if other is not hit}
    return [t for t in titles if t != own and len(t.split()) >= _TITLE_MIN_WORDS]


_MAN_SECTION = re.compile(r"\(\d\w*\)$")  # "git-am(1)"


def _bare_title(title: str) -> str:
    return _MAN_SECTION.sub("", title).strip()


def _points_to(text: str, titles: Sequence[str]) -> bool:
    """Tell a sentence that sends the reader to a page the answer already quotes from: "Before
    you deploy…, run through our deployment checklist" when the checklist is a passage above.
    Its words match the question by naming that page; the page's own sentences answer it."""
    if not titles or not _POINTER.search(text):
        return False
    folded = _fold(unmarked(text))
    return any(title in folded for title in titles)


# Where a name joins words by case ("HttpResponse", "QuerySet", "HTMLParser"), between them.
_CASE_JOIN = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _terms(text: str) -> set[str]:
    """Return a text's terms, with the words of each name joined by case ("HttpResponse" also
    counts as "http" and "response"), so a definition entry answers in the question's words."""
    terms = set(to_terms(text))
    split = _CASE_JOIN.sub(" ", text)
    if split != text:
        terms.update(to_terms(split))
    return terms


def _console_state(line: str, at_console: bool) -> tuple[bool, bool]:
    """Follow a console session through a passage: return whether the next line is still at
    the console, and whether this line is what a program printed there.

    After a command at a shell prompt, lines without a sentence end that read as code, a
    "label: value" or start with a symbol are its output ("Counting objects: 6020, done",
    "test_50.py FF.... [100%]"), until a line of prose. Prompts and comments are typed.
    """
    text = line.strip()
    if _SHELL_PROMPT.match(text):
        return True, False
    if not text or _PROMPT.match(text):
        return at_console, False
    if at_console and not _SENTENCE_END.search(text):
        printed = _is_code(text) or ": " in text or not text[0].isalpha()
        return True, printed
    return False, False


def _fold(text: str) -> str:
    return " ".join(text.casefold().split()).rstrip(".:")


# Two pages that say a sentence alike (gitrevisions in two man pages: "`A...B`" and
# "`"A...B"`") differ only in marks; a sentence that differs by a word ("before", "after")
# says something else.
_NOT_WORDS = re.compile(r"[\W_]+")


def _says_the_same(text: str, other: str) -> bool:
    """Tell a sentence that repeats another word for word, but for its marks."""
    return (
        _NOT_WORDS.sub(" ", text.casefold()).strip()
        == _NOT_WORDS.sub(" ", other.casefold()).strip()
    )


def _choose(candidates: Sequence[_Candidate], max_quotes: int) -> list[_Candidate]:
    """Take the best sentence and the few nearly as good, within a short answer's length."""
    ranked = sorted(candidates, key=lambda c: c.score, reverse=True)
    if not ranked:
        return []
    best = ranked[0]
    chosen = [best]
    seen = {_fold(best.text)}  # overlapping chunks repeat sentences: quote each once
    length = len(best.text)
    # The page's opening line shown above a passage from further on is whole on its own: the
    # sentence after it in the passage is from deep in the page ("git-show-branch - Show
    # branches and their commits" ran on into "This option makes them appear in…").
    opening = best.start < len(best.hit.lede)
    if len(best.text.split()) < _SHORT_QUOTE_WORDS and max_quotes > 1 and not opening:
        # A short sentence ("One kind of training is fine tuning.") usually needs the next one.
        # A few words that are no sentence and no code are a table's next cell ("Feb 21, 2019"),
        # not what the sentence leads to ("monkeypatch.setenv(…)").
        following = [
            c
            for c in candidates
            if c.hit is best.hit and c.start > best.start and _fold(c.text) not in seen
        ]
        after = min(following, key=lambda c: c.start, default=None)
        if after is not None and not _is_cell(after.text):
            chosen.append(after)
            seen.add(_fold(after.text))
            length += len(after.text)
    for candidate in ranked[1:]:
        if len(chosen) >= max_quotes:
            break
        if candidate.coverage <= 0 or candidate.score < 0.75 * best.score:
            break
        if _fold(candidate.text) in seen or length + len(candidate.text) > _MAX_ANSWER_CHARS:
            continue
        if any(_says_the_same(candidate.text, c.text) for c in chosen):
            continue
        chosen.append(candidate)
        seen.add(_fold(candidate.text))
        length += len(candidate.text)
    return _whole_blocks(sorted(chosen, key=lambda c: (c.hit.rank, c.start)), candidates)


def _with_an_example(
    chosen: list[_Candidate], candidates: Sequence[_Candidate], weights: Mapping[str, float]
) -> list[_Candidate]:
    """Add a quoted passage's command or code, with its lead-in, to an answer that has none.

    Readers' most common complaint: the answer says what a thing is and never shows how to use
    it ("…define STATIC_URL, for example:" / `STATIC_URL = '/static/'`, in the passage but not
    quoted). The example is the lead-in and block of a quoted passage that cover most of the
    question, if at least half as much as the best quote; to keep the answer as short as before
    (or 600 characters), the weakest other sentences give way. Read blind on the 12 tuning
    answers it changed as first written: 3 -> 6 scored 2 (docs/quality.md).
    """
    if not chosen or any(_code(c) for c in chosen):
        return chosen
    total = sum(weights.values())
    best = max(chosen, key=lambda c: c.score)
    examples = []
    for rank in sorted({c.hit.rank for c in chosen}):
        lines = sorted((c for c in candidates if c.hit.rank == rank), key=_reading_order)
        for at, lead in enumerate(lines):
            if not lead.text.rstrip().endswith(":") or _code(lead):
                continue
            if _cut_short(lead.text):
                continue
            block = _introduced(lead, lines[at + 1 :])
            if not block or not _code(block[0]):
                continue
            terms = _terms(" ".join(c.text for c in (lead, *block)))
            covered = sum(w for t, w in weights.items() if t in terms) / total if total else 0.0
            # What the block takes beyond a cut one's room when it is shown whole.
            whole = sum(len(c.text) for c in block)
            cut = _introduced_within(lead, lines[at + 1 :], _MAX_BLOCK_LINES, _BLOCK_ROOM)
            examples.append((covered, lead, block, whole - sum(len(c.text) for c in cut)))
    if not examples:
        return chosen
    covered, lead, block, beyond = max(examples, key=lambda example: example[0])
    length = sum(len(c.text) for c in chosen)
    taken = {(c.hit.rank, c.start) for c in chosen}
    added = [c for c in (lead, *block) if (c.hit.rank, c.start) not in taken]
    size = length + sum(len(c.text) for c in added)
    if covered < 0.5 * best.coverage or size > _MAX_ANSWER_CHARS:
        return chosen
    answer = chosen + added
    # A code block shown whole where it ends a little past the room a block may take pushes out
    # no more than a cut one would have (the middleware factory's definition above its code).
    room = max(length, _EXAMPLE_ROOM) + max(0, beyond)
    for weakest in sorted(chosen, key=lambda c: c.score):  # no code among them: none runs on
        if size <= room:
            break
        if weakest is not best and not _in_a_lead_ins_block(weakest, chosen):
            answer.remove(weakest)
            size -= len(weakest.text)
    return sorted(answer, key=_reading_order)


def _with_what_they_refer_to(
    chosen: list[_Candidate], candidates: Sequence[_Candidate]
) -> list[_Candidate]:
    """Quote what a quote that opens by pointing back points at.

    "This allows it to prefetch many-to-many…" says what "this" does without what it is: the
    sentence before it in its paragraph names it (prefetch_related). "This test will fail if
    myfunction does not issue a deprecation warning" opens the paragraph after the test it is
    about: the code above it, with its lead-in. A bare lead-in ("For example:") gets the
    sentence before it in its paragraph, which says what its code does, and a later sentence
    of a definition entry ("Any changes to tracked files… are discarded.") the entry's first,
    which names and says what it is about ("--hard: Resets the index and working tree."; read
    alone under its term, readers took "--hard ·" for a label without its description). Added
    for the best quotes first, while the answer stays within its length.
    """
    taken = {_reading_order(c) for c in chosen}
    length = sum(len(c.text) for c in chosen)
    added: list[_Candidate] = []
    for candidate in sorted(chosen, key=lambda c: c.score, reverse=True):
        if _code(candidate) or not (_refers_back(candidate.text) or candidate.term):
            continue
        earlier = sorted(
            (c for c in candidates if c.hit is candidate.hit and c.start < candidate.start),
            key=lambda c: c.start,
        )
        if not earlier:
            continue
        before = earlier[-1]
        if _code(before):
            if not _points_back(candidate.text):
                continue  # a bare lead-in's code is below it, not above
            referred = _code_above(candidate, earlier)
        elif _joined_by(before, candidate) == " " and not before.text.rstrip().endswith(":"):
            # "which will replace the old commit…" ends a sentence a command interrupted: the
            # sentence from its start ("…you can replace the most recent commit using").
            referred = _interrupted(before, earlier[:-1]) if _cut_short(before.text) else [before]
        else:
            continue  # another paragraph, or a lead-in whose block is not quoted
        referred = [c for c in referred if _reading_order(c) not in taken]
        size = sum(len(c.text) for c in referred)
        if not referred or length + size > _MAX_ANSWER_CHARS:
            continue
        length += size
        added += referred
        taken.update(_reading_order(c) for c in referred)
    return sorted([*chosen, *added], key=_reading_order) if added else chosen


def _refers_back(text: str) -> bool:
    """Tell a sentence that says what it is about only with the one before it: one that opens
    by pointing back ("This allows…"), or a bare lead-in ("For example:", "Like so:") whose
    sentence before says what the code after it does ("To update installed Python
    distributions, use the `python update` command.")."""
    bare_lead_in = text.rstrip().endswith(":") and len(text.split()) < _MIN_QUOTE_WORDS
    return bare_lead_in or _points_back(text)


def _points_back(text: str) -> bool:
    """Tell a sentence that points at the one before it, at its start or a few words in."""
    return bool(_POINTS_BACK.match(text) or _POINTS_BACK_INSIDE.match(text))


def _interrupted(end: _Candidate, earlier: Sequence[_Candidate]) -> list[_Candidate]:
    """Return a sentence that a command interrupted, from its start to its end: the prose that
    runs on into the command ("…you can replace the most recent commit using"), the command's
    lines, and the end after it. Empty when the sentence's start is not in the passage whole."""
    passage = end.hit.passage
    lines: list[_Candidate] = []
    after = end
    for line in reversed(earlier):
        gap = passage[line.start + len(line.text) : after.start]
        if gap.strip() or "\n" not in gap:
            return []  # something left out between, or a sentence on the same line
        if not _command(line):
            if not lines:
                return [end]  # no command above: a list item's term ("matching - push all…")
            runs_on = not _SENTENCE_END.search(line.text) and not _cut_short(line.text)
            return [line, *lines, end] if runs_on else []
        lines.insert(0, line)
        if len(lines) > _CLOSING_LINES:
            return []
        after = line
    return []


def _with_a_definition(
    chosen: list[_Candidate], candidates: Sequence[_Candidate]
) -> list[_Candidate]:
    """Quote the definition entry of a name the best quotes use, when the passages hold it.

    "The field names in list_display will also appear as CSS classes…" is about list_display;
    "ModelAdmin.list_display: Set list_display to control which fields are displayed…" says
    what it is for. Names only (list_display, set_cookie(), QuerySet), not plain words ("Note").
    """
    defined: dict[str, _Candidate] = {}
    for candidate in sorted(candidates, key=lambda c: c.score):
        name = _defined_name(candidate.text)
        if name:
            defined[name] = candidate  # the best-scoring entry for a name wins
    if not defined:
        return chosen
    taken = {_reading_order(c) for c in chosen}
    length = sum(len(c.text) for c in chosen)
    for candidate in sorted(chosen, key=lambda c: c.score, reverse=True):
        if _code(candidate) or _defined_name(candidate.text):
            continue
        for name in _NAME_USED.findall(candidate.text):
            entry = defined.get(name.removesuffix("()").rsplit(".", 1)[-1])
            if entry is None or _reading_order(entry) in taken:
                continue
            if length + len(entry.text) > _MAX_ANSWER_CHARS:
                return chosen
            return sorted([*chosen, entry], key=_reading_order)
    return chosen


# A name as code spells it: with an underscore, a capital after a small letter, a dot or "()".
_NAME_USED = re.compile(r"\b[A-Za-z_]\w*(?:\.\w+)*(?:\(\))?")
_IDENTIFIER = re.compile(r"\w*(?:_|[a-z][A-Z])\w*")


def _defined_name(text: str) -> str:
    """Return the name a definition entry defines ("list_display" of "ModelAdmin.list_display:
    Set list_display to…"), or "" when the text is none or its term is a plain word."""
    if not _is_definition(text):
        return ""
    term = _DEFINED_TERM.match(text)
    name = term["name"].rsplit(".", 1)[-1] if term else ""
    return name if _IDENTIFIER.fullmatch(name) else ""


# A sentence that says what to do about the one before it: "Set dev-mode to false to disable
# this behavior…", "To change this, set…", "Use --force to override this check."
_SAYS_WHAT_TO_DO = re.compile(
    r"(?:set|use|pass|add|run|call|override|change|disable|enable|turn|to)\b"
    r".*\b(?:this\b|that\s+(?:behaviou?r|option|setting|default|feature|mode|check|step)\b)",
    re.I,
)


def _with_what_refers_to_them(
    chosen: list[_Candidate], candidates: Sequence[_Candidate]
) -> list[_Candidate]:
    """Quote the sentence after a quote that says what to do about it ("By default,
    environments … install it in editable mode." "Set dev-mode to false to disable this
    behavior…"), in its paragraph, while the answer stays within its length."""
    taken = {_reading_order(c) for c in chosen}
    length = sum(len(c.text) for c in chosen)
    added: list[_Candidate] = []
    for candidate in sorted(chosen, key=lambda c: c.score, reverse=True):
        if _code(candidate) and not candidate.in_block:
            continue
        following = sorted(
            (c for c in candidates if c.hit is candidate.hit and c.start > candidate.start),
            key=lambda c: c.start,
        )
        if not following:
            continue
        after = following[0]
        # After a code block, the line that opens by pointing back at it says what it does
        # ("This line can be added by Git if you run the git-commit command with the -s option").
        says = (
            _joined_by(candidate, after) == "\n"
            and _POINTS_BACK.match(after.text)
            and len(after.text.split()) >= _MIN_QUOTE_WORDS
            and after.text.rstrip()[-1:] in ".!?"  # a sentence, not "then the command"
            if candidate.in_block
            else _joined_by(candidate, after) == " " and _SAYS_WHAT_TO_DO.match(after.text)
        )
        if (
            _reading_order(after) in taken
            or not says
            or _code(after)
            or after.text.rstrip().endswith(":")  # a lead-in, whose block is not quoted
            or length + len(after.text) > _MAX_ANSWER_CHARS
        ):
            continue
        added.append(after)
        taken.add(_reading_order(after))
        length += len(after.text)
    return sorted([*chosen, *added], key=_reading_order) if added else chosen


def _with_table_headers(
    chosen: list[_Candidate], candidates: Sequence[_Candidate]
) -> list[_Candidate]:
    """Show a table's row quoted alone under the table's header, as the table it is.

    "path | hatch_build.py | The path of the Python file" read to blind readers as a fragment,
    and "--client-cert | client-cert | …" as a sentence about certificates: under "Option |
    Default | Description" they read as what they are. The rows from the header down to the
    quoted one are shown, when they are few (a lead-in's block's lines and room) and the
    passage holds the table's top: its first row follows a line that is not a row.
    """
    taken = {_reading_order(c): c for c in chosen}
    shown: dict[tuple[int, int], _Candidate] = {}
    for candidate in chosen:
        if candidate.in_code or not _whole_table_row(candidate):
            continue
        lines = sorted((c for c in candidates if c.hit is candidate.hit), key=_reading_order)
        # By place, not by value: a quote may differ from its candidate (closing lines added).
        places = [_reading_order(c) for c in lines]
        if _reading_order(candidate) not in places:
            continue
        at = places.index(_reading_order(candidate))
        rows = [candidate]
        while at > 0 and len(rows) <= _MAX_BLOCK_LINES:
            above = lines[at - 1]
            gap = candidate.hit.passage[above.start + len(above.text) : rows[0].start]
            if gap != "\n" or not _whole_table_row(above):
                break
            rows.insert(0, above)
            at -= 1
        top = lines[at - 1] if at > 0 else None
        if (
            len(rows) == 1
            or len(rows) > _MAX_BLOCK_LINES
            or top is None  # the passage may start inside the table: its header unknown
            or _whole_table_row(top)
            or not _table_header(rows)
            or sum(len(row.text) for row in rows) > _BLOCK_ROOM
        ):
            continue
        for row in rows:
            shown[_reading_order(row)] = dataclasses.replace(row, in_code=True)
    if not shown:
        return chosen
    return sorted({**taken, **shown}.values(), key=_reading_order)


_HEADER_CELL_WORDS = 3


def _table_header(rows: Sequence[_Candidate]) -> bool:
    """Tell whether rows are a table's under its header: the same number of cells in each, the
    first row's cells a few words each ("Flag | Config name | Description"). Lines that hold a
    shell's pipe ("git archive … HEAD | gzip >v1.4.0.tar.gz: Create a tarball…") are not."""
    header = rows[0].text.split(_TABLE_ROW)
    return all(len(row.text.split(_TABLE_ROW)) == len(header) for row in rows) and all(
        0 < len(cell.split()) <= _HEADER_CELL_WORDS and not _CODE.search(cell) for cell in header
    )


def _whole_table_row(candidate: _Candidate) -> bool:
    """Tell a table's row quoted from its line's start to its end."""
    passage = candidate.hit.passage
    end = candidate.start + len(candidate.text)
    whole = passage[passage.rfind("\n", 0, candidate.start) + 1 : candidate.start].strip() == ""
    return _TABLE_ROW in candidate.text and whole and passage[end : end + 1] in ("", "\n")


def _cut_short(text: str) -> bool:
    """Tell the end of a sentence that code interrupted ("will show that the structure is:")
    from one that starts as sentences and names do."""
    first = text.split(maxsplit=1)[0] if text.strip() else ""
    return first.isalpha() and first.islower()


def _code_above(sentence: _Candidate, earlier: Sequence[_Candidate]) -> list[_Candidate]:
    """Return the code block a paragraph follows, with its lead-in, when it is whole: from a
    sentence or lead-in above it, within the room a block may take, its brackets closed."""
    passage = sentence.hit.passage
    if passage[passage.rfind("\n", 0, sentence.start) + 1 : sentence.start].strip():
        return []  # the sentence does not open its paragraph: "this" is in the paragraph
    block: list[_Candidate] = []
    after = sentence
    for line in reversed(earlier):
        whole = _with_closing_lines(line, after.start)
        gap = passage[whole.start + len(whole.text) : after.start]
        if gap.strip() or "\n" not in gap:
            return []  # something left out between (what a program printed, a drawing's line)
        if not _code(whole):
            if not block or not _SENTENCE_END.search(whole.text) or _cut_short(whole.text):
                return []  # code's top cut off (a docstring's line), or code inside a sentence
            lead_in = [whole] if whole.text.rstrip().endswith(":") else []
            return [*lead_in, *block] if _nesting(block) == (0, False) else []
        block.insert(0, whole)
        if len(block) > _MAX_BLOCK_LINES or sum(len(c.text) for c in block) > _BLOCK_ROOM:
            return []
        after = whole
    return []  # the code goes back beyond the passage: its top is not shown


def _in_a_lead_ins_block(candidate: _Candidate, chosen: Sequence[_Candidate]) -> bool:
    """Tell whether a chosen line is a lead-in or part of the block a chosen lead-in opens:
    dropped, it would leave "…using the Select Interpreter command:" leading to nothing."""
    ordered = sorted((c for c in chosen if c.hit is candidate.hit), key=_reading_order)
    at = ordered.index(candidate)
    while at >= 0:
        if ordered[at].text.rstrip().endswith(":"):
            return True
        if at == 0 or not _joined_by(ordered[at - 1], ordered[at]):
            return False
        at -= 1
    return False


def _whole_blocks(chosen: list[_Candidate], candidates: Sequence[_Candidate]) -> list[_Candidate]:
    """Quote a lead-in with what it introduces, and a code line with its lead-in.

    "To undo the last commit:" says nothing without the command after it, and the command alone
    reads as a fragment: each is quoted with the other, or (when the other can't be had) not at
    all. A code line after a sentence that doesn't end ":" is not its continuation (a page's
    NAME line, then its synopsis under a heading): quoted, it reads as a fragment.
    """
    by_hit: dict[int, list[_Candidate]] = {}
    for candidate in candidates:
        by_hit.setdefault(candidate.hit.rank, []).append(candidate)
    taken = {(c.hit.rank, c.start) for c in chosen}
    result: list[_Candidate] = []
    for candidate in chosen:
        lines = sorted(by_hit[candidate.hit.rank], key=lambda c: c.start)
        at = lines.index(candidate)
        if candidate.text.rstrip().endswith(":"):
            following = _introduced(candidate, lines[at + 1 :])
            if following:
                result.append(candidate)
                result += following
                taken.update((c.hit.rank, c.start) for c in following)
            continue
        before = lines[at - 1] if at else None
        leads = before is not None and _leads_in(before, lines)
        if _code(candidate) and not leads:
            continue  # a command or signature without the sentence that says what it does
        if _code(candidate) and before and (before.hit.rank, before.start) not in taken:
            result.append(before)
            taken.add((before.hit.rank, before.start))
        result.append(candidate)
        if not candidate.in_code and _unfinished(candidate.text):
            # "…continue the rebase with" and the command after it
            command = _introduced(candidate, lines[at + 1 :])
            if command and _command(command[0]):
                result += command
                taken.update((c.hit.rank, c.start) for c in command)
        else:  # "…standalone environments. Enabling the detached option will …:" and its code
            shown = _lead_in_after(candidate, lines[at + 1 :], taken)
            result += shown
            taken.update((c.hit.rank, c.start) for c in shown)
    if not result:  # only code and lead-ins were chosen: the best sentence that is neither
        prose = [
            c
            for c in candidates
            if c.coverage > 0 and not _code(c) and not c.text.rstrip().endswith(":")
        ]
        # None: a lone lead-in or code line reads as a fragment, and the question is declined.
        return [max(prose, key=lambda c: c.score)] if prose else []
    unique: dict[tuple[int, int], _Candidate] = {}
    for candidate in result:  # a line taken twice: once as the code block has it
        kept = unique.setdefault(_reading_order(candidate), candidate)
        if (len(candidate.text), candidate.in_code) > (len(kept.text), kept.in_code):
            unique[_reading_order(candidate)] = candidate
    return sorted(unique.values(), key=_reading_order)


def _unfinished(text: str) -> bool:
    """Tell a sentence that runs on into what follows it: prose without an end ("…, with"),
    not a table's row ("Value | Path") or a word or two of a program's output ("E  '5'")."""
    return (
        len(text.split()) >= _MIN_QUOTE_WORDS
        and not _SENTENCE_END.search(text)
        and _TABLE_ROW not in text
        and not _is_code(text)
    )


def _leads_in(candidate: _Candidate, lines: Sequence[_Candidate]) -> bool:
    """Tell whether a line introduces the code after it: it ends ":", or runs on into a command."""
    if candidate.in_code:
        return False  # a code block's line ("if sys.platform == 'win32':") is the code itself
    text = candidate.text.rstrip()
    if text.endswith(":"):
        return True
    following = _introduced(candidate, lines[lines.index(candidate) + 1 :])
    return _unfinished(text) and bool(following) and _command(following[0])


def _lead_in_after(
    sentence: _Candidate, following: Sequence[_Candidate], taken: set[tuple[int, int]]
) -> list[_Candidate]:
    """Return the lead-in that ends a quoted sentence's paragraph, with the code it introduces.

    A paragraph often says what a thing is for, then how to do it: "A common use case is
    standalone environments… Enabling the detached option will skip project installation:" and
    `detached = true`. Quoting the first sentence alone stops one sentence short of the answer.
    """
    if not following:
        return []
    lead = following[0]
    same_paragraph = "\n" not in sentence.hit.passage[sentence.start : lead.start]
    if not same_paragraph or not lead.text.rstrip().endswith(":"):
        return []
    if (lead.hit.rank, lead.start) in taken:
        return []
    block = _introduced(lead, following[1:])
    return [lead, *block] if block and _code(block[0]) else []


def _reading_order(candidate: _Candidate) -> tuple[int, int]:
    return candidate.hit.rank, candidate.start


def _introduced(lead: _Candidate, following: Sequence[_Candidate]) -> list[_Candidate]:
    """Return the lines a lead-in introduces: the next few, up to the room a block may take,
    or the page's whole code block when it ends a few lines past that room.

    Readers mark down code cut with "…" just before the line that does what the lead-in says
    (the filter function under its decorators, a view's return): a block that ends within
    _WHOLE_BLOCK_LINES and _WHOLE_BLOCK_ROOM is shown whole; a longer one is cut as before.
    """
    block = _introduced_within(lead, following, _MAX_BLOCK_LINES, _BLOCK_ROOM)
    if not block or not _code(block[0]) or not block[-1].in_block:
        return block
    whole = _introduced_within(lead, following, _WHOLE_BLOCK_LINES, _WHOLE_BLOCK_ROOM)
    return whole if len(whole) > len(block) and _ends_its_block(whole, following) else block


def _ends_its_block(block: Sequence[_Candidate], following: Sequence[_Candidate]) -> bool:
    """Tell whether a code block's lines reach the end of the page's code block."""
    end = block[-1].start + len(block[-1].text)
    after = [c for c in following if c.start >= end]
    if not after:
        return True
    nearest = after[0]
    gap = nearest.hit.passage[end : nearest.start]
    return bool(gap.strip()) or not nearest.in_block


def _introduced_within(
    lead: _Candidate, following: Sequence[_Candidate], max_lines: int, room: int
) -> list[_Candidate]:
    """Return the lines a lead-in introduces: the next few, up to max_lines and room.

    The block is what follows the lead-in without a break: a line left out between two (the
    "/  \\" of a drawn history, a cut-off sentence) ends it, or the quote would join lines the
    page keeps apart. List markers between lines are layout, not a break. Prose after the code
    a lead-in introduced is the page going on, and what a shell prints after the command
    ("===== 2 failed in 0.12s =====") is not what a chat user types: neither is in the block. A
    page's opening line shown above a passage from further on introduces nothing in it.
    """
    block: list[_Candidate] = []
    size = 0
    passage = lead.hit.passage
    end = lead.start + len(lead.text)
    if end <= len(lead.hit.lede):
        return []
    for line in following[:max_lines]:
        candidate = line
        code = bool(block) and _code(block[0])  # the block so far is code
        if code:
            block[-1] = _with_closing_lines(block[-1], candidate.start)
            end = block[-1].start + len(block[-1].text)
        gap = passage[end : candidate.start].lstrip()
        if gap and not _LIST_MARKER.fullmatch(gap):
            break
        lead_in = candidate.text.rstrip().endswith(":") and not _code(candidate)
        if lead_in or size + len(candidate.text) > room:
            break
        if block and block[-1].in_block and not candidate.in_block:
            break  # the page's code block ended: what follows is the page going on
        if code and not gap and not _code(candidate):
            if not _left_open(block):
                break  # prose after code
            candidate = dataclasses.replace(candidate, in_code=True)  # '"cats",' in a list
        if (
            block
            and _SHELL_PROMPT.match(block[-1].text)
            and not _SHELL_PROMPT.match(candidate.text)
        ):
            break
        block.append(candidate)
        size += len(candidate.text)
        end = candidate.start + len(candidate.text)
    if block and _code(block[0]):
        after = following[len(block) :]
        block[-1] = _with_closing_lines(block[-1], after[0].start if after else len(passage))
        if _left_open(block):
            block = _closed(block, after, size, room)
    while block and (block[-1].text.rstrip().endswith(":") or _TABLE_HEADER.match(block[-1].text)):
        block.pop()  # "class User(AbstractUser):" with its body cut off by the room left
    rest = following[len(block) :]
    if block and rest and _code(rest[0]) and all(_IMPORT.match(c.text) for c in block):
        return []  # cut down to its imports ("import sys"), the code shows nothing it announces
    if block and _TABLE_ROW in block[0].text:
        # A table introduced is shown as one, its columns lined up: not its rows of numbers as
        # code and its rows of words ("micro, patch, fix | 1.0.1") as sentences between them.
        block = [dataclasses.replace(c, in_code=c.in_code or _TABLE_ROW in c.text) for c in block]
    return block


def _closed(
    block: list[_Candidate], after: Sequence[_Candidate], size: int, room: int
) -> list[_Candidate]:
    """Return a code block that closes what it opens: with the few lines more that close it, or
    without the lines from where it opened what it cannot close."""
    passage = block[0].hit.passage
    longer = list(block)
    for at, candidate in enumerate(after[:_CLOSING_LINES]):
        size += len(candidate.text)
        end = longer[-1].start + len(longer[-1].text)
        if passage[end : candidate.start].strip() or size > room + _CLOSING_ROOM:
            break
        if longer[-1].in_block and not candidate.in_block:
            break  # past the page's code block
        following = after[at + 1 :]
        line = dataclasses.replace(candidate, in_code=True)
        longer.append(_with_closing_lines(line, following[0].start if following else len(passage)))
        if not _left_open(longer):
            return longer
    shorter = list(block)
    while shorter and _left_open(shorter):
        shorter.pop()
    return shorter


def _with_closing_lines(line: _Candidate, limit: int) -> _Candidate:
    """Return a code line with the lines after it (before limit) that only close what it
    opened ("]", "})"): no sentence of their own, they belong to the code before them."""
    passage = line.hit.passage
    closing = _CLOSING_MARKS.match(passage, line.start + len(line.text), limit)
    if not closing:
        return line
    return dataclasses.replace(line, text=passage[line.start : closing.end()].rstrip())


def _left_open(lines: Sequence[_Candidate]) -> bool:
    """Tell whether code lines leave a bracket or a triple-quoted string open."""
    depth, long_string = _nesting(lines)
    return depth > 0 or long_string


def _nesting(lines: Sequence[_Candidate]) -> tuple[int, bool]:
    """Return how many more brackets code lines open than close, and whether they leave a
    triple-quoted string open.

    Brackets inside strings don't count; a one-line string ends with its line (an apostrophe in
    a comment opens nothing beyond it).
    """
    depth = 0
    long_string = ""  # the quotes of a triple-quoted string still open
    for line in lines:
        text, at, string = line.text, 0, ""
        while at < len(text):
            if long_string:
                at = text.find(long_string, at)
                if at < 0:
                    break
                at, long_string = at + 3, ""
                continue
            char = text[at]
            if string:
                if char == "\\":
                    at += 1
                elif char == string:
                    string = ""
            elif text.startswith(_TRIPLE_QUOTES, at):
                long_string = text[at : at + 3]
                at += 2
            elif char in "\"'":
                string = char
            elif char in "([{":
                depth += 1
            elif char in ")]}":
                depth -= 1
            at += 1
    return depth, bool(long_string)


def _code(candidate: _Candidate) -> bool:
    """Tell whether a candidate is code: a code block's line, or a line that reads as code."""
    return candidate.in_code or _is_code(candidate.text)


def _command(candidate: _Candidate) -> bool:
    """Tell whether a candidate is a line someone types: a code block's, or one that reads so."""
    return candidate.in_code or _is_command(candidate.text)


def _is_code(text: str) -> bool:
    """Tell a command, signature or code line from prose: a prompt, or code characters and few
    plain words ("$ git branch" is all plain words but the prompt). A sentence's inline code
    (`--user`) is read as its words: the sentence is prose still."""
    if _prose_around_code(text):
        # "Support PEP 794 (core metadata `Import-Name` and `Import-Namespace` fields…)": the
        # page marked its names as code inside the sentence, so the sentence is not code.
        return False
    text = unmarked(text)
    if _PROMPT.match(text) or _ASSIGNMENT.match(text) or _IMPORT.match(text):
        return True
    if _is_definition(text):
        return False  # "class InlineModelAdmin: The admin interface has…": prose
    if _DECORATOR.fullmatch(text) or _DEFINES.match(text):
        return True  # "@classmethod", "async def view(request):": code, however plain
    words = text.split()
    short = len(words) <= _COMMAND_WORDS and not _SENTENCE_END.search(text)
    if short and any(_OPTION.match(word) for word in words):
        return True  # "git rebase --continue": a command line, options and all
    if _names_options(text):
        # "The --user / -u cli option.": a sentence naming options, as a list item does; its
        # options and the "/" between them are named, not typed.
        words = [word for word in words if not _OPTION.match(word) and word not in ("/", "|")]
    plain = sum(1 for word in words if _PLAIN_WORD.fullmatch(word))
    return bool(_CODE.search(text)) and plain < 0.6 * len(words)


_MARKED_SPAN = re.compile(r"`[^`]+`")


def _prose_around_code(text: str) -> bool:
    """Tell a sentence with inline code marked in it: plain words around the marked names."""
    if CODE_MARK not in text:
        return False
    outside = _MARKED_SPAN.sub(" ", text).split()
    plain = sum(1 for word in outside if _PLAIN_WORD.fullmatch(word.strip("()[]")))
    return len(outside) >= _MIN_QUOTE_WORDS and plain >= 0.6 * len(outside)


def reads_as_code(line: str) -> bool:
    """Tell whether a line of a passage reads as code (a command, a signature, a template
    tag) rather than prose: what a chat shows as code."""
    return _is_code(line) or _PLACEHOLDER.fullmatch(line.strip()) is not None


# A sentence that names options: opens with a capitalised word, ends as a sentence does.
_CAPITALISED_WORD = re.compile(r"[A-Z][a-z'’]*\s")
_OPTION_NAMED = re.compile(r"\s--?[A-Za-z]")


def _names_options(text: str) -> bool:
    """Tell a sentence naming options ("The --user / -u cli option.") from a command line."""
    return bool(
        _CAPITALISED_WORD.match(text) and text.rstrip()[-1:] in ".!?" and _OPTION_NAMED.search(text)
    )


# A definition entry as ingest joins it: a term or signature, ": ", and what it is or does
# ("HttpResponse.set_cookie(key, value='', …): Sets a cookie.").
_DEFINED_TERM = re.compile(r"(?:class\s+)?(?P<name>[A-Za-z_][\w.]*)")


def _definition_says(text: str) -> str:
    """Return what a definition entry says its term is or does, or "" when text is none.

    Read left to right, not by a pattern with two open-ended runs: one of those took time in
    the square of a line's length on a line of many "): " (a hostile page)."""
    term = _DEFINED_TERM.match(text)
    if not term or "\n" in text:
        return ""
    rest = text[term.end() :]
    if rest.startswith("("):
        close = rest.find("): ")
        if close < 0:
            return ""
        rest = rest[close + 1 :]
    says = rest.removeprefix(": ") if rest.startswith(": ") else ""
    return says if says[:1].isupper() and says[-1:] in ".!?" else ""


def _is_definition(text: str) -> bool:
    """Tell a definition entry whose description is prose from a bare signature or code."""
    says = _definition_says(unmarked(text))
    words = says.split()
    plain = sum(1 for word in words if _PLAIN_WORD.fullmatch(word))
    return len(words) >= 2 and plain >= 0.6 * len(words)


def _is_command(text: str) -> bool:
    """Tell a line someone types (at a prompt, a short line with options, an import or a
    setting) from what a program prints ("test_50.py FF.... [100%]"): prose runs on only into
    the first."""
    text = unmarked(text)
    words = text.split()
    return bool(
        _PROMPT.match(text)
        or _IMPORT.match(text)
        or _ASSIGNMENT.match(text)
        or (len(words) <= _COMMAND_WORDS and any(_OPTION.match(word) for word in words))
    )


def _is_cell(text: str) -> bool:
    """Tell whether text is a few words that are neither a sentence nor code: a table cell."""
    return len(text.split()) < _MIN_QUOTE_WORDS and not _CODE.search(text)


def with_links(answer: Answer, base_url: str | None) -> Answer:
    """Give citations without an address of their own one under base_url (none without one)."""
    if not base_url:
        return answer

    def linked(citation: Citation) -> Citation:
        if citation.url:
            return citation  # the document's own canonical address wins
        return dataclasses.replace(citation, url=document_url(citation.source, base_url))

    return dataclasses.replace(
        answer,
        citations=tuple(map(linked, answer.citations)),
        related=tuple(map(linked, answer.related)),
    )


def document_url(source: str, base_url: str) -> str:
    """Address of a source ("handbook/guides/intro.md") under base_url: its path in the folder."""
    inside = source.split("/", 1)[1] if "/" in source else source
    return base_url.rstrip("/") + "/" + urllib.parse.quote(inside)


def cite_hit(n: int, hit: Hit) -> Citation:
    """Cite a retrieved passage as citation n."""
    chunk = hit.chunk
    return Citation(
        n,
        chunk.title,
        chunk.source,
        chunk.location,
        hit.passage,
        hit.similarity,
        passage_link(hit.url, chunk),
        chunk.code_lines,
    )


def passage_link(url: str, chunk: Chunk) -> str:
    """Point a document's link at the passage: its lines, or its section.

    A repository file's link ends "#L{start}-L{end}" (the forge's line anchor, kept open at
    sync time): a passage counted in lines fills it in; any other drops the anchor. A page's
    link without a fragment gets the id of the passage's section, when the page gives one.
    """
    if "{start}" in url or "{end}" in url:
        if chunk.unit != "line":
            return url.split("#", 1)[0]
        return url.replace("{start}", str(chunk.start)).replace("{end}", str(chunk.end))
    if url and chunk.anchor and "#" not in url:
        return f"{url}#{urllib.parse.quote(chunk.anchor, safe='-._~!$&()*+,;=:@/?')}"
    return url
