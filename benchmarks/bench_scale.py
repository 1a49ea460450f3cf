"""Scale benchmark: ingest throughput, re-ingest, latency at 1k/100k/1M chunks, ANN recall,
memory per chunk, and the same corpus, model and questions through a LangChain pipeline.

Run: .venv/bin/python benchmarks/bench_scale.py [--chunks 10000] [--sizes 1000,100000,1000000]
Needs the bench extra for the LangChain baseline (pip install -e '.[bench]'). Prints a table
and writes bench-results/scale.json. Every figure that compares is a ratio within this run.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from common import DEV_SET, REPO, percentile, report

_RESIDENT = """
import resource, sys
from pathlib import Path
from index.store import StoredIndex

def rss():
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * resource.getpagesize()

before = rss()
index = StoredIndex.open(Path(sys.argv[1]))
index.document_frequencies(["policy"])
print(rss() - before)
"""


def resident_bytes(root: Path) -> int:
    """Memory an index takes once loaded, measured in a fresh process.

    In this process, pages freed by the previous size are reused, so the RSS delta would
    undercount.
    """
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _RESIDENT, str(root)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    )
    return int(done.stdout.split()[-1])


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def holds(text: str, phrases: list[str]) -> bool:
    folded = " ".join(text.casefold().replace("’", "'").split())
    return any(" ".join(p.casefold().replace("’", "'").split()) in folded for p in phrases)


def langchain_pipeline(  # type: ignore[no-untyped-def]
    folder: Path, model_path: str, chunk_chars: int, overlap_chars: int, batch_size: int = 32
):
    """Split with RecursiveCharacterTextSplitter, embed with HuggingFaceEmbeddings, FAISS.

    batch_size 32 is HuggingFaceEmbeddings' own default (sentence-transformers' encode).
    """
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document
    from langchain_huggingface import HuggingFaceEmbeddings
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    embeddings = HuggingFaceEmbeddings(
        model_name=model_path,
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True, "batch_size": batch_size},
    )
    embeddings.embed_query("warm up")
    started = time.perf_counter()
    documents = [
        Document(page_content=p.read_text(encoding="utf-8"), metadata={"source": str(p)})
        for p in sorted(folder.iterdir())
        if p.is_file()
    ]
    splitter = RecursiveCharacterTextSplitter(chunk_size=chunk_chars, chunk_overlap=overlap_chars)
    chunks = splitter.split_documents(documents)
    store = FAISS.from_documents(chunks, embeddings)
    seconds = time.perf_counter() - started
    # The model reads at most 256 tokens (254 of text): count what it actually embedded.
    counted = embeddings._client.tokenizer(
        [c.page_content for c in chunks], truncation=True, max_length=256, add_special_tokens=False
    )
    tokens = sum(len(ids) for ids in counted["input_ids"])
    return store, len(chunks), seconds, tokens


def lexical_worst_case_ms(index, root: Path, repeat: int) -> float:  # type: ignore[no-untyped-def]
    """Time BM25 on the costliest term set the postings budget admits (the most common terms)."""
    import sqlite3

    from index.chunk_store import CHUNKS
    from index.generations import live_generation
    from index.search import selective_terms

    folder = live_generation(root)
    assert folder is not None
    with sqlite3.connect(folder / CHUNKS) as connection:
        counts = dict(connection.execute("SELECT term, chunks FROM term_counts").fetchall())
    connection.close()
    # Offer the terms under the ceiling from the most common down, so the budget fills with
    # the costliest ones a question could bring.
    admitted = selective_terms(counts, index.chunk_count)
    ceiling = max((counts[t] for t in admitted), default=0)
    common = sorted((t for t in counts if counts[t] <= ceiling), key=counts.get, reverse=True)
    terms = selective_terms({t: counts[t] for t in common[:8]}, index.chunk_count)
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        index.search_lexical(terms, 40)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def synthetic_index(  # type: ignore[no-untyped-def]
    root: Path, size: int, base_vectors: np.ndarray, base_chunks: list, kind: str
):
    """Write an index of `size` chunks: real chunks and vectors, repeated with noise."""
    import dataclasses

    from index.manifest import Manifest
    from index.records import IndexedDocument
    from index.store import StoredIndex
    from tests.generation import write_generation

    rng = np.random.default_rng(size)
    picks = rng.integers(0, len(base_vectors), size)
    vectors = base_vectors[picks] + rng.normal(scale=0.02, size=(size, base_vectors.shape[1]))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    chunks = [
        dataclasses.replace(base_chunks[p], source=f"synthetic/{i // 5}.md", position=i % 5)
        for i, p in enumerate(picks)
    ]
    documents = [
        IndexedDocument(f"synthetic/{d}.md", "Synthetic", f"h{d}", min(5, size - 5 * d))
        for d in range((size + 4) // 5)
    ]
    live = StoredIndex.open(root.parent / "ingest-index")
    spec = live.manifest.spec
    live.close()
    manifest = Manifest(spec, len(documents), size, kind, "2026-01-01T00:00:00+00:00")
    write_generation(root, manifest, documents, chunks, vectors)
    return vectors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=10_000, help="synthetic corpus size")
    parser.add_argument("--sizes", default="1000,100000,1000000", help="latency index sizes")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-langchain", action="store_true")
    args = parser.parse_args()

    from synthetic import touch_share, write_corpus

    from bot.core.engine import Citebot, load_embedder, run_ingest
    from bot.core.evaluate import evaluate, read_questions
    from bot.settings import Settings
    from index.embedder import resolve_model_path
    from index.generations import live_generation
    from index.store import StoredIndex
    from index.vectors import IVF_SQ8, build_vector_index

    work = Path(tempfile.mkdtemp(prefix="citebot-scale-"))
    os.chdir(work)
    results: dict[str, float | str] = {}
    settings = Settings(sources=work / "corpus", index_dir=work / "ingest-index")
    embedder = load_embedder(settings)
    documents = max(1, args.chunks // 5)
    paths = write_corpus(REPO / "sources", work / "corpus", documents)

    # 1. Ingest throughput, then re-ingest after 1% of the documents changed.
    started = time.perf_counter()
    ingested = run_ingest(settings, embedder=embedder)
    first = time.perf_counter() - started
    index = StoredIndex.open(settings.index_dir)
    chunks = index.chunks(range(index.chunk_count))
    base_chunks = [chunks[i] for i in range(index.chunk_count)]
    base_vectors = index.vectors(0, index.chunk_count)
    index.close()
    tokens = sum(embedder.count_tokens([c.embedding_text() for c in base_chunks]))
    results |= {
        "corpus_documents": documents,
        "corpus_chunks": ingested.chunk_count,
        "ingest_s": first,
        "ingest_chunks_per_s": ingested.chunk_count / first,
        "ingest_tokens_per_s": tokens / first,
    }
    changed = touch_share(paths, 0.01)
    started = time.perf_counter()
    again = run_ingest(settings, embedder=embedder)
    results |= {
        "reingest_changed_documents": changed,
        "reingest_s": time.perf_counter() - started,
        "reingest_embedded_chunks": again.chunks_embedded,
    }
    results["reingest_share_of_first"] = float(results["reingest_s"]) / first

    # 2. Recall@10 of the approximate index against exact search, on the real embeddings.
    questions = [q.question for q in read_questions(DEV_SET)]
    queries = np.vstack(
        [embedder.embed_batch(questions), base_vectors[:: max(1, len(base_vectors) // 300)]]
    )
    exact = build_vector_index(base_vectors, "flat")[0]
    approximate, params = build_vector_index(base_vectors, IVF_SQ8)
    _, truth = exact.search(queries, 10)
    _, found = approximate.search(queries, 10)
    results["ann_recall@10_real"] = float(
        np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
    )
    results["ann_params_real"] = json.dumps(params)

    # 3. Warm latency end to end (embed, hybrid search, compose) at each size.
    for size in (int(s) for s in args.sizes.split(",")):
        root = work / f"size-{size}"
        kind = IVF_SQ8 if size >= settings.vectors.ann_threshold else "flat"
        started = time.perf_counter()
        vectors = synthetic_index(root, size, base_vectors, base_chunks, kind)
        results[f"build_{size}_s"] = time.perf_counter() - started
        gc.collect()
        loaded = resident_bytes(root)
        bot = Citebot.load(Settings(index_dir=root), embedder=embedder)
        for question in questions:
            bot.answer(question)
        timings = []
        for _ in range(args.repeat):
            for question in questions:
                started = time.perf_counter()
                bot.answer(question)
                timings.append((time.perf_counter() - started) * 1000)
        live = live_generation(root)
        assert live is not None
        text_bytes = sum(len(c.text.encode()) for c in base_chunks) / len(base_chunks)
        results |= {
            f"latency_{size}_p50_ms": percentile(timings, 0.5),
            f"latency_{size}_p95_ms": percentile(timings, 0.95),
            f"latency_{size}_p99_ms": percentile(timings, 0.99),
            f"index_type_{size}": kind,
            f"vectors_disk_bytes_per_chunk_{size}": (live / "vectors.faiss").stat().st_size / size,
            f"sqlite_disk_bytes_per_chunk_{size}": (live / "chunks.sqlite").stat().st_size / size,
            f"text_bytes_per_chunk_{size}": text_bytes,
            f"resident_bytes_per_chunk_{size}": loaded / size,
            f"lexical_worst_case_{size}_ms": lexical_worst_case_ms(bot.index, root, args.repeat),
        }
        if kind == IVF_SQ8:
            sample = vectors[:: max(1, size // 300)]
            flat = build_vector_index(vectors, "flat")[0]
            _, truth = flat.search(sample, 10)
            _, found = bot.index._vectors.search(sample, 10)
            results[f"ann_recall@10_{size}"] = float(
                np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
            )
            del flat
        bot.close()
        del bot, vectors
        shutil.rmtree(root, ignore_errors=True)
        gc.collect()

    # 4. LangChain: same corpus, same model, same questions.
    if not args.skip_langchain:
        model_path = str(resolve_model_path(settings.embedding.model))
        store, lc_chunks, lc_seconds, lc_tokens = langchain_pipeline(
            work / "corpus", model_path, 700, 140
        )
        ours = float(results["ingest_s"])
        results |= {
            "langchain_chunks": lc_chunks,
            "langchain_ingest_s": lc_seconds,
            "langchain_chunks_per_s": lc_chunks / lc_seconds,
            "langchain_tokens_per_s": lc_tokens / lc_seconds,
            "ingest_throughput_ratio_tokens": float(results["ingest_tokens_per_s"])
            / (lc_tokens / lc_seconds),
            "ingest_time_ratio_langchain_over_citebot": lc_seconds / ours,
            "ingest_throughput_ratio_chunks": (ingested.chunk_count / ours)
            / (lc_chunks / lc_seconds),
        }
        # The same pipeline at citebot's batch size, to show what batching alone is worth.
        del store
        _, _, lc8_seconds, _ = langchain_pipeline(work / "corpus", model_path, 700, 140, 8)
        results |= {
            "langchain_batch8_ingest_s": lc8_seconds,
            "ingest_time_ratio_langchain_batch8_over_citebot": lc8_seconds / ours,
        }
        small, _, _, _ = langchain_pipeline(REPO / "sources", model_path, 700, 140)
        bot = Citebot.load(
            Settings(sources=REPO / "sources", index_dir=work / "dev-index"),
            embedder=embedder,
            build_if_missing=True,
        )
        items = read_questions(DEV_SET)
        answerable = [q for q in items if q.expect]
        lc_hits = sum(
            any(holds(d.page_content, q.expect) for d in small.similarity_search(q.question, k=3))
            for q in answerable
        )
        results["langchain_recall@3"] = lc_hits / len(answerable)
        results["citebot_recall@3"] = evaluate(bot, items).metrics()["recall@3"]
        lc_times, our_times = [], []
        for _ in range(args.repeat):
            for item in items:
                started = time.perf_counter()
                small.similarity_search(item.question, k=5)
                lc_times.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                bot.answer(item.question)
                our_times.append((time.perf_counter() - started) * 1000)
        results |= {
            "langchain_question_p50_ms": statistics.median(lc_times),
            "citebot_question_p50_ms": statistics.median(our_times),
            "question_latency_ratio_citebot_over_langchain": statistics.median(our_times)
            / statistics.median(lc_times),
        }
        bot.close()

    shutil.rmtree(work, ignore_errors=True)
    report("scale", results)


if __name__ == "__main__":
    main()
