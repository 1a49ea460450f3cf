"""Text helpers the adapters share: neutralising mass mentions and clipping excerpts."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence

from bot.core.answer import (
    HEADING_SEPARATOR,
    Answer,
    Citation,
    quote_blocks,
    reads_as_code,
    shown_text,
)
from bot.core.headings import entry_term, names_a_release
from index.clipping import ELLIPSIS, clip_words
from index.lexical import query_terms, to_terms
from index.records import CODE_MARK

# A word joiner after "@" keeps "@everyone" readable but stops any client treating it as a ping.
_MASS_MENTION = re.compile(r"@(?=(?:everyone|here|channel)\b)", re.IGNORECASE)
WORD_JOINER = "\u2060"


def defuse_mass_mentions(text: str) -> str:
    """Break "@everyone", "@here" and "@channel" so no client can read them as pings."""
    return _MASS_MENTION.sub("@" + WORD_JOINER, text)


# Inline code as a passage marks it: a pair of marks around a stretch of one line.
_MARK = re.escape(CODE_MARK)
_CODE_SPAN = re.compile(f"{_MARK}[^{_MARK}\\n]+{_MARK}")


def escape_outside_code(text: str, escape: Callable[[str], str]) -> str:
    """Escape a platform's markup in text, but not inside its inline code spans.

    Discord shows a code span's characters as typed: escaped there, "`list_display`" would read
    "list\\_display", and its marks escaped would show as backticks instead of as code.
    """
    pieces, last = [], 0
    for span in _CODE_SPAN.finditer(text):
        pieces += [escape(text[last : span.start()]), span.group()]
        last = span.end()
    pieces.append(escape(text[last:]))
    return "".join(pieces)


def clip(text: str, limit: int) -> str:
    """Fold whitespace and shorten to at most limit characters between words, marked with …."""
    return clip_words(" ".join(text.split()), limit)


# A line read on into the next: it ends a sentence or clause, perhaps inside quotes or brackets
# ("…(see below).", "…said “yes.”"). A bare ")" is not an end: a title ("What to know about AI
# (and what goes wrong if you don't)") would run into the page's first sentence.
_CLOSED = re.compile(r"[.!?:;,…][)\]\"”’']*$")
# Where a heading, a page title or a code line ends without punctuation: run together with the
# next line it would read as one ("…git rebase --abort OPTIONS --onto <newbase>…").
LINE_BREAK = " · "


def fold_lines(text: str, code_lines: Collection[str] = ()) -> tuple[str, list[int]]:
    """Join a passage's lines into one for display; return it and where each line starts.

    A line of code (a code block's, code_lines, or one that reads as code) is marked as inline
    code: run into the prose around it, "{% if perms.foo %}" would read as a template leaking
    into the answer, and "cd trunk" as a sentence.
    """
    blocks = {" ".join(line.split()) for line in code_lines}
    folded, starts = "", []
    for words in (" ".join(raw.split()) for raw in text.split("\n")):
        if not words:
            continue
        code = CODE_MARK not in words and (words in blocks or reads_as_code(words))
        line = f"{CODE_MARK}{words}{CODE_MARK}" if code else words
        if folded:
            folded += " " if _CLOSED.search(folded) else LINE_BREAK
        starts.append(len(folded))
        folded += line
    return folded, starts


def cited_excerpt(answer: Answer, citation: Citation, limit: int) -> str:
    """Return the excerpt a chat shows under one of an answer's citations (see excerpt)."""
    return excerpt(
        citation.text,
        answer.quoted_from(citation.n),
        limit,
        answer.question,
        citation.code_lines,
    )


def excerpt(
    text: str,
    quoted: Sequence[str],
    limit: int,
    question: str = "",
    code_lines: Collection[str] = (),
) -> str:
    """Shorten a passage to limit characters: what it says about the question beyond the quotes.

    A passage runs to some 1,500 characters and the chat shows a third of it. The quotes are
    already above it, so the excerpt shows the stretch (from a line's start) whose words not
    quoted hold the most of the question's words, the earliest of equals: often the section's
    heading and opening, or the command after a quoted lead-in. The expected phrase was shown
    for 0.34 / 0.29 / 0.50 of the Git / Django / Hatch tuning questions with the excerpt at the
    first quote, 0.40 / 0.46 / 0.56 this way (docs/quality.md). When no unquoted word is the
    question's (or no question is given), the cut starts at the line the first quote is on,
    with as much of what comes before as the room leaves.
    """
    folded, starts = fold_lines(text, code_lines)
    if len(folded) <= limit:
        return folded
    wanted = [" ".join(words.split()) for words in quoted if words.strip()]
    found = [at for at in (folded.find(words) for words in wanted) if at >= 0]
    room = limit - len(ELLIPSIS)
    start = _most_about(question, folded, starts, wanted, room) if question else None
    if start is None:
        if not found:
            return _closed_marks(clip_words(folded, limit))
        start = max(at for at in starts if at <= min(found))
        if len(folded) - start < room:  # near the end: fill the room from before
            start = max(0, len(folded) - room)
            while 0 < start < len(folded) and not folded[start - 1].isspace():
                start += 1  # the first whole word
    if start == 0:
        return _closed_marks(clip_words(folded, limit))
    return _closed_marks(ELLIPSIS + clip_words(folded[start:], room))


def _closed_marks(text: str) -> str:
    """Drop a code mark whose partner the cut left out, so no code runs on to the end."""
    if text.count(CODE_MARK) % 2:
        at = text.rfind(CODE_MARK)
        text = text[:at] + text[at + 1 :]
    return text


def _most_about(
    question: str, folded: str, starts: Sequence[int], quoted: Sequence[str], room: int
) -> int | None:
    """Return the line start whose stretch of room characters holds the most of the question's
    words outside the quotes (the earliest of equals), or None when none holds any."""
    asked = set(query_terms(question))
    unquoted = folded
    for words in quoted:
        unquoted = unquoted.replace(words, " " * len(words), 1)
    best, best_start = 0, None
    for start in starts:
        held = len(asked.intersection(to_terms(unquoted[start : start + room])))
        if held > best:
            best, best_start = held, start
    return best_start


def pack_lines(lines: list[str], limit: int) -> list[str]:
    """Join lines into pieces of at most limit characters, cutting a line only if it must."""
    pieces: list[str] = []
    current = ""
    for whole_line in lines:
        line = whole_line
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:cut])
            line = line[cut:].lstrip()
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


# An API entry's signature, however long: "send_mail(subject, message, …, connection=None)",
# "final class TempPathFactory", "class InlineModelAdmin, class TabularInline".
_NAME = r"(?:(?:final\s+)?class\s+)?[A-Za-z_][\w.]*"
_SIGNATURE = re.compile(
    rf"{_NAME}(?:\([^()]*(?:\([^()]*\)[^()]*)*\))?(?:,\s*{_NAME}(?:\([^()]*\))?)*"
)
_MAX_SIGNATURE_CHARS = 300


def term_as_code(line: str) -> str:
    """Show a definition entry's term as the code it names ("`Field.blank`: If `True`, the field
    is allowed to be blank."): the page sets it apart as code, and shown plain, blind readers
    took a signature running into its description ("send_mail(subject, message, …): In most
    cases…") for leaked markup. Read blind side by side, all 31 answers this changed on the
    reporting halves read better with it."""
    term = _signature(line) or entry_term(line)
    if not term or CODE_MARK in term or not line.startswith(term) or not _reads_as_code(term):
        return line
    return f"{CODE_MARK}{term}{CODE_MARK}{line[len(term) :]}"


# In a term of several words, what only code has: "-d, --delete", "--depth <depth>",
# "git diff [<options>]", "locked = true"; not "Changed in version 3.1" or "Django 4.2".
_CODE_IN_WORDS = re.compile(r"[-<\[=_|{(]")
_DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+(?:\(\))?")  # not "e.g."


def _reads_as_code(term: str) -> bool:
    if " " in term:
        return bool(_CODE_IN_WORDS.search(term)) or term.startswith(("class ", "final class "))
    if _CODE_IN_WORDS.search(term) or "." not in term:
        return True  # "ALLOWED_HOSTS", "prefetch_related()", "caplog"
    return bool(_DOTTED.fullmatch(term))  # "Field.blank", "commit.gpgSign"


def label_as_code(label: str) -> bool:
    """Tell a heading label that names a thing as code spells it ("git-reset", "ALLOWED_HOSTS"),
    shown as that code, from a release's ("Hatch history › 1.15.0 - …"), shown bold: bold,
    blind readers took "git-reset ·" and "ALLOWED_HOSTS ·" for navigation."""
    return not names_a_release(label) and CODE_MARK not in label


def terms_as_code(text: str) -> str:
    """Apply term_as_code to each line of a quoted part."""
    return "\n".join(term_as_code(line) for line in text.split("\n"))


def _signature(line: str) -> str:
    """Return the signature a line opens with as an API entry's term, or "" (see _SIGNATURE)."""
    term, colon, says = line.partition(": ")
    if not colon or len(term) > _MAX_SIGNATURE_CHARS or not says[:1].isupper():
        return ""
    is_call_or_class = "(" in term or term.startswith(("class ", "final class "))
    return term if is_call_or_class and _SIGNATURE.fullmatch(term) else ""


def quote_lines(
    answer: Answer,
    escape: Callable[[str], str],
    mark: str,
    escape_code: Callable[[str], str],
) -> list[str]:
    """Return an answer's quotes as chat lines, escaped for the platform: one item a block.

    Quoted prose is shown in quotation marks and code as a code block, each block of the passage
    once, with its citation after it; a language model's sentence with the words of its passage
    it was checked against. mark: the platform's emphasis around the citation ("**" on Discord,
    "*" on Slack). escape_code: the platform's escaping inside a code block, where its markup
    is shown as typed.
    """
    items = []
    for block in quote_blocks(answer.quotes):
        cited = f"{mark}[{block.label}]{mark}"
        if block.span:
            text = " ".join(part.text for part in block.parts)
            items.append(f"{escape(text)} {cited}\n> “{escape(block.span)}”")
            continue
        shown = [
            f"```\n{escape_code(shown_text(part)).replace('```', '`' + WORD_JOINER + '``')}\n```"
            if part.code
            else "> “"
            + "\n> ".join(escape(line) for line in terms_as_code(part.text).split("\n"))
            + "”"
            for part in block.parts
        ]
        if block.under:  # on the block's first line, so it reads as this block's alone
            heading = (
                escape(f"{CODE_MARK}{block.under}{CODE_MARK}")
                if label_as_code(block.under)
                else f"{mark}{escape(block.under)}{mark}"
            )
            first = shown[0]
            shown[0] = (
                f"> {heading}{HEADING_SEPARATOR}{first[2:]}"
                if first.startswith("> ")
                else f"{heading}\n{first}"
            )
        # After code, the citation goes on a line of its own: "``` [1]" is no closing fence
        # to a Markdown reader (CommonMark), and blind readers took it for leaked markup.
        after = "\n" if block.parts[-1].code else " "
        items.append("\n".join(shown) + after + cited)
    return items
