"""Markdown parsed by markdown-it-py into headings, paragraphs, list items, tables and code."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.admon import admon_plugin
from mdit_py_plugins.attrs import attrs_plugin
from mdit_py_plugins.deflist import deflist_plugin
from mdit_py_plugins.footnote import footnote_plugin

from index.records import unmarked
from ingest import inline_code
from ingest.document import Block
from ingest.markdown_dialects import plain_markdown, strip_inline_markup

# CommonMark plus GitHub's tables and strikethrough, MkDocs admonitions (their indented content
# is text, not code) and definition lists; raw HTML is read as text, never rendered.
_PARSER = (
    MarkdownIt("commonmark", {"html": True})
    .enable(["table", "strikethrough"])
    .use(admon_plugin)
    .use(deflist_plugin)
    .use(footnote_plugin)  # "compliant[^1]": the marker is a link, its note a paragraph
    # attr_list after an image, link or code: "![Run file](run.png){ loading=lazy }"
    .use(attrs_plugin)
)
# Material's md_in_html: "<figure markdown>" or '<div markdown="1">' holds Markdown, not HTML.
# The opening tag and the attribute are matched apart, each in one pass over hostile text.
_OPENING_TAG = re.compile(r"\s*<([A-Za-z][\w-]*)([^<>]*)>")
_MARKDOWN_ATTRIBUTE = re.compile(r"\bmarkdown\b")
# Markdown in HTML in Markdown…: deeper than this, a block is read as HTML (no page needs more,
# and each level parses its content again).
_MARKDOWN_IN_HTML_DEPTH = 3
# markdown-it stops at 20 levels of nesting and drops what lies deeper (a list 10 deep lost the
# rest of its file). 100 levels cost nothing on real pages; past them, lines no block holds are
# read as plain text (see _lost_lines), never dropped.
_PARSER.options["maxNesting"] = 100
_LINK_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*\S")
# A heading's closing sequence ("## Title ##"), left when something followed it on the line.
_CLOSING_HASHES = re.compile(r"\s+#+$")
# A line break written as HTML ("`micro`<br>`patch`<br>`fix`" in a table's cell): without it the
# words run together ("micropatchfix").
_HTML_BREAK = re.compile(r"<br\s*/?>", re.I)
_ENDS_SENTENCE = re.compile(r"[.!?:;,]$")
_TEXT_TOKENS = frozenset({"inline", "fence", "code_block", "html_block"})
_FRONT_MATTER_LINES = 200
# Front matter is a few fields; past this it is not front matter (or it is an attack).
_FRONT_MATTER_CHARS = 64_000


class _NoAliasLoader(yaml.SafeLoader):  # type: ignore[misc]
    """A YAML loader that refuses aliases: 568 bytes of nested aliases expand to 10⁹ strings."""

    def compose_node(self, parent: object, index: object) -> object:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "front matter uses a YAML alias", event.start_mark
            )
        return super().compose_node(parent, index)


def front_matter(text: str, warnings: list[str] | None = None) -> tuple[dict[str, object], int]:
    """Read a leading YAML block between '---' lines; return it and the body's first line.

    Anything that is not a mapping of valid YAML is left in the text as content. Aliases are
    refused and the block's size capped, so memory is bounded by the file, not by what its YAML
    claims to expand to; warnings (if given) says why a block was not read.
    """
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, 0
    for number, line in enumerate(lines[1:_FRONT_MATTER_LINES], start=1):
        if line.strip() in ("---", "..."):
            block = "\n".join(lines[1:number])
            if len(block) > _FRONT_MATTER_CHARS:
                _warn(warnings, f"front matter over {_FRONT_MATTER_CHARS:,} characters")
                return {}, 0
            try:
                meta = yaml.load(block, Loader=_NoAliasLoader)  # noqa: S506 (a safe loader)
            except yaml.YAMLError as exc:
                if "alias" in str(exc):
                    _warn(warnings, "front matter uses YAML aliases (&name / *name)")
                return {}, 0
            return (meta, number + 1) if isinstance(meta, dict) else ({}, 0)
    return {}, 0


def _warn(warnings: list[str] | None, problem: str) -> None:
    if warnings is not None:
        warnings.append(f"{problem}, which citebot does not read; it was kept as text")


def markdown_blocks(
    text: str, first_line: int, warnings: list[str] | None = None
) -> tuple[Block, ...]:
    """Parse Markdown text whose first line is numbered first_line into blocks.

    warnings (if given) hears of text nested too deep to parse, which is kept as plain lines.
    """
    plain = plain_markdown(text)
    tokens = _PARSER.parse(plain)
    blocks = _blocks(tokens, first_line)
    lost = _lost_lines(plain, tokens)
    if lost:
        if warnings is not None:
            warnings.append(
                f"{len(lost)} lines nested deeper than Markdown allows "
                f"({_PARSER.options['maxNesting']} levels) were read as plain text"
            )
        blocks += [
            Block(line.strip(" \t>*+-"), False, "line", n + first_line, n + first_line)
            for n, line in lost
        ]
        blocks.sort(key=lambda block: block.start)
    return tuple(blocks)


def _lost_lines(text: str, tokens: Sequence[Token]) -> list[tuple[int, str]]:
    """Return the lines with words that no text-bearing token covers (parsing gave up)."""
    covered: set[int] = set()
    for token in tokens:
        if token.type in _TEXT_TOKENS and token.map:
            # A definition list's term is mapped to an empty range ([2, 2]) on its own line:
            # read as lost, it was kept a second time as a block of its own.
            covered.update(range(token.map[0], max(token.map[1], token.map[0] + 1)))
    return [
        (n, line)
        for n, line in enumerate(text.split("\n"))
        if n not in covered
        and any(char.isalnum() for char in line)
        and not _LINK_DEFINITION.match(line)
    ]


def _markdown_in_html(html: str) -> tuple[str, int] | None:
    """Return the Markdown an md_in_html block holds and the line it starts on, or None."""
    opening = _OPENING_TAG.match(html)
    if not opening or not _MARKDOWN_ATTRIBUTE.search(opening[2]):
        return None
    body = html.rstrip()
    closing = f"</{opening[1]}>"
    if not body.endswith(closing):
        return None
    inner = body[opening.end() : len(body) - len(closing)]
    return textwrap.dedent(inner), html[: opening.end()].count("\n")


def _blocks(tokens: Sequence[Token], first_line: int, depth: int = 0) -> list[Block]:
    """Turn markdown-it's tokens into blocks of text with their line numbers."""
    blocks: list[Block] = []
    row: list[str] = []
    row_lines: tuple[int, int] = (0, 0)
    heading_level = 0
    term = ""  # a definition list's term waiting for its description: "term: description"
    for index, token in enumerate(tokens):
        start, end = _lines(token, first_line)
        before = tokens[index - 1].type if index else ""
        if token.type == "inline" and before == "admonition_title_open":
            continue  # "Note", "Tip", a tab's label: the box's caption, not the page's text
        if token.type == "inline" and before == "dt_open":
            term = _inline_text(token.children or [], marks=False)[0]
            continue
        if token.type == "heading_open":
            heading_level = int(token.tag[1:])
        elif token.type == "heading_close":
            heading_level = 0
        elif token.type == "tr_open":
            row, row_lines = [], (start, end)
        elif token.type == "tr_close":
            if any(row):
                line = row_lines[0]
                joined = " | ".join(row)
                blocks.append(Block(joined, False, "line", line, line, ((0, line),)))
        elif token.type == "inline":
            if tokens[index - 1].type in ("th_open", "td_open"):
                row.append(_inline_text(token.children or [], in_cell=True)[0])
                continue
            rendered, offsets = _inline_text(token.children or [], start, marks=not heading_level)
            if heading_level:
                # "## Title ## {: #id }": the attribute list went, the closing hashes remain.
                rendered = _CLOSING_HASHES.sub("", rendered)
            if not rendered:
                continue
            if term and heading_level == 0:
                prefix = f"{term}: "
                rendered = prefix + rendered
                offsets = [(0, start)] + [(at + len(prefix), line) for at, line in offsets[1:]]
                term = ""
            blocks.append(
                Block(
                    rendered,
                    heading_level > 0,
                    "line",
                    start,
                    offsets[-1][1] if offsets else start,
                    tuple(offsets),
                    level=max(1, heading_level),
                )
            )
        elif token.type in ("fence", "code_block"):
            code = token.content.rstrip("\n")
            if code.strip():
                lines = _code_offsets(code, start + (token.type == "fence"))
                blocks.append(Block(code, False, "line", start, end, lines, code=True))
        elif token.type == "html_block":
            inner = _markdown_in_html(token.content) if depth < _MARKDOWN_IN_HTML_DEPTH else None
            if inner:  # its lines read as the Markdown they are, from the tag's line on
                markdown, lines_before = inner
                parsed = _PARSER.parse(plain_markdown(markdown))
                blocks += _blocks(parsed, start + lines_before, depth + 1)
                continue
            from ingest.html_text import visible_text  # noqa: PLC0415 (a rare case)

            for part in visible_text(token.content).blocks:
                blocks.append(
                    Block(
                        part.text, part.level > 0, "line", start, end, ((0, start),), code=part.code
                    )
                )
    return blocks


def _lines(token: Token, first_line: int) -> tuple[int, int]:
    if token.map is None:
        return first_line, first_line
    return token.map[0] + first_line, max(token.map[0], token.map[1] - 1) + first_line


# pymdownx.inlinehilite's language mark opening inline code: "#!toml " of `#!toml x = 1`.
_HIGHLIGHT_MARK = re.compile(r"^#![\w+-]+\s+")
# A reference link whose definition the page doesn't hold ("[the standard][project metadata
# standard]", "[PEP 517][]": MkDocs sites append them from a shared file): its text, as the site
# shows it. A resolved one is a link token, never text.
_UNRESOLVED_REFERENCE = re.compile(r"\[([^\[\]\n]+)\]\[[^\[\]\n]*\]")


def _inline_text(
    children: Sequence[Token], first: int = 0, *, in_cell: bool = False, marks: bool = True
) -> tuple[str, list[tuple[int, int]]]:
    """Render inline tokens as plain text, with the line number of each line's first character.

    in_cell: the text is a table's cell, where a line break separates items ("micro, patch,
    fix"); in prose it is a space. marks: inline code stays marked as code (`--check`), as
    in a sentence; a heading or a definition's term reads plain.
    """
    parts: list[str] = []
    offsets = [(0, first)]
    line = first
    length = 0
    for child in children:
        if child.type == "html_inline" and _HTML_BREAK.fullmatch(child.content.strip()):
            so_far = "".join(parts).rstrip()
            gap = ", " if in_cell and so_far and not _ENDS_SENTENCE.search(so_far) else " "
            parts.append(gap)
            length += len(gap)
            continue
        if child.type in ("softbreak", "hardbreak"):
            line += 1
            parts.append(" ")
            length += 1
            offsets.append((length, line))
            continue
        if child.type not in ("text", "code_inline", "image"):
            continue  # link, emphasis and inline-HTML markers: their words come as text tokens
        piece = child.content  # for an image, its alt text
        if child.type == "code_inline":
            # pymdownx.inlinehilite's language mark: the site shows `#!toml packages = […]`
            # as the highlighted `packages = […]`.
            piece = _HIGHLIGHT_MARK.sub("", piece, count=1)
        if child.type == "text":
            piece = _UNRESOLVED_REFERENCE.sub(r"\1", strip_inline_markup(piece))
        elif child.type == "code_inline" and marks:
            piece = inline_code.marked(piece)
        parts.append(piece)
        length += len(piece)
    text = "".join(parts)
    whole = inline_code.unmarked_whole(text)
    if whole != text:  # one span whole: a command on a line of its own reads as code
        text = unmarked(text)
        offsets = [(max(0, offset - 1), number) for offset, number in offsets]
    stripped = text.strip()
    shift = len(text) - len(text.lstrip())
    return stripped, [(max(0, offset - shift), number) for offset, number in offsets]


def _code_offsets(code: str, first: int) -> tuple[tuple[int, int], ...]:
    offsets = []
    position = 0
    for number, line in enumerate(code.split("\n"), start=first):
        offsets.append((position, number))
        position += len(line) + 1
    return tuple(offsets)
