"""Visible text of an HTML page: no scripts, styles or navigation, headings kept apart."""

from __future__ import annotations

import re
from html.parser import HTMLParser

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
        "header",
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
        "td",
        "th",
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
_HEADINGS = frozenset(["h1", "h2", "h3", "h4", "h5", "h6"])
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
_SPACE = re.compile(r"\s+")


class _VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.blocks: list[tuple[str, bool]] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, hides its content)
        self._buffer: list[str] = []
        self._in_title = False
        self._heading_depth = 0

    @property
    def _hidden(self) -> bool:
        return any(hides for _, hides in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "title":
            self._in_title = True
        if tag in _BLOCKS:
            self._flush()
        if tag in _VOID:
            return
        hides = (
            tag in _HIDDEN
            or (values.get("role") or "").lower() in _HIDDEN_ROLES
            or "hidden" in values
            or (values.get("aria-hidden") or "").lower() == "true"
        )
        self._stack.append((tag, hides))
        if tag in _HEADINGS:
            self._heading_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        if tag in _BLOCKS:
            self._flush()
        # Malformed pages close tags out of order: pop back to the matching open tag, if any.
        for depth in range(len(self._stack) - 1, -1, -1):
            if self._stack[depth][0] == tag:
                for open_tag, _ in self._stack[depth:]:
                    if open_tag in _HEADINGS:
                        self._heading_depth -= 1
                del self._stack[depth:]
                break

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._hidden:
            self._buffer.append(data)

    def _flush(self) -> None:
        text = _SPACE.sub(" ", "".join(self._buffer)).strip()
        self._buffer.clear()
        if text:
            self.blocks.append((text, self._heading_depth > 0))

    def close(self) -> None:
        super().close()
        self._flush()


def visible_text(html: str) -> tuple[str, list[tuple[str, bool]]]:
    """Return the page title and its visible blocks as (text, is_heading) pairs."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return _SPACE.sub(" ", parser.title).strip(), parser.blocks
