"""reStructuredText read line by line into headings, paragraphs, list items and code.

Not docutils: it reads `.. include::` and `:url:` options as instructions to fetch other files,
and its inline parser slows with the square of a paragraph's length on unmatched markup (40 KB
of "*a " took 13 s, 3.4x as long per doubling). Here every line is looked at a bounded number of
times, nothing outside the file is read, and unknown directives simply drop out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.document import Block

# Section adornment: one punctuation character repeated (at least three times, or as long as
# the title it underlines).
_ADORNMENT = re.compile(r"""([!-/:-@\[-`{-~])\1{2,}""")
_BULLET = re.compile(r"(?:[-*+•]|\d{1,3}[.)]|#\.|\(\d{1,3}\))\s+")
_DIRECTIVE = re.compile(r"\.\.\s+([\w:.+-]+)::(.*)")
_OPTION = re.compile(r":[\w -]+:(?:\s|$)")
_FIELD = re.compile(r":([^:`]{1,80}):(?:\s+|$)")
# Directives whose body is content a reader sees; every other one (toctree, image, include,
# raw, automodule, …) and every comment, target and substitution definition is left out.
_CONTENT_DIRECTIVES = frozenset(
    {
        "note",
        "warning",
        "tip",
        "hint",
        "important",
        "caution",
        "attention",
        "danger",
        "error",
        "admonition",
        "seealso",
        "versionadded",
        "versionchanged",
        "deprecated",
        "code",
        "code-block",
        "sourcecode",
        "topic",
        "sidebar",
        "rubric",
        "container",
        "epigraph",
        "highlights",
        "pull-quote",
        "glossary",
        "productionlist",
        "describe",
        "option",
        "envvar",
        "function",
        "method",
        "class",
        "attribute",
        "data",
        "exception",
        "module",
        "py:function",
        "py:method",
        "py:class",
        "py:attribute",
        "py:data",
        "py:exception",
        "py:module",
        "setting",
        "templatetag",
        "templatefilter",
        "django-admin",
        "fieldlookup",
    }
)
# Inline markup, each pattern bounded so unmatched markers cost linear time.
_ROLE = re.compile(r":[\w:+.-]{1,40}:`([^`\n]{0,300})`")
_LITERAL = re.compile(r"``([^`\n]{1,300}?)``")
_LINK = re.compile(r"`([^`\n]{1,300}?)`__?")
_INTERPRETED = re.compile(r"`([^`\n]{1,300}?)`")
_STRONG = re.compile(r"\*\*([^*\n]{1,300}?)\*\*")
_EMPHASIS = re.compile(r"(?<![\w*])\*([^*\s][^*\n]{0,300}?)\*(?![\w*])")
_REFERENCE = re.compile(r"(?<![\w_])([A-Za-z][\w-]{0,80}[A-Za-z0-9])__?(?=[\s.,;:!?)\]]|$)")
_SUBSTITUTION = re.compile(r"\|([\w][\w .-]{0,60})\|(?:__?)?")
_TARGET = re.compile(r"\s*<[^<>\n]{1,300}>$")
_MAX_DEPTH = 8  # directive bodies inside directive bodies: deeper ones read as plain text


@dataclass
class _Reader:
    blocks: list[Block] = field(default_factory=list)
    styles: list[tuple[str, bool]] = field(default_factory=list)  # adornments in order of use

    def heading(self, text: str, style: tuple[str, bool], number: int) -> None:
        if style not in self.styles:
            self.styles.append(style)
        level = self.styles.index(style) + 1
        self.blocks.append(Block(inline_text(text), True, "line", number, number, level=level))

    def paragraph(self, lines: list[tuple[int, str]], *, code: bool = False) -> None:
        parts: list[str] = []
        offsets: list[tuple[int, int]] = []
        position = 0
        for number, line in lines:
            piece = line.rstrip() if code else inline_text(line.strip())
            offsets.append((position, number))
            parts.append(piece)
            position += len(piece) + 1
        text = ("\n" if code else " ").join(parts).strip("\n")
        if text.strip():
            start, end = lines[0][0], lines[-1][0]
            self.blocks.append(Block(text, False, "line", start, end, tuple(offsets), code=code))


def rst_blocks(text: str, first_line: int = 1) -> tuple[Block, ...]:
    """Read reStructuredText into blocks numbered from first_line."""
    reader = _Reader()
    _read(reader, list(enumerate(text.splitlines(), start=first_line)), 0)
    return tuple(reader.blocks)


def _read(reader: _Reader, lines: list[tuple[int, str]], depth: int) -> None:
    i = 0
    literal_next = False  # the paragraph before ended in "::": an indented block is code
    while i < len(lines):
        number, line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        indent = _indent(line)
        following = lines[i + 1][1] if i + 1 < len(lines) else ""
        if literal_next and indent > 0:
            end = _block_end(lines, i, indent - 1)
            reader.paragraph(_dedented(lines[i:end]), code=True)
            literal_next = False
            i = end
            continue
        literal_next = False
        third = lines[i + 2][1].strip() if i + 2 < len(lines) else ""
        overlined = _ADORNMENT.fullmatch(stripped) and following.strip()
        if overlined and third[:1] == stripped[0] and _ADORNMENT.fullmatch(third):
            reader.heading(following.strip(), (stripped[0], True), lines[i + 1][0])
            i += 3  # an over- and underlined title
            continue
        underline = following.strip()
        if (
            indent == 0
            and _ADORNMENT.fullmatch(underline)
            and _indent(following) == 0
            and len(underline) >= min(len(stripped), 3)
            and not _ADORNMENT.fullmatch(stripped)
        ):
            reader.heading(stripped, (underline[0], False), number)
            i += 2
            continue
        if (stripped[0] in "+|" and _is_rule(stripped)) or _is_row(stripped):
            while i < len(lines) and (
                _is_row(lines[i][1].strip()) or _is_rule(lines[i][1].strip())
            ):
                if _is_row(lines[i][1].strip()):
                    reader.paragraph([lines[i]])  # a grid table's row, read as "cell | cell"
                i += 1
            continue
        if _is_rule(stripped):  # a transition, or a simple table's border
            i += 1
            continue
        if stripped.startswith(".. ") or stripped == "..":
            end = _block_end(lines, i + 1, indent)
            directive = _DIRECTIVE.match(stripped)
            if directive and directive.group(1).lower() in _CONTENT_DIRECTIVES:
                _read_directive(reader, directive, number, lines[i + 1 : end], depth)
            i = end
            continue
        end = i + 1
        item = _BULLET.match(stripped) is not None
        while end < len(lines):
            next_line = lines[end][1]
            # A list item's wrapped lines are indented under its text; a paragraph's align.
            aligned = _indent(next_line) > indent if item else _indent(next_line) == indent
            if not next_line.strip() or not aligned:
                break
            if _BULLET.match(next_line.strip()) or _FIELD.match(next_line.strip()):
                break  # the next list item or field starts a block of its own
            end += 1
        chunk = lines[i:end]
        last = chunk[-1][1].rstrip()
        if last.endswith("::"):
            literal_next = True
            shown = last[:-2].rstrip()
            chunk = [*chunk[:-1], (chunk[-1][0], shown + ":" if shown else "")]
        if field_name := _FIELD.match(stripped):
            rest = stripped[field_name.end() :]
            chunk = [(number, f"{field_name.group(1)}: {rest}"), *chunk[1:]]
        reader.paragraph(chunk)
        i = end


def _read_directive(
    reader: _Reader,
    directive: re.Match[str],
    number: int,
    body: list[tuple[int, str]],
    depth: int,
) -> None:
    """Read a kept directive: its argument line, then its body without the option lines."""
    argument = directive.group(2).strip()
    if argument and directive.group(1).lower() not in ("code", "code-block", "sourcecode"):
        reader.paragraph([(number, argument)])
    content = list(body)
    while content and (not content[0][1].strip() or _OPTION.match(content[0][1].strip())):
        if not content[0][1].strip():
            content.pop(0)
            break
        content.pop(0)
    if directive.group(1).lower() in ("code", "code-block", "sourcecode"):
        reader.paragraph(_dedented(content), code=True)
    elif depth < _MAX_DEPTH:
        _read(reader, _dedented(content), depth + 1)
    else:
        reader.paragraph([line for line in content if line[1].strip()])


def _block_end(lines: list[tuple[int, str]], start: int, indent: int) -> int:
    """Return the index after the lines from start that are blank or indented past indent."""
    end = start
    while end < len(lines) and (not lines[end][1].strip() or _indent(lines[end][1]) > indent):
        end += 1
    while end > start and not lines[end - 1][1].strip():
        end -= 1  # trailing blank lines belong to whatever comes next
    return end


def _dedented(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    margin = min((_indent(line) for _, line in lines if line.strip()), default=0)
    return [(number, line[margin:]) for number, line in lines]


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _is_rule(stripped: str) -> bool:
    """Tell whether a line is a transition or a table border ("+----+", "==== ====")."""
    return bool(_ADORNMENT.fullmatch(stripped)) or (
        len(stripped) >= 3 and set(stripped) <= set("+-=| ") and not stripped.startswith("- ")
    )


def _is_row(stripped: str) -> bool:
    return len(stripped) > 2 and stripped[0] == stripped[-1] == "|" and stripped.count("|") >= 3


def inline_text(text: str) -> str:
    """Render inline markup as the words a reader sees."""
    if text.startswith("|") and text.endswith("|") and " | " in text:
        text = " | ".join(cell.strip() for cell in text.strip("|").split("|") if cell.strip())
    text = _ROLE.sub(lambda match: _shown(match.group(1)), text)
    text = _LITERAL.sub(r"\1", text)
    text = _LINK.sub(lambda match: _shown(match.group(1)), text)
    text = _INTERPRETED.sub(r"\1", text)
    text = _STRONG.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\1", text)
    text = _REFERENCE.sub(r"\1", text)
    text = _SUBSTITUTION.sub(r"\1", text)
    return text.replace("\\", "")


def _shown(target: str) -> str:
    """Return what a reference shows: "title <target>" reads as its title."""
    target = target.lstrip("~!")
    titled = _TARGET.sub("", target)
    return titled or target
