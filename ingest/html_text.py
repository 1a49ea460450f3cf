"""Visible text of an HTML page: no scripts, styles or navigation, headings kept apart."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser

from ingest import inline_code

# Elements whose content a reader never sees as the page's content.
_HIDDEN = frozenset(
    [
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "canvas",
        "nav",
        "footer",
        "aside",
        "form",
        "button",
        "select",
        "iframe",
        "object",
        "head",
        "dialog",
        "menu",
    ]
)
_INLINE_CODE = frozenset({"code", "tt", "kbd", "samp"})
_HIDDEN_ROLES = frozenset({"navigation", "banner", "contentinfo", "search", "menu", "menubar"})
_BLOCKS = frozenset(
    [
        "p",
        "div",
        "li",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "section",
        "article",
        "main",
        "blockquote",
        "pre",
        "table",
        "tr",
        "caption",
        "figcaption",
        "figure",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "br",
        "hr",
        "address",
        "details",
        "summary",
        "body",
        "html",
    ]
)
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
# Anchors that only decorate a heading ("¶", "#") and classes of page chrome in generated docs.
_HIDDEN_CLASSES = frozenset(
    {
        "headerlink",
        "breadcrumbs",
        "breadcrumb",
        "skip-link",
        "sr-only",
        # Navigation and footers by generator: DocBook, Sphinx, MkDocs (Material), Docusaurus.
        "navheader",
        "navfooter",
        "toc",  # DocBook's per-chapter "Table of Contents"
        "related",
        "sphinxsidebar",
        "md-nav",
        "md-footer",
        "md-header",
        "md-sidebar",
        "md-source-file",
        "pagination-nav",
        "theme-doc-breadcrumbs",
        "theme-doc-footer",
        "theme-edit-this-page",
        "wy-nav-side",
        "rst-footer-buttons",
        # Sphinx viewcode's "[source]" after a signature: a link to the module's code, not text.
        "viewcode-link",
    }
)
# Ids that generators give the page's frame rather than its text: AsciiDoc's footer ("Last
# updated 2024-05-31 00:35:55 UTC" under every Git page), Sphinx themes' sidebar (Django's
# "Last update: May 26, 2026"), and the usual footer / sidebar / table-of-contents boxes. Not
# "header": AsciiDoc puts the page title and its NAME line there.
_HIDDEN_IDS = frozenset(
    {
        "footer",
        "footer-text",
        "sidebar",
        "navigation",
        "nav",
        "navbar",
        "toc",
        "breadcrumbs",
    }
)
_SPACE = re.compile(r"[ \t\r\n\f\v]+")
_ALNUM = re.compile(r"[^\W_]")
# A block whose letters are mostly link text is navigation (a table of contents, an index, a
# "previous | up | next" bar), not content. Real paragraphs that link a term or two stay far below.
_LINK_SHARE = 0.7
# Preformatted text that is prose wrapped by hand (AsciiDoc's literal paragraphs: Git's howtos
# and file-format pages) reads as a paragraph; its lines are not sentences. A "word" may carry
# punctuation or be a number; code, shell sessions and synopses fail on "$", "--flag", "x = 1".
_PROSE_WORD = re.compile(r"[(\"'“‘]*[A-Za-z][A-Za-z'’-]*[.,;:!?)\"'”’]*|\(?\d[\d.,%]*[.,;:)]*")
_PROSE_START = re.compile(r"[(\"'“‘]*[A-Za-z]")
_SENTENCE_END = re.compile(r"[.!?][\"')”’]*$")
_MID_SENTENCE = re.compile(r"[A-Za-z,]$")  # a line wrapped inside a sentence ends so
_PROSE_SHARE = 0.9
_PROSE_MIN_WORDS = 12

# A whole page this much link text is a book index or table of contents (Sphinx's genindex,
# contents.html): skipped, or every question about a term would cite the index entry.
_NAVIGATION_PAGE_SHARE = 0.6


@dataclass(frozen=True, slots=True)
class HtmlBlock:
    """A block of visible text: a heading (level 1-6), a paragraph (level 0) or a code block."""

    text: str
    level: int
    code: bool = False
    anchor: str = ""  # a heading's id: its own, one inside it, its "¶" link's, or its section's


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.canonical = ""  # <link rel="canonical">
        self.og_url = ""  # <meta property="og:url">
        self.blocks: list[HtmlBlock] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, hides its content)
        # How many of each tag are open: an end tag with none open costs nothing, where a scan
        # of the stack made a page of unmatched end tags quadratic.
        self._open: Counter[str] = Counter()
        self._hidden_depth = 0  # open elements that hide their content
        self._buffer: list[str] = []
        # Whether the buffer holds visible text: a row's cells are set apart by " | " after it,
        # not after an empty cell or an admonition's icon ("| There is a difference…").
        self._buffer_shows_text = False
        self._linked: list[str] = []  # the part of the buffer inside <a>
        self._in_title = False
        self._heading: list[int] = []  # levels of open heading elements
        # Open <section> elements: their id ("" for none) and whether a heading took it yet.
        self._sections: list[tuple[str, bool]] = []
        self._anchor = ""  # the id found for the heading being read
        self._anchor_link = ""  # its "¶" link's target, used when no id is found
        self._links = 0
        self._pre = 0
        self._code = 0  # open inline code elements (<code>, <tt>, <kbd>, <samp>) outside <pre>
        self._term = ""  # a <dt> waiting for its <dd>: "--keepdb" then its description
        self.letters = 0  # visible letters on the page, and how many of them are link text
        self.linked_letters = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "title":
            self._in_title = True
        elif tag == "link" and "canonical" in (values.get("rel") or "").lower().split():
            self.canonical = self.canonical or (values.get("href") or "")
        elif tag == "meta" and (values.get("property") or "").lower() == "og:url":
            self.og_url = self.og_url or (values.get("content") or "")
        if tag in _BLOCKS:
            self._flush()
        if tag in ("td", "th") and self._buffer_shows_text:
            self._buffer.append(" | ")  # a table row reads as one line, cells apart
        if tag in _VOID:
            return
        classes = set((values.get("class") or "").lower().split())
        hides = (
            tag in _HIDDEN
            or (values.get("role") or "").lower() in _HIDDEN_ROLES
            or "hidden" in values
            or (values.get("aria-hidden") or "").lower() == "true"
            or bool(classes & _HIDDEN_CLASSES)
            or (values.get("id") or "").lower() in _HIDDEN_IDS
        )
        self._stack.append((tag, hides))
        self._open[tag] += 1
        self._hidden_depth += hides
        self._note_anchor(tag, values)
        if tag in _HEADINGS:
            self._heading.append(_HEADINGS[tag])
        elif tag == "a":
            self._links += 1
        elif tag == "pre":
            self._pre += 1
        elif tag in _INLINE_CODE:
            self._code += 1
            if self._code == 1 and not self._pre:
                self._buffer.append(inline_code.OPENS)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _BLOCKS:
            self._flush(closing=tag)
        if not self._open[tag]:
            return  # a stray end tag
        # Malformed pages close tags out of order: pop back to the matching open tag.
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth][0] == tag:
                for open_tag, hides in self._stack[depth:]:
                    self._open[open_tag] -= 1
                    self._hidden_depth -= hides
                    if open_tag in _HEADINGS and self._heading:
                        self._heading.pop()
                    elif open_tag == "section" and self._sections:
                        self._sections.pop()
                    elif open_tag == "a":
                        self._links -= 1
                    elif open_tag == "pre":
                        self._pre -= 1
                    elif open_tag in _INLINE_CODE:
                        self._code -= 1
                        if not self._code:
                            self._buffer.append(inline_code.CLOSES)
                del self._stack[depth:]
                break

    def _note_anchor(self, tag: str, values: dict[str, str | None]) -> None:
        """Remember the id a heading can be linked by, as generators give it.

        MkDocs and Docusaurus put it on the heading, DocBook on an <a name> inside it, Sphinx on
        the enclosing <section> (and its "¶" link points at it).
        """
        identifier = (values.get("id") or values.get("name") or "").strip()
        if tag == "section":
            self._sections.append((identifier, False))
        if tag in _HEADINGS:
            self._anchor = identifier
            self._anchor_link = ""
        elif self._heading:
            if identifier and not self._anchor:
                self._anchor = identifier
            href = (values.get("href") or "").strip() if tag == "a" else ""
            if href.startswith("#") and len(href) > 1 and not self._anchor_link:
                self._anchor_link = href[1:]

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._hidden_depth:
            self._buffer.append(data)
            self._buffer_shows_text = self._buffer_shows_text or bool(data.strip())
            if self._links:
                self._linked.append(data)

    def _flush(self, closing: str = "") -> None:
        raw = "".join(self._buffer)
        lines: list[str] = []
        if self._pre > 0 or closing == "pre":
            lines = [line.rstrip() for line in raw.strip("\n").split("\n") if line.strip()]
        code = bool(lines) and not _is_wrapped_prose(lines)
        text = "\n".join(lines) if code else _SPACE.sub(" ", raw).strip()  # code keeps indents
        level = self._heading[-1] if self._heading else 0
        # Code in a sentence stays marked as code; a heading or a definition's term reads plain.
        keep_marks = not (code or level or closing == "dt")
        text = inline_code.finish(text, keep_marks)
        # A code block's first line keeps its indent: a drawn history ("      H---I topicB")
        # lost it and no longer lined up with the lines under it.
        text = text.strip("\n").rstrip() if code else text.strip()
        linked = sum(len(_ALNUM.findall(part)) for part in self._linked)
        self._buffer.clear()
        self._buffer_shows_text = False
        self._linked.clear()
        if not text:
            return
        letters = len(_ALNUM.findall(text))
        self.letters += letters
        self.linked_letters += linked
        if letters and linked / letters >= _LINK_SHARE:
            return  # navigation: a table of contents, an index entry, previous/next links
        if closing == "dt" and not level:
            self._term = f"{self._term}, {text}" if self._term else text
            return
        if self._term and not level:
            # A field list's term carries its own colon ("Exit code 0:"): not "Exit code 0::".
            text = f"{self._term.removesuffix(':')}: {text}"
        self._term = ""
        anchor = ""
        if level:
            anchor = self._anchor or self._anchor_link
            if self._sections and not self._sections[-1][1]:
                # The section's first heading is the one its id names; a later heading inside
                # it without an id of its own is left to the nearest one above that has one.
                anchor = anchor or self._sections[-1][0]
                self._sections[-1] = (self._sections[-1][0], True)
            self._anchor = self._anchor_link = ""
        self.blocks.append(HtmlBlock(text, level, code, anchor))

    def close(self) -> None:
        super().close()
        self._flush()
        if self._term:
            self.blocks.append(HtmlBlock(self._term, 0))


def _is_wrapped_prose(lines: list[str]) -> bool:
    """Tell whether preformatted lines are sentences wrapped by hand, not code or layout.

    Every line starts at one indent with a word, nearly every token is a word, some sentence
    ends, and most lines break mid-sentence ("…with "SQUASH???" in its" / "title, to fix…").
    """
    if len(lines) < 2:
        return False
    indent = len(lines[0]) - len(lines[0].lstrip())
    words: list[str] = []
    for line in lines:
        text = line.lstrip()
        if len(line) - len(text) != indent or not _PROSE_START.match(text):
            return False  # nested indents or a line opening with a symbol: code, a list
        words += text.split()
    prose = sum(bool(_PROSE_WORD.fullmatch(word)) for word in words)
    wraps = sum(bool(_MID_SENTENCE.search(line)) for line in lines[:-1])
    return (
        len(words) >= _PROSE_MIN_WORDS
        and prose >= _PROSE_SHARE * len(words)
        and any(_SENTENCE_END.search(word) for word in words)
        and 2 * wraps >= len(lines) - 1
    )


@dataclass(frozen=True, slots=True)
class HtmlPage:
    """What a reader sees of a page."""

    title: str
    blocks: list[HtmlBlock]
    link_share: float  # share of the visible letters that are link text
    url: str = ""  # the page's canonical address (or og:url), as the page gives it


def visible_text(html: str) -> HtmlPage:
    """Return the page title and its visible blocks, navigation and page chrome left out."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    share = parser.linked_letters / parser.letters if parser.letters else 0.0
    url = (parser.canonical or parser.og_url).strip()
    return HtmlPage(_SPACE.sub(" ", parser.title).strip(), parser.blocks, share, url)


def is_navigation_page(page: HtmlPage) -> bool:
    """Tell whether a page is a table of contents or an index: nearly all of it links."""
    return page.link_share >= _NAVIGATION_PAGE_SHARE
