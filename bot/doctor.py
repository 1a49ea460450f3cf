"""`citebot doctor`: check what a deployment needs, and name the fix for every problem."""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import tempfile
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.platforms import PLATFORMS, setup_hint
from bot.settings import Settings
from bot.sources import mirror_folder, remote_sources, source_roots
from index.embedder import (
    embedding_fingerprint,
    model_fingerprint,
    resolve_model_path,
    resolve_precision,
)
from index.errors import CitebotError
from index.generations import changed_files
from index.manifest import IndexSpec
from index.store import StoredIndex
from ingest.pipeline import discover, hash_file, source_name
from ingest.sources.mirror import Mirror
from ingest.writing import misaligned, spread

_DEEP_SAMPLE = 64  # chunks re-embedded by `doctor --deep`


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: ok, a warning (works, but worth a look) or a problem (won't work)."""

    name: str
    status: str  # "ok", "warning" or "problem"
    detail: str
    fix: str = ""


def _ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def check_model(settings: Settings) -> Check:
    """The embedding model can be found locally."""
    model = settings.embedding.model
    try:
        path = resolve_model_path(model)
        model_fingerprint(model)
        precision = resolve_precision(settings.embedding.precision)
    except CitebotError as exc:
        return Check("model", "problem", str(exc), "set CITEBOT_EMBEDDING__MODEL to a model folder")
    if path is None:
        return Check(
            "model",
            "warning",
            f"{model} is not a local folder; it must be in the "
            "Hugging Face cache, as nothing is downloaded",
            "set CITEBOT_EMBEDDING__MODEL to a local model folder",
        )
    return _ok("model", f"{model} at {path}, {precision} inference")


def check_index(settings: Settings) -> list[Check]:
    """The index exists, matches the model and chunking, and the sources haven't changed."""
    try:
        index = StoredIndex.open(settings.index_dir)
    except CitebotError as exc:
        return [Check("index", "problem", str(exc), "run `citebot ingest`")]
    try:
        spec = index.manifest.spec
        found = [
            _ok(
                "index",
                f"{index.chunk_count} chunks of {index.manifest.document_count} "
                f"documents at {index.folder}",
            )
        ]
        found.append(_check_integrity(index))
        # The model's dimension is known only once it loads; its fingerprint stands for it.
        wanted = IndexSpec(
            model=settings.embedding.model,
            model_fingerprint=embedding_fingerprint(
                settings.embedding.model, settings.embedding.precision
            ),
            dimension=spec.dimension,
            chunk_tokens=settings.chunking.chunk_tokens,
            overlap_tokens=settings.chunking.overlap_tokens,
        )
        differences = wanted.differences(spec)
        if differences:
            found.append(
                Check(
                    "index settings",
                    "problem",
                    f"built with {'; '.join(differences)}",
                    "run `citebot ingest` to rebuild with the current settings",
                )
            )
        else:
            found.append(
                _ok(
                    "index settings",
                    f"built with {spec.model}, chunks {spec.chunk_tokens}/{spec.overlap_tokens}",
                )
            )
        found.append(
            _check_sources(settings, {s: r.content_hash for s, (r, _) in index.documents().items()})
        )
        return found
    finally:
        index.close()


def _check_integrity(index: StoredIndex) -> Check:
    if not index.manifest.checksums:
        return _ok("index files", "no checksums recorded (written by an older citebot)")
    changed = changed_files(index.folder, index.manifest)
    if changed:
        return Check(
            "index files",
            "problem",
            f"{', '.join(changed)} changed since it was written: its text or vectors can't be "
            "trusted",
            "run `citebot ingest --rebuild`",
        )
    return _ok("index files", "match the checksums written with them")


def _check_sources(settings: Settings, indexed: dict[str, str]) -> Check:
    roots = source_roots(settings)
    try:
        files, _ = discover(roots)
    except CitebotError as exc:
        return Check("sources", "problem", str(exc), "set CITEBOT_SOURCES to your documents")
    current = {source_name(path, roots): hash_file(path) for path in files}
    added = len(current.keys() - indexed.keys())
    removed = len(indexed.keys() - current.keys())
    changed = sum(1 for s in current.keys() & indexed.keys() if current[s] != indexed[s])
    if added or removed or changed:
        return Check(
            "sources",
            "warning",
            f"{_names(roots)} changed since the last ingest: {added} new, "
            f"{changed} changed, {removed} removed",
            "run `citebot ingest`",
        )
    return _ok("sources", f"{len(current)} files in {_names(roots)}, all indexed")


def _names(roots: list[Path]) -> str:
    return ", ".join(str(root) for root in roots)


def check_synced_sources(settings: Settings) -> list[Check]:
    """Each site and repository: its last successful sync, its files, and its last error."""
    found: list[Check] = []
    for source in remote_sources(settings):
        name = f"{source.kind} {source.name}"
        status = Mirror(mirror_folder(settings, source.name)).status
        schedule = f"every {source.every}" if source.every else "no schedule"
        if not status.last_success:
            problem = f"; last error: {status.last_error}" if status.last_error else ""
            found.append(
                Check(name, "warning", f"never synced ({schedule}){problem}", "run `citebot sync`")
            )
            continue
        at = f" at {status.revision[:12]}" if status.revision else ""
        detail = f"{status.files} files{at}, last synced {status.last_success} ({schedule})"
        if status.last_error and status.last_attempt > status.last_success:
            found.append(
                Check(
                    name,
                    "warning",
                    f"{detail}; the last sync failed ({status.last_attempt}): {status.last_error}",
                    "check the address and network; the files synced before are still served",
                )
            )
        else:
            found.append(_ok(name, detail))
    return found


def check_tokens(settings: Settings) -> list[Check]:
    """Chat tokens are present and look right; their values are never shown."""
    found: list[Check] = []
    for platform in PLATFORMS:
        if not platform.configured(settings):
            continue
        problems = platform.problems(settings)
        found.append(
            Check(platform.name, "problem", "; ".join(problems), platform.fix)
            if problems
            else _ok(platform.name, platform.describe(settings))
        )
    if not found:
        titles = " or ".join(platform.title for platform in PLATFORMS)
        found.append(
            Check(
                "chat",
                "warning",
                f"no {titles} token set; only the CLI works",
                f"set {setup_hint().replace(' and/or ', ', or ')}",
            )
        )
    return found


def check_writable(settings: Settings) -> list[Check]:
    """The data and index folders can be written."""
    found = []
    for name, folder in (
        ("data folder", settings.data_dir),
        ("index folder", settings.index_dir),  # the folder ingest writes, not its parent
    ):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder):
                pass
            found.append(_ok(name, f"{folder} is writable"))
        except OSError as exc:
            found.append(
                Check(
                    name,
                    "problem",
                    f"cannot write to {folder} ({exc.strerror})",
                    f"make {folder} writable by user {os.getuid()}, or point "
                    "CITEBOT_DATA_DIR / CITEBOT_INDEX_DIR elsewhere",
                )
            )
    return found


def check_index_deeply(settings: Settings) -> list[Check]:
    """Re-embed a sample of stored chunks and run SQLite's integrity check (loads the model)."""
    from bot.core.engine import load_embedder  # noqa: PLC0415 (torch only for --deep)

    try:
        index = StoredIndex.open(settings.index_dir)
    except CitebotError:
        return []  # check_index has reported it
    try:
        found = []
        damage = index.integrity_problems()
        if damage:
            found.append(
                Check(
                    "index integrity",
                    "problem",
                    f"SQLite finds {index.folder / 'chunks.sqlite'} damaged: {damage[0]}",
                    "run `citebot ingest --rebuild`",
                )
            )
        else:
            found.append(_ok("index integrity", "SQLite integrity check passed"))
        sample = spread(range(index.chunk_count), _DEEP_SAMPLE)
        stored = index.chunks(sample)
        vectors = np.vstack([index.vectors(i, 1) for i in sample])
        wrong = misaligned(load_embedder(settings), [stored[i] for i in sample], vectors)
        if wrong:
            chunk, cosine = wrong[0]
            found.append(
                Check(
                    "index vectors",
                    "problem",
                    f"{len(wrong)} of {len(sample)} sampled chunks have another passage's vector "
                    f"(worst: {chunk.source}, {chunk.location}, cosine {cosine:.2f})",
                    "run `citebot ingest --rebuild`",
                )
            )
        else:
            found.append(_ok("index vectors", f"{len(sample)} sampled chunks match their vectors"))
        return found
    finally:
        index.close()


def check_writer(settings: Settings) -> Check:
    """Who writes answers, and whether questions and passages leave this machine."""
    if settings.writer == "extractive":
        return _ok("writer", "extractive: sentences quoted verbatim; nothing leaves this machine")
    llm = settings.llm
    if not llm.model:
        return Check(
            "writer", "problem", "CITEBOT_WRITER=llm without a model", "set CITEBOT_LLM__MODEL"
        )
    if importlib.util.find_spec("openai") is None:
        return Check(
            "writer", "problem", "CITEBOT_WRITER=llm needs openai", "pip install 'citebot[llm]'"
        )
    host = urllib.parse.urlsplit(llm.base_url).hostname or ""
    if not _stays_here(host):
        return Check(
            "writer",
            "warning",
            f"llm {llm.model} at {host}: every question and its best passages are sent there",
            "use a model on this machine or network (Ollama, llama.cpp, vLLM) to keep them here",
        )
    return _ok("writer", f"llm {llm.model} at {llm.base_url}; unchecked sentences are dropped")


def check_writer_answers(settings: Settings) -> Check:
    """The language model endpoint answers a one-word request (doctor --deep)."""
    import openai  # noqa: PLC0415 (checked installed by check_writer)

    from bot.core.llm_writer import describe_failure, llm_client  # noqa: PLC0415

    llm = settings.llm
    client = llm_client(llm, retries=0)
    started = time.monotonic()
    try:
        client.chat.completions.create(
            model=llm.model,
            messages=[{"role": "user", "content": "Reply with the word OK."}],
            max_tokens=5,
        )
    except openai.OpenAIError as exc:
        return Check(
            "writer endpoint",
            "problem",
            f"{llm.base_url} did not answer: {describe_failure(exc)}",
            "check CITEBOT_LLM__BASE_URL, CITEBOT_LLM__MODEL and CITEBOT_LLM__API_KEY; until "
            "then every answer is the quoted one",
        )
    return _ok("writer endpoint", f"{llm.model} answered in {time.monotonic() - started:.1f} s")


def _stays_here(host: str) -> bool:
    """Tell whether host is this machine or a private network address."""
    if host in ("localhost", "") or host.endswith((".local", ".internal", ".lan")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a public name
    return address.is_loopback or address.is_private or address.is_link_local


def run_checks(settings: Settings, *, deep: bool = False) -> list[Check]:
    """Run every check; deep ones re-embed a sample of the index and ask the writer's model."""
    writer = [check_writer(settings)]
    if deep and settings.writer == "llm" and writer[0].status != "problem":
        writer.append(check_writer_answers(settings))
    return [
        check_model(settings),
        *check_index(settings),
        *check_synced_sources(settings),
        *(check_index_deeply(settings) if deep else []),
        *check_tokens(settings),
        *writer,
        *check_writable(settings),
    ]


def all_well(checks: list[Check]) -> bool:
    """Tell whether no check found a problem (warnings allowed)."""
    return not any(check.status == "problem" for check in checks)
