"""What every source kind's sync reports, and the error it raises when a whole sync fails."""

from __future__ import annotations

from dataclasses import dataclass

from index.errors import CitebotError

# The files a repository source indexes unless told otherwise: every format a folder reads.
DOCUMENT_GLOBS = (
    "**/*.md",
    "**/*.markdown",
    "**/*.rst",
    "**/*.txt",
    "**/*.html",
    "**/*.htm",
    "**/*.pdf",
    "**/*.docx",
)


class SyncError(CitebotError):
    """A whole sync failed (the site is down, the repository unreachable); nothing was lost."""


@dataclass(frozen=True, slots=True)
class SyncReport:
    """What one sync of one source did, for its summary line and `citebot doctor`."""

    name: str
    kind: str  # "site" or "git"
    added: int = 0  # files new to the mirror
    changed: int = 0  # files whose bytes changed
    removed: int = 0  # files really gone from the source, deleted from the mirror
    unchanged: int = 0  # files confirmed unchanged (a 304, the same hash, the same blob)
    kept: int = 0  # files the source could not give this time, kept as they were
    downloads: int = 0  # full bodies received (HTTP 200s, or blobs read from a new commit)
    revision: str = ""  # a repository's commit after the sync
    warnings: tuple[str, ...] = ()  # one line each, naming the URL or path and what happened
    error: str = ""  # the sync failed as a whole: the previous files were all kept
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Tell whether the sync completed (warnings allowed)."""
        return not self.error

    def summary(self) -> str:
        """Describe the sync in one line."""
        if self.error:
            return f"{self.name}: sync failed, previous files kept ({self.error})"
        parts = [
            f"{self.added} added",
            f"{self.changed} changed",
            f"{self.removed} removed",
            f"{self.unchanged} unchanged",
        ]
        if self.kept:
            parts.append(f"{self.kept} kept after errors")
        if self.warnings:
            parts.append(f"{len(self.warnings)} warnings")
        at = f" at {self.revision[:12]}" if self.revision else ""
        return f"{self.name}: {', '.join(parts)}{at} ({self.seconds:.1f}s)"
