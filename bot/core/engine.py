"""The one core call: a question in, a cited Answer out. Adapters get a ready-made Citebot."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path

from bot.core.answer import Answer, with_links
from bot.core.writers import AnswerWriter, make_writer
from bot.settings import Settings
from bot.sources import address_book, source_roots
from index.embedder import (
    Embedder,
    SentenceTransformerEmbedder,
    embedding_fingerprint,
    resolve_precision,
)
from index.errors import CitebotError, ConfigError, IndexMismatchError, IndexMissingError
from index.generations import live_generation
from index.manifest import IndexSpec
from index.numpy_encoder import NumpyBertEncoder
from index.query import make_query
from index.records import Hit
from index.search import search
from index.store import StoredIndex
from ingest.pipeline import IngestPlan, IngestReport, ingest
from ingest.writing import Progress

logger = logging.getLogger(__name__)

_SURROGATES = re.compile("[\ud800-\udfff]")


def expected_spec(settings: Settings, embedder: Embedder) -> IndexSpec:
    """Describe the index the current settings and model need."""
    return IndexSpec(
        model=settings.embedding.model,
        model_fingerprint=embedder.fingerprint,
        dimension=embedder.dimension,
        chunk_tokens=settings.chunking.chunk_tokens,
        overlap_tokens=settings.chunking.overlap_tokens,
    )


def load_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """Load the configured embedding model and check the chunk size fits it."""
    embedder = SentenceTransformerEmbedder(
        settings.embedding.model,
        batch_size=settings.embedding.batch_size,
        precision=settings.embedding.precision,
    )
    if settings.chunking.chunk_tokens > embedder.max_tokens:
        raise ConfigError(
            f"chunk size {settings.chunking.chunk_tokens} exceeds the model's limit of "
            f"{embedder.max_tokens} tokens; set CITEBOT_CHUNKING__CHUNK_TOKENS to at most that"
        )
    return embedder


def run_ingest(
    settings: Settings,
    paths: list[Path] | None = None,
    *,
    embedder: Embedder | None = None,
    rebuild: bool = False,
    progress: Progress | None = None,
    distributed: bool = False,
) -> IngestReport:
    """Ingest paths (default: the sources folder and every synced site or repository).

    With distributed, embedding runs on the Ray cluster at CITEBOT_INGEST__RAY_ADDRESS.
    """
    # Fingerprinting reads only the model's files, so an unchanged corpus never loads torch.
    fingerprint = (
        embedder.fingerprint
        if embedder
        else embedding_fingerprint(settings.embedding.model, settings.embedding.precision)
    )
    plan = IngestPlan(
        model=settings.embedding.model,
        fingerprint=fingerprint,
        load_embedder=lambda: _ingest_embedder(settings, embedder, distributed),
        chunk_tokens=settings.chunking.chunk_tokens,
        overlap_tokens=settings.chunking.overlap_tokens,
        max_file_bytes=int(settings.ingest.max_file_mb * 1_000_000),
        file_seconds=settings.ingest.file_seconds,
        index_type=settings.vectors.type,
        ann_threshold=settings.vectors.ann_threshold,
    )
    return ingest(
        paths or source_roots(settings),
        settings.index_dir,
        plan,
        rebuild=rebuild,
        progress=progress,
        addresses=address_book(settings),
    )


def _ingest_embedder(settings: Settings, embedder: Embedder | None, distributed: bool) -> Embedder:
    local = embedder or load_embedder(settings)
    if not distributed:
        return local
    from index.ray_embedder import RayEmbedder  # noqa: PLC0415 (Ray is optional)

    return RayEmbedder(
        local,
        model=settings.embedding.model,
        # The resolved precision: workers on other CPUs must not resolve "auto" differently.
        precision=resolve_precision(settings.embedding.precision),
        batch_size=settings.embedding.batch_size,
        address=settings.ingest.ray_address,
    )


class QuestionError(CitebotError):
    """The question cannot be answered as asked (empty, or too long)."""


def clean_question(question: str, limit: int) -> str:
    """Return the question with its whitespace folded, or say why it can't be asked."""
    # A lone surrogate (from a broken client or a terminal paste) can't be encoded anywhere on.
    question = " ".join(_SURROGATES.sub("\ufffd", question).split())
    if not question:
        raise QuestionError("the question is empty; ask something about the documents")
    if len(question) > limit:
        raise QuestionError(
            f"the question is {len(question)} characters long; keep it under {limit}"
        )
    return question


def recent_context(earlier: Sequence[str], limit: int) -> list[str]:
    """Keep the latest earlier questions that fit in limit characters, oldest first."""
    kept: list[str] = []
    size = 0
    for raw in reversed(earlier):
        text = " ".join(_SURROGATES.sub("\ufffd", raw).split())
        if not text:
            continue
        if size + len(text) > limit:
            break
        kept.append(text)
        size += len(text) + 1
    return kept[::-1]


# How Citebot.load builds an index it needs: told why, it gives the progress display (or None).
Building = Callable[[str], AbstractContextManager[Progress | None]]


def _build(settings: Settings, embedder: Embedder, reason: str, building: Building | None) -> None:
    logger.info("%s", reason)
    with building(reason) if building else contextlib.nullcontext() as progress:
        report = run_ingest(settings, embedder=embedder, progress=progress)
    logger.info("%s", report.summary())


class Citebot:
    """A loaded model and index, answering questions; safe to share between threads."""

    def __init__(
        self,
        settings: Settings,
        embedder: Embedder,
        index: StoredIndex,
        writer: AnswerWriter | None = None,
    ) -> None:
        self.settings = settings
        self.writer = writer or make_writer(settings)
        self.embedder = embedder
        self._index = index
        self._rejected: Path | None = None  # a generation that failed to load; not retried
        self._reload_lock = threading.Lock()

    @classmethod
    def load(
        cls,
        settings: Settings,
        *,
        embedder: Embedder | None = None,
        build_if_missing: bool = False,
        rebuild_if_stale: bool = False,
        building: Building | None = None,
    ) -> Citebot:
        """Load model and index once, first building a missing or stale index if asked to.

        A stale index was built with another model, precision or chunking: its vectors cannot
        answer with these settings, so it is rebuilt from the sources (never when they are
        gone: the old index is all there is). `building` is told why, and gives the progress
        display for the embedding.
        """
        embedder = embedder or load_embedder(settings)
        roots = [root for root in source_roots(settings) if root.exists()]
        where = ", ".join(f"{root}/" for root in roots)
        if build_if_missing and live_generation(settings.index_dir) is None:
            if not roots:
                raise IndexMissingError(
                    f"no index at {settings.index_dir} and no sources folder {settings.sources}; "
                    "set CITEBOT_SOURCES to your documents and run `citebot ingest` (or declare "
                    "a site or repository and run `citebot sync`)"
                )
            reason = f"no index yet: building it from {where} (first run only)"
            _build(settings, embedder, reason, building)
        expect = expected_spec(settings, embedder)
        try:
            index = StoredIndex.open(settings.index_dir, expect=expect)
        except IndexMismatchError as exc:
            if not (rebuild_if_stale and roots):
                raise
            reason = (
                f"the index at {exc.where} was built with {'; '.join(exc.differences)}: "
                f"rebuilding it from {where}"
            )
            _build(settings, embedder, reason, building)
            index = StoredIndex.open(settings.index_dir, expect=expect)
        return cls(settings, embedder, index)

    @classmethod
    def load_without_torch(cls, settings: Settings) -> Citebot | None:
        """Load with questions embedded by NumPy, when the index allows; else None.

        Loading torch is most of a cold `citebot ask`; a float32 index of a plain BERT model
        (the bundled one) gets the same question vectors without it (index/numpy_encoder.py),
        and warm it embeds a question faster too (7.5 ms against 11.1 ms here). An int8 index
        is asked with the same float32 questions, which rank its passages as well as int8 ones.
        An index that is missing or built otherwise is left to `load`, which builds with the
        full model.
        """
        if live_generation(settings.index_dir) is None:
            return None
        encoder = NumpyBertEncoder.for_model(
            settings.embedding.model, documents=resolve_precision(settings.embedding.precision)
        )
        if encoder is None:
            return None
        try:
            return cls.load(settings, embedder=encoder)
        except IndexMismatchError:
            return None

    @property
    def index(self) -> StoredIndex:
        """Return the live index, first switching to a newer one if an ingest has written it."""
        try:
            live = live_generation(self.settings.index_dir)
        except CitebotError:
            return self._index
        if live is not None and live not in (self._index.folder, self._rejected):
            self._switch_to(live)
        return self._index

    def _switch_to(self, live: Path) -> None:
        """Load a new generation; questions in flight finish on the old one, which they hold."""
        with self._reload_lock:
            if live == self._index.folder:
                return  # another thread switched first
            try:
                fresh = StoredIndex.open(
                    self.settings.index_dir, expect=expected_spec(self.settings, self.embedder)
                )
            except CitebotError as exc:
                self._rejected = live
                logger.error("keeping the current index; the new one cannot be used: %s", exc)
                return
            logger.warning("switched to the new index at %s", fresh.folder)
            self._index = fresh  # the old one closes when its last question lets go of it

    def retrieve(
        self, question: str, top_k: int | None = None, earlier: Sequence[str] = ()
    ) -> list[Hit]:
        """Return the passages most relevant to a question (after earlier ones, if any)."""
        index = self.index
        context = recent_context(earlier, self.settings.retrieval.max_question_chars)
        query = make_query(index, self.embedder, question, context)
        return search(index, query, top_k=top_k or self.settings.retrieval.top_k)

    def answer(self, question: str, earlier: Sequence[str] = ()) -> Answer:
        """Answer a question with quoted, cited sentences, or say the sources don't cover it.

        earlier: the conversation's previous questions, oldest first, searched with it.
        """
        question = clean_question(question, self.settings.retrieval.max_question_chars)
        context = recent_context(earlier, self.settings.retrieval.max_question_chars)
        index = self.index  # one generation for the whole question, even if a switch happens
        query = make_query(index, self.embedder, question, context)
        hits = search(index, query, top_k=self.settings.retrieval.top_k)
        answer = self.writer.write(query, hits)
        return with_links(answer, self.settings.sources_base_url)

    def close(self) -> None:
        """Release the index."""
        self._index.close()


def load_collections(
    settings: Settings, embedder: Embedder, *, building: Building | None = None
) -> dict[str, Citebot]:
    """Load every collection besides the default, each asked with the default's model.

    An index that is missing or built otherwise is built first, with the full model (the
    default's may be the torch-free question encoder, which embeds questions only).
    """
    loaded: dict[str, Citebot] = {}
    full: Embedder | None = None
    try:
        for name in settings.collections:
            chosen = settings.for_collection(name)
            try:
                loaded[name] = Citebot.load(chosen, embedder=embedder)
                continue
            except (IndexMissingError, IndexMismatchError):
                full = full or load_embedder(settings)
            loaded[name] = Citebot.load(
                chosen,
                embedder=full,
                build_if_missing=True,
                rebuild_if_stale=True,
                building=building,
            )
    except BaseException:
        for bot in loaded.values():
            bot.close()
        raise
    return loaded
