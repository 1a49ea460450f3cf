"""Questions embedded by NumPy match the model's own vectors, and `ask` then needs no torch."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from index.embedder import resolve_model_path
from index.numpy_encoder import NumpyBertEncoder
from index.query import make_query
from index.search import search
from index.store import StoredIndex
from tests.harness import DEV_SET, REPO, SOURCES

POOLING = "1_Pooling/config.json"
QUESTIONS = [json.loads(line)["question"] for line in DEV_SET.read_text().splitlines()]


@pytest.mark.model
def test_numpy_question_vectors_match_the_model_and_find_the_same_passages(
    real_index_dir: Path,
) -> None:
    from index.embedder import SentenceTransformerEmbedder

    encoder = NumpyBertEncoder.for_model("all-MiniLM-L6-v2")
    assert encoder is not None
    exact = SentenceTransformerEmbedder(precision="float32")
    assert encoder.fingerprint == exact.fingerprint and encoder.dimension == exact.dimension
    long_text = "the alliance of open models " * 80  # past the 256-token limit: truncated alike
    texts = [*QUESTIONS, long_text]
    cosine = (encoder.embed_batch(texts) * exact.embed_batch(texts)).sum(axis=1)
    assert cosine.min() >= 0.9999, cosine.min()
    assert encoder.count_tokens([long_text]) == exact.count_tokens([long_text])
    index = StoredIndex.open(real_index_dir)
    try:
        for question in QUESTIONS:
            ours = search(index, make_query(index, encoder, question), top_k=5)
            theirs = search(index, make_query(index, exact, question), top_k=5)
            assert [h.chunk for h in ours] == [h.chunk for h in theirs], question
    finally:
        index.close()


def _model_copy(tmp_path: Path, change: dict[str, object], file: str) -> Path:
    folder = resolve_model_path("all-MiniLM-L6-v2")
    assert folder is not None
    copy = tmp_path / "model"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("model.safetensors"))
    (copy / "model.safetensors").symlink_to(folder / "model.safetensors")
    path = copy / file
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    return copy


@pytest.mark.parametrize(
    ("change", "file"),
    [
        (
            {"pooling_mode_cls_token": True, "pooling_mode_mean_tokens": False},
            "1_Pooling/config.json",
        ),
        ({"model_type": "xlm-roberta"}, "config.json"),
        ({"hidden_act": "relu"}, "config.json"),
    ],
)
def test_models_the_numpy_encoder_does_not_cover_are_left_to_torch(
    tmp_path: Path, change: dict[str, object], file: str
) -> None:
    assert NumpyBertEncoder.for_model(str(_model_copy(tmp_path, {}, "config.json"))) is not None
    assert NumpyBertEncoder.for_model(str(_model_copy(tmp_path / "x", change, file))) is None


@pytest.mark.subprocess
def test_a_cold_ask_over_a_float32_index_never_imports_torch(
    real_index_dir: Path,
    real_embedder,  # type: ignore[no-untyped-def]
) -> None:
    code = (
        "import sys; from bot.cli import main; "
        "status = main(['ask', '--json', 'What is SeedAI working on?']); "
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH'); sys.exit(status)"
    )
    env = {**os.environ, "CITEBOT_SOURCES": str(SOURCES), "CITEBOT_INDEX_DIR": str(real_index_dir)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=env, check=True
    )
    answer, marker = done.stdout.rsplit("\n", 2)[0], done.stdout.split()[-1]
    assert "SeedAI is crafting frameworks" in answer
    # float32 and int8 indexes are asked without torch; bfloat16's (a forced run) needs the model.
    assert marker == ("NO-TORCH" if real_embedder.precision in ("float32", "int8") else "TORCH")


@pytest.mark.subprocess
def test_an_int8_index_is_asked_with_float32_questions_without_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.core.engine import Citebot, load_embedder, run_ingest
    from bot.settings import Settings

    monkeypatch.setenv("CITEBOT_EMBEDDING__PRECISION", "int8")
    monkeypatch.setenv("CITEBOT_SOURCES", str(SOURCES))
    monkeypatch.setenv("CITEBOT_INDEX_DIR", str(tmp_path / "index"))
    settings = Settings()
    int8 = load_embedder(settings)
    run_ingest(settings, embedder=int8)
    light = Citebot.load_without_torch(settings)
    assert light is not None and isinstance(light.embedder, NumpyBertEncoder)
    full = Citebot.load(settings, embedder=int8)
    cases = [json.loads(line) for line in DEV_SET.read_text().splitlines()]
    answerable = [case for case in cases if case["expect"]]

    def found_in_top_3(bot: Citebot) -> int:
        return sum(
            any(
                phrase in hit.passage
                for hit in bot.retrieve(case["question"], top_k=3)
                for phrase in case["expect"]
            )
            for case in answerable
        )

    # float32 questions over int8 passages find as many answers as int8 questions (measured:
    # 19 of 20 both ways here), give or take one, and decline the same unanswerable ones.
    assert found_in_top_3(light) >= found_in_top_3(full) - 1 >= len(answerable) - 3
    for case in cases:
        if not case["expect"]:
            assert not light.answer(case["question"]).found, case["question"]
    light.close()
    full.close()

    code = (
        "import sys; from bot.cli import main; "
        "status = main(['ask', '--json', 'What is SeedAI working on?']); "
        "print('TORCH' if 'torch' in sys.modules else 'NO-TORCH'); sys.exit(status)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert "SeedAI is crafting frameworks" in done.stdout
    assert done.stdout.split()[-1] == "NO-TORCH"


def test_numpy_erf_is_exact_enough() -> None:
    from index.numpy_encoder import _erf

    x = np.linspace(-5, 5, 2001, dtype=np.float32)
    # A&S 7.1.26 errs by under 1.5e-7; float32 rounding adds a few more units of 1e-7.
    assert np.abs(_erf(x) - np.array([math.erf(v) for v in x])).max() < 5e-7


@pytest.mark.model(any_precision=True)  # NumPy's encoder is float32 whatever the index's
def test_counting_and_embedding_from_many_threads_never_skip_truncation() -> None:
    from concurrent.futures import ThreadPoolExecutor

    encoder = NumpyBertEncoder.for_model("all-MiniLM-L6-v2")
    assert encoder is not None
    long_text = "open models and their weights " * 200  # about 1,000 tokens

    def work(n: int) -> int:
        if n % 2:
            return encoder.count_tokens([long_text])[0]
        return int(encoder.embed_batch([long_text]).shape[1])  # fails if not truncated to 256

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(16)))
    assert set(results[1::2]) == {1000} and set(results[::2]) == {encoder.dimension}
