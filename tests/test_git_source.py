"""The Git source: real repositories built with dulwich, synced into mirrors; no mocks.

Each test builds a small history in a repository under tmp_path (trees and commits written to
its object store, so a symlink and a submodule need no git program), then syncs it through the
same fetch a remote gets: a local path, or dulwich's own smart-HTTP server on loopback.
"""

from __future__ import annotations

import base64
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
from dulwich.repo import Repo
from dulwich.server import DictBackend
from dulwich.web import make_wsgi_chain

from ingest.sources.base import SyncReport
from ingest.sources.git import RepoConfig, _web_base, link_template_for, matches_any, sync_repo
from ingest.sources.mirror import Mirror
from tests.git_upstream import SUBMODULE, SYMLINK, Upstream

TEMPLATE = "https://git.example.test/o/r/blob/{commit}/{path}#L{start}-L{end}"
TOKEN = "ghp_Secret-Token-1234567890"

# What the first commit holds: four Markdown files to mirror, and one of each thing to skip.
BASE: dict[str, bytes | tuple[int, bytes]] = {
    "README.md": b"# Readme\n\nWelcome.\n",
    "docs/install.md": b"# Install\n\nRun the installer.\n",
    "docs/guide/usage.md": b"# Usage\n\nAsk a question.\n",
    "docs/old-name.md": b"# Moved\n\nThis page moves.\n",
    "src/main.py": b"print('not documentation')\n",
    "docs/latest.md": (SYMLINK, b"install.md"),
    ".github/CONTRIBUTING.md": b"# Contributing\n",
    "vendor/theme": (SUBMODULE, b"a" * 40),
}
MIRRORED = {"README.md", "docs/install.md", "docs/guide/usage.md", "docs/old-name.md"}


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Upstream]:
    """Return a fresh upstream repository, closed after the test."""
    repository = Upstream(tmp_path / "upstream")
    yield repository
    repository.repo.close()


def sync(
    upstream_or_url: Upstream | str,
    tmp_path: Path,
    **options: Any,
) -> tuple[SyncReport, Mirror]:
    """Sync into tmp_path/mirror with the clone in tmp_path/clone.git; return a fresh Mirror."""
    url = upstream_or_url if isinstance(upstream_or_url, str) else str(upstream_or_url.root)
    options.setdefault("link_template", TEMPLATE)
    progress = options.pop("progress", None)
    config = RepoConfig(name="docs", url=url, **options)
    report = sync_repo(
        config, Mirror(tmp_path / "mirror"), tmp_path / "clone.git", progress=progress
    )
    # Read the state back from disk: what the next sync and the ingest will see.
    return report, Mirror(tmp_path / "mirror")


def snapshot(mirror: Mirror) -> dict[str, tuple[bytes, int]]:
    """Return each mirrored file's bytes and inode (a rewrite replaces the inode)."""
    return {
        path: (mirror.path_of(path).read_bytes(), mirror.path_of(path).stat().st_ino)
        for path in mirror.files
    }


def closed_port() -> int:
    """Return a loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def files_on_disk(root: Path) -> set[str]:
    """Return every file under root except the mirror's hidden state."""
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and ".citebot" not in p.parts
    }


# The first sync.


def test_sync_repo_first_sync_writes_exactly_the_matching_files(
    upstream: Upstream, tmp_path: Path
) -> None:
    tip = upstream.commit(BASE)
    steps: list[tuple[int, int]] = []
    report, mirror = sync(
        upstream, tmp_path, progress=lambda done, total: steps.append((done, total))
    )
    assert report.ok, report.error
    assert steps == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert set(mirror.files) == MIRRORED
    assert files_on_disk(mirror.root) == MIRRORED
    for path in MIRRORED:
        assert mirror.read(path) == BASE[path]
    assert (report.added, report.changed, report.removed, report.unchanged) == (4, 0, 0, 0)
    assert report.downloads == 4
    assert report.revision == tip
    assert mirror.status.revision == tip
    assert mirror.status.files == 4
    assert mirror.status.last_success and not mirror.status.last_error


def test_sync_repo_record_url_carries_commit_and_leaves_line_range(
    upstream: Upstream, tmp_path: Path
) -> None:
    tip = upstream.commit(BASE)
    _, mirror = sync(upstream, tmp_path)
    assert mirror.files["docs/install.md"].url == (
        f"https://git.example.test/o/r/blob/{tip}/docs/install.md#L{{start}}-L{{end}}"
    )


def test_sync_repo_local_path_without_template_has_no_link(
    upstream: Upstream, tmp_path: Path
) -> None:
    upstream.commit(BASE)
    report, mirror = sync(upstream, tmp_path, link_template="")
    assert report.ok
    assert {record.url for record in mirror.files.values()} == {""}


def test_sync_repo_warns_once_about_symlink_submodule_and_hidden_path(
    upstream: Upstream, tmp_path: Path
) -> None:
    upstream.commit(BASE)
    report, _ = sync(upstream, tmp_path)
    assert len(report.warnings) == 3, report.warnings
    warned = " ".join(report.warnings)
    for path in ("docs/latest.md", "vendor/theme", ".github/CONTRIBUTING.md"):
        assert path in warned
    assert all("\n" not in warning for warning in report.warnings)


def test_sync_repo_accepts_file_url(upstream: Upstream, tmp_path: Path) -> None:
    upstream.commit(BASE)
    report, mirror = sync(upstream.root.as_uri(), tmp_path)
    assert report.ok, report.error
    assert set(mirror.files) == MIRRORED


def test_sync_repo_path_globs_select_folders(upstream: Upstream, tmp_path: Path) -> None:
    upstream.commit(BASE)
    report, mirror = sync(upstream, tmp_path, paths=("docs/**/*.md",))
    assert report.ok
    assert set(mirror.files) == {"docs/install.md", "docs/guide/usage.md", "docs/old-name.md"}


def test_sync_repo_skips_blobs_over_the_size_limit(
    upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ingest.sources.git.MAX_BLOB_BYTES", 16)
    upstream.commit({"small.md": b"small\n", "big.md": b"x" * 17})
    report, mirror = sync(upstream, tmp_path)
    assert set(mirror.files) == {"small.md"}
    assert len(report.warnings) == 1 and "big.md" in report.warnings[0]


# Re-syncs.


def test_sync_repo_resync_applies_only_the_difference(upstream: Upstream, tmp_path: Path) -> None:
    upstream.commit(BASE)
    _, before_mirror = sync(upstream, tmp_path)
    before = snapshot(before_mirror)

    second = dict(BASE)
    second["docs/install.md"] = b"# Install\n\nRun the new installer.\n"
    second["docs/new.md"] = b"# New\n\nA new page.\n"
    del second["docs/guide/usage.md"]
    second["docs/new-name.md"] = second.pop("docs/old-name.md")  # a rename, bytes unchanged
    second["src/main.py"] = b"print('still not documentation')\n"
    tip = upstream.commit(second)
    report, mirror = sync(upstream, tmp_path)

    assert report.ok, report.error
    assert (report.added, report.changed, report.removed, report.unchanged) == (2, 1, 2, 1)
    assert report.downloads == 3  # docs/new.md, docs/new-name.md and docs/install.md
    assert set(mirror.files) == {"README.md", "docs/install.md", "docs/new.md", "docs/new-name.md"}
    assert files_on_disk(mirror.root) == set(mirror.files)
    assert not (mirror.root / "docs/guide").exists()  # no empty folder left behind
    assert mirror.read("docs/new-name.md") == BASE["docs/old-name.md"]
    assert mirror.read("docs/install.md") == second["docs/install.md"]
    after = snapshot(mirror)
    assert after["README.md"] == before["README.md"]  # same bytes, same inode: not rewritten
    assert after["docs/install.md"][1] != before["docs/install.md"][1]
    assert mirror.status.revision == tip
    # Every record, changed or not, is cited at the new commit: the lines are the same there.
    assert all(f"/blob/{tip}/" in record.url for record in mirror.files.values())


def test_sync_repo_each_commit_is_applied_in_turn(upstream: Upstream, tmp_path: Path) -> None:
    files = {"a.md": b"a1\n", "b.md": b"b1\n"}
    upstream.commit(files)
    report, _ = sync(upstream, tmp_path)
    assert (report.added, report.downloads) == (2, 2)

    files["a.md"] = b"a2\n"
    upstream.commit(files)
    report, mirror = sync(upstream, tmp_path)
    assert (report.added, report.changed, report.removed, report.unchanged) == (0, 1, 0, 1)
    assert report.downloads == 1
    assert mirror.read("a.md") == b"a2\n"

    files["c/d/e.md"] = b"e1\n"
    del files["b.md"]
    upstream.commit(files)
    report, mirror = sync(upstream, tmp_path)
    assert (report.added, report.changed, report.removed, report.unchanged) == (1, 0, 1, 1)
    assert report.downloads == 1
    assert set(mirror.files) == {"a.md", "c/d/e.md"}


def test_sync_repo_resync_with_nothing_new_reads_nothing(
    upstream: Upstream, tmp_path: Path
) -> None:
    upstream.commit(BASE)
    first, before_mirror = sync(upstream, tmp_path)
    before = snapshot(before_mirror)
    report, mirror = sync(upstream, tmp_path)
    assert report.ok
    assert report.downloads == 0
    assert (report.added, report.changed, report.removed, report.unchanged) == (0, 0, 0, 4)
    assert report.revision == first.revision
    assert report.warnings == ()  # nothing was looked at again
    assert snapshot(mirror) == before


def test_sync_repo_file_becoming_symlink_is_removed(upstream: Upstream, tmp_path: Path) -> None:
    upstream.commit({"a.md": b"a\n", "b.md": b"b\n"})
    sync(upstream, tmp_path)
    upstream.commit({"a.md": b"a\n", "b.md": (SYMLINK, b"a.md")})
    report, mirror = sync(upstream, tmp_path)
    assert report.removed == 1 and report.downloads == 0
    assert set(mirror.files) == {"a.md"}
    assert any("b.md" in warning for warning in report.warnings)


def test_sync_repo_widened_globs_bring_in_untouched_files(
    upstream: Upstream, tmp_path: Path
) -> None:
    upstream.commit({"a.md": b"a\n", "b.rst": b"b\n"})
    sync(upstream, tmp_path, paths=("**/*.md",))
    report, mirror = sync(upstream, tmp_path, paths=("**/*.md", "**/*.rst"))
    assert (report.added, report.unchanged, report.downloads) == (1, 1, 1)
    assert set(mirror.files) == {"a.md", "b.rst"}

    report, mirror = sync(upstream, tmp_path, paths=("**/*.rst",))
    assert (report.removed, report.unchanged, report.downloads) == (1, 1, 0)
    assert set(mirror.files) == {"b.rst"}


def test_sync_repo_restores_a_mirror_file_deleted_by_hand(
    upstream: Upstream, tmp_path: Path
) -> None:
    upstream.commit({"a.md": b"a\n", "b.md": b"b\n"})
    _, mirror = sync(upstream, tmp_path)
    mirror.path_of("a.md").unlink()
    report, mirror = sync(upstream, tmp_path)
    assert report.downloads == 1
    assert mirror.read("a.md") == b"a\n"


def test_sync_repo_merges_packs_once_they_pile_up(
    upstream: Upstream, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ingest.sources.git.MAX_PACKS", 2)
    files = {"a.md": b"0\n"}
    for round_ in range(4):
        files["a.md"] = f"{round_}\n".encode()
        files[f"n{round_}.md"] = b"new\n"
        upstream.commit(files)
        report, mirror = sync(upstream, tmp_path)
        assert report.ok, report.error
    assert len(list((tmp_path / "clone.git/objects/pack").glob("*.pack"))) <= 2
    assert mirror.read("a.md") == b"3\n"
    assert set(mirror.files) == {"a.md", "n0.md", "n1.md", "n2.md", "n3.md"}


# Force-pushes.


def force_push(upstream: Upstream) -> str:
    """Rewrite main as a new root commit: the mirror's commit is no longer its ancestor."""
    rewritten = dict(BASE)
    rewritten["docs/install.md"] = b"# Install\n\nRewritten history.\n"
    del rewritten["README.md"]
    rewritten["docs/faq.md"] = b"# FAQ\n"
    return upstream.commit(rewritten, parents=[])


@pytest.mark.parametrize("keep_clone", [True, False], ids=["old-commit-kept", "old-commit-gone"])
def test_sync_repo_force_push_converges(
    upstream: Upstream, tmp_path: Path, keep_clone: bool
) -> None:
    upstream.commit(BASE)
    sync(upstream, tmp_path)
    tip = force_push(upstream)
    if not keep_clone:
        # A fresh clone has never seen the mirror's commit: only the full comparison is left.
        shutil.rmtree(tmp_path / "clone.git")
    report, mirror = sync(upstream, tmp_path)
    assert report.ok, report.error
    expected = {"docs/install.md", "docs/guide/usage.md", "docs/old-name.md", "docs/faq.md"}
    assert set(mirror.files) == expected
    assert files_on_disk(mirror.root) == expected
    assert mirror.read("docs/install.md") == b"# Install\n\nRewritten history.\n"
    assert (report.added, report.changed, report.removed, report.unchanged) == (1, 1, 1, 2)
    assert report.downloads == 2  # unchanged blobs are known by id, never read
    assert mirror.status.revision == tip


def test_sync_repo_unknown_previous_revision_compares_in_full(
    upstream: Upstream, tmp_path: Path
) -> None:
    upstream.commit(BASE)
    _, mirror = sync(upstream, tmp_path)
    # A revision no clone has, as a state file from elsewhere would hold.
    mirror.save(type(mirror.status)(revision="0" * 40))
    report, mirror = sync(upstream, tmp_path)
    assert report.ok
    assert (report.added, report.changed, report.removed, report.unchanged) == (0, 0, 0, 4)
    assert report.downloads == 0


# Failures: the mirror is kept as it was.


def assert_failed_and_kept(
    report: SyncReport, mirror: Mirror, before: dict[str, tuple[bytes, int]], revision: str
) -> None:
    assert not report.ok
    assert report.error and "\n" not in report.error
    assert snapshot(mirror) == before
    assert mirror.status.revision == revision
    assert mirror.status.last_error == report.error
    assert mirror.status.last_success


def test_sync_repo_missing_branch_names_the_branches(upstream: Upstream, tmp_path: Path) -> None:
    tip = upstream.commit(BASE)
    upstream.commit({"x.md": b"x\n"}, branch="dev")
    _, mirror = sync(upstream, tmp_path)
    before = snapshot(mirror)
    report, mirror = sync(upstream, tmp_path, branch="release")
    assert_failed_and_kept(report, mirror, before, tip)
    assert "'release'" in report.error
    assert "dev, main" in report.error


def test_sync_repo_missing_path_keeps_mirror(upstream: Upstream, tmp_path: Path) -> None:
    tip = upstream.commit(BASE)
    _, mirror = sync(upstream, tmp_path)
    before = snapshot(mirror)
    report, mirror = sync(str(tmp_path / "no-such-repository"), tmp_path)
    assert_failed_and_kept(report, mirror, before, tip)
    assert "no-such-repository" in report.error


def test_sync_repo_closed_port_keeps_mirror(upstream: Upstream, tmp_path: Path) -> None:
    tip = upstream.commit(BASE)
    _, mirror = sync(upstream, tmp_path)
    before = snapshot(mirror)
    report, mirror = sync(f"http://127.0.0.1:{closed_port()}/x.git", tmp_path)
    assert_failed_and_kept(report, mirror, before, tip)
    assert "Connection refused" in report.error


def test_sync_repo_first_sync_failure_leaves_empty_mirror(tmp_path: Path) -> None:
    report, mirror = sync(f"http://127.0.0.1:{closed_port()}/x.git", tmp_path)
    assert not report.ok
    assert mirror.files == {}
    assert mirror.status.last_error == report.error
    assert mirror.status.revision == ""


def test_sync_repo_rejects_unknown_template_field(upstream: Upstream, tmp_path: Path) -> None:
    upstream.commit(BASE)
    report, mirror = sync(upstream, tmp_path, link_template="{remote}/{sha}/{path}")
    assert not report.ok
    assert "sha" in report.error and "{commit}" in report.error
    assert mirror.files == {}


# Tokens.


def secrets_in(folder: Path, secret: str) -> list[str]:
    """Return the files under folder whose bytes contain the secret."""
    return [str(p) for p in folder.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1:{port}/o/r.git",
        "http://127.0.0.1:{port}/o/r.git",
        f"https://user:{TOKEN}@127.0.0.1:{{port}}/o/r.git",
        "http://docs.example.invalid/o/r.git",  # a token never travels over plain http
    ],
    ids=["https", "http-loopback", "token-in-url", "http-remote"],
)
def test_sync_repo_token_never_in_clone_config_or_error(tmp_path: Path, url: str) -> None:
    report, mirror = sync(url.format(port=closed_port()), tmp_path, token=TOKEN)
    assert not report.ok
    assert TOKEN not in report.error
    assert all(TOKEN not in warning for warning in report.warnings)
    assert TOKEN not in mirror.state_path.read_text()
    clone = tmp_path / "clone.git"
    assert not clone.exists() or not secrets_in(clone, TOKEN)
    assert TOKEN not in repr(RepoConfig(name="docs", url="x", token=TOKEN))


def test_sync_repo_refuses_token_over_plain_http(tmp_path: Path) -> None:
    report, _ = sync("http://docs.example.invalid/o/r.git", tmp_path, token=TOKEN)
    assert "https" in report.error


# Over HTTP: dulwich's own smart-HTTP server on loopback, behind basic auth.


class GitHttpServer:
    """Serve one repository at /o/r.git over smart HTTP, asking for the token when set."""

    def __init__(self, repo: Repo, token: str | None = None) -> None:
        app = make_wsgi_chain(DictBackend({"/o/r.git": repo}))
        expected = "Basic " + base64.b64encode(f"x-access-token:{token}".encode()).decode()

        def guarded(environ: dict[str, Any], start_response: Any) -> Any:
            if token is not None and environ.get("HTTP_AUTHORIZATION") != expected:
                start_response("401 Unauthorized", [("WWW-Authenticate", 'Basic realm="git"')])
                return [b""]
            return app(environ, start_response)

        class Quiet(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = make_server("127.0.0.1", 0, guarded, handler_class=Quiet)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/o/r.git"

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def served(upstream: Upstream) -> Iterator[GitHttpServer]:
    """Serve the upstream repository over loopback HTTP, behind a token."""
    server = GitHttpServer(upstream.repo, token=TOKEN)
    yield server
    server.stop()


def test_sync_repo_over_http_with_token(
    upstream: Upstream, served: GitHttpServer, tmp_path: Path
) -> None:
    tip = upstream.commit(BASE)
    template = "{remote}/blob/{commit}/{path}#L{start}-L{end}"
    report, mirror = sync(served.url, tmp_path, token=TOKEN, link_template=template)
    assert report.ok, report.error
    assert set(mirror.files) == MIRRORED
    remote = served.url.removesuffix(".git")
    assert mirror.files["README.md"].url == f"{remote}/blob/{tip}/README.md#L{{start}}-L{{end}}"
    assert not secrets_in(tmp_path / "clone.git", TOKEN)
    assert TOKEN not in mirror.state_path.read_text()

    changed = dict(BASE, **{"README.md": b"# Readme\n\nWelcome back.\n"})
    upstream.commit(changed)
    report, mirror = sync(served.url, tmp_path, token=TOKEN, link_template=template)
    assert (report.changed, report.unchanged, report.downloads) == (1, 3, 1)

    report, _ = sync(served.url, tmp_path, token=TOKEN, link_template=template)
    assert report.ok, report.error
    assert (report.changed, report.unchanged, report.downloads) == (0, 4, 0)


def test_sync_repo_over_http_strips_credentials_from_links(
    upstream: Upstream, served: GitHttpServer, tmp_path: Path
) -> None:
    upstream.commit(BASE)
    with_credentials = served.url.replace("http://", f"http://x-access-token:{TOKEN}@")
    template = "{remote}/blob/{commit}/{path}#L{start}-L{end}"
    report, mirror = sync(with_credentials, tmp_path, link_template=template)
    assert report.ok, report.error
    assert all(record.url.startswith(served.url[:-4]) for record in mirror.files.values())
    assert not secrets_in(tmp_path / "clone.git", TOKEN)
    assert TOKEN not in mirror.state_path.read_text()


def test_sync_repo_over_http_without_token_asks_for_one(
    upstream: Upstream, served: GitHttpServer, tmp_path: Path
) -> None:
    upstream.commit(BASE)
    report, mirror = sync(served.url, tmp_path)
    assert not report.ok
    assert "token" in report.error and "401" in report.error
    assert mirror.files == {}


def test_sync_repo_over_http_wrong_token_is_not_echoed(
    upstream: Upstream, served: GitHttpServer, tmp_path: Path
) -> None:
    upstream.commit(BASE)
    report, _ = sync(served.url, tmp_path, token="wrong-token-abcdef")
    assert "refused the token" in report.error
    assert "wrong-token-abcdef" not in report.error


# Links and globs.


@pytest.mark.parametrize(
    ("remote", "template"),
    [
        ("https://github.com/o/r.git", "{remote}/blob/{commit}/{path}#L{start}-L{end}"),
        ("https://github.com/o/r", "{remote}/blob/{commit}/{path}#L{start}-L{end}"),
        ("git@github.com:o/r.git", "{remote}/blob/{commit}/{path}#L{start}-L{end}"),
        ("ssh://git@github.com/o/r.git", "{remote}/blob/{commit}/{path}#L{start}-L{end}"),
        ("https://gitlab.com/group/sub/r.git", "{remote}/-/blob/{commit}/{path}#L{start}-{end}"),
        ("git@gitlab.com:group/r.git", "{remote}/-/blob/{commit}/{path}#L{start}-{end}"),
        ("https://codeberg.org/o/r.git", "{remote}/src/commit/{commit}/{path}#L{start}-L{end}"),
        ("https://gitea.example.com/o/r", "{remote}/src/commit/{commit}/{path}#L{start}-L{end}"),
        (
            f"https://user:{TOKEN}@github.com/o/r.git",
            "{remote}/blob/{commit}/{path}#L{start}-L{end}",
        ),
        ("https://git.example.com/o/r.git", ""),
        ("/srv/git/r.git", ""),
        ("file:///srv/git/r.git", ""),
        ("../r", ""),
        ("C:/repos/r", ""),
    ],
)
def test_link_template_for_known_forges_only(remote: str, template: str) -> None:
    assert link_template_for(remote) == template


@pytest.mark.parametrize(
    ("remote", "base"),
    [
        ("https://github.com/o/r.git", "https://github.com/o/r"),
        ("git@github.com:o/r.git", "https://github.com/o/r"),
        ("ssh://git@github.com:22/o/r.git", "https://github.com/o/r"),
        (f"https://user:{TOKEN}@github.com/o/r.git", "https://github.com/o/r"),
        (f"https://{TOKEN}@gitlab.com/g/r.git", "https://gitlab.com/g/r"),
    ],
)
def test_web_base_drops_credentials_port_and_git_suffix(remote: str, base: str) -> None:
    # What {remote} becomes; over a real fetch, test_sync_repo_over_http_strips_credentials...
    assert _web_base(remote) == base


@pytest.mark.parametrize(
    ("path", "glob", "matched"),
    [
        ("a.md", "**/*.md", True),
        ("x/y/a.md", "**/*.md", True),
        ("docs/a.md", "docs/**/*.md", True),
        ("docs/x/y/a.md", "docs/**/*.md", True),
        ("other/docs/a.md", "docs/**/*.md", False),
        ("docs/x/a.md", "docs/*.md", False),  # a single star stays inside one folder
        ("docs/a.md", "docs/*.md", True),
        ("docs/a.mdx", "**/*.md", False),
        ("docs/anything/at/all.bin", "docs/**", True),
        ("guide/a1.md", "guide/a[0-9].md", True),
        ("guide/ab.md", "guide/a[!0-9].md", True),
        ("guide/a1.md", "guide/a[!0-9].md", False),
        ("a+b (1).md", "*.md", True),
    ],
)
def test_matches_any_double_star_spans_folders(path: str, glob: str, matched: bool) -> None:
    assert matches_any(path, (glob,)) is matched
