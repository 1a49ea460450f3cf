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


def test_a_canonical_link_the_url_parser_rejects_leaves_the_page_indexed(tmp_path: Path) -> None:
    from ingest.loaders import load_document

    path = tmp_path / "page.html"
    path.write_text(
        '<html><head><link rel="canonical" href="http://[::1"></head>'
        "<body><p>Some real text here.</p></body></html>"
    )
    document, _ = load_document(path, "page.html", max_bytes=10**6)
    assert [b.text for b in document.blocks] == ["Some real text here."] and document.url == ""


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CITEBOT_INGEST__MAX_FILE_MB", "inf"),
        ("CITEBOT_INGEST__FILE_SECONDS", "inf"),
        ("CITEBOT_INGEST__FILE_SECONDS", "nan"),
        ("CITEBOT_LLM__TIMEOUT", "inf"),
    ],
)
def test_settings_must_be_finite_and_sane(
    name: str, value: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.setenv(name, value)
    assert main(["doctor"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert name.rsplit("__", maxsplit=1)[-1].lower() in err.lower(), err


def test_folders_nested_past_the_recursion_limit_are_ingested(tmp_path: Path) -> None:
    import os
    import sys

    from ingest.pipeline import discover

    root = tmp_path / "docs"
    depth = sys.getrecursionlimit() + 100
    os.makedirs(root)
    # Built relative to a moving working folder: the absolute path would pass PATH_MAX.
    here = os.open(root, os.O_RDONLY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=here)
            inner = os.open("d", os.O_RDONLY, dir_fd=here)
            os.close(here)
            here = inner
        with open(os.open("note.txt", os.O_WRONLY | os.O_CREAT, dir_fd=here), "w") as handle:
            handle.write("Deep down there is a note.\n")
    finally:
        os.close(here)
    (root / "top.txt").write_text("A note at the top.\n")
    try:
        found, _ = discover([root])
    finally:
        _remove_deep(root, depth)  # shutil.rmtree itself recurses, and would fail on it
    assert root / "top.txt" in found
    assert any(path.name == "note.txt" for path in found)


def _remove_deep(root: Path, depth: int) -> None:
    """Delete a chain of `depth` folders "d" under root, deepest first, without recursion."""
    import os

    fds = [os.open(root, os.O_RDONLY)]
    for _ in range(depth):
        fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
    for name in os.listdir(fds[-1]):
        os.unlink(name, dir_fd=fds[-1])
    for parent in reversed(fds[:-1]):
        os.close(fds.pop())
        os.rmdir("d", dir_fd=parent)
    os.close(fds.pop())


@pytest.mark.parametrize(
    "content",
    [bytes(range(256)) * 4, (b"[" * 100_000) + (b"]" * 100_000)],
    ids=["random bytes", "deeply nested JSON"],
)
def test_a_damaged_manifest_is_one_clear_error(tmp_path: Path, content: bytes) -> None:
    from index.errors import IndexCorruptError
    from index.generations import MANIFEST, live_generation
    from index.store import StoredIndex
    from ingest.pipeline import IngestPlan, ingest
    from tests.fakes import HashingEmbedder

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Some text to index.\n")
    ingest([docs], tmp_path / "index", IngestPlan("fake", "fake-1", HashingEmbedder, 80, 10, 10**7))
    (live_generation(tmp_path / "index") / MANIFEST).write_bytes(content)  # type: ignore[operator]
    with pytest.raises(IndexCorruptError, match="citebot ingest --rebuild"):
        StoredIndex.open(tmp_path / "index")


def test_a_read_only_index_folder_says_so(tmp_path: Path) -> None:
    import subprocess

    from index.errors import IndexWriteError
    from ingest.pipeline import IngestPlan, ingest
    from tests.fakes import HashingEmbedder

    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    (docs / "a.txt").write_text("Some text to index.\n")
    plan = IngestPlan("fake", "fake-1", HashingEmbedder, 80, 10, 10**7)
    ingest([docs], index, plan)
    (docs / "b.txt").write_text("More text to index.\n")
    import os
    import shutil

    if os.geteuid() == 0:  # root ignores modes: only an immutable folder stops it
        if shutil.which("chattr") is None:
            pytest.skip("chattr is not installed: root can't be kept from writing here")
        locked = subprocess.run(["chattr", "+i", str(index)], capture_output=True, check=False)
        if locked.returncode:
            pytest.skip(f"cannot make a folder immutable here: {locked.stderr.decode().strip()}")
    else:
        index.chmod(0o555)
    try:
        with pytest.raises(IndexWriteError) as caught:
            ingest([docs], index, plan)
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(index)], capture_output=True, check=False)
        index.chmod(0o755)
    assert "not writable" in str(caught.value) and "space" not in str(caught.value)


@pytest.mark.parametrize(
    "nested",
    [
        "".join("  " * i + f"- item {i}\n" for i in range(15)),  # dropped the rest of the file
        "".join("  " * i + f"- item {i}\n" for i in range(130)),  # past any nesting limit
        "".join(">" * i + f" quote {i}\n" for i in range(1, 130)),  # deep quotes lost text
    ],
    ids=["list 15 deep", "list 130 deep", "quotes 129 deep"],
)
def test_deeply_nested_markdown_keeps_every_line(tmp_path: Path, nested: str) -> None:
    from ingest.loaders import load_document

    path = tmp_path / "deep.md"
    path.write_text(f"# Deep\n\n{nested}\nAfter the nesting, important text.\n")
    document, warnings = load_document(path, "deep.md", max_bytes=10**6)
    text = "\n".join(block.text for block in document.blocks)
    last = nested.strip().splitlines()[-1].strip(" >-")
    assert last in text and "After the nesting, important text." in text
    assert len(warnings) <= 1 and all("read as plain text" in w for w in warnings)


@pytest.mark.parametrize(
    "html",
    [
        # Markdown in HTML in Markdown, 2,000 deep: each level would parse its content again.
        "".join("<div markdown>\n" for _ in range(2000))
        + "Deep text stays.\n"
        + "".join("</div>\n" for _ in range(2000)),
        # An opening tag of 200,000 "markdown" words and no ">": one pass, not one a word.
        "<div " + "markdown " * 200_000 + "\nDeep text stays.\n",
    ],
    ids=["md_in_html 2000 deep", "a tag of 200,000 attributes"],
)
def test_hostile_markdown_in_html_keeps_its_text(tmp_path: Path, html: str) -> None:
    from ingest.loaders import load_document

    path = tmp_path / "deep.md"
    path.write_text(f"# Deep\n\n{html}\nAfter it, important text.\n")
    document, _ = load_document(path, "deep.md", max_bytes=10**7)
    text = "\n".join(block.text for block in document.blocks)
    assert "Deep text stays." in text and "After it, important text." in text


HOSTILE_QUESTION = "where is \x1b]0;pwned\x07\x1b[2J the \u202eelbat\u202c page?"


def test_control_characters_from_chat_never_reach_the_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main
    from bot.core.answer import Answer, Quote
    from bot.core.feedback import FeedbackStore
    from bot.core.gaps import Gap, gaps_table

    store = FeedbackStore(tmp_path / "feedback.sqlite")
    answer = Answer(HOSTILE_QUESTION, True, (Quote("On the wiki.", 1),), ())
    answer_id = store.record_answer(answer, platform="slack", user="U\x1b[2J", channel="C1")
    assert store.record_vote(answer_id, rating=-1, user="U\x1b[2J", channel="C1")
    monkeypatch.setenv("CITEBOT_DATA_DIR", str(tmp_path))
    for fmt in ("table", "csv"):
        assert main(["feedback", "--format", fmt]) == 0
        out = capsys.readouterr().out
        assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out, out
        assert "\\u001b]0;pwned" in out  # shown, defused
    table = gaps_table([Gap(HOSTILE_QUESTION, 1, 1, 0, (HOSTILE_QUESTION,), "2026-12-03")])
    assert "\x1b" not in table and "\u202e" not in table


def test_direction_overrides_in_documents_never_reach_an_answer(tmp_path: Path) -> None:
    from ingest.loaders import load_document

    path = tmp_path / "trojan.md"
    path.write_text("# Access \u202eoiranecs\u202c\n\nThe admin check is \u202eeslaf\u2066 here.\n")
    document, _ = load_document(path, "trojan.md", max_bytes=10**6)
    text = document.title + "\n".join(block.text for block in document.blocks)
    assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in text)
    assert "The admin check is eslaf here." in text


def _docx_with(folder: Path, name: str, *, empty_paragraphs: int = 0, blob: int = 0) -> Path:
    """A real .docx (python-docx), its body padded with empty paragraphs, or with a member of
    `blob` zero bytes beside it; big parts are written a block at a time, never held whole."""
    import io
    import zipfile

    import docx

    made = io.BytesIO()
    document = docx.Document()
    document.add_paragraph("A real paragraph of the document.")
    document.save(made)
    path = folder / name
    with (
        zipfile.ZipFile(made) as source,
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml" and empty_paragraphs:
                head, _, tail = data.partition(b"<w:body>")
                with target.open(info.filename, "w") as handle:
                    handle.write(head + b"<w:body>")
                    for _ in range(empty_paragraphs // 100_000):
                        handle.write(b"<w:p/>" * 100_000)
                    handle.write(tail)
            else:
                target.writestr(info, data)
        if blob:
            with target.open("word/media/blob.bin", "w") as handle:
                for _ in range(blob // (1 << 24)):
                    handle.write(b"\0" * (1 << 24))
    return path


def _declare_size(path: Path, member: str, size: int) -> None:
    """Rewrite the zip directory's uncompressed size of member (the lie of a crafted file)."""
    data = bytearray(path.read_bytes())
    at = data.rfind(b"PK\x01\x02")
    while at >= 0:
        name_length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + name_length] == member.encode():
            data[at + 24 : at + 28] = size.to_bytes(4, "little")
            path.write_bytes(bytes(data))
            return
        at = data.rfind(b"PK\x01\x02", 0, at)
    raise AssertionError(f"{member} not in {path}")


@pytest.mark.subprocess
def test_docx_bombs_are_skipped_in_bounded_memory(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    # 2.4 million empty paragraphs: 15 MB of XML that python-docx would build as a 2 GB tree.
    _docx_with(folder, "elements.docx", empty_paragraphs=2_400_000)
    # A member declared as 2 KB that inflates to 2 GB.
    lying = _docx_with(folder, "lying.docx", blob=120 * (1 << 24))
    _declare_size(lying, "word/media/blob.bin", 2048)
    (folder / "fine.md").write_text("# Fine\n\nAn ordinary page.\n")
    result = capped_ingest(folder, tmp_path / "index")
    skipped = [str(s) for s in result["skipped"]]  # type: ignore[attr-defined]
    assert len(skipped) == 2, result
    assert any("elements.docx" in s and "XML elements" in s for s in skipped), skipped
    assert any("lying.docx" in s and "zip bomb" in s for s in skipped), skipped
    assert result["documents"] == 1  # the ordinary page, nothing else lost
    assert float(result["peak_mb"]) < 600, result  # type: ignore[arg-type]


@pytest.mark.parametrize("store", ["random", "truncated", "empty", "folder"])
@pytest.mark.parametrize("command", ["feedback", "report"])
def test_a_damaged_feedback_store_is_one_line_for_feedback_and_report(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    store: str,
    command: str,
) -> None:
    import random

    from bot.cli import main
    from bot.core.answer import Answer
    from bot.core.feedback import FeedbackStore

    path = tmp_path / "feedback.sqlite"
    if store == "folder":
        path.mkdir()
    elif store == "truncated":
        FeedbackStore(path).record_answer(
            Answer("q?", False, (), ()), platform="s", user="u", channel="c"
        )
        path.write_bytes(path.read_bytes()[:1500])
    else:
        path.write_bytes(random.Random(1).randbytes(3000) if store == "random" else b"")
    monkeypatch.setenv("CITEBOT_DATA_DIR", str(tmp_path))
    assert main([command]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "feedback" in err and "Traceback" not in err, err


def test_a_dotenv_in_another_encoding_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    (tmp_path / ".env").write_bytes(b"CITEBOT_WRITER=\xff\xfe\n")  # the tests run in tmp_path
    assert main(["doctor"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "error: .env is not valid UTF-8 (byte 15); re-save it as UTF-8", err
