"""The manifest: what an index was built with, so a mismatched load is refused."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from index.errors import IndexCorruptError, IndexMismatchError

# 2: keyword index with separate text and heading fields; 3: documents carry their summary
# line and its vector; 4: and their own address; 5: chunks carry a checksum, checked when read;
# 6: and their section's anchor; 7: and which of their lines are a code block's.
FORMAT_VERSION = 7
# Bump when the chunker's output for the same input changes, so old indexes are rebuilt.
CHUNKER_VERSION = 16  # 3: heading paths, parsed Markdown, HTML lists/tables/code kept;
# 4: prose wrapped by hand in HTML <pre> read as one paragraph; 5: Markdown site dialects
# (admonitions, tabs, attribute lists, includes, directives) read as the site shows them, and
# generators' navigation (DocBook navheader, Sphinx related, MkDocs md-nav, ...) left out;
# 6: and page frames by id (AsciiDoc's footer, Sphinx themes' sidebar) and DocBook's tables of
# contents; 7: headings keep their page id (a section's anchor); 8: attribute lists with dotted
# ids ("{: #hatch-v1.17.1 }") and a heading's closing hashes left out; 9: Markdown inside
# "<figure markdown>" read as Markdown, attribute lists after images and links and pymdownx key
# markers ("++ctrl+c++") left out; 10: an HTML line break in Markdown ("a<br>b") separates its
# words, in a table's cell with a comma, and a code block's line after a sentence's end ("  ...")
# stays a line, and an HTML table's row has no separator before its first cell that shows text;
# 11: inline code in a sentence stays marked as code (`{{ form }}`, `--check`); 12: chunks know
# which lines are a code block's; 13: Sphinx's "[source]" links left out and a field list's
# term keeps one colon ("Exit code 0: …"); 14: a code block's first line keeps its indent;
# 15: a Markdown reference link left unresolved reads as its text; 16: and inline code without
# an inline highlighter's language mark ("#!toml ")


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """The parameters an index must share with the running code to be usable."""

    model: str
    model_fingerprint: str
    dimension: int
    chunk_tokens: int
    overlap_tokens: int
    chunker_version: int = CHUNKER_VERSION
    format_version: int = FORMAT_VERSION

    def differences(self, other: IndexSpec) -> list[str]:
        """List, in words, how another spec differs from this one."""
        labels = {
            "model_fingerprint": "model",
            "dimension": "embedding dimension",
            "chunk_tokens": "chunk size",
            "overlap_tokens": "chunk overlap",
            "chunker_version": "chunker version",
            "format_version": "index format",
        }
        found = []
        for key, label in labels.items():
            mine, theirs = getattr(self, key), getattr(other, key)
            if mine != theirs:
                if key == "model_fingerprint":
                    mine, theirs = f"{self.model} ({mine})", f"{other.model} ({theirs})"
                found.append(f"{label} {theirs} (settings want {mine})")
        return found


@dataclass(frozen=True, slots=True)
class Manifest:
    """Everything recorded beside an index."""

    spec: IndexSpec
    document_count: int
    chunk_count: int
    index_type: str
    created_at: str
    sources: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)
    index_params: dict[str, Any] = field(default_factory=dict)
    # SHA-256 of each file of the generation as written ("chunks.sqlite": "…"); empty in
    # indexes written before checksums were kept.
    checksums: dict[str, str] = field(default_factory=dict)
    # Keys of the lines most HTML pages of the corpus print (ingest/boilerplate.py), left out of
    # every page: an ingest that learns another set reads the pages that hold the difference.
    furniture: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """Serialise to pretty JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, *, where: str) -> Manifest:
        """Parse a manifest, naming the fix if it is unreadable."""
        try:
            raw: dict[str, Any] = json.loads(text)
            spec = IndexSpec(**raw.pop("spec"))
            return cls(spec=spec, **raw)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as exc:
            raise IndexCorruptError(
                f"the index manifest at {where} is unreadable ({exc}); "
                "run `citebot ingest --rebuild` to rebuild the index"
            ) from exc

    def check_compatible(self, wanted: IndexSpec, *, where: str) -> None:
        """Refuse an index built with another model or incompatible parameters."""
        differences = wanted.differences(self.spec)
        if differences:
            raise IndexMismatchError(
                f"the index at {where} was built with {'; '.join(differences)}; "
                "run `citebot ingest` to rebuild it with the current settings",
                where=where,
                differences=differences,
            )
