"""Incremental ingest: hash every file, re-embed only what changed, write a new index atomically."""

from __future__ import annotations

import ctypes
import dataclasses
import fcntl
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from index.chunk_store import CHUNKS
from index.clipping import clip_words
from index.embedder import Embedder
from index.errors import CitebotError, IndexCorruptError, SourcesError
from index.generations import changed_files, file_checksum, remove_staging
from index.manifest import IndexSpec, Manifest
from index.records import IndexedDocument, unmarked
from index.sentences import opening_summary
from index.store import VECTORS, GenerationWriter, StoredIndex
from index.vectors import choose_kind
from ingest.boilerplate import (
    learn_furniture,
    page_lines,
    read_cache,
    without_furniture,
    write_cache,
)
from ingest.chunker import chunk_document
from ingest.formats import SUPPORTED_LIST, SUPPORTED_SUFFIXES, format_for
from ingest.formats import html as html_format
from ingest.formats.base import SkippedFile
from ingest.loaders import load_document
from ingest.writing import GenerationStream, Progress

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What an ingest did, for the one-line summary."""

    added: int
    updated: int
    removed: int
    unchanged: int
    skipped: tuple[str, ...]  # one message per skipped file, naming it and the fix
    warnings: tuple[str, ...]
    chunks_embedded: int
    chunk_count: int
    seconds: float
    wrote_index: bool
    rebuilt_because: str = ""

    def summary(self) -> str:
        """Describe the ingest in one line."""
        parts = [
            f"{self.added} added",
            f"{self.updated} updated",
            f"{self.removed} removed",
            f"{self.unchanged} unchanged",
        ]
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        return (
            f"Ingested: {', '.join(parts)}; {self.chunks_embedded} chunks embedded, "
            f"{self.chunk_count} in the index ({self.seconds:.2f}s)"
        )


Addresses = Callable[[Path], str]  # a file's link, "" for none


def _no_address(path: Path) -> str:
    return ""


@dataclass(frozen=True, slots=True)
class _Source:
    path: Path
    source: str
    raw_hash: str
    size: int  # bytes, for progress; 0 if unreadable


def _walk(root: Path) -> Iterator[tuple[str, list[str], list[str]]]:
    """Walk like os.walk (top-down, the caller may prune subfolders), without recursion.

    os.walk recurses once per level: folders nested 1,000 deep raised RecursionError and
    aborted the whole ingest. Symlinked folders are listed but not entered, as os.walk does.
    """
    stack = [str(root)]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = list(listing)
        except OSError:
            continue  # unreadable or gone: os.walk passes over it too
        subfolders = [e.name for e in entries if e.is_dir()]
        names = [e.name for e in entries if not e.is_dir()]
        yield folder, subfolders, names
        links = {e.name for e in entries if e.is_symlink()}
        stack.extend(
            os.path.join(folder, name) for name in reversed(subfolders) if name not in links
        )


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[str]]:
    """List the supported files under paths, and what was passed over and why.

    Each folder is a boundary: hidden files and folders (".env", ".git") are skipped, and so is
    anything that resolves outside the folder (a symlink to /etc/passwd or to ../.env), so
    nothing the process can read elsewhere is ever quoted back to chat.
    """
    found: list[Path] = []
    ignored: list[str] = []
    for root in paths:
        if not root.exists():
            raise SourcesError(f"{root} does not exist; pass a folder or file of documents")
        if root.is_file():
            found.append(root)
            continue
        boundary = root.resolve()
        for folder, subfolders, names in _walk(root):
            here = Path(folder)
            subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
            for name in list(subfolders):
                if not _is_utf8(name):
                    subfolders.remove(name)
                    ignored.append(
                        f"skipped {_printable(here / name)}: its name is not valid UTF-8; rename it"
                    )
                elif (here / name).is_symlink() and not _inside(here / name, boundary):
                    subfolders.remove(name)
                    ignored.append(f"skipped {here / name}: it links outside {root}")
            for name in sorted(names):
                path = here / name
                if name.startswith("."):
                    continue
                if not _is_utf8(name):
                    ignored.append(
                        f"skipped {_printable(path)}: its name is not valid UTF-8; rename it"
                    )
                elif not _inside(path, boundary):
                    ignored.append(f"skipped {path}: it links outside {root}")
                elif not path.is_file():
                    continue
                elif path.suffix.lower() in SUPPORTED_SUFFIXES:
                    found.append(path)
                else:
                    ignored.append(f"ignored {path}: not {SUPPORTED_LIST}")
    return sorted(set(found)), ignored


_FURNITURE_SHOWN = 5  # lines named in the report when a site's frame is first learned


class _OutOfTime(Exception):
    """A file took longer than its time budget to read."""


@contextmanager
def _time_budget(seconds: float) -> Iterator[None]:
    """Interrupt the work inside after seconds, so one pathological file can't hold an ingest.

    On the main thread a timer signal interrupts it. Signals reach only the main thread, so on
    any other (an ingest started from a worker) a timer thread raises the exception in this
    thread instead. Either way native code (the tokenizer) is interrupted when it returns to
    Python, and a sleep on a worker thread when it wakes.
    """
    if seconds <= 0:
        yield
    elif threading.current_thread() is threading.main_thread():
        with _alarm(seconds):
            yield
    else:
        with _thread_alarm(seconds):
            yield


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Raise _OutOfTime in the main thread after seconds, by a timer signal."""

    def expire(signum: int, frame: object) -> None:
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _thread_alarm(seconds: float) -> Iterator[None]:
    """Raise _OutOfTime in this (non-main) thread after seconds, from a timer thread."""
    target = ctypes.c_ulong(threading.get_ident())
    guard = threading.Lock()
    state = {"active": True, "fired": False}

    def expire() -> None:
        with guard:
            if state["active"]:
                state["fired"] = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(target, ctypes.py_object(_OutOfTime))

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with guard:
            state["active"] = False
            if state["fired"]:
                # Fired just as the work ended: take back the exception not yet raised, so it
                # can't surface later in code that has nothing to do with this file.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(target, None)


def _is_utf8(name: str) -> bool:
    """Tell whether a file name decoded cleanly (Python keeps other bytes as surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(path: Path) -> str:
    """Show a path whose name holds bytes that are not UTF-8, as \\xff escapes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def _inside(path: Path, boundary: Path) -> bool:
    """Tell whether path, with every link followed, is within the boundary folder."""
    try:
        return path.resolve().is_relative_to(boundary)
    except (OSError, RuntimeError):  # a link loop
        return False


def source_name(path: Path, roots: Sequence[Path]) -> str:
    """Name a file as the index and its readers see it: "sources/guide/intro.md".

    The name is the sources folder's own name and the path inside it, so citations never show
    where the server keeps the files (/srv/app/…) and the index survives a move of the folder.
    """
    absolute = path.absolute()
    for root in roots:
        top = root.absolute()
        if top == absolute:
            return top.name  # a single file ingested on its own
        if absolute.is_relative_to(top):
            return (Path(top.name) / absolute.relative_to(top)).as_posix()
    return absolute.name


@contextmanager
def _exclusive(index_dir: Path) -> Iterator[None]:
    """Hold a lock so two ingests never write the same index at once."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with (index_dir / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise CitebotError(
                f"another ingest is writing {index_dir}; wait for it to finish"
            ) from exc
        yield


@dataclass(frozen=True, slots=True)
class IngestPlan:
    """How an ingest reads, cuts and embeds documents: all but which files and where to."""

    model: str
    fingerprint: str  # of the model and precision: an index built otherwise is rebuilt
    load_embedder: Callable[[], Embedder]  # called only when something needs embedding
    chunk_tokens: int
    overlap_tokens: int
    max_file_bytes: int
    file_seconds: float = 0.0  # per-file time budget; 0: none
    index_type: str = "auto"
    ann_threshold: int = 50_000

    def spec(self, model: str, dimension: int) -> IndexSpec:
        """Return the spec of an index this plan writes (or may reuse) of a model's vectors."""
        return IndexSpec(
            model=model,
            model_fingerprint=self.fingerprint,
            dimension=dimension,
            chunk_tokens=self.chunk_tokens,
            overlap_tokens=self.overlap_tokens,
        )


def ingest(
    paths: Sequence[Path],
    index_dir: Path,
    plan: IngestPlan,
    *,
    rebuild: bool = False,
    progress: Progress | None = None,
    addresses: Addresses | None = None,
) -> IngestReport:
    """Bring the index at index_dir in line with the documents under paths.

    addresses gives a file the link its citations show (a synced page's URL, a repository
    file's blob link), where it has one; the document's own canonical address otherwise.
    """
    started = time.perf_counter()
    files, ignored = discover(paths)
    if not files:
        raise SourcesError(
            f"no {SUPPORTED_LIST} files under {', '.join(map(str, paths))}; "
            "add documents or pass another folder"
        )
    with _exclusive(index_dir):
        remove_staging(index_dir)  # a killed ingest's half-written generation
        previous, rebuilt_because = _previous_index(index_dir, plan, rebuild)
        try:
            run = _IngestRun(
                plan,
                index_dir,
                paths,
                previous,
                rebuilt_because,
                started,
                progress,
                addresses or _no_address,
            )
            run.warnings.extend(ignored)
            return run.over(files)
        finally:
            if previous is not None:
                previous.close()


def _previous_index(
    index_dir: Path, plan: IngestPlan, rebuild: bool
) -> tuple[StoredIndex | None, str]:
    """Open the live index if its vectors can be reused, else say why everything is re-embedded."""
    if rebuild:
        return None, "--rebuild"
    try:
        previous = StoredIndex.open(index_dir)
    except IndexCorruptError as exc:
        logger.warning("rebuilding: %s", exc)
        return None, "the previous index is unreadable"
    except CitebotError:
        return None, ""
    spec = previous.manifest.spec
    differences = plan.spec(spec.model, spec.dimension).differences(spec)
    if differences:
        previous.close()
        return None, "settings changed: " + "; ".join(differences)
    # Rows are copied forward into every new generation: a file altered since it was written
    # (a bad disk, a stray edit) would be carried on and quoted as verbatim for good.
    changed = changed_files(previous.folder, previous.manifest)
    if changed:
        previous.close()
        logger.warning("rebuilding: %s changed since it was written", ", ".join(changed))
        return None, f"{', '.join(changed)} changed since it was written (checksum)"
    return previous, ""


@dataclass
class _IngestRun:
    """One ingest under the index lock: what it reads, what it reuses from the previous index,
    and the tallies its report gives."""

    plan: IngestPlan
    index_dir: Path
    roots: Sequence[Path]
    previous: StoredIndex | None
    rebuilt_because: str
    started: float
    progress: Progress | None
    addresses: Addresses
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    present: set[str] = field(default_factory=set)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    fresh: int = 0
    removed: int = 0
    furniture: frozenset[str] = frozenset()  # keys of the lines most pages print (boilerplate)
    reread: set[str] = field(default_factory=set)  # sources whose furniture changed
    timed_out: set[str] = field(default_factory=set)  # sources that ran out of time once
    furniture_seen: dict[str, str] = field(default_factory=dict)  # text of each line left out

    def over(self, files: list[Path]) -> IngestReport:
        """Bring the index in line with these files; return the report."""
        previous = self.previous
        old = previous.documents() if previous is not None else {}
        by_hash = {record.content_hash: (record, first) for record, first in old.values()}
        # One ordering owns the whole write: the source names. Each document's vectors are
        # written with its chunks, so a file found in another order can never take another's.
        sources = sorted(
            (
                _Source(path, source_name(path, self.roots), hash_file(path), _size(path))
                for path in files
            ),
            key=lambda item: item.source,
        )
        named: dict[str, Path] = {}
        for item in sources:
            other = named.setdefault(item.source, item.path)
            if other != item.path:
                raise SourcesError(
                    f"{other} and {item.path} would both be cited as {item.source}; "
                    "ingest their common parent folder instead, or rename one folder"
                )
        self._learn_furniture(sources)
        fresh_bytes = {
            item.source: item.size
            for item in sources
            if item.raw_hash
            and (item.raw_hash not in by_hash or previous is None or item.source in self.reread)
        }
        stream = GenerationStream(
            lambda dimension: GenerationWriter(
                self.index_dir, dimension, expected_bytes=_expected_bytes(previous, fresh_bytes)
            ),
            self.plan.load_embedder,
            previous,
            progress=self.progress,
            total_bytes=sum(fresh_bytes.values()),
        )
        with stream:  # anything raised below removes what was written of the new generation
            for item in sources:
                self._take(item, old, by_hash, stream)
            self.removed = sum(1 for source in old if source not in self.present)
            self._tell_new_furniture()
            if not self.present:
                raise SourcesError(
                    f"none of the {len(sources)} files could be ingested ({self.skipped[0]}); "
                    "the previous index was left as it was"
                )
            return self._publish(stream)

    def _learn_furniture(self, sources: Sequence[_Source]) -> None:
        """Count the lines of every HTML page (remembered ones from the cache) and learn which
        lines are the site's furniture; pages whose furniture changed are read again."""
        cache = read_cache(self.index_dir)
        remembered: dict[str, frozenset[str]] = {}
        by_source: dict[str, frozenset[str]] = {}
        for item in sources:
            if not item.raw_hash or format_for(item.path.suffix) is not html_format.FORMAT:
                continue
            lines = cache.get(item.raw_hash)
            if lines is None:
                lines = self._read_lines(item)
                if lines is None:
                    continue  # the second reading skips the file and says why
            remembered[item.raw_hash] = lines
            by_source[item.source] = lines
        write_cache(self.index_dir, remembered)
        self.furniture = learn_furniture(by_source.values())
        changed = self.furniture ^ self._furniture_before()
        self.reread = {source for source, lines in by_source.items() if lines & changed}

    def _tell_new_furniture(self) -> None:
        """Say which lines are newly left out of every page: nothing is dropped unannounced."""
        new = self.furniture - self._furniture_before()
        shown = [self.furniture_seen[key] for key in sorted(new) if key in self.furniture_seen]
        if shown:
            lines = "; ".join(f"“{clip_words(text, 80)}”" for text in shown[:_FURNITURE_SHOWN])
            more = len(shown) - _FURNITURE_SHOWN
            self.warnings.append(
                f"left out of every page as the site's frame (on at least half of its HTML "
                f"pages): {lines}{f' and {more} more' if more > 0 else ''}"
            )

    def _furniture_before(self) -> frozenset[str]:
        """Return the lines the live generation leaves out (none without one)."""
        return frozenset(self.previous.manifest.furniture) if self.previous else frozenset()

    def _read_lines(self, item: _Source) -> frozenset[str] | None:
        try:
            with _time_budget(self.plan.file_seconds):
                document, _ = load_document(
                    item.path, item.source, max_bytes=self.plan.max_file_bytes
                )
        except _OutOfTime:
            self.timed_out.add(item.source)  # not tried twice: once is the budget
            return None
        except Exception:  # the second reading skips the file and reports what was wrong
            return None
        return page_lines(document)

    def _take(
        self,
        item: _Source,
        old: dict[str, tuple[IndexedDocument, int]],
        by_hash: dict[str, tuple[IndexedDocument, int]],
        stream: GenerationStream,
    ) -> None:
        """Keep, reuse, or read and embed one source."""
        previous, plan = self.previous, self.plan
        if not item.raw_hash and item.source in old and previous is not None:
            # Unreadable now (permissions mid-change, a network share gone for a moment):
            # keep the version indexed before rather than dropping the document.
            record, first = old[item.source]
            stream.keep(record, source=item.source, first=first)
            self.present.add(item.source)
            self.warnings.append(
                f"{item.path}: cannot be read now; kept the version indexed before"
            )
            self.unchanged += 1
            return
        reusable = by_hash.get(item.raw_hash)
        if reusable is not None and previous is not None and item.source not in self.reread:
            # Same bytes as an indexed document (perhaps moved): reuse its chunks and vectors.
            record, first = reusable
            # A synced file's address may change while its bytes don't (a page that moved): the
            # link follows the file, the passages and vectors are reused.
            url = self.addresses(item.path) or record.url
            stream.keep(
                dataclasses.replace(record, source=item.source, url=url),
                source=record.source,
                first=first,
            )
            self.present.add(item.source)
            self.unchanged += 1
            return
        weight = item.size
        embedder = stream.embedder  # loaded outside the file's try: a model error is no file's
        try:
            if item.source in self.timed_out:
                raise _OutOfTime
            with _time_budget(plan.file_seconds):
                document, notes = load_document(
                    item.path, item.source, max_bytes=plan.max_file_bytes
                )
                document, removed = without_furniture(document, self.furniture)
                self.furniture_seen.update(removed)
                if not document.blocks:
                    raise SkippedFile(item.path, "nothing but the lines every page of the site has")
                chunks = chunk_document(
                    document,
                    embedder.count_tokens,
                    max_tokens=plan.chunk_tokens,
                    overlap_tokens=plan.overlap_tokens,
                )
        except _OutOfTime:
            self.skipped.append(
                f"skipped {item.path}: reading it took over {plan.file_seconds:g} s; raise "
                "CITEBOT_INGEST__FILE_SECONDS if the file is simply large"
            )
            stream.skipped(weight)
            return
        except SkippedFile as exc:
            self.skipped.append(str(exc))
            stream.skipped(weight)
            return
        except Exception as exc:  # one bad file never stops the rest
            reason = f"{type(exc).__name__}: {exc}"[:300]
            self.skipped.append(f"skipped {item.path}: it could not be read ({reason})")
            stream.skipped(weight)
            return
        self.warnings.extend(notes)
        # A document's summary line is embedded on its own too: search uses it to tell what a
        # page is about, which a passage deep in the page may not say.
        # Embedded as the passages are, without inline code's marks.
        summary = unmarked(opening_summary(chunks[0].text)) if chunks else ""
        url = self.addresses(item.path) or document.url
        record = IndexedDocument(
            document.source, document.title, item.raw_hash, len(chunks), summary, url
        )
        stream.add(record, chunks, weight=weight)
        self.present.add(item.source)
        self.fresh += 1
        if item.source in old:
            self.updated += 1
        else:
            self.added += 1

    def _publish(self, stream: GenerationStream) -> IngestReport:
        """Switch to the new generation if anything changed; return the report."""
        previous, plan = self.previous, self.plan
        if not (self.fresh or self.removed or self.rebuilt_because or previous is None):
            # Nothing read anew and nothing gone: the index stands, unless it outgrew its kind.
            kind = choose_kind(plan.index_type, previous.chunk_count, plan.ann_threshold)
            if kind == previous.manifest.index_type:
                return self._report(stream, chunk_count=previous.chunk_count, wrote_index=False)

        def manifest_for(writer: GenerationWriter) -> Manifest:
            return Manifest(
                spec=plan.spec(plan.model, writer.dimension),
                document_count=writer.document_count,
                chunk_count=writer.chunk_count,
                index_type=choose_kind(plan.index_type, writer.chunk_count, plan.ann_threshold),
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                sources=[str(root) for root in self.roots],
                versions=_versions(),
                furniture=sorted(self.furniture),
            )

        stream.finish(manifest_for)
        assert stream.writer is not None
        return self._report(stream, chunk_count=stream.writer.chunk_count, wrote_index=True)

    def _report(
        self, stream: GenerationStream, *, chunk_count: int, wrote_index: bool
    ) -> IngestReport:
        return IngestReport(
            added=self.added,
            updated=self.updated,
            removed=self.removed,
            unchanged=self.unchanged,
            skipped=tuple(self.skipped),
            warnings=tuple(self.warnings),
            chunks_embedded=stream.chunks_embedded,
            chunk_count=chunk_count,
            seconds=time.perf_counter() - self.started,
            wrote_index=wrote_index,
            rebuilt_because=self.rebuilt_because,
        )


def _size(path: Path) -> int:
    """Return a file's size in bytes, or 0 if it cannot be read."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _expected_bytes(previous: StoredIndex | None, fresh_bytes: dict[str, int]) -> int:
    """Guess the new generation's size on disk: the old one's, plus three times what's new."""
    size = sum(fresh_bytes.values()) * 3
    if previous is not None:
        size += sum(_size(previous.folder / name) for name in (CHUNKS, VECTORS))
    return size + 1_000_000


def hash_file(path: Path) -> str:
    """Return the SHA-256 of a file's bytes, or "" if it cannot be read."""
    try:
        return file_checksum(path)
    except OSError:
        return ""  # unreadable: the loader reports it by name


def _versions() -> dict[str, str]:
    versions = {}
    for package in ("citebot", "faiss-cpu", "sentence-transformers", "torch", "transformers"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions
