"""The data that flows through the index: chunks in, hits out."""

from __future__ import annotations

from dataclasses import dataclass

# Inline code in a chunk's sentences is set apart by this mark, as Markdown does (`--check`):
# the chat shows it as code. Embedding, token counts and reading a line as code or prose go by
# the words without it.
CODE_MARK = "`"


def unmarked(text: str) -> str:
    """Return text without inline code's marks."""
    return text.replace(CODE_MARK, "")


@dataclass(frozen=True, slots=True)
class Chunk:
    """A passage of one document, sized to fit the embedding model, with where it came from."""

    source: str  # the document's path as ingested, e.g. "sources/002_ada3f840144639bd.txt"
    title: str
    section: str  # nearest heading above the passage, "" when there is none
    text: str
    unit: str  # what start/end count: "line", "page" or "paragraph"
    start: int
    end: int
    position: int  # ordinal of the chunk within its document
    anchor: str = ""  # the id the page gives its section, for a link straight to it
    # The lines of text that are a code block's (stripped): shown as code, never quoted as a
    # sentence, whatever they read as ("git branch", "cd trunk").
    code_lines: tuple[str, ...] = ()

    @property
    def location(self) -> str:
        """Describe where the passage sits, e.g. 'lines 12-18'."""
        plural = {"line": "lines", "page": "pages", "paragraph": "paragraphs"}[self.unit]
        span = (
            f"{self.unit} {self.start}"
            if self.start == self.end
            else (f"{plural} {self.start}-{self.end}")
        )
        return f"{span}, {self.section}" if self.section else span

    def headings_begun(self, before: Chunk | None) -> tuple[str, ...]:
        """Return the headings of this chunk's section that begin with it, given the chunk before.

        before is the chunk with the id before this one, None when it was not read: then a chunk
        other than a document's first is taken to continue its section (its location names it).
        """
        if not self.section or (before is None and self.position > 0):
            return ()
        path = self.section.split(" › ")
        earlier: list[str] = []
        if before is not None and before.source == self.source and before.section:
            earlier = before.section.split(" › ")
        shared = 0
        while shared < min(len(path), len(earlier)) and path[shared] == earlier[shared]:
            shared += 1
        return tuple(heading for heading in path[shared:] if heading != self.title)

    def embedding_text(self) -> str:
        """Return the text to embed: title and section give a passage its context.

        Inline code's marks are left out: they set a name apart for the reader, and the
        passage means the same without them (retrieval with and without: docs/quality.md).
        """
        section = "" if self.section == self.title else self.section  # often the same heading
        return "\n".join(part for part in (self.title, section, unmarked(self.text)) if part)


@dataclass(frozen=True, slots=True)
class Hit:
    """A chunk returned by a search, with its scores."""

    chunk: Chunk
    score: float  # fused rank score used for ordering
    similarity: float  # cosine similarity of question and passage, in [-1, 1]
    rank: int  # 1-based position in the result list
    # The document's opening line ("git-clean - Remove untracked files from the working tree")
    # when the passage doesn't include it: what the page is about, often the answer itself.
    lede: str = ""
    url: str = ""  # the document's own address (canonical link, front matter), when it has one
    headings: tuple[str, ...] = ()  # section headings shown inside the passage, never quoted
    # Where each section's text starts in chunk.text, with its heading path ("A › B"): a
    # passage joined from chunks can run across sections.
    sections: tuple[tuple[int, str], ...] = ()

    def section_at(self, offset: int) -> str:
        """Return the heading path of the section at an offset of the passage (Hit.passage)."""
        offset -= len(self.lede) + 1 if self.lede else 0
        if not self.sections:
            return self.chunk.section
        if offset < 0:
            return ""  # the document's opening line, before any section
        path = self.sections[0][1]
        for start, section in self.sections:
            if start > offset:
                break
            path = section
        return path

    @property
    def passage(self) -> str:
        """Return the text shown and quoted for this hit: the opening line, then the chunk."""
        return f"{self.lede}\n{self.chunk.text}" if self.lede else self.chunk.text


@dataclass(frozen=True, slots=True)
class IndexedDocument:
    """A document as the index remembers it: enough to tell whether it changed."""

    source: str
    title: str
    content_hash: str
    chunk_count: int
    summary: str = ""  # its opening line when that summarises it (see opening_summary)
    url: str = ""  # where it is published, when the document says so
