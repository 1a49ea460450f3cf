"""What a quote is about when it doesn't say: the release or the name its section is headed by.

A changelog's line ("Drop support for Python 3.8") answers "when did they drop 3.8?" only with
its release's heading above it ("1.15.0 - 2025-10-15"); a sentence of an API entry ("This
allows it to prefetch many-to-many…") or of a command's options ("Sort output according to the
number of commits per author") names neither the function nor the command its heading does
(prefetch_related(), git-shortlog). Blind readers marked such answers down: the key name was
only in the citation's location under the answer. So a quote shows the heading it sits under
when that heading names a release or a thing and the quote doesn't already say it.
"""

from __future__ import annotations

import re

from index.lexical import to_terms
from index.records import Hit

# A release: "1.15.0 - 2025-10-15", "pytest 7.0.0 (2022-02-03)", "Django 4.2 release notes".
_VERSION = re.compile(r"(?<![\w.])v?(\d+\.\d+(?:\.\d+)*)(?![\w.])")
_MAX_HEADING_WORDS = 6  # a longer heading is a sentence about a version, not a release
_MAN_SECTION = re.compile(r"\(\d\w*\)$")  # "git-shortlog(1)"
# A name as code spells it: an underscore or a dot inside a word, a hyphen inside a word in
# small letters, "()", a capital after a small letter, or an option's leading "-":
# prefetch_related(), ModelAdmin.list_display, git-shortlog, QuerySet, --merge. Not
# "Pre-install" or "Self-referential": English compounds. Each pattern reads a name one way
# only, so a hostile heading ("a_a_a_…!") costs time in its length, not exponential in it.
_DOTTED_NAME = re.compile(r"@?[A-Za-z_][\w.]*")  # with "_" or "." inside: checked apart
_CODE_NAME = re.compile(
    r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+|\w+\(\)|[a-z]+[A-Z]\w*|[A-Z][a-z]+[A-Z]\w*|--?[A-Za-z][\w-]*"
)
_CASE_JOIN = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def heading_label(hit: Hit, offset: int) -> str:
    """Return the heading that names what a quote at offset of hit's passage is about, or "".

    The nearest heading above it that names a release, else the nearest that names a thing,
    from the section's own heading up to the page title.
    """
    path = [part for part in hit.section_at(offset).split(" › ") if part]
    if hit.chunk.title and (not path or path[0] != hit.chunk.title):
        path.insert(0, hit.chunk.title)
    for heading in reversed(path):
        if _VERSION.search(heading) and len(heading.split()) <= _MAX_HEADING_WORDS:
            if any(char.isalpha() for char in heading) or heading == path[0]:
                return heading
            # "1.33.0 - 2026-10-27" of Hatchling's history read as a release of Hatch.
            return f"{path[0]} › {heading}"
    for depth, heading in reversed(list(enumerate(path))):
        name = _MAN_SECTION.sub("", heading).strip()
        # A page titled by one plain word is a guide ("gitworkflows", "gittutorial"), not the
        # page of one command or function.
        if _names_a_thing(name) and (depth or _is_code_name(name)):
            return name
    return ""


def names_a_release(heading: str) -> bool:
    """Tell a heading label that names a release ("Hatch history › 1.15.0 - 2025-10-15") from
    one that names a thing as code spells it ("git-shortlog", "prefetch_related()")."""
    return _VERSION.search(heading) is not None


def names_its_own_subject(text: str, heading: str) -> bool:
    """Tell a quote that opens on a name of its own other than its heading's ("`select_related`
    works by…" under prefetch_related()): the heading would read as the wrong name for it. A
    release's heading is never so: a changelog line about `foo` still needs its release."""
    if _VERSION.search(heading):
        return False
    # Only a name set apart as code: an entry's term ("-v, --verbose: …" on git-remote's
    # page) is a part of what the heading names, which the heading then says.
    opening = _OPENING_NAME.match(text)
    return opening is not None and not says_heading(opening.group(1), heading)


_OPENING_NAME = re.compile(r"\s*`([^`]+)`")


def says_heading(text: str, heading: str) -> bool:
    """Tell whether a quote already says what its heading names: the release's number, or the
    name spelled as the heading does or in all its words."""
    release = _VERSION.search(heading)
    if release:
        return any(match.group(1) == release.group(1) for match in _VERSION.finditer(text))
    # An entry's term names its first spelling: "-S" of "-S[<keyid>], --gpg-sign[=<keyid>]",
    # "reverse" of "reverse(viewname, urlconf=None)".
    name = _SPELLING_ENDS.split(heading, maxsplit=1)[0].strip() or heading
    if name.startswith("-"):  # an option: said only as spelled ("--no-gpg-sign" isn't "-S")
        return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None
    if name.casefold() in text.casefold():
        return True
    wanted = set(to_terms(_CASE_JOIN.sub(" ", name)))
    said = set(to_terms(text)) | set(to_terms(_CASE_JOIN.sub(" ", text)))
    return bool(wanted) and wanted <= said


_MAX_TERM_CHARS = 100
_SPELLING_ENDS = re.compile(r",\s|[\[(<=]")
_CODE_CHARACTERS = re.compile(r"[()\[\]{}=_./<>$-]")


def entry_term(line: str) -> str:
    """Return the term of a definition entry as a passage has it ("-S[<keyid>], --gpg-sign:
    GPG-sign commits. …", "ModelAdmin.list_filter: Set …"), or "" when the line is none: the
    term must read as a name or signature, not as words ("Note: …", "bare repository: …")."""
    term, colon, says = line.partition(": ")
    term = term.strip()
    if not colon or not term or len(term) > _MAX_TERM_CHARS or not says[:1].isupper():
        return ""
    if _CODE_CHARACTERS.search(term) or _names_a_thing(term):
        return term
    return ""


def _names_a_thing(heading: str) -> bool:
    """Tell a heading that is a name ("prefetch_related()", "git-shortlog", "caplog") from one
    in words ("Overview", "Pre-install", "other diff formats")."""
    if " " in heading or not any(char.isalpha() for char in heading):
        return False
    # Headings in words open with a capital; one word all in small letters is a command or a
    # name as typed ("makemigrations", "caplog", "pipx").
    return _is_code_name(heading) or (heading.isalpha() and heading.islower())


def _is_code_name(word: str) -> bool:
    """Tell a word that is a name as code spells it (see _CODE_NAME) from a plain word."""
    if _CODE_NAME.fullmatch(word):
        return True
    body = word.removesuffix("()")
    inside = body.lstrip("@_")[:-1]
    return bool(_DOTTED_NAME.fullmatch(body)) and ("_" in inside or "." in inside)
