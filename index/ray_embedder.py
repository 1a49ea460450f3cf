"""Embed on a Ray cluster: the same ingest, with embedding spread over the cluster's workers.

Each worker loads the model once (an actor) and embeds shards of the corpus; the driver keeps
the order, so the index written is the same as a local ingest's. The workers need citebot and
the model installed, as they are on a local cluster or in the project's container image.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Sequence
from typing import Any

import numpy as np

from index.embedder import Embedder, Vectors
from index.errors import ConfigError

logger = logging.getLogger(__name__)

SHARD = 256  # texts per task: large enough to batch well, small enough to balance the load


class RayEmbedder:
    """An Embedder that answers the cheap questions locally and embeds on a Ray cluster."""

    def __init__(
        self,
        local: Embedder,
        *,
        model: str,
        precision: str,
        batch_size: int,
        address: str,
        workers: int = 0,
    ) -> None:
        try:
            import ray  # noqa: PLC0415 (optional dependency)
        except ImportError as exc:
            raise ConfigError(
                "distributed ingest needs Ray; install it with `pip install 'citebot[ray]'`"
            ) from exc
        self._local = local
        self._ray: Any = ray  # typed loosely: Ray's own hints do not cover actor methods
        if not ray.is_initialized():
            _check_reachable(address)
            try:
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
            except ConnectionError as exc:
                raise ConfigError(
                    f"cannot reach a Ray cluster at {address} ({exc}); start one with "
                    "`ray start --head` or set CITEBOT_INGEST__RAY_ADDRESS"
                ) from exc
        count = workers or max(1, int(self._ray.cluster_resources().get("CPU", 1)) // 2)
        actor = self._ray.remote(num_cpus=1)(_EmbeddingWorker)
        self._workers: list[Any] = [
            actor.remote(model, precision, batch_size) for _ in range(count)
        ]
        # A node with other model files, or a local model loaded at another precision than
        # the settings', would write vectors unlike the questions'; refuse before embedding.
        found = set(self._ray.get([worker.fingerprint.remote() for worker in self._workers]))
        if found != {local.fingerprint}:
            self.close()
            raise ConfigError(
                f"Ray workers load model {model} as {sorted(found)}, this machine as "
                f"{local.fingerprint}; install the same model on every node and use one "
                "CITEBOT_EMBEDDING__PRECISION everywhere"
            )
        logger.warning("embedding on Ray with %d workers", count)

    @property
    def name(self) -> str:
        """Return the model name."""
        return self._local.name

    @property
    def fingerprint(self) -> str:
        """Return the model fingerprint."""
        return self._local.fingerprint

    @property
    def dimension(self) -> int:
        """Return the vector length."""
        return self._local.dimension

    @property
    def max_tokens(self) -> int:
        """Return the model's token limit."""
        return self._local.max_tokens

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Count tokens locally: the tokenizer is fast and needs no cluster."""
        return self._local.count_tokens(texts)

    @property
    def texts_per_call(self) -> int:
        """Return how many texts one embed_batch call needs to keep every worker busy."""
        return SHARD * len(self._workers)

    def embed_batch(self, texts: Sequence[str]) -> Vectors:
        """Embed shards on the workers, round robin, and reassemble them in order."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        shards = [list(texts[i : i + SHARD]) for i in range(0, len(texts), SHARD)]
        pending = [
            self._workers[n % len(self._workers)].embed.remote(shard)
            for n, shard in enumerate(shards)
        ]
        return np.vstack(self._ray.get(pending)).astype(np.float32)

    def close(self) -> None:
        """Release the workers."""
        for worker in self._workers:
            self._ray.kill(worker)


def _check_reachable(address: str) -> None:
    """Fail fast on a host:port nobody listens on; ray.init would retry for minutes."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" or a ray:// URL: Ray resolves and reports those itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise ConfigError(
            f"cannot reach a Ray cluster at {address} ({exc.strerror or exc}); start one with "
            "`ray start --head` or set CITEBOT_INGEST__RAY_ADDRESS"
        ) from exc


class _EmbeddingWorker:
    """A Ray actor holding one loaded model."""

    def __init__(self, model: str, precision: str, batch_size: int) -> None:
        from index.embedder import SentenceTransformerEmbedder  # noqa: PLC0415

        self._embedder = SentenceTransformerEmbedder(
            model, precision=precision, batch_size=batch_size
        )

    def fingerprint(self) -> str:
        """Return the fingerprint of the model this worker loaded."""
        return self._embedder.fingerprint

    def embed(self, texts: list[str]) -> Any:
        """Embed one shard."""
        return self._embedder.embed_batch(texts)
