"""Answer quality on real public manuals: citebot against four baselines in one run.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/bench_quality.py                 # reporting halves
    .venv/bin/python benchmarks/bench_quality.py --split tune    # while changing retrieval
    .venv/bin/python benchmarks/bench_quality.py --cold          # timed ingest, no vector cache

The manuals (Git's, Django's and pytest's HTML documentation, from Debian packages pinned by
checksum) are fetched by benchmarks/quality/fetch.py. The questions in benchmarks/quality/*.jsonl
were written as people ask in chat and frozen before any run; each names the phrase a passage
must hold to answer it, or none when the manual doesn't answer it. For Git and Django the
odd-numbered questions are the tuning half, the even-numbered the reporting half; pytest is held
out (all reporting, never tuned on).

Systems, all with the same bundled all-MiniLM-L6-v2:
- citebot: the real ingest, search and answer.
- dense: FAISS inner product over citebot's own chunks and vectors.
- bm25: Okapi BM25 (k1 1.2, b 0.75, lower-cased words) over citebot's chunks.
- rrf: reciprocal rank fusion (k 60) of dense and bm25, top 50 of each.
- langchain: the usual recipe: BSHTMLLoader, RecursiveCharacterTextSplitter(1000, 200),
  HuggingFaceEmbeddings, FAISS.

A hit is a retrieved passage holding the expected phrase (as `citebot eval` counts it). Embeddings
are cached by text in data/bench-cache (SQLite, float32 bytes) so reruns re-embed only new text;
--cold turns the cache off so ingest times are real.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import math
import os
import re
import sqlite3
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from common import REPO, percentile, print_machine
from reader import (
    Reading,
    code_block_lines,
    holds,
    passage_reading,
    read_answer,
    shown_excerpt,
)

# Another checkout's citebot (the --baseline-ref run) goes first on the import path.
if os.environ.get("CITEBOT_BENCH_CODE"):
    sys.path.insert(0, os.environ["CITEBOT_BENCH_CODE"])
sys.path.insert(0, str(REPO / "benchmarks" / "quality"))
from fetch import MANUALS, fetch

QUESTIONS = REPO / "benchmarks" / "quality"
CACHE = REPO / "data" / "bench-cache" / "vectors.sqlite"
DEPTH = 10


@dataclass(frozen=True)
class Question:
    """One benchmark question."""

    id: str
    question: str
    expect: tuple[str, ...]
    split: str


def read_questions(name: str, split: str) -> list[Question]:
    """Read a manual's questions, keeping one split (or all)."""
    items = [
        json.loads(line)
        for line in (QUESTIONS / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return [
        Question(item["id"], item["question"], tuple(item["expect"]), item["split"])
        for item in items
        if split == "all" or item["split"] == split
    ]


class VectorCache:
    """Vectors by (model fingerprint, text), in SQLite as float32 bytes."""

    def __init__(self, path: Path | None) -> None:
        self._db = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path)
            self._db.execute("CREATE TABLE IF NOT EXISTS v (key TEXT PRIMARY KEY, vector BLOB)")

    def embed(
        self, fingerprint: str, texts: Sequence[str], compute: Callable[[list[str]], np.ndarray]
    ) -> np.ndarray:
        """Return the vectors of texts, computing only those not cached."""
        if self._db is None:
            return np.asarray(compute(list(texts)), dtype=np.float32)
        keys = [hashlib.sha256(f"{fingerprint}\0{t}".encode()).hexdigest() for t in texts]
        found: dict[str, np.ndarray] = {}
        for begin in range(0, len(keys), 500):
            part = keys[begin : begin + 500]
            rows = self._db.execute(
                f"SELECT key, vector FROM v WHERE key IN ({','.join('?' * len(part))})", part
            )
            found.update((key, np.frombuffer(blob, dtype=np.float32)) for key, blob in rows)
        missing = [i for i, key in enumerate(keys) if key not in found]
        if missing:
            computed = np.asarray(compute([texts[i] for i in missing]), dtype=np.float32)
            for i, vector in zip(missing, computed, strict=True):
                found[keys[i]] = vector
            self._db.executemany(
                "INSERT OR REPLACE INTO v VALUES (?, ?)",
                [(keys[i], computed[n].tobytes()) for n, i in enumerate(missing)],
            )
            self._db.commit()
        return np.stack([found[key] for key in keys]) if keys else np.zeros((0, 0), np.float32)


class CachedEmbedder:
    """citebot's embedder with its document vectors served from the cache when present."""

    def __init__(self, inner: Any, cache: VectorCache) -> None:
        self._inner = inner
        self._cache = cache
        self.name = inner.name
        self.fingerprint = inner.fingerprint
        self.dimension = inner.dimension
        self.max_tokens = inner.max_tokens

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts, from the cache where possible."""
        return self._cache.embed(self.fingerprint, texts, self._inner.embed_batch)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Count tokens with the real tokenizer."""
        return list(self._inner.count_tokens(texts))


_WORD = re.compile(r"\w+")


class BM25:
    """Plain Okapi BM25 over lower-cased words."""

    def __init__(self, texts: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self._postings: dict[str, list[tuple[int, int]]] = {}
        self._lengths = []
        for doc, text in enumerate(texts):
            counts = Counter(_WORD.findall(text.lower()))
            self._lengths.append(sum(counts.values()))
            for term, count in counts.items():
                self._postings.setdefault(term, []).append((doc, count))
        self._average = sum(self._lengths) / max(1, len(self._lengths))
        self._k1, self._b, self._n = k1, b, len(texts)

    def search(self, query: str, k: int) -> list[int]:
        """Return the ids of the k best-scoring texts."""
        scores: dict[int, float] = {}
        for term in set(_WORD.findall(query.lower())):
            postings = self._postings.get(term, [])
            idf = math.log(1 + (self._n - len(postings) + 0.5) / (len(postings) + 0.5))
            for doc, count in postings:
                norm = self._k1 * (1 - self._b + self._b * self._lengths[doc] / self._average)
                scores[doc] = scores.get(doc, 0.0) + idf * count * (self._k1 + 1) / (count + norm)
        return sorted(scores, key=lambda doc: -scores[doc])[:k]


def rrf(rankings: Sequence[Sequence[int]], k: int, constant: int = 60) -> list[int]:
    """Fuse rankings by reciprocal rank."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            scores[doc] = scores.get(doc, 0.0) + 1 / (constant + rank)
    return sorted(scores, key=lambda doc: -scores[doc])[:k]


def retrieval_metrics(ranks: Sequence[int | None]) -> dict[str, float]:
    """Recall at 1/3/5/10 and MRR from the rank of the first hit of each answerable question."""
    n = max(1, len(ranks))
    metrics = {f"recall@{k}": sum(1 for r in ranks if r and r <= k) / n for k in (1, 3, 5, 10)}
    metrics["mrr"] = sum(1 / r for r in ranks if r) / n
    return metrics


def ratio_interval(
    ours: Sequence[int | None], theirs: Sequence[int | None], rounds: int = 4000
) -> tuple[float, float]:
    """Return a 90% paired bootstrap interval of MRR(ours) / MRR(theirs) over the questions.

    With some 35 questions a manual, one question moves MRR by up to 0.03: the interval says
    which ratios the questions at hand can tell apart.
    """
    mine = np.array([1 / r if r else 0.0 for r in ours])
    other = np.array([1 / r if r else 0.0 for r in theirs])
    picks = np.random.default_rng(0).integers(0, len(mine), size=(rounds, len(mine)))
    means = other[picks].mean(axis=1)
    ratios = mine[picks].mean(axis=1)[means > 0] / means[means > 0]
    low, high = np.percentile(ratios, [5, 95])
    return float(low), float(high)


def first_hit(texts: Sequence[str], expect: Sequence[str]) -> int | None:
    """Return the 1-based rank of the first text holding an expected phrase."""
    return next((rank for rank, text in enumerate(texts, 1) if holds(text, expect)), None)


def timed(function: Callable[[], Any]) -> tuple[Any, float]:
    """Call function; return its result and the milliseconds it took."""
    started = time.perf_counter()
    result = function()
    return result, (time.perf_counter() - started) * 1000


def sample(folder: Path, pages: int, work: Path) -> Path:
    """Copy the first pages of a manual (in name order) into a folder of their own."""
    import shutil

    target = work / f"{folder.name}-first-{pages}"
    if not target.exists():
        for page in sorted(folder.rglob("*.html"))[:pages]:
            destination = target / page.relative_to(folder)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(page, destination)
    return target


def run_citebot_at(
    ref: str, manual: str, split: str, work: Path, extra: Sequence[str] = ()
) -> dict[str, Any]:
    """Run citebot as it was at a git ref (checked out beside the repo) in its own process."""
    import subprocess

    checkout = work / f"ref-{ref}"
    if not checkout.exists():
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "add", "--detach", str(checkout), ref],
            check=True,
            capture_output=True,
        )
    out = work / f"ref-{ref}-{manual}.json"
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--manuals",
            manual,
            "--split",
            split,
            "--citebot-only",
            "--work",
            str(work / f"ref-{ref}-index"),
            "--out",
            str(out),
            *extra,
        ],
        check=True,
        env=os.environ | {"CITEBOT_BENCH_CODE": str(checkout)},
    )
    row: dict[str, Any] = json.loads(out.read_text())[manual]["rows"]["citebot"]
    return row


def chat_lines(answer: Any) -> str:
    """Return an answer's quotes as its code's chat shows them, plain (no escaping or bold)."""
    import inspect

    from bot.platforms.chat_text import quote_lines

    # A --baseline-ref from before quote blocks shows each quote on a line of its own.
    render: Callable[..., list[str]] = quote_lines
    if len(inspect.signature(render).parameters) == 3:
        return "\n".join(render(answer, str, ""))
    return "\n".join(render(answer, str, "", str))


def run_citebot(folder: Path, work: Path, questions: list[Question], cache: VectorCache) -> dict:
    """Ingest with citebot, then ask every question; return its row and its chunks and vectors."""
    from bot.settings import Settings

    # A --baseline-ref older than the bot/core layout keeps its engine at bot/engine.py.
    code = Path(os.environ.get("CITEBOT_BENCH_CODE") or REPO)
    engine = importlib.import_module(
        "bot.core.engine" if (code / "bot" / "core").is_dir() else "bot.engine"
    )
    Citebot, load_embedder, run_ingest = engine.Citebot, engine.load_embedder, engine.run_ingest
    settings = Settings(sources=folder, index_dir=work / "index")
    embedder = CachedEmbedder(load_embedder(settings), cache)
    report_, ms = timed(lambda: run_ingest(settings, embedder=embedder, rebuild=True))
    seconds = ms / 1000
    # Questions are embedded for real: only document vectors come from the cache.
    bot = Citebot.load(settings, embedder=embedder._inner)
    index = bot.index
    chunk_map = index.chunks(range(index.chunk_count))
    chunks = [chunk_map[i] for i in range(index.chunk_count)]
    vectors = index.vectors(0, index.chunk_count)
    ranks, latencies = [], []
    quoted = declined = false_declines = 0
    answerable = [q for q in questions if q.expect]
    unanswerable = [q for q in questions if not q.expect]
    per_question = []
    readings: list[Reading] = []
    code_lines = code_block_lines(folder)
    for q in questions:
        bot.answer(q.question)  # warm caches for this question's terms equally for all
    for q in questions:
        answer, ms = timed(lambda q=q: bot.answer(q.question))
        latencies.append(ms)
        hits = bot.retrieve(q.question, top_k=DEPTH)
        # What a hit shows: its passage (the chunk read with its neighbours, and the page's
        # opening line); citebot before the opening line existed shows the chunk alone.
        passages = [getattr(h, "passage", h.chunk.text) for h in hits]
        rank = first_hit(passages, q.expect) if q.expect else None
        if q.expect:
            ranks.append(rank)
            quoted += holds(" ".join(x.text for x in answer.quotes), q.expect)
            false_declines += not answer.found
        else:
            declined += not answer.found
        reading = read_answer(answer, q.expect, code_lines) if answer.found else None
        if reading is not None:
            readings.append(reading)
        per_question.append(
            {
                "id": q.id,
                "question": q.question,
                "expect": list(q.expect),
                "rank": rank,
                "found": answer.found,
                "answer": answer.text,
                "quotes": [[x.n, x.span or x.text] for x in answer.quotes],
                # The quotes as a chat shows them (blocks of prose and code), for the readers.
                "chat": chat_lines(answer),
                "citations": [
                    {
                        "n": c.n,
                        "title": c.title,
                        "location": c.location,
                        "text": c.text,
                        "excerpt": shown_excerpt(answer, c),  # as this code's chat shows it
                    }
                    for c in answer.citations
                ],
                "holds": bool(reading and reading.holds),
                "shown": bool(reading and reading.shown),
                "defects": reading.defects if reading else [],
            }
        )
    row = retrieval_metrics(ranks)
    row |= reader_metrics(readings, len(answerable))
    row |= {
        "ranks": ranks,
        "quoted": quoted / max(1, len(answerable)),
        "declined": declined / max(1, len(unanswerable)),
        "false_declines": false_declines / max(1, len(answerable)),
        "p50_ms": statistics.median(latencies),
        "ingest_s": seconds,
        "chunks": index.chunk_count,
    }
    bot.close()
    return {
        "row": row,
        "chunks": chunks,
        "vectors": vectors,
        "embedder": embedder,
        "questions": per_question,
        "skipped": len(report_.skipped),
    }


def reader_metrics(readings: Sequence[Reading], answerable: int) -> dict[str, float]:
    """Aggregate what readers saw: shares over answerable questions, sizes over answers given."""
    lengths = [float(r.length) for r in readings] or [0.0]
    kinds = Counter(
        "chrome" if "page chrome" in d else "markup" if "markup" in d else "nonprose"
        for r in readings
        for d in r.defects
    )
    return {
        "holds": sum(r.holds for r in readings) / max(1, answerable),
        "shown": sum(r.shown for r in readings) / max(1, answerable),
        "len_p50": statistics.median(lengths),
        "len_p90": percentile(lengths, 0.9),
        "nonprose": kinds["nonprose"],
        "chrome": kinds["chrome"],
        "markup": kinds["markup"],
    }


def run_baselines(citebot: dict, questions: list[Question]) -> dict[str, dict[str, float]]:
    """Dense, BM25 and RRF over citebot's own chunks and vectors."""
    chunks = citebot["chunks"]
    # Each chunk as the page reads: with the headings that begin at it, as citebot's passages
    # and LangChain's splits show them.
    texts = [
        "\n".join((*chunk.headings_begun(chunks[i - 1] if i else None), chunk.text))
        for i, chunk in enumerate(chunks)
    ]
    vectors = citebot["vectors"]
    embedder = citebot["embedder"]._inner
    bm25, bm25_s = timed(lambda: BM25(texts))
    answerable = [q for q in questions if q.expect]
    rows: dict[str, dict[str, Any]] = {}
    rankings: dict[str, list[list[int]]] = {"dense": [], "bm25": [], "rrf": []}
    times: dict[str, list[float]] = {"dense": [], "bm25": [], "rrf": []}
    for q in answerable:
        query, ms_embed = timed(lambda q=q: embedder.embed_batch([q.question])[0])
        dense, ms_dense = timed(lambda query=query: list(np.argsort(-(vectors @ query))[:50]))
        lexical, ms_bm25 = timed(lambda q=q: bm25.search(q.question, 50))
        fused, ms_rrf = timed(lambda d=dense, b=lexical: rrf([d, b], DEPTH))
        rankings["dense"].append(dense[:DEPTH])
        rankings["bm25"].append(lexical[:DEPTH])
        rankings["rrf"].append(fused)
        times["dense"].append(ms_embed + ms_dense)
        times["bm25"].append(ms_bm25)
        times["rrf"].append(ms_embed + ms_dense + ms_bm25 + ms_rrf)
    for name, ranking in rankings.items():
        ranks = [
            first_hit([texts[i] for i in ids], q.expect)
            for ids, q in zip(ranking, answerable, strict=True)
        ]
        # A baseline's answer is its best passage, shown whole.
        readings = [
            passage_reading(texts[ids[0]], q.expect) if ids else passage_reading("", q.expect)
            for ids, q in zip(ranking, answerable, strict=True)
        ]
        rows[name] = (
            retrieval_metrics(ranks)
            | reader_metrics(readings, len(answerable))
            | {
                "ranks": ranks,
                "p50_ms": statistics.median(times[name]),
                "ingest_s": citebot["row"]["ingest_s"] + (bm25_s / 1000 if name != "dense" else 0),
                "chunks": len(texts),
            }
        )
    return rows


def run_langchain(folder: Path, questions: list[Question], cache: VectorCache) -> dict[str, Any]:
    """The usual LangChain recipe over the same pages."""
    from langchain_community.document_loaders import BSHTMLLoader
    from langchain_community.vectorstores import FAISS
    from langchain_core.embeddings import Embeddings
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    from bot.settings import Settings
    from index.embedder import resolve_model_path

    model_path = str(resolve_model_path(Settings().embedding.model))
    inner = HuggingFaceEmbeddings(
        model_name=model_path,
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True},
    )

    class Cached(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return cache.embed("langchain-minilm", texts, inner.embed_documents).tolist()

        def embed_query(self, text: str) -> list[float]:
            return inner.embed_query(text)

    from langchain_community.document_loaders import TextLoader

    started = time.perf_counter()
    pages = sorted(p for p in folder.rglob("*") if p.suffix in (".html", ".md"))
    documents = [
        document
        for page in pages
        for document in (
            BSHTMLLoader(
                str(page),
                open_encoding="utf-8",
                bs_kwargs={"features": "html.parser"},  # lxml is not needed for this
                get_text_separator="\n",  # the default "" glues words of adjacent tags together
            )
            if page.suffix == ".html"
            # Markdown as the recipe reads it: the file's text, split like any other.
            else TextLoader(str(page), encoding="utf-8")
        ).load()
    ]
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunks = splitter.split_documents(documents)
    store = FAISS.from_documents(chunks, Cached())
    seconds = time.perf_counter() - started
    answerable = [q for q in questions if q.expect]
    ranks, latencies, readings = [], [], []
    for q in answerable:
        found, ms = timed(lambda q=q: store.similarity_search(q.question, k=DEPTH))
        latencies.append(ms)
        ranks.append(first_hit([d.page_content for d in found], q.expect))
        readings.append(passage_reading(found[0].page_content if found else "", q.expect))
    return (
        retrieval_metrics(ranks)
        | reader_metrics(readings, len(answerable))
        | {
            "ranks": ranks,
            "p50_ms": statistics.median(latencies),
            "ingest_s": seconds,
            "chunks": len(chunks),
        }
    )


BASELINES = ("dense", "bm25", "rrf", "langchain")
COLUMNS = [
    "recall@1",
    "recall@3",
    "recall@5",
    "recall@10",
    "mrr",
    "holds",
    "shown",
    "len_p50",
    "len_p90",
    "nonprose",
    "chrome",
    "markup",
    "declined",
    "false_declines",
    "p50_ms",
    "ingest_s",
    "chunks",
]
_COUNTS = ("chunks", "len_p50", "len_p90", "nonprose", "chrome", "markup")


def print_table(name: str, rows: dict[str, dict[str, Any]]) -> None:
    """Print one manual's systems side by side."""
    print(f"\n## {name}")
    widths = [max(9, len(c) + 1) for c in COLUMNS]
    print(f"{'system':<10}" + "".join(f"{c:>{w}}" for c, w in zip(COLUMNS, widths, strict=True)))
    for system, row in rows.items():
        cells = []
        for column, width in zip(COLUMNS, widths, strict=True):
            value = row.get(column)
            cells.append(
                f"{'—':>{width}}"
                if value is None
                else f"{value:>{width}.0f}"
                if column in _COUNTS
                else f"{value:>{width}.2f}"
                if column in ("p50_ms", "ingest_s")
                else f"{value:>{width}.3f}"
            )
        print(f"{system:<10}" + "".join(cells))


def main() -> None:
    """Run every system on every manual and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manuals", nargs="*", default=list(MANUALS))
    parser.add_argument("--split", choices=["report", "tune", "all"], default="report")
    parser.add_argument("--cold", action="store_true", help="no vector cache: real ingest times")
    parser.add_argument("--skip-langchain", action="store_true")
    parser.add_argument("--citebot-only", action="store_true", help="no baselines")
    parser.add_argument(
        "--baseline-ref", help="also run citebot as it was at this git ref, e.g. 60cc0fc"
    )
    parser.add_argument("--work", type=Path, default=REPO / "data" / "bench-quality")
    parser.add_argument("--out", type=Path, help="where to write the JSON results")
    parser.add_argument(
        "--pages", type=int, help="use only the first N pages of each manual (for timing runs)"
    )
    parser.add_argument(
        "--html-extractor",
        choices=["house", "trafilatura"],
        default="house",
        help="trafilatura: each HTML page is first cut to its main content by trafilatura "
        "(pip install trafilatura lxml_html_clean), then read as citebot reads HTML",
    )
    parser.add_argument(
        "--precision",
        choices=["float32", "int8", "auto"],
        help="embedding precision for citebot and the baselines over its vectors "
        "(default: CITEBOT_EMBEDDING__PRECISION, else auto)",
    )
    args = parser.parse_args()
    if args.precision:
        os.environ["CITEBOT_EMBEDDING__PRECISION"] = args.precision
    if not os.environ.get("CITEBOT_BENCH_CODE"):  # an older checkout's run: the parent says it
        print_machine()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.html_extractor == "trafilatura":
        use_trafilatura()
    cache = VectorCache(None if args.cold else CACHE)
    folders = fetch(args.manuals, REPO / "data" / "manuals")
    if args.pages:
        folders = {name: sample(folder, args.pages, args.work) for name, folder in folders.items()}
    from bot.settings import Settings

    try:
        from index.embedder import describe_precision
    except ImportError:  # a --baseline-ref checkout from before it: its plain name
        from index.embedder import resolve_precision as describe_precision

    precision = describe_precision(Settings().embedding.precision)
    results: dict[str, Any] = {"split": args.split, "cold": args.cold, "precision": precision}
    for name, folder in folders.items():
        questions = read_questions(name, args.split)
        if not questions:
            continue  # a manual held out whole has no tuning half
        citebot = run_citebot(folder, args.work / name, questions, cache)
        rows = {"citebot": citebot["row"]}
        if args.citebot_only and not args.baseline_ref:
            results[name] = {"rows": rows, "questions": citebot["questions"]}
            _write(results, args)
            continue
        if args.baseline_ref:
            extra = [
                *(["--cold"] if args.cold else []),
                *(["--pages", str(args.pages)] if args.pages else []),
            ]
            rows[f"@{args.baseline_ref}"] = run_citebot_at(
                args.baseline_ref, name, args.split, args.work, extra
            )
        if not args.citebot_only:
            rows |= run_baselines(citebot, questions)
        if not (args.skip_langchain or args.citebot_only):
            rows["langchain"] = run_langchain(folder, questions, cache)
        print_table(
            f"{name}: {len(questions)} questions ({args.split}), "
            f"{sum(1 for q in questions if not q.expect)} unanswerable; "
            f"passages embedded at {precision} (langchain: float32)",
            rows,
        )
        baselines = {system: row for system, row in rows.items() if system in BASELINES}
        if baselines:
            best = max(baselines, key=lambda system: baselines[system]["mrr"])
            low, high = ratio_interval(citebot["row"]["ranks"], baselines[best]["ranks"])
            print(
                f"citebot MRR / best baseline MRR ({best}): "
                f"{citebot['row']['mrr'] / baselines[best]['mrr']:.2f} "
                f"(90% paired bootstrap interval over the questions: {low:.2f}-{high:.2f})"
            )
        results[name] = {"rows": rows, "questions": citebot["questions"]}
        _write(results, args)


def use_trafilatura() -> None:
    """Read HTML as citebot does, but only what trafilatura keeps as the page's main content."""
    import trafilatura

    from ingest.formats import html

    house = html.visible_text

    def main_content(markup: str) -> Any:
        kept = trafilatura.extract(
            markup,
            output_format="html",
            include_tables=True,
            include_formatting=True,
            include_links=False,
            include_comments=False,
            favor_recall=True,
        )
        page = house(markup)
        if not kept:
            return page  # nothing extracted: the page as citebot reads it
        # The title and address are the page's, not the fragment's.
        from dataclasses import replace

        return replace(house(kept), title=page.title, url=page.url, link_share=page.link_share)

    html.visible_text = main_content


def _write(results: dict[str, Any], args: argparse.Namespace) -> None:
    """Write the results so far (a later manual's failure loses none of the earlier ones)."""
    out = args.out or REPO / "bench-results" / f"quality-{args.split}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
