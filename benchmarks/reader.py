"""What a reader sees of an answer, measured: does it hold the answer, and what else is shown.

Kept apart from citebot's own code on purpose: these checks judge what citebot shows, so they
must not share its rules (a filter and its check written from one list pass each other).

For one answer:
- holds: an expected phrase occurs in the quoted text;
- shown: in the quoted text or in the excerpt each citation shows (Slack's 500 characters);
- length: characters of the answer as read (quotes with their [n] markers);
- defects: each quote that is not whole prose (a heading, a code or synopsis line on its own,
  a marker or footnote, a lead-in ending ":" whose continuation is not quoted, part of a
  sentence, a line of the manual's code blocks quoted as a sentence), and page chrome or
  markup anywhere in what is shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

EXCERPT_CHARS = 500  # bot/platforms/slack/adapter.py EXCERPT_LIMIT

# Page chrome as generators print it: navigation bars, breadcrumbs, edit links, banners.
CHROME = [
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"\bprev(ious)?\s*\|\s*(up|home|next)\b",
        r"\b(up|home)\s*\|\s*next\b",
        r"^\s*(next|previous|prev)\s*[»›→]|[«‹←]\s*(previous|prev)\b",
        r"\bedit (this|on) (page|github|gitlab)\b",
        r"\bskip to (main )?content\b",
        r"\bback to top\b",
        r"\btable of contents\b\s*$",
        r"\bthis (site|website) uses cookies\b",
        r"\byou('| a)re (reading|viewing) (the )?(docs|documentation) for (an? )?(old|older|"
        r"previous|development)",
        r"\bmade with (material for )?mkdocs\b",
        r"\bbuilt with sphinx\b",
        r"\bcopyright\s*(©|\(c\))",
        r"\bwas this page helpful\b",
    )
]

# Markup of site generators and template languages, which a reader should never see as text.
MARKUP = [
    re.compile(pattern, re.MULTILINE)
    for pattern in (
        r"\{:?\s*[#.][\w.:-]+(\s+[^}]*)?\}",  # attribute list { #anchor } {: .class }
        r"\)\{:?\s*[\w-]+=[^}]*\}",  # one after an image or link: ](x.png){ loading=lazy }
        r"!\[[^\]]*\]\([^)\s]+\)",  # an image's Markdown: ![alt](x.png)
        r"\+\+[^+\s][^+]*\+\+",  # pymdownx.keys: ++ctrl+c++
        r"^\s*/{3,}",  # /// blocks (pymdownx.blocks)
        r"^\s*:{3,}\s*\w",  # ::: admonitions (Docusaurus) or mkdocstrings directives
        r"^\s*(!!!|\?\?\?\+?)\s*\w",  # !!! / ??? admonitions
        r"^\s*===\s*\"",  # === "Tab" content tabs
        r"\{\*.*?\*\}",  # {* file *} includes
        r"-{2}8<-{2}",  # --8<-- snippets
        r"\{\{<.*?>\}\}|\{\{%.*?%\}\}",  # Hugo shortcodes
        r":(material|octicons|fontawesome|simple)-[\w-]+:",  # MkDocs Material icons
        r"^\s*import\s+\w+\s+from\s+['\"]",  # MDX imports
        r"\)\[source\]",  # Sphinx viewcode's link after a signature: f(x)[source]
        # A Markdown reference link left unresolved: [the standard][project metadata standard]
        r"\[[A-Za-z][^\[\]\n\"']* [^\[\]\n\"']*\]\[[^\[\]\n\"']*\]",
        r"\w::(?=\s|$)",  # reST's literal-block marker or a doubled field-list colon: "0::"
    )
]
# Template tags and presentation HTML in prose. A manual about templates or HTML shows them in
# its code, so a line that is code (or nothing but tags) is exempt.
_TEMPLATE_TAG = re.compile(r"\{%-?.*?-?%\}|\{\{.*?\}\}")
_HTML_TAG = re.compile(
    r"</?(font|span|div|br|p|b|i|em|strong|a|img|sup|sub|details|summary|table|tr|td|th)"
    r"(\s[^<>]*)?/?>",
    re.IGNORECASE,
)
_INLINE_CODE = re.compile(r"`[^`\n]+`")  # as citebot marks the page's inline code
_HIGHLIGHT_MARK = re.compile(r"`#![\w+-]+\s")  # pymdownx.inlinehilite: `#!python sys.prefix`
_CODE_LIKE = re.compile(r"[=;{}$]|^\s*(>>>|\$ |def |class |import |from )|\(\)")
_SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
_MARKER = re.compile(r"^\s*(\[\w{1,3}\]|§|¶|†|‡|\*{1,3}\s|\d{1,3}\)\s*$)")
_PROSE_WORD = re.compile(r"^[A-Za-z][a-z'’-]*[,.;:!?]?$")
# A definition entry: a name or signature, then what it is or does, in prose ("HttpResponse.
# set_cookie(key, value='', …): Sets a cookie."). A whole block, not a bare signature.
_DEFINITION = re.compile(
    r"(?:class\s+)?[A-Za-z_][\w.]*(?:\(.*\))?(?:\[source\])?: (?P<says>[A-Z].*)"
)


@dataclass
class Reading:
    """What one answer showed the reader."""

    holds: bool
    shown: bool
    length: int
    defects: list[str] = field(default_factory=list)


def normalise(text: str) -> str:
    """Fold case, quotes, inline code's marks and whitespace as `citebot eval` does."""
    return " ".join(_unmarked(text).casefold().replace("’", "'").split())


def holds(text: str, phrases: Sequence[str]) -> bool:
    """Tell whether text holds any of the phrases."""
    folded = normalise(text)
    return any(normalise(phrase) in folded for phrase in phrases)


def shown_excerpt(answer: Any, citation: Any) -> str:
    """Return the excerpt the chat shows under a citation, as the code that ran shows it."""
    import inspect

    from bot.platforms.chat_text import excerpt

    shorten: Callable[..., str] = excerpt
    quoted = answer.quoted_from(citation.n)
    # A --baseline-ref from before excerpts looked at the question cuts at the first quote;
    # one from before code blocks were known reads every line by what it looks like.
    parameters = len(inspect.signature(shorten).parameters)
    if parameters == 3:
        return shorten(citation.text, quoted, EXCERPT_CHARS)
    if parameters == 4:
        return shorten(citation.text, quoted, EXCERPT_CHARS, answer.question)
    return shorten(citation.text, quoted, EXCERPT_CHARS, answer.question, citation.code_lines)


def read_answer(answer: Any, expect: Sequence[str], code_lines: Collection[str] = ()) -> Reading:
    """Measure one citebot Answer as a reader meets it.

    code_lines: the lines of the manual's code blocks (see code_block_lines), each normalised;
    one quoted as a sentence rather than shown as code is a defect.
    """
    quoted = " ".join(quote.text for quote in answer.quotes)
    excerpts = [shown_excerpt(answer, citation) for citation in answer.citations]
    reading = Reading(
        holds=bool(expect) and holds(quoted, expect),
        shown=bool(expect) and holds(" ".join([quoted, *excerpts]), expect),
        # What a chat shows: inline code's marks render as code, not as characters.
        length=len(_unmarked(answer.text)),
    )
    passages = {citation.n: citation for citation in answer.citations}
    quotes = list(answer.quotes)
    for i, quote in enumerate(quotes):
        following = quotes[i + 1] if i + 1 < len(quotes) else None
        citation = passages[quote.n]
        headings = {normalise(citation.title)} | {
            normalise(part) for part in citation.location.partition(", ")[2].split(" › ") if part
        }
        if normalise(quote.text).rstrip(".:") in headings:
            reading.defects.append(f"quote: a heading: {quote.text[:80]!r}")
            continue
        # Inline code's marks set a name apart in a sentence: the sentence reads as without.
        problem = quote_defect(
            _unmarked(quote.text),
            _unmarked(citation.text),
            _unmarked_quote(following),
            [_unmarked_quote(q) for q in quotes[:i]],
        )
        if problem:
            reading.defects.append(f"quote: {problem}: {quote.text[:80]!r}")
        elif not getattr(quote, "code", False) and any(
            normalise(line) in code_lines for line in quote.text.split("\n")
        ):
            reading.defects.append(f"quote: a code line as a sentence: {quote.text[:80]!r}")
    # Each quote is a line of its own in chat (or of its block): markup is judged line by line
    # as shown, so the manual's own template code after a lead-in is not counted as leaked
    # markup because a sentence was quoted next to it.
    for text in ["\n".join(quote.text for quote in quotes), *excerpts]:
        reading.defects += [f"shown: {d}" for d in shown_defects(text)]
    return reading


_FENCE = re.compile(r"^\s*(```|~~~)")


def code_block_lines(folder: Path) -> frozenset[str]:
    """Return the lines of a manual's code blocks (HTML <pre>, Markdown fences), normalised,
    that it never has as prose: read from the source files here, not by citebot's ingest."""
    from lxml import html

    code: set[str] = set()
    prose: set[str] = set()
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".html", ".htm"):
            tree = html.fromstring(path.read_bytes())
            for pre in tree.iter("pre"):
                code.update(normalise(line) for line in pre.text_content().split("\n"))
                pre.drop_tree()
            prose.update(normalise(line) for line in tree.text_content().split("\n"))
        elif path.suffix == ".md":
            fenced = False
            for line in path.read_text(encoding="utf-8", errors="replace").split("\n"):
                if _FENCE.match(line):
                    fenced = not fenced
                elif fenced:
                    code.add(normalise(line))
                else:
                    prose.add(normalise(line.strip(" \t>*+-")))
    return frozenset(line for line in code - prose if len(line) > 2)


def _unmarked(text: str) -> str:
    # Not index.records.unmarked: a --baseline-ref older than inline-code marks lacks it.
    return text.replace("`", "")


def _unmarked_quote(quote: Any) -> Any:
    return None if quote is None else replace(quote, text=_unmarked(quote.text))


def quote_defect(text: str, passage: str, following: Any, before: Sequence[Any]) -> str:
    """Name what makes a quote something other than whole prose, or ""."""
    stripped = text.strip()
    words = stripped.split()
    line = _line_holding(passage, stripped)
    whole_line = line is not None and line.strip() == stripped
    if stripped.endswith(":"):
        if following is None or not _continues(passage, stripped, following.text):
            return "a lead-in without what it introduces"
        return ""
    led_in = _led_in(passage, stripped, before)
    if led_in:
        return ""  # a line of the list, command or code a lead-in introduced: one block
    if len(words) <= 2 and not _CODE_LIKE.search(stripped):
        return "a fragment of one or two words"
    if _MARKER.match(stripped):
        return "a marker or footnote"
    if _looks_like_code(stripped) and not _is_definition(stripped):
        return "a code or synopsis line on its own"
    if whole_line and line is not None:
        return ""  # a whole paragraph, list item or table row as the page has it
    if not _SENTENCE_END.search(stripped) and not led_in:
        return "part of a sentence (no end)"
    if line is not None and not led_in:
        prefix = line[: line.find(stripped)].rstrip()
        if prefix and prefix[-1] not in '.!?:;"”’)|':
            return "part of a sentence (starts mid-sentence)"
    return ""


def _led_in(passage: str, text: str, before: Sequence[Any]) -> bool:
    """Tell whether text continues a block of quotes that a lead-in (ending ":") opened."""
    current = text
    for quote in reversed(before):
        previous = quote.text.strip()
        if not _follows(passage, previous, current):
            return False  # not next to the quote before it: no block
        if previous.endswith(":") or (
            not _SENTENCE_END.search(previous) and not _looks_like_code(previous)
        ):
            return True  # a lead-in, or prose that runs on into the code ("…, run")
        current = previous
    return False


def _line_holding(passage: str, text: str) -> str | None:
    for line in passage.split("\n"):
        if text in line:
            return line
    return None


def _continues(passage: str, lead_in: str, next_quote: str) -> bool:
    """Tell whether next_quote is what follows lead_in in the passage."""
    return _follows(passage, lead_in, next_quote.strip()[:40])


def _follows(passage: str, first: str, then: str) -> bool:
    """Tell whether then comes right after first (but for white space) anywhere in passage.

    Every occurrence of first counts: a code line ("import pytest") may appear twice on a page.
    """
    at = passage.find(first)
    while at >= 0:
        if passage[at + len(first) :].lstrip().startswith(then):
            return True
        at = passage.find(first, at + 1)
    return False


def _is_definition(text: str) -> bool:
    """Tell a definition entry whose description is a sentence from a bare signature."""
    match = _DEFINITION.fullmatch(text)
    return bool(
        match and _SENTENCE_END.search(match["says"]) and not _looks_like_code(match["says"])
    )


def _looks_like_code(text: str) -> bool:
    """Tell a command, signature or code line from prose by its words."""
    words = text.split()
    prose = sum(bool(_PROSE_WORD.match(word)) for word in words)
    return (bool(_CODE_LIKE.search(text)) and prose < 0.6 * len(words)) or (
        prose < 0.4 * len(words)
    )


def shown_defects(text: str) -> list[str]:
    """Name the page chrome and markup in a text shown to the reader.

    What the page set apart as inline code (`{{ form }}`, `<th>`) is shown as code, as the
    page shows it: the syntax a manual teaches, not markup left over.
    """
    found = []
    # Inline code is the page's, but not a highlighter's language mark (`#!toml packages = …`).
    highlight = _HIGHLIGHT_MARK.search(text)
    if highlight:
        found.append(f"markup {highlight.group(0)!r}")
    text = _INLINE_CODE.sub("", text)
    for pattern in CHROME:
        match = pattern.search(text)
        if match:
            found.append(f"page chrome {match.group(0)[:40]!r}")
    for pattern in MARKUP:
        match = pattern.search(text)
        if match:
            found.append(f"markup {match.group(0)[:40]!r}")
    for line in text.split("\n"):
        for pattern in (_HTML_TAG, _TEMPLATE_TAG):
            match = pattern.search(line)
            if not match:
                continue
            rest = _TEMPLATE_TAG.sub("", _HTML_TAG.sub("", line))
            if len(rest.split()) >= 3 and not _CODE_LIKE.search(rest):
                found.append(f"markup {match.group(0)[:40]!r}")
    return found


def passage_reading(passage: str, expect: Sequence[str]) -> Reading:
    """Measure a baseline's best passage as its answer: shown whole."""
    found = bool(expect) and holds(passage, expect)
    return Reading(holds=found, shown=found, length=len(passage), defects=shown_defects(passage))
