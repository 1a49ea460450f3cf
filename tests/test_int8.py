"""Int8 inference: the CPU check, the quantised layer's arithmetic, and auto precision."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from index.cpu_features import has_int8_dot_products, int8_weight_levels
from index.embedder import embedding_fingerprint, model_fingerprint, resolve_precision
from index.errors import ConfigError
from index.int8 import Int8Linear, quantize_linear_layers

FLAGS = "processor\t: 0\nflags\t\t: fpu sse2 avx2 {extra}\nbugs\t\t: spectre_v1\n"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [("avx512_vnni avx512f", True), ("avx_vnni", True), ("amx_int8", True), ("avx512f", False)],
)
def test_int8_dot_products_read_from_cpu_flags(tmp_path: Path, extra: str, expected: bool) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(FLAGS.format(extra=extra))
    assert has_int8_dot_products(cpuinfo) is expected


def test_missing_cpuinfo_means_no_int8(tmp_path: Path) -> None:
    assert has_int8_dot_products(tmp_path / "absent") is False


def test_auto_precision_follows_the_cpu() -> None:
    assert resolve_precision("auto") == ("int8" if has_int8_dot_products() else "float32")
    assert resolve_precision("float32") == "float32"
    with pytest.raises(ConfigError, match="CITEBOT_EMBEDDING__PRECISION"):
        resolve_precision("int4")


def test_fingerprint_names_the_precision() -> None:
    model = model_fingerprint("all-MiniLM-L6-v2")
    assert embedding_fingerprint("all-MiniLM-L6-v2", "float32") == model
    int8 = "-int8" if has_int8_dot_products() else "-int8w7"  # 7-bit weights without VNNI
    assert embedding_fingerprint("all-MiniLM-L6-v2", "int8") == model + int8


def test_int8_linear_matches_float_within_quantisation_error() -> None:
    torch.manual_seed(0)
    linear = torch.nn.Linear(384, 1536)
    inputs = torch.randn(4, 37, 384)
    exact = linear(inputs)
    levels = int8_weight_levels()  # this CPU's: 8-bit weights with VNNI, 7-bit without
    approximate = Int8Linear(linear, weight_levels=levels)(inputs)
    assert approximate.shape == exact.shape and approximate.dtype == torch.float32
    error = (approximate - exact).norm() / exact.norm()
    assert 0 < error < 0.02, f"{levels} levels: {error}"  # int8, not a float copy


def test_seven_bit_weights_never_overflow_fbgemms_int16_pair_sums() -> None:
    # The worst case for a CPU without VNNI: every input at the top of its range, every weight
    # at its largest, so each pair of products sums to 2 x 255 x 63. An overflow would clip.
    linear = torch.nn.Linear(256, 8, bias=False)
    with torch.no_grad():
        linear.weight.fill_(1.0)
    inputs = torch.cat([torch.zeros(1, 256), torch.full((1, 256), 4.0)])  # inputs span 0..4
    result = Int8Linear(linear, weight_levels=63)(inputs)
    assert torch.allclose(result[1], torch.full((8,), 1024.0), rtol=0.01), result[1]


def test_quantize_replaces_every_linear_layer() -> None:
    model = torch.nn.Sequential(
        torch.nn.Linear(8, 16), torch.nn.GELU(), torch.nn.Sequential(torch.nn.Linear(16, 4))
    )
    inputs = torch.randn(3, 8)
    before = model(inputs)
    assert quantize_linear_layers(model) == 2
    assert not any(isinstance(m, torch.nn.Linear) for m in model.modules())
    assert torch.allclose(model(inputs), before, atol=0.05)


def test_describe_cpu_names_the_model_and_the_flags_that_matter(tmp_path: Path) -> None:
    from index.cpu_features import describe_cpu

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse avx avx2 fma\n"
        "processor\t: 1\nmodel name\t: AMD EPYC 7B13\nflags\t\t: fpu sse avx avx2 fma\n"
    )
    assert describe_cpu(cpuinfo) == (
        "AMD EPYC 7B13 (avx2; no avx512f, avx512_vnni, avx_vnni, amx_int8)"
    )
    assert describe_cpu(tmp_path / "missing") == "unknown CPU (no /proc/cpuinfo)"
