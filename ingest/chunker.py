"""Sentence-aware chunks sized in the embedding model's own tokens, with a small overlap."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from index.clipping import clip_words
from index.embedder import TokenCounter
from index.errors import ConfigError
from index.records import Chunk, unmarked
from index.sentences import sentence_spans
from ingest.document import Block, Document

_SECTION_LIMIT = 160
_TITLE_LIMIT = 150
_MIN_BUDGET = 16
# WordPiece reads any word over 100 characters as one [UNK] token, so a 2 MB "word" would fit a
# 240-token chunk whole. Counting at least one token per this many characters caps every chunk
# near 240 x 12 characters whatever the input (ordinary text runs 4-5 characters a token).
_MAX_CHARS_PER_TOKEN = 12
# Sentences counted per tokenizer call: the tokenizer holds a call's encodings until it returns.
# Loading and chunking a 6 MB file peaked at 12x its size with 2,048, 8x with 512, as fast.
_COUNT_BATCH = 512
_UNCOUNTED_CHARS = 50_000  # far beyond any chunk: 512 tokens x 12 characters is 6,144


@dataclass(frozen=True, slots=True)
class _Piece:
    """A sentence (or part of an over-long one) with its size and place."""

    text: str
    tokens: int
    start: int
    end: int
    block: int  # index of the block it came from, to join pieces of one paragraph with spaces
    # What stood between it and the sentence before in its block: a code block's lines split
    # at a sentence's end ("  ..." then '"Framework :: Hatch",') stay lines.
    joined_by: str = " "
    code: bool = False  # from a code block


def chunk_document(
    document: Document, count_tokens: TokenCounter, *, max_tokens: int, overlap_tokens: int
) -> list[Chunk]:
    """Cut a document into chunks whose embedding text never exceeds max_tokens."""
    if overlap_tokens >= max_tokens // 2:
        raise ConfigError(
            f"chunk overlap {overlap_tokens} must be under half the chunk size {max_tokens}; "
            "lower CITEBOT_CHUNKING__OVERLAP_TOKENS"
        )
    title = clip_words(document.title, _TITLE_LIMIT)
    chunks: list[Chunk] = []
    for section, anchor, blocks in _sections(document.blocks, title):
        header = "\n".join(part for part in (title, section) if part)
        budget = max_tokens - count_tokens([header])[0] - 2  # the newlines joining the parts
        if budget < _MIN_BUDGET:
            raise ConfigError(
                f"chunk size {max_tokens} leaves no room for text after the title and heading of "
                f"{document.source}; raise CITEBOT_CHUNKING__CHUNK_TOKENS"
            )
        pieces = _pieces(blocks, count_tokens, budget)
        for group in _pack(pieces, budget, overlap_tokens):
            chunks.append(
                Chunk(
                    source=document.source,
                    title=title,
                    section=section,
                    text=_join(group),
                    unit=blocks[0].unit,
                    start=min(piece.start for piece in group),
                    end=max(piece.end for piece in group),
                    position=len(chunks),
                    anchor=anchor,
                    code_lines=_code_lines(group),
                )
            )
    return _enforce_limit(chunks, count_tokens, max_tokens)


def _sections(blocks: Sequence[Block], title: str) -> list[tuple[str, str, list[Block]]]:
    """Group paragraphs under their heading path: "Section › Subsection" (the title left out),
    with the anchor of the nearest heading on the path that has one."""
    sections: list[tuple[str, str, list[Block]]] = []
    path: list[Block] = []  # the headings above, from the outermost down
    current: list[Block] = []
    for block in blocks:
        if block.is_heading:
            if current:
                sections.append((_path_text(path, title), _anchor(path), current))
                current = []
            path = [heading for heading in path if heading.level < block.level]
            path.append(block)
        else:
            current.append(block)
    if current:
        sections.append((_path_text(path, title), _anchor(path), current))
    elif path and not sections:
        # A heading with nothing under it is still text someone may look for.
        last = blocks[-1]
        sections.append(("", "", [Block(last.text, False, last.unit, last.start, last.end)]))
    return sections


def _anchor(path: Sequence[Block]) -> str:
    return next((heading.anchor for heading in reversed(path) if heading.anchor), "")


def _path_text(path: Sequence[Block], title: str) -> str:
    """Join a heading path, leaving out headings that repeat the title or the page name."""
    folded_title = title.casefold()
    names = [
        heading.text
        for heading in path
        if heading.text.casefold() != folded_title
        and not folded_title.startswith(heading.text.casefold())
    ]
    joined = " › ".join(names)
    if len(joined) <= _SECTION_LIMIT:
        return joined
    return "… › " + clip_words(names[-1], _SECTION_LIMIT - 4)  # the nearest heading matters most


def _pieces(blocks: Sequence[Block], count_tokens: TokenCounter, budget: int) -> Iterator[_Piece]:
    """Yield the sentences of blocks with their sizes, counted a batch at a time."""
    batch: list[tuple[str, int, int, int, str]] = []
    code_blocks = {number for number, block in enumerate(blocks) if block.code}
    for number, block in enumerate(blocks):
        previous_end = 0
        for span_start, end in sentence_spans(block.text):
            # A code block's first line keeps its indent, as its other lines do: a drawn
            # history ("      H---I topicB") no longer lines up without it.
            start = 0 if block.code and not previous_end else span_start
            located = block.unit == "line"
            batch.append(
                (
                    block.text[start:end],
                    block.line_at(start) if located else block.start,
                    block.line_at(end - 1) if located else block.end,
                    number,
                    _separator(block.text[previous_end:start]),
                )
            )
            previous_end = end
            if len(batch) == _COUNT_BATCH:
                yield from _sized_pieces(batch, count_tokens, budget, code_blocks)
                batch = []
    yield from _sized_pieces(batch, count_tokens, budget, code_blocks)


def _separator(between: str) -> str:
    """Return what joins a sentence to the one before it in its block: a line break with the
    next line's indent ('  "Framework :: Hatch",' in a code block), or a space."""
    return between[between.rfind("\n") :] if "\n" in between else " "


def _sized_pieces(
    spans: list[tuple[str, int, int, int, str]],
    count_tokens: TokenCounter,
    budget: int,
    code_blocks: set[int],
) -> Iterator[_Piece]:
    counts = _sized([text for text, *_ in spans], count_tokens)
    for (text, start, end, number, joined_by), tokens in zip(spans, counts, strict=True):
        code = number in code_blocks
        if tokens <= budget:
            yield _Piece(text, tokens, start, end, number, joined_by, code)
        else:
            parts = _split_long(text, count_tokens, budget, start, end, number)
            yield dataclasses.replace(parts[0], joined_by=joined_by, code=code)
            yield from (dataclasses.replace(part, code=code) for part in parts[1:])


def _split_long(
    text: str, count_tokens: TokenCounter, budget: int, start: int, end: int, block: int
) -> list[_Piece]:
    """Cut a sentence longer than the budget at word boundaries, so nothing is truncated."""
    words = text.split(" ")
    counts = _sized(words, count_tokens)
    pieces: list[_Piece] = []
    current: list[str] = []
    used = 0
    for word, tokens in zip(words, counts, strict=True):
        if current and used + tokens > budget:
            pieces.append(_Piece(" ".join(current), used, start, end, block))
            current, used = [], 0
        if tokens > budget:
            # A single "word" (a URL, a run of symbols) over budget: cut it by characters.
            step = max(1, len(word) * budget // (tokens + 1))
            parts = [word[offset : offset + step] for offset in range(0, len(word), step)]
            for part, part_tokens in zip(parts, _sized(parts, count_tokens), strict=True):
                pieces.append(_Piece(part, part_tokens, start, end, block))
            continue
        current.append(word)
        used += tokens
    if current:
        pieces.append(_Piece(" ".join(current), used, start, end, block))
    return pieces


def _sized(texts: list[str], count_tokens: TokenCounter) -> list[int]:
    """Count tokens, but never fewer than one per _MAX_CHARS_PER_TOKEN characters."""
    # In batches: the tokenizer keeps every encoding of a call alive until it returns, which
    # for a 45 MB text file was gigabytes.
    # A text too long for any chunk is not tokenized (the tokenizer slows down more than
    # linearly on megabyte strings): it will be cut anyway, and its length in characters, far
    # over any budget, sizes the cuts (a cut still over the model's limit is halved later).
    # Inline code's marks are counted out: the model embeds a chunk without them.
    texts = [unmarked(text) for text in texts]
    counted = [text for text in texts if len(text) <= _UNCOUNTED_CHARS]
    counts = iter(
        [
            count
            for begin in range(0, len(counted), _COUNT_BATCH)
            for count in count_tokens(counted[begin : begin + _COUNT_BATCH])
        ]
    )
    sizes = [len(text) if len(text) > _UNCOUNTED_CHARS else next(counts) for text in texts]
    return [
        max(tokens, -(-len(text) // _MAX_CHARS_PER_TOKEN))
        for text, tokens in zip(texts, sizes, strict=True)
    ]


def _pack(pieces: Iterable[_Piece], budget: int, overlap_tokens: int) -> Iterator[list[_Piece]]:
    """Fill chunks greedily; each new chunk repeats the previous one's last sentences."""
    current: list[_Piece] = []
    used = 0
    fresh = 0  # pieces in current that are not overlap from the previous chunk
    for piece in pieces:
        if current and used + piece.tokens > budget and fresh:
            yield current
            carried: list[_Piece] = []
            carried_tokens = 0
            for previous in reversed(current):
                if carried_tokens + previous.tokens > overlap_tokens:
                    break
                carried.insert(0, previous)
                carried_tokens += previous.tokens
            if len(carried) == len(current) or carried_tokens + piece.tokens > budget:
                carried, carried_tokens = [], 0
            current, used, fresh = carried, carried_tokens, 0
        current.append(piece)
        used += piece.tokens
        fresh += 1
    if current and fresh:
        yield current


def _join(group: Sequence[_Piece]) -> str:
    text = group[0].text
    for previous, piece in itertools.pairwise(group):
        text += (piece.joined_by if piece.block == previous.block else "\n") + piece.text
    return text


def _code_lines(group: Sequence[_Piece]) -> tuple[str, ...]:
    """Return the lines of code blocks in a chunk's text, stripped, each once.

    A line is rebuilt from its block's pieces first: a sentence's end inside a code line
    ('print("Done.") if ok') splits it into two pieces of one line.
    """
    lines: dict[str, None] = {}
    run = ""
    for at, piece in enumerate(group):
        if not piece.code:
            continue
        previous = group[at - 1] if at else None
        if previous is not None and previous.code and previous.block == piece.block:
            run += piece.joined_by + piece.text
            continue
        lines.update(dict.fromkeys(line.strip() for line in run.split("\n") if line.strip()))
        run = piece.text
    lines.update(dict.fromkeys(line.strip() for line in run.split("\n") if line.strip()))
    return tuple(lines)


def _enforce_limit(chunks: list[Chunk], count_tokens: TokenCounter, max_tokens: int) -> list[Chunk]:
    """Check each chunk's real token count and halve any over the limit.

    Token counts of sentences add up exactly for WordPiece models like MiniLM, but not always
    for other tokenizers; halving the rare chunk that overflows beats truncating it.
    """
    fitted: list[Chunk] = []
    pending = list(chunks)
    while pending:
        counts = _sized([chunk.embedding_text() for chunk in pending], count_tokens)
        retry: list[Chunk] = []
        for chunk, tokens in zip(pending, counts, strict=True):
            if tokens <= max_tokens:
                fitted.append(chunk)
                continue
            middle = chunk.text.rfind(" ", 0, len(chunk.text) // 2 + 1)
            if middle <= 0:
                middle = len(chunk.text) // 2
            retry.append(dataclasses.replace(chunk, text=chunk.text[:middle].strip()))
            retry.append(dataclasses.replace(chunk, text=chunk.text[middle:].strip()))
        pending = [chunk for chunk in retry if chunk.text]
    fitted.sort(key=lambda chunk: (chunk.position, chunk.start))
    return [dataclasses.replace(chunk, position=n) for n, chunk in enumerate(fitted)]
