"""Hostile files: each costs memory bounded by the file, and is one warning line, not a crash.

Every input is generated at test time. The ingest runs in a child process under an address-
space cap, as `citebot ingest` would on a server, and reports its peak resident memory.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.harness import run_python


def yaml_alias_bomb() -> str:
    """Front matter of about 600 bytes whose title expands to 9⁹ (387 million) strings."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 9):
        refs = ", ".join([f"*a{level - 1}"] * 9)
        lines.append(f"a{level}: &a{level} [{refs}]")
    lines.append("title: *a8")
    return "---\n" + "\n".join(lines) + "\n---\n"


# Ingests a folder in this process under a 1.5 GB address-space cap; prints the report as JSON.
_CAPPED_INGEST = textwrap.dedent("""
    import json, resource, sys
    from pathlib import Path
    cap = int(1.5 * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    from ingest.pipeline import IngestPlan, ingest
    from tests.fakes import HashingEmbedder
    folder, index = Path(sys.argv[1]), Path(sys.argv[2])
    report = ingest([folder], index, IngestPlan("fake", "fake-1", HashingEmbedder, 80, 10, 10**7))
    # VmHWM is this process's own peak; ru_maxrss can carry the forking parent's (pytest's).
    status = Path("/proc/self/status").read_text()
    peak_mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
    print(json.dumps({
        "warnings": list(report.warnings),
        "skipped": [str(s) for s in report.skipped],
        "documents": report.added,
        "peak_mb": peak_mb,
    }))
""")


def capped_ingest(folder: Path, index: Path) -> dict[str, object]:
    """Ingest folder into index in a child process with memory capped; return its report."""
    printed = run_python(_CAPPED_INGEST, str(folder), str(index), timeout=120)
    result: dict[str, object] = json.loads(printed.strip().splitlines()[-1])
    return result


@pytest.mark.subprocess
def test_a_yaml_alias_bomb_in_front_matter_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    bomb = yaml_alias_bomb()
    assert len(bomb) < 700
    (folder / "bomb.md").write_text(bomb + "# Bomb\n\nThe body of the bombed page.\n")
    (folder / "bomb.txt").write_text(bomb + "The body of the bombed text.\n")
    (folder / "fine.md").write_text("---\ntitle: Fine page\n---\n\nAn ordinary page.\n")
    result = capped_ingest(folder, tmp_path / "index")
    warnings = [str(w) for w in result["warnings"]]  # type: ignore[attr-defined]
    for name in ("bomb.md", "bomb.txt"):
        said = [w for w in warnings if name in w]
        assert len(said) == 1 and "YAML aliases" in said[0], warnings
        assert "\n" not in said[0]
    assert result["documents"] == 3 and not result["skipped"]  # nothing else lost
    assert float(result["peak_mb"]) < 600, result  # type: ignore[arg-type]


def test_front_matter_title_must_be_a_scalar(tmp_path: Path) -> None:
    from ingest.loaders import load_document

    path = tmp_path / "list.md"
    path.write_text("---\ntitle: [a, b, c]\nurl: https://example.com/x\n---\n\nBody text.\n")
    document, warnings = load_document(path, "list.md", max_bytes=10**7)
    assert document.title == "Body text."  # not "['a', 'b', 'c']": the body's first line
    assert document.url == "https://example.com/x" and not warnings


def test_oversized_front_matter_is_not_parsed(tmp_path: Path) -> None:
    from ingest.loaders import load_document

    path = tmp_path / "huge.md"
    path.write_text("---\ntitle: Huge\nnote: " + "x" * 70_000 + "\n---\n\nBody text.\n")
    document, warnings = load_document(path, "huge.md", max_bytes=10**7)
    assert document.title != "Huge"
    assert len(warnings) == 1 and "front matter over 64,000 characters" in warnings[0]
