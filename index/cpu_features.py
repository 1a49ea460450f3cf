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
