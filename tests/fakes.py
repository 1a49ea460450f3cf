"""Deterministic stand-ins for the embedding model, for tests that are not about quality."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from index.embedder import Vectors
from index.lexical import to_terms


class HashingEmbedder:
    """Embeds text as a hashed bag of its words; one word is one token."""

    def __init__(self, dimension: int = 64, *, fingerprint: str = "fake-1") -> None:
        self._dimension = dimension
        self._fingerprint = fingerprint
        self.embedded = 0  # texts embedded so far, to prove incremental ingest embeds nothing

    name = "fake-hashing"

    @property
    def fingerprint(self) -> str:
        """Return the fake's fixed fingerprint."""
        return self._fingerprint

    @property
    def dimension(self) -> int:
        """Return the vector length."""
        return self._dimension

    @property
    def max_tokens(self) -> int:
        """Return a limit like MiniLM's."""
        return 254

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        """Embed each text as normalised word-hash counts."""
        self.embedded += len(texts)
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for term in to_terms(text) or ["empty"]:
                bucket = int(hashlib.md5(term.encode()).hexdigest(), 16) % self._dimension
                vectors[row, bucket] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-9)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Count whitespace-separated words."""
        return [len(text.split()) for text in texts]
