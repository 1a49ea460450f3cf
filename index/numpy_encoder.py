"""A BERT sentence encoder in NumPy, for questions: `citebot ask` answers without torch.

Importing torch and sentence-transformers is most of a cold `citebot ask` (seconds), while one
question is a few dozen tokens through six small layers. For the models this covers (a plain
BERT encoder, mean pooling, normalised: all-MiniLM-L6-v2 and its kin) and a float32 index, the
same weights run here, read from the model's safetensors file, and give the same vectors. An
int8 index is asked with the same float32 questions: they find its passages as well as its own
int8 question vectors do, so that index needs no torch to ask either.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from index.embedder import Vectors, embedding_fingerprint, resolve_model_path

_POOLING = "sentence_transformers.models.Pooling"
# Document precisions whose indexes float32 questions may search (bfloat16 was never measured).
QUESTION_READY = ("float32", "int8")
_SUPPORTED_MODULES = [
    "sentence_transformers.models.Transformer",
    _POOLING,
    "sentence_transformers.models.Normalize",
]


class NumpyBertEncoder:
    """An Embedder for questions: the model's own weights, run by NumPy (float32 only)."""

    def __init__(self, model: str, folder: Path, *, documents: str = "float32") -> None:
        from safetensors.numpy import load_file  # noqa: PLC0415 (a small Rust extension)
        from tokenizers import Tokenizer  # noqa: PLC0415

        config = json.loads((folder / "config.json").read_text())
        settings = json.loads((folder / "sentence_bert_config.json").read_text())
        self._name = model
        # Questions are embedded in float32 whatever the documents were embedded in, and may be
        # asked of an int8 index: over its vectors they rank as well as int8 questions do (the 139
        # answerable real-manual questions and the dev set; docs/performance.md).
        self._fingerprint = embedding_fingerprint(model, documents)
        self._heads = int(config["num_attention_heads"])
        self._layers = int(config["num_hidden_layers"])
        self._epsilon = float(config.get("layer_norm_eps", 1e-12))
        self._dimension = int(config["hidden_size"])
        self._max_length = int(settings.get("max_seq_length", 256))
        self._weights: dict[str, Any] = load_file(str(folder / "model.safetensors"))
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in self._weights else ""
        self._weights = {key.removeprefix(prefix): value for key, value in self._weights.items()}
        # Two tokenizers, each set once: the bots embed and count from many threads, and a
        # setting flipped on a shared one would let a question through untruncated.
        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._tokenizer.enable_truncation(self._max_length)
        self._tokenizer.no_padding()
        self._counter = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self._counter.no_truncation()
        self._counter.no_padding()

    @classmethod
    def for_model(cls, model: str, *, documents: str = "float32") -> NumpyBertEncoder | None:
        """Return a question encoder for model's index at the documents' precision, or None.

        None when the model is not a plain BERT with mean pooling, or the documents' precision
        is one its float32 questions were not measured against (only float32 and int8 are).
        """
        folder = resolve_model_path(model)
        if documents not in QUESTION_READY or folder is None or not _is_supported(folder):
            return None
        return cls(model, folder, documents=documents)

    @property
    def name(self) -> str:
        """Return the model name as configured."""
        return self._name

    @property
    def fingerprint(self) -> str:
        """Return the fingerprint of the document vectors these questions are asked of."""
        return self._fingerprint

    @property
    def dimension(self) -> int:
        """Return the length of each vector."""
        return self._dimension

    @property
    def max_tokens(self) -> int:
        """Return the maximum sequence length less the two special tokens."""
        return self._max_length - 2

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Count each text's tokens without special tokens (and without truncation)."""
        encodings = self._counter.encode_batch(list(texts), add_special_tokens=False)
        return [len(encoding.ids) for encoding in encodings]

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        """Embed each text on its own (questions are few): unit vectors, float32."""
        vectors = np.zeros((len(texts), self._dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            vectors[row] = self._embed(self._tokenizer.encode(text).ids)
        return vectors

    def _embed(self, ids: list[int]) -> Vectors:
        w = self._weights
        hidden = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][: len(ids)]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        hidden = self._norm(hidden, "embeddings.LayerNorm")
        for layer in range(self._layers):
            hidden = self._layer(hidden, f"encoder.layer.{layer}.")
        pooled = hidden.mean(axis=0)  # every token is real: no padding to mask out
        unit: Vectors = (pooled / max(float(np.linalg.norm(pooled)), 1e-12)).astype(np.float32)
        return unit

    def _layer(self, hidden: Vectors, at: str) -> Vectors:
        tokens, size = hidden.shape
        width = size // self._heads

        def heads(name: str) -> Vectors:
            projected = self._dense(hidden, at + f"attention.self.{name}")
            return projected.reshape(tokens, self._heads, width).transpose(1, 0, 2)

        query, key, value = heads("query"), heads("key"), heads("value")
        scores = query @ key.transpose(0, 2, 1) / math.sqrt(width)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        scores /= scores.sum(axis=-1, keepdims=True)
        context = (scores @ value).transpose(1, 0, 2).reshape(tokens, size)
        attended = self._norm(
            self._dense(context, at + "attention.output.dense") + hidden,
            at + "attention.output.LayerNorm",
        )
        inner = self._dense(attended, at + "intermediate.dense")
        inner = 0.5 * inner * (1.0 + _erf(inner / math.sqrt(2.0)))  # BERT's exact GELU
        return self._norm(
            self._dense(inner, at + "output.dense") + attended, at + "output.LayerNorm"
        )

    def _dense(self, x: Vectors, name: str) -> Vectors:
        result: Vectors = x @ self._weights[name + ".weight"].T + self._weights[name + ".bias"]
        return result

    def _norm(self, x: Vectors, name: str) -> Vectors:
        mean = x.mean(axis=-1, keepdims=True)
        variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        normed = (x - mean) / np.sqrt(variance + self._epsilon)
        result: Vectors = normed * self._weights[name + ".weight"] + self._weights[name + ".bias"]
        return result


def _erf(x: Vectors) -> Vectors:
    """The error function, elementwise (Abramowitz and Stegun 7.1.26: error under 1.5e-7)."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    result: Vectors = (sign * (1.0 - poly * np.exp(-x * x))).astype(np.float32)
    return result


def _is_supported(folder: Path) -> bool:
    """Tell whether a model folder is a plain BERT, mean-pooled and normalised, in safetensors."""
    try:
        listed = json.loads((folder / "modules.json").read_text())
        modules = [m["type"] for m in listed]
        config = json.loads((folder / "config.json").read_text())
        pooling_file = next(
            folder / m["path"] / "config.json" for m in listed if m["type"] == _POOLING
        )
        pooling = json.loads(pooling_file.read_text())
    except (OSError, ValueError, KeyError, TypeError, StopIteration):
        return False
    mean_only = pooling.get("pooling_mode_mean_tokens") and not any(
        pooling.get(mode)
        for mode in (
            "pooling_mode_cls_token",
            "pooling_mode_max_tokens",
            "pooling_mode_mean_sqrt_len_tokens",
        )
    )
    return bool(
        modules == _SUPPORTED_MODULES
        and mean_only
        and config.get("model_type") == "bert"
        and config.get("hidden_act") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and (folder / "model.safetensors").is_file()
        and (folder / "tokenizer.json").is_file()
        and (folder / "sentence_bert_config.json").is_file()
    )
