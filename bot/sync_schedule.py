"""Keep sites and repositories fresh while the bots serve: sync on schedule, then ingest.

One background thread wakes when the next source is due, syncs it into its mirror and, if
anything changed, ingests: the ingest writes a new index generation beside the live one and
switches CURRENT only once it is complete and read back, and each Citebot moves to it at its
next question. Questions never wait for a sync and are answered from the old generation until
the new one is published; a failed sync or ingest is logged and leaves everything served as it
was, to be tried again at the next due time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.core.engine import load_embedder, run_ingest
from bot.settings import Settings
from bot.sources import RemoteSource, remote_sources, sync_source
from index.embedder import Embedder
from index.errors import CitebotError
from ingest.pipeline import IngestReport
from ingest.sources.base import SyncReport

logger = logging.getLogger(__name__)


def sync_and_ingest(
    settings: Settings,
    sources: list[RemoteSource],
    *,
    embedder: Callable[[], Embedder] | None = None,
    on_sync: Callable[[SyncReport], None] | None = None,
    ingest_anyway: bool = False,
) -> tuple[list[SyncReport], IngestReport | None]:
    """Sync the sources, then ingest if any of them changed; return what each step did.

    embedder: gives the model to embed with (loaded only when something changed).
    ingest_anyway: ingest even if nothing changed now (an earlier sync's ingest failed).
    """
    reports = []
    for source in sources:
        report = sync_source(settings, source.name)
        reports.append(report)
        if on_sync is not None:
            on_sync(report)
    changed = any(report.added or report.changed or report.removed for report in reports)
    if not (changed or ingest_anyway):
        return reports, None
    return reports, run_ingest(settings, embedder=embedder() if embedder else None)


class SyncSchedule:
    """Sync each source with a schedule every so often, in a background thread."""

    def __init__(
        self,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Schedule settings' sources; embedder: the model to ingest with (default: loaded once
        when a sync first changes something)."""
        self.settings = settings
        self.sources = [s for s in remote_sources(settings) if s.every_seconds is not None]
        self._clock = clock
        now = clock()
        # Sources are synced at start-up too: a serve started after a long pause catches up.
        self._due = {source.name: now for source in self.sources}
        self._embedder = embedder
        self._ingest_owed = False  # a sync changed the mirrors and its ingest failed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0  # completed passes that synced something, for tests and logs

    def start(self) -> None:
        """Start the background thread (nothing to do when no source has a schedule)."""
        if not self.sources or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="citebot-sync", daemon=True)
        self._thread.start()
        every = ", ".join(f"{s.name} every {s.every}" for s in self.sources)
        logger.warning("syncing %s in the background", every)

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to stop and wait for the sync in progress, if any, to end."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_due(self) -> list[SyncReport]:
        """Sync every source that is due now, ingest if anything changed; return the reports."""
        now = self._clock()
        due = [source for source in self.sources if self._due[source.name] <= now]
        if not due:
            return []
        for source in due:
            assert source.every_seconds is not None
            self._due[source.name] = now + source.every_seconds
        try:
            reports, ingested = sync_and_ingest(
                self.settings,
                due,
                embedder=self._loaded_embedder,
                on_sync=_log_sync,
                ingest_anyway=self._ingest_owed,
            )
        except CitebotError as exc:  # another ingest holds the lock, a full disk: next time
            # The mirrors may hold changes no index has yet; the next sync finds nothing new
            # to fetch, so it must ingest all the same.
            self._ingest_owed = True
            logger.error("background sync: %s; the index served is unchanged", exc)
            return []
        self._ingest_owed = False
        if ingested is not None:
            logger.warning("background sync: %s", ingested.summary())
        self.passes += 1
        return reports

    def _loaded_embedder(self) -> Embedder:
        # The model is loaded once for the serve's lifetime: the bots' own question encoder
        # may be the torch-free one, which cannot embed passages.
        if self._embedder is None:
            self._embedder = load_embedder(self.settings)
        return self._embedder

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_due()
            except Exception:  # never let the thread die: the bots would go stale silently
                logger.exception("background sync failed; retrying at the next due time")
            wait = min(self._due.values()) - self._clock()
            self._stop.wait(max(0.2, min(wait, 60.0)))


def _log_sync(report: SyncReport) -> None:
    for warning in report.warnings:
        logger.warning("%s: %s", report.name, warning)
    if report.ok:
        logger.info("background sync: %s", report.summary())
    else:
        logger.error("background sync: %s", report.summary())
