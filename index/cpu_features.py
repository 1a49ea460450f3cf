"""What this CPU can compute fast, read from /proc/cpuinfo without importing torch."""

from __future__ import annotations

from pathlib import Path

# CPU features with int8 dot products that accumulate in 32 bits (no int16 saturation).
_INT8_DOT_FLAGS = frozenset({"avx512_vnni", "avx_vnni", "amx_int8"})


def has_int8_dot_products(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Tell whether this CPU multiplies int8 with 32-bit accumulation (VNNI or AMX)."""
    try:
        text = cpuinfo.read_text(encoding="ascii", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        if line.startswith("flags"):
            return bool(_INT8_DOT_FLAGS & set(line.split(":", 1)[-1].split()))
    return False


# The flags that decide which embedding path is fast, in the order a reader compares them.
_REPORTED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_int8")


def describe_cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """Name the CPU and the flags that matter, e.g. "AMD EPYC 7B13 (avx2; no avx512f, ...)"."""
    try:
        text = cpuinfo.read_text(encoding="ascii", errors="replace")
    except OSError:
        return "unknown CPU (no /proc/cpuinfo)"
    model, flags = "unknown CPU", set[str]()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and model == "unknown CPU":
            model = " ".join(value.split())
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    has = [flag for flag in _REPORTED_FLAGS if flag in flags]
    lacks = [flag for flag in _REPORTED_FLAGS if flag not in flags]
    present = ", ".join(has) or "none of " + "/".join(_REPORTED_FLAGS)
    return f"{model} ({present}; no {', '.join(lacks) or '-'})"


def int8_weight_levels() -> int:
    """Return the weights' int8 range, 127 with VNNI, 63 (7 bits) without.

    Without VNNI, fbgemm sums pairs of uint8 x int8 products in int16, which 8-bit inputs times
    8-bit weights can overflow. torch's answer is 7-bit inputs (reduce_range), one scale for a
    whole activation tensor: cosine to float32 0.981 (0.968 at worst) on the dev questions and
    64 passages. 7-bit weights instead, each row with its own scale, keep 8-bit inputs and
    never overflow (2 x 255 x 63 < 32,767): 0.993 (0.988 at worst), as fast.
    """
    return 127 if has_int8_dot_products() else 63
