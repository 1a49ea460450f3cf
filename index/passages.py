"""Passages: the matching chunks of a search, each read with its neighbours in the document."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from index.records import Chunk
from index.sentences import opening_line
from index.store import StoredIndex

# A passage is its matching chunk, the chunk before it, and the chunks after it until it holds
# about this many characters (at most _MAX_AFTER): the heading and first lines of a section
# make one-line chunks ("git-blame - Show what revision…") whose answer is a chunk or two on.
_PASSAGE_CHARS = 1500
_MAX_AFTER = 2
# A passage next to a better one joins it while the two stay under this many characters.
_GROWN_CHARS = 2500
_MIN_OVERLAP = 16  # characters: a shorter match of end and start is chance, not repetition


def lede(passage: Chunk, first: Chunk | None) -> str:
    """Return the opening line of the passage's document when it summarises the page, else ""."""
    if first is None or first.source != passage.source or first.position != 0:
        return ""
    line = opening_line(first.text)
    return "" if line in passage.text else line


@dataclass(frozen=True, slots=True)
class _Extent:
    """A passage's first and last chunk ids, and whether other passages show the chunks around."""

    first: int
    last: int
    # When another passage shows the chunk before first (or after last), the sentences the two
    # chunks share are that passage's, not this one's.
    after_shown: bool = False
    before_shown: bool = False


def choose_passages(
    index: StoredIndex, ranked: Sequence[int], top_k: int
) -> tuple[list[int], dict[int, Chunk], dict[int, _Extent]]:
    """Choose the top_k passages: the matching chunks, best first, each grown with neighbours.

    Return the matching chunks, every chunk read, and each passage's extent. Passages never share
    a chunk, and a chunk whose text was already shown (a section included in several pages, as
    Git's manual does) is passed over. A chunk next to a better passage joins it, or failing
    that is a passage of its own, its shared sentences left to the better one. It was once kept
    out as a guard band, and never shown: that lost the answer to two Django tuning questions
    (tuning halves: MRR 0.469 -> 0.472 Git, 0.617 -> 0.621 Django; recall@5 Django 0.771 ->
    0.800, recall@10 Git 0.743 -> 0.771; passages 3% longer on average).
    """
    centres: list[int] = []
    # One read for the likely passages; a candidate passed over costs a read of its own.
    chunks = index.chunks(sorted({i for c in ranked[:top_k] for i in _window(c)}))
    extents: dict[int, _Extent] = {}
    taken: set[int] = set()
    shown: set[str] = set()
    for chunk_id in ranked:
        if len(centres) == top_k:
            break
        if chunk_id in taken:
            continue
        missing = [i for i in _window(chunk_id) if i not in chunks]
        if missing:
            chunks |= index.chunks(missing)
        centre = chunks[chunk_id]
        if centre.text in shown:
            continue
        grown = _grown(extents, chunks, taken, chunk_id)
        if grown is not None:
            extents[grown.centre] = grown.extent
            taken.add(chunk_id)
            shown.add(centre.text)
            continue
        low = chunk_id - 1 if _joins(chunks, taken, shown, centre, chunk_id - 1) else chunk_id
        if low < chunk_id and _opens_section_before(chunks, taken, shown, centre, low):
            low -= 1
        high = chunk_id
        size = sum(len(chunks[i].text) for i in range(low, high + 1))
        while (
            size < _PASSAGE_CHARS
            and high < chunk_id + _MAX_AFTER
            and _joins(chunks, taken, shown, centre, high + 1)
        ):
            high += 1
            size += len(chunks[high].text)
        centres.append(chunk_id)
        extents[chunk_id] = _Extent(low, high, low - 1 in taken, high + 1 in taken)
        taken.update(range(low, high + 1))
        shown.update(chunks[i].text for i in range(low, high + 1))
    return centres, chunks, extents


def _window(chunk_id: int) -> range:
    """Return the ids a passage around chunk_id may take, and the one before its first.

    A passage takes the chunk before chunk_id (two, where the second opens its section) and up
    to _MAX_AFTER after; the chunk before those tells whether the passage starts a section,
    whose heading it then shows.
    """
    return range(max(0, chunk_id - 3), chunk_id + _MAX_AFTER + 1)


def _opens_section_before(
    chunks: Mapping[int, Chunk], taken: set[int], shown: set[str], centre: Chunk, first: int
) -> bool:
    """Tell whether the chunk before a passage's first opens the passage's section, so the
    passage should reach back to it.

    A section says what it is about in its opening lines ("HEAD normally refers to a named
    branch…" opens git-checkout's DETACHED HEAD); a passage from its middle, one chunk short
    of them, shows neither its heading nor what it answers. On the tuning halves: Django MRR
    0.615 -> 0.639 and recall@5 0.829 -> 0.857, Git 0.473 -> 0.468 (one question from rank 2 to
    3), Hatch unchanged; quotes' phrases unchanged (docs/quality.md).
    """
    before = first - 1
    if not _joins(chunks, taken, shown, centre, before) or chunks[first].section != centre.section:
        return False
    if chunks[before].section != centre.section:
        return False
    earlier = chunks.get(before - 1)
    return earlier is None or earlier.source != centre.source or earlier.section != centre.section


def _joins(
    chunks: Mapping[int, Chunk], taken: set[int], shown: set[str], centre: Chunk, i: int
) -> bool:
    """Tell whether chunk i is free to join the passage around centre: same document, unused."""
    chunk = chunks.get(i)
    return (
        chunk is not None
        and chunk.source == centre.source
        and i not in taken
        and chunk.text not in shown
    )


@dataclass(frozen=True, slots=True)
class _Growth:
    """A passage (by its centre) and the extent it grows to."""

    centre: int
    extent: _Extent


def _grown(
    extents: Mapping[int, _Extent], chunks: Mapping[int, Chunk], taken: set[int], chunk_id: int
) -> _Growth | None:
    """Return a better passage next to chunk_id grown to take it in, if it stays short enough.

    The chunk just past a passage often holds the answer the passage leads up to; shown as a
    passage of its own it would crowd out a different one.
    """
    chunk = chunks[chunk_id]
    for centre, extent in extents.items():
        if chunks[centre].source != chunk.source:
            continue
        if chunk_id == extent.last + 1:
            grown = dataclasses.replace(extent, last=chunk_id, before_shown=chunk_id + 1 in taken)
        elif chunk_id == extent.first - 1:
            grown = dataclasses.replace(extent, first=chunk_id, after_shown=chunk_id - 1 in taken)
        else:
            continue
        size = sum(len(chunks[i].text) for i in range(grown.first, grown.last + 1))
        return _Growth(centre, grown) if size <= _GROWN_CHARS else None
    return None


@dataclass(frozen=True, slots=True)
class JoinedPassage:
    """A passage's chunks as one, with what it shows of the page's sections."""

    chunk: Chunk
    headings: tuple[str, ...]  # section headings shown inside the passage
    sections: tuple[tuple[int, str], ...]  # where each section's text starts, and its path


def joined(centre: int, extent: _Extent, chunks: Mapping[int, Chunk]) -> JoinedPassage:
    """Join a passage's chunks into one, the overlap of each pair said once.

    A section that starts inside the passage, or at its first chunk, shows its heading where the
    document has it, as the page reads. Sentences a better passage shows next door are left to
    it. Each chunk is of one section, so where each begins is known here, and nowhere after.
    """
    first, last = extent.first, extent.last
    shown: list[str] = []
    sections: list[tuple[int, str]] = []
    text = ""
    for i in range(first, last + 1):
        chunk = chunks[i]
        headings = chunk.headings_begun(chunks.get(i - 1))
        shown += headings
        if not sections or sections[-1][1] != chunk.section:
            sections.append((len(text) + 1 if text else 0, chunk.section))
        own = chunk.text
        if i == first and extent.after_shown:
            # A chunk repeats the end of the one before it.
            own = own[_overlap(chunks[i - 1].text, own) :].lstrip()
        if i == last and extent.before_shown:
            following = chunks[i + 1].text
            own = own[: len(own) - _overlap(own, following)].rstrip()
        if headings:
            # Packing is per section, so no overlap crosses a heading.
            text = "\n".join(part for part in (text, *headings, own) if part)
        elif text:
            size = _overlap(text, own)
            text = text + own[size:] if size else text + "\n" + own
        else:
            text = own
    inside = [chunks[i] for i in range(first, last + 1)]
    passage = dataclasses.replace(
        chunks[centre],
        text=text,
        start=min(chunk.start for chunk in inside),
        end=max(chunk.end for chunk in inside),
        code_lines=tuple(dict.fromkeys(line for chunk in inside for line in chunk.code_lines)),
    )
    return JoinedPassage(passage, tuple(shown), tuple(sections))


def _overlap(first: str, second: str) -> int:
    """Return how many characters of second's start repeat first's end, sentences whole (or 0)."""
    if len(second) >= _MIN_OVERLAP:
        head = second[:_MIN_OVERLAP]
        at = first.find(head)
        while at != -1:
            size = len(first) - at  # first[at:] must be exactly where second starts
            if second.startswith(first[at:]) and (size == len(second) or second[size] in " \n"):
                return size
            at = first.find(head, at + 1)
    return 0
