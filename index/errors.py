"""citebot's error tree; every message says what to do about it.

CitebotError
├── ConfigError          settings that cannot work (bad model path, chunk size too large)
├── IndexMissingError    no index on disk yet
├── IndexMismatchError   index built with another model or incompatible parameters
├── IndexCorruptError    index files unreadable or inconsistent
├── SourcesError         nothing to ingest (missing folder, no supported files)
└── IndexWriteError      a new index generation could not be written (full disk, read-only)

The core adds QuestionError (bot.core.engine): a question it cannot take (empty, too long).
"""

from __future__ import annotations

from collections.abc import Sequence


class CitebotError(Exception):
    """Base class for errors shown to the user as one line."""


class ConfigError(CitebotError):
    """A setting cannot work as given."""


class IndexMissingError(CitebotError):
    """There is no index at the configured folder."""


class IndexMismatchError(CitebotError):
    """The index on disk was built with another model or incompatible parameters."""

    def __init__(self, message: str, *, where: str = "", differences: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.where = where  # the index folder
        self.differences = tuple(differences)  # each in words: "index format 3 (settings want 4)"


class IndexCorruptError(CitebotError):
    """The index files cannot be read or disagree with each other."""


class SourcesError(CitebotError):
    """The sources to ingest cannot be found or hold nothing ingestible."""


class IndexWriteError(CitebotError):
    """A new index generation could not be written (full disk, quota, read-only folder)."""
