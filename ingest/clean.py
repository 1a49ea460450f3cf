"""Drop page furniture captured with web pages, keeping every line of real content."""

from __future__ import annotations

import dataclasses
import re

from ingest.document import Block

# Whole blocks that are navigation, sharing widgets or newsletter prompts, never content.
_FURNITURE = re.compile(
    r"""^(?:
        (?:return|back|go\ back)\ to\ [\w\ ]{1,30}
      | (?:related|recommended|popular|more|latest)\ (?:articles|posts|stories|reading|news)
      | (?:view|see|show|load)\ (?:all|more)(?:\ \w+)?
      | subscribe(?:\ (?:to|now)\b.{0,60})?
      | (?:sign\ up|stay\ updated|get\ the\ latest|join\ our\ newsletter)\b.{0,100}
        (?:newsletter|inbox|updates|insights)[.!]?
      | (?:share|tweet|email|print)(?:\ (?:this|on)(?:\ \w+)?)?
      | reading\ time | \d+\ min(?:ute)?s?\ read
      | skip\ to\ (?:main\ )?content | toggle\ navigation | (?:main\ )?menu | search
      | (?:previous|next)\ (?:article|post|story)
      | advertisement | sponsored(?:\ content)?
      | read\ more | continue\ reading
      | accept(?:\ all)?\ cookies | cookie\ (?:settings|preferences|policy)
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
# A capture tool's truncation marker, e.g. "... (truncated, 7 KB total)e15d1209a99e5598".
# Tried only where whitespace starts: from inside a run of spaces, every start rescanned the
# run (40,000 spaces took 12 s).
_TRUNCATION = re.compile(r"(?:(?<=\S)|^)\s*(?:\.{3}|…)\s*\(truncated[^)]*\)\S*")


def is_furniture(text: str) -> bool:
    """Tell whether a block is page furniture rather than content."""
    return bool(_FURNITURE.match(text.strip()))


# Directional overrides and isolates (U+202A-U+202E, U+2066-U+2069): they make quoted text read
# backwards ("Trojan Source") and mean nothing in a quote.
_BIDI_CONTROLS = dict.fromkeys([*range(0x202A, 0x202F), *range(0x2066, 0x206A)])


def without_bidi_controls(text: str) -> str:
    """Remove the Unicode controls that reorder how text displays."""
    return text.translate(_BIDI_CONTROLS)


def clean_blocks(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
    """Remove furniture blocks, truncation markers and repeats of earlier paragraphs."""
    kept: list[Block] = []
    seen: set[str] = set()
    for block in blocks:
        text = _TRUNCATION.sub("", without_bidi_controls(block.text)).rstrip()
        if not text or is_furniture(text):
            continue
        # Web captures often repeat whole paragraphs; a repeat adds no content, only noise.
        key = " ".join(text.casefold().split())
        if not block.is_heading and len(key) >= 40:
            if key in seen:
                continue
            seen.add(key)
        kept.append(block if text == block.text else dataclasses.replace(block, text=text))
    return tuple(kept)
