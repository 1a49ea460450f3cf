"""Inline code in running text, kept marked as the page marks it: `list_display`, `{{ form }}`.

A page sets a name, a command or template syntax in a sentence apart as code ("Use {{ form }}
in the template"). Read as plain words, the chat showed "{{ form }}" as if a template had
leaked into the answer; marked, Slack and Discord show it as code, as the page does.
"""

from __future__ import annotations

import re

from index.records import CODE_MARK as MARK

# Where an HTML code element opens and closes while its block is read: characters no page
# holds (Unicode private use), replaced by MARK or dropped once the block is whole.
OPENS, CLOSES = "\ue000", "\ue001"
_SPAN = re.compile(f"{OPENS}([^{OPENS}{CLOSES}]*){CLOSES}")


def marked(code: str) -> str:
    """Return code set apart by MARK, its outer spaces outside; as it is when it can't be
    (nothing in it, a MARK of its own, or a line break)."""
    inner = code.strip()
    if not inner or MARK in inner or "\n" in inner:
        return code
    lead = code[: len(code) - len(code.lstrip())]
    trail = code[len(code.rstrip()) :]
    return f"{lead}{MARK}{inner}{MARK}{trail}"


def finish(text: str, keep: bool) -> str:
    """Turn a block's code spans (between OPENS and CLOSES) into marked code, or into plain
    text where marks don't belong (keep False: a heading, a definition's term, code blocks).

    A block that is one span whole (a command on a line of its own) is left unmarked: it
    reads as the code line it is.
    """
    if keep:
        text = _SPAN.sub(lambda span: marked(span[1]), text)
    text = text.replace(OPENS, "").replace(CLOSES, "")
    return unmarked_whole(text)


def unmarked_whole(text: str) -> str:
    """Return a text that is one marked span whole without its marks."""
    stripped = text.strip()
    if len(stripped) > 2 and stripped.count(MARK) == 2 and stripped[0] == stripped[-1] == MARK:
        return stripped[1:-1]
    return text
