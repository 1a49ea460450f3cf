"""The Markdown people write for site generators, brought back to what a reader of the site sees.

MkDocs Material, pymdownx, Docusaurus (MDX) and Hugo pages carry markup that the site renders
as boxes, tabs, icons and included files, and that plain CommonMark shows as text: "Request Files
{ #request-files }", "/// tip", "{* ../../docs_src/app.py *}". What the plugins of markdown-it
parse (admonitions, definition lists) is left to them (ingest/markdown_text.py); this module
removes, line by line, the markers no plugin reads. Every line keeps its number, so citations
still point at the right lines.
"""

from __future__ import annotations

import re

# Blocks of pymdownx.blocks ("/// note | Title", "//// tab | Python 3.10+", "///"): the marker
# lines go, their content stays.
_SLASH_BLOCK = re.compile(r"^\s*/{3,}")
# Content tabs ('=== "Tab"') are read by the admonition plugin once spelled as a collapsible.
_CONTENT_TAB = re.compile(r'^(\s*)===(\+?)\s+(".*")\s*$')
# mkdocstrings and mkdocs-click directives ("::: package.module.Name", "::: mkdocs-click"), and
# the options indented under them: the API they would render is not in the page.
_DIRECTIVE = re.compile(r"^(\s*):::\s*[\w-]+(\.[\w-]+)+\s*$|^(\s*):::\s*mkdocs-click\s*$")
# Docusaurus admonitions (":::note Title" ... ":::"): markers go, content stays.
_COLON_FENCE = re.compile(r"^\s*:{3,}")
# Includes the page can't resolve from its own text: snippets and FastAPI-style file includes.
_INCLUDE = re.compile(r"^\s*;?-{2}8<-{2}|^\s*\{\*.*\*\}\s*$")
# MDX module lines.
_MDX_MODULE = re.compile(r"^(import\s+.+\s+from\s+['\"].+['\"]|export\s+(default\s+)?\w+).*$")
# Abbreviation definitions ("*[HTML]: Hyper Text Markup Language").
_ABBREVIATION = re.compile(r"^\*\[[^\]]+\]:")
# Inline markup a reader never sees, removed from text (never from code): attribute lists
# ("{ #anchor }", "{: .class }", "{: #hatch-v1.17.1 }"), template tags ("{% include %}",
# "{{ version }}"), Hugo shortcodes, MkDocs Material icons.
_INLINE = re.compile(
    r"\s*\{:?\s*[#.][\w.:-]+(?:\s+[#.]?[\w.:-]+(?:=(?:\"[^\"]*\"|\S+))?)*\s*\}"
    r"|\{\{[<%].*?[>%]\}\}"
    r"|\{%-?.*?-?%\}"
    r"|\{\{.*?\}\}"
    r"|:(?:material|octicons|fontawesome|simple)-[\w-]+:"
)
_DOUBLE_SPACE = re.compile(r"(?<=\S)  +(?=\S)")
# pymdownx.keys: "++ctrl+alt+del++", '++"Python: Select Interpreter"++' show as the keys.
_KEYS = re.compile(r"\+\+(\S(?:.*?\S)?)\+\+")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")
# Terminal sessions rendered with colours: their <font>/<span> tags are not what was typed.
_SHELL_FENCES = frozenset({"", "console", "shell", "bash", "sh", "text", "shell-session"})
_COLOUR_TAG = re.compile(r"</?(?:font|span|u|b)(?:\s[^<>]*)?>", re.IGNORECASE)


def plain_markdown(text: str) -> str:
    """Rewrite generator dialect as CommonMark (plus admonitions), keeping every line's place."""
    lines = text.split("\n")
    fence = ""  # the open code fence's marker, "" outside code
    shell = False
    directive_indent = -1  # the indent of a directive whose options are being skipped
    for number, line in enumerate(lines):
        stripped = line.strip()
        if directive_indent >= 0:
            indent = len(line) - len(line.lstrip())
            if stripped and indent <= directive_indent:
                directive_indent = -1
            else:
                lines[number] = ""
                continue
        opened = _FENCE.match(line)
        if fence:
            if opened and opened.group(1).startswith(fence) and not opened.group(2):
                fence = ""
            elif _INCLUDE.match(line):
                lines[number] = ""
            elif shell:
                lines[number] = _COLOUR_TAG.sub("", line)
            continue
        if opened:
            fence = opened.group(1)
            shell = opened.group(2).lower() in _SHELL_FENCES
            continue
        directive = _DIRECTIVE.match(line)
        if directive:
            directive_indent = len(line) - len(line.lstrip())
            lines[number] = ""
            continue
        tab = _CONTENT_TAB.match(line)
        if tab:
            lines[number] = f"{tab.group(1)}???+ tab {tab.group(3)}"
            continue
        if (
            _SLASH_BLOCK.match(line)
            or _COLON_FENCE.match(line)
            or _INCLUDE.match(line)
            or _ABBREVIATION.match(line)
            or (not line.startswith((" ", "\t")) and _MDX_MODULE.match(line))
        ):
            lines[number] = ""
            continue
    return "\n".join(lines)


def strip_inline_markup(text: str) -> str:
    """Remove attribute lists, template tags, shortcodes, icons and key markers from text (not
    from code)."""
    if "++" in text:
        text = _KEYS.sub(r"\1", text)
    if "{" not in text and ":" not in text:
        return text
    stripped = _INLINE.sub("", text)
    return stripped if stripped == text else _DOUBLE_SPACE.sub(" ", stripped)
