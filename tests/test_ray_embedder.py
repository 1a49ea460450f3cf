"""Distributed ingest on a local Ray cluster, started and stopped by the test, on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from bot.core.engine import run_ingest
from bot.settings import Settings
from index.generations import live_generation
from index.records import Chunk
from index.store import StoredIndex
from tests.harness import SOURCES

ray = pytest.importorskip("ray")
RAY = Path(sys.executable).with_name("ray")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """Start a one-node Ray cluster bound to loopback; stop it afterwards."""
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    port = free_port()
    subprocess.run(
        [
            str(RAY),
            "start",
            "--head",
            "--node-ip-address=127.0.0.1",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--disable-usage-stats",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=180,
    )
    try:
        yield f"127.0.0.1:{port}"
    finally:
        ray.shutdown()
        subprocess.run(
            [str(RAY), "stop", "--force"], env=env, capture_output=True, timeout=120, check=False
        )


def test_ray_ingest_writes_the_same_index_as_a_local_ingest(
    ray_cluster: str,
    real_embedder,
    real_index_dir: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    settings = Settings(
        sources=SOURCES, index_dir=tmp_path / "ray-index", ingest={"ray_address": ray_cluster}
    )
    report = run_ingest(settings, embedder=real_embedder, distributed=True)
    assert report.chunks_embedded == report.chunk_count > 0
    local, remote = StoredIndex.open(real_index_dir), StoredIndex.open(settings.index_dir)
    try:
        assert remote.manifest.spec == local.manifest.spec
        assert remote.chunk_count == local.chunk_count
        ids = range(local.chunk_count)

        def by_file(index: StoredIndex) -> list[Chunk]:
            # Sources are named relative to the working folder, which differs between the two.
            chunks = index.chunks(ids)
            return [replace(chunks[i], source=Path(chunks[i].source).name) for i in ids]

        assert by_file(remote) == by_file(local)
        similarity = np.sum(
            remote.vectors(0, remote.chunk_count) * local.vectors(0, local.chunk_count), axis=1
        )
        # Workers batch the texts differently; bfloat16's 8-bit mantissa makes padding and batch
        # shape show (0.996 measured), the other paths agree to the fourth decimal.
        floor = 0.99 if real_embedder.precision == "bfloat16" else 0.9999
        path = f"{real_embedder.precision} path"
        assert similarity.min() > floor, f"{path}: worker vectors differ ({similarity.min():.5f})"
    finally:
        local.close()
        remote.close()


def test_ray_ingest_without_a_cluster_says_how_to_start_one(
    real_embedder,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from index.errors import ConfigError

    ray.shutdown()
    settings = Settings(
        sources=SOURCES,
        index_dir=tmp_path / "index",
        ingest={"ray_address": f"127.0.0.1:{free_port()}"},
    )
    with pytest.raises(ConfigError, match="ray start --head"):
        run_ingest(settings, embedder=real_embedder, distributed=True)


def test_ray_workers_with_another_model_fingerprint_are_refused(
    ray_cluster: str,
    real_embedder,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from index.errors import ConfigError

    # Workers load the configured precision; the local embedder was loaded with another.
    other = "float32" if real_embedder.precision != "float32" else "int8"
    settings = Settings(
        sources=SOURCES,
        index_dir=tmp_path / "index",
        embedding={"precision": other},
        ingest={"ray_address": ray_cluster},
    )
    with pytest.raises(ConfigError, match="same model on every node"):
        run_ingest(settings, embedder=real_embedder, distributed=True)
    assert live_generation(tmp_path / "index") is None  # nothing was written
