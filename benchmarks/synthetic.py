"""A synthetic corpus from sources/: distinct documents of real sentences, some words swapped."""

from __future__ import annotations

import random
from pathlib import Path

from index.sentences import split_sentences
from ingest.loaders import load_document

_TARGET_CHARS = 3500  # about five 160-token chunks a document


def corpus_sentences(sources: Path) -> list[str]:
    """Every sentence of the documents under sources, after cleaning."""
    sentences = []
    for path in sorted(sources.iterdir()):
        if path.is_file():
            document, _ = load_document(path, path.name, max_bytes=10**8)
            for block in document.blocks:
                sentences.extend(s for s in split_sentences(block.text) if len(s.split()) > 4)
    return sentences


def write_corpus(sources: Path, target: Path, documents: int, seed: int = 0) -> list[Path]:
    """Write `documents` files of shuffled, word-swapped sentences; return their paths."""
    rng = random.Random(seed)
    sentences = corpus_sentences(sources)
    vocabulary = sorted({w for s in sentences for w in s.split() if w.isalpha()})
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(documents):
        lines = [f"# Synthetic document {n}", ""]
        size = 0
        while size < _TARGET_CHARS:
            paragraph = []
            for sentence in rng.sample(sentences, 4):
                words = sentence.split()
                for _ in range(max(1, len(words) // 6)):
                    words[rng.randrange(len(words))] = rng.choice(vocabulary)
                paragraph.append(" ".join(words))
            text = " ".join(paragraph)
            lines += [text, ""]
            size += len(text)
        path = target / f"doc{n:06d}.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        paths.append(path)
    return paths


def touch_share(paths: list[Path], share: float, seed: int = 1) -> int:
    """Append a new sentence to a share of the documents; return how many changed."""
    rng = random.Random(seed)
    chosen = rng.sample(paths, max(1, round(len(paths) * share)))
    for path in chosen:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"\nAn added closing remark number {rng.randrange(10**9)}.\n")
    return len(chosen)
