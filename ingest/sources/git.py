"""A Git source: one branch of a repository, synced into a mirror folder with dulwich.

A sync has two halves. The fetch brings the branch tip into a bare clone kept between syncs
(`clone_dir`), with dulwich alone (no git program needed), the same way for a local path, a
`file://` URL, https, ssh or git://: only objects the clone lacks travel, and only the one
branch is wanted. A token goes to the server as HTTP basic auth at fetch time and nowhere else:
the clone's config never names the remote, so no credential can be left on disk. Each fetch
that brings commits adds a pack to the clone; past MAX_PACKS they are merged into one.

The apply half turns the tip's tree into mirror files, reading as few blobs as it can:

- the tip is the commit the mirror already holds (`mirror.status.revision`): nothing is read;
- the mirror's commit is in the clone (even one a force-push left behind): the two trees are
  diffed (`tree_changes` with a `RenameDetector`) and only what differs is written or removed;
- otherwise (first sync, a force-push whose old commit never reached this clone, a deleted
  clone, globs changed since the last sync, a mirror file deleted by hand): every matching
  path of the tip is compared with the mirror's records. Each record keeps its blob id in
  `etag` (a blob id is a content validator, as an ETag is), so an unchanged file is known
  without reading its blob; a record without one is compared by SHA-256.

Which globs the mirror was last synced with is kept beside the clone (`citebot-paths.json`):
a widened glob must bring in files no commit touched, which only the full comparison finds.

Every record's link is the link template rendered at the tip, with `{start}` and `{end}` left
for the citation to fill. A file whose blob did not change is cited at the new commit too: its
lines are the same there, and every link then names the commit `citebot doctor` shows.

Failures of the fetch (an unreachable remote, a missing branch, refused credentials) leave the
mirror untouched and come back as one line in `SyncReport.error` that says what to do; no token
or URL password ever appears in it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import logging
import re
import stat
import string
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import quote, urlsplit

from dulwich.client import (
    GitClient,
    HTTPProxyUnauthorized,
    HTTPUnauthorized,
    get_transport_and_path,
)
from dulwich.config import ConfigDict
from dulwich.diff_tree import (
    CHANGE_COPY,
    CHANGE_DELETE,
    CHANGE_RENAME,
    RenameDetector,
    tree_changes,
)
from dulwich.errors import GitProtocolError, NotGitRepository
from dulwich.object_store import BaseObjectStore, iter_tree_contents
from dulwich.objects import Blob, Commit, ObjectID, TreeEntry
from dulwich.refs import Ref
from dulwich.repo import Repo

from ingest.sources.base import DOCUMENT_GLOBS, SyncReport
from ingest.sources.mirror import Mirror, MirroredFile, SyncStatus, content_hash, safe_relative

logger = logging.getLogger(__name__)

MAX_BLOB_BYTES = 50 * 1024 * 1024
LINK_FIELDS = ("remote", "commit", "branch", "path", "start", "end")
# A remote that accepts the connection and then stalls must not hang a sync.
HTTP_TIMEOUT_SECONDS = 60
# Every object lookup visits each pack: past this many, the clone's packs are merged into one,
# if they are small enough to merge in memory.
MAX_PACKS = 50
MAX_REPACK_BYTES = 512 * 1024 * 1024
PATHS_FILE = "citebot-paths.json"  # in clone_dir: the globs the mirror was last synced with

# Each forge's permalink to a line range of a file at a commit.
_GITHUB = "{remote}/blob/{commit}/{path}#L{start}-L{end}"
_GITLAB = "{remote}/-/blob/{commit}/{path}#L{start}-{end}"
_GITEA = "{remote}/src/commit/{commit}/{path}#L{start}-L{end}"

_HEX_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SCP_LIKE = re.compile(r"(?:[^@/\s]+@)?(?P<host>[^@:/\s]{2,}):(?!//)(?P<path>.+)")
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]*@")
_ERRNO_REASON = re.compile(r"\[Errno -?\d+\] [^\"')]+")
_MEGABYTE = 1024 * 1024


@dataclass(frozen=True, slots=True)
class RepoConfig:
    """One Git source: which branch of which repository, which files, and how to link them."""

    name: str
    url: str  # remote URL (https://…, ssh, git://) or a local path / file:// to a repository
    branch: str = "main"
    paths: tuple[str, ...] = DOCUMENT_GLOBS
    link_template: str = ""  # "": derived from the remote by link_template_for
    token: str | None = field(default=None, repr=False)  # for a private https remote


class _SyncFailed(Exception):
    """The sync cannot go on; the message is the report's one-line error (not yet redacted)."""


@dataclass(slots=True)
class _Tally:
    """What an apply did so far, turned into a SyncReport at the end."""

    added: int = 0
    changed: int = 0
    removed: int = 0
    downloads: int = 0
    warnings: list[str] = field(default_factory=list)


def sync_repo(
    config: RepoConfig,
    mirror: Mirror,
    clone_dir: Path,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> SyncReport:
    """Sync the matching files of the branch tip into the mirror and report what changed."""
    started = time.monotonic()
    attempt = _now()
    previous = mirror.status.revision
    tally = _Tally()
    try:
        template = _checked_template(config)
        tip = _fetch(config, clone_dir, tally.warnings)
        _apply(config, mirror, clone_dir, tip, template, tally, progress)
        _save_success(mirror, attempt, tip)
    except _SyncFailed as failure:
        error = _redact(str(failure), config)
        _save_failure(mirror, attempt, error, previous)
        logger.warning("%s: sync failed: %s", config.name, error)
        return SyncReport(
            name=config.name,
            kind="git",
            revision=previous,
            warnings=tuple(_redact(w, config) for w in tally.warnings),
            error=error,
            seconds=time.monotonic() - started,
        )
    _write_synced_paths(clone_dir, config.paths)
    return SyncReport(
        name=config.name,
        kind="git",
        added=tally.added,
        changed=tally.changed,
        removed=tally.removed,
        unchanged=len(mirror.files) - tally.added - tally.changed,
        downloads=tally.downloads,
        revision=tip,
        warnings=tuple(_redact(w, config) for w in tally.warnings),
        seconds=time.monotonic() - started,
    )


def link_template_for(remote_url: str) -> str:
    """Return the permalink template of the forge hosting remote_url, or "" if unknown."""
    base = _web_base(remote_url)
    host = urlsplit(base).hostname or ""
    if host in ("github.com", "www.github.com"):
        return _GITHUB
    if "gitlab" in host:
        return _GITLAB
    if "gitea" in host or "codeberg" in host:
        return _GITEA
    return ""


def matches_any(path: str, globs: Sequence[str]) -> bool:
    """Tell whether a repository path matches one of the globs ("**" spans any folders)."""
    return any(_glob_pattern(glob).fullmatch(path) for glob in globs)


@functools.lru_cache(maxsize=256)
def _glob_pattern(glob: str) -> re.Pattern[str]:
    """Compile a glob whose `*` stays inside one folder and whose `**` spans any number."""
    segments = [segment for segment in glob.strip("/").split("/") if segment]
    parts: list[str] = []
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == "**":
            # "**" alone as the last segment means everything below; elsewhere, zero or more
            # whole folders, so "docs/**/*.md" also matches "docs/a.md".
            parts.append(".*" if last else "(?:[^/]+/)*")
        else:
            parts.append(_segment_pattern(segment) + ("" if last else "/"))
    return re.compile("".join(parts))


def _segment_pattern(segment: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(segment):
        char = segment[i]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[" and (end := segment.find("]", i + 2)) != -1:
            body = segment[i + 1 : end]
            negate = body.startswith("!")
            body = re.escape(body[1:] if negate else body).replace(r"\-", "-")
            out.append(f"[{'^/' if negate else ''}{body}]")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _web_base(remote_url: str) -> str:
    """Return the repository's web address (no credentials, no .git), or "" for a local one."""
    url = remote_url.strip()
    if "://" in url:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            return ""
        scheme = parts.scheme.lower()
        if (
            scheme not in ("http", "https", "ssh", "git", "git+ssh", "ssh+git")
            or not parts.hostname
        ):
            return ""
        # An ssh or git:// port says nothing about the web server's.
        keep_port = port is not None and scheme in ("http", "https")
        netloc = parts.hostname.lower() + (f":{port}" if keep_port else "")
        web_scheme = "http" if scheme == "http" else "https"
        path = parts.path
    elif match := _SCP_LIKE.fullmatch(url):
        netloc, path, web_scheme = match["host"].lower(), match["path"], "https"
    else:
        return ""
    path = path.strip("/").removesuffix(".git").strip("/")
    return f"{web_scheme}://{netloc}/{path}" if path else ""


def _checked_template(config: RepoConfig) -> str:
    """Return the link template to use, refusing fields the renderer cannot fill."""
    template = config.link_template or link_template_for(config.url)
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as error:
        raise _SyncFailed(
            f"link_template {template!r} is malformed ({error}); "
            "write fields as {remote}, {commit}, {branch}, {path}, {start}, {end}"
        ) from error
    unknown = sorted(set(names) - set(LINK_FIELDS))
    if unknown:
        raise _SyncFailed(
            f"link_template {template!r} has unknown fields {', '.join(unknown)}; "
            f"use only {', '.join('{' + name + '}' for name in LINK_FIELDS)}"
        )
    return template


def _render_link(template: str, *, remote: str, commit: str, branch: str, path: str) -> str:
    """Fill every field but the line range, which the citation fills later."""
    if not template:
        return ""
    return template.format(
        remote=remote,
        commit=commit,
        branch=quote(branch, safe="/"),
        path=quote(path, safe="/"),
        start="{start}",
        end="{end}",
    )


# The fetch.


def _fetch(config: RepoConfig, clone_dir: Path, warnings: list[str]) -> str:
    """Bring the branch tip into the bare clone and return its commit id (hex)."""
    client, path = _client_for(config, warnings)
    branch_ref = Ref(b"refs/heads/" + config.branch.encode("utf-8"))
    advertised: dict[Ref, ObjectID] = {}
    where = _display_url(config.url)
    with _open_clone(clone_dir) as repo:

        def determine_wants(
            refs: Mapping[Ref, ObjectID], depth: int | None = None
        ) -> list[ObjectID]:
            advertised.update(refs)
            tip = refs.get(branch_ref)
            return [tip] if tip is not None and tip not in repo.object_store else []

        try:
            client.fetch(path, repo, determine_wants=determine_wants, ref_prefix=[b"refs/heads/"])
        except HTTPUnauthorized as error:
            raise _SyncFailed(_auth_failure(config, where)) from error
        except HTTPProxyUnauthorized as error:
            raise _SyncFailed(
                f"the proxy refused to reach {where} (HTTP 407); set the proxy's credentials "
                "in https_proxy"
            ) from error
        except NotGitRepository as error:
            private = _is_http(config.url) and not config.token
            hint = " (a private repository answers so too: set a token)" if private else ""
            raise _SyncFailed(f"no Git repository at {where}; check the URL{hint}") from error
        except (GitProtocolError, OSError) as error:
            raise _SyncFailed(
                f"cannot fetch from {where}: {_reason(error)}; check the URL and the network"
            ) from error
        finally:
            # A failing transport (ssh) may leave a subprocess; closing ends it.
            client.close()
        tip = advertised.get(branch_ref)
        if tip is None:
            raise _SyncFailed(_missing_branch(config.branch, advertised, where))
        # The ref keeps the commit's objects advertised as "have" to the next fetch, so it only
        # brings what is new.
        repo.refs[branch_ref] = tip
        _compact(repo, clone_dir)
        return tip.decode("ascii")


def _compact(repo: Repo, clone_dir: Path) -> None:
    """Merge the clone's packs once they pile up: each fetch that brings commits adds one."""
    pack_files = list((clone_dir / "objects" / "pack").glob("*.pack"))
    if len(pack_files) <= MAX_PACKS:
        return
    size = sum(pack.stat().st_size for pack in pack_files)
    if size > MAX_REPACK_BYTES:
        # dulwich repacks in memory; a clone this large is better deleted and fetched afresh.
        logger.warning(
            "%s holds %d packs (%.0f MB); delete it to fetch one pack afresh",
            clone_dir,
            len(pack_files),
            size / _MEGABYTE,
        )
        return
    try:
        repo.object_store.repack()
    except OSError as error:
        # The packs stay as they were and still serve; the next sync tries again.
        logger.warning("cannot merge the packs of %s: %s", clone_dir, error)


def _client_for(config: RepoConfig, warnings: list[str]) -> tuple[GitClient, str]:
    """Return dulwich's client for the remote, with the token as basic auth when one is set."""
    scheme = urlsplit(config.url).scheme.lower() if "://" in config.url else ""
    username: str | None = None
    password: str | None = None
    if config.token:
        if scheme == "https" or (scheme == "http" and _is_loopback(config.url)):
            parts = urlsplit(config.url)
            # A username written in the URL wins; otherwise the one each forge documents for
            # tokens (GitHub and Gitea accept any name with a token as the password).
            username = parts.username or (
                "oauth2" if "gitlab" in (parts.hostname or "") else "x-access-token"
            )
            password = config.token
        elif scheme == "http":
            raise _SyncFailed(
                f"refusing to send the token to {_display_url(config.url)} over plain http; "
                "use an https URL"
            )
        else:
            warnings.append(
                f"{_display_url(config.url)}: the token is only used for https remotes; "
                "ignored (ssh uses your ssh keys)"
            )
    http_config = ConfigDict()
    http_config.set((b"http",), b"timeout", str(HTTP_TIMEOUT_SECONDS).encode("ascii"))
    try:
        return get_transport_and_path(
            config.url, config=http_config, username=username, password=password
        )
    except ValueError as error:
        raise _SyncFailed(
            f"cannot use {_display_url(config.url)} as a Git remote ({error}); "
            "give an https, ssh or git:// URL or a local path"
        ) from error


def _open_clone(clone_dir: Path) -> Repo:
    """Open the bare clone, creating it on the first sync."""
    if not clone_dir.exists() or (clone_dir.is_dir() and not any(clone_dir.iterdir())):
        clone_dir.mkdir(parents=True, exist_ok=True)
        return Repo.init_bare(str(clone_dir))
    try:
        return Repo(str(clone_dir))
    except NotGitRepository as error:
        raise _SyncFailed(
            f"{clone_dir} is not a Git repository; delete it and sync again to clone afresh"
        ) from error


def _missing_branch(branch: str, refs: Mapping[Ref, ObjectID], where: str) -> str:
    names = sorted(
        ref.removeprefix(b"refs/heads/").decode("utf-8", "replace")
        for ref in refs
        if ref.startswith(b"refs/heads/")
    )
    if not names:
        return f"{where} has no branches; push a commit or check the URL"
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return f"branch {branch!r} not found at {where}; it has {shown}: set the branch to one of them"


def _auth_failure(config: RepoConfig, where: str) -> str:
    if config.token:
        return (
            f"{where} refused the token (HTTP 401); check that it is valid and can read the "
            "repository"
        )
    return f"{where} asks for credentials (HTTP 401); set a token that can read the repository"


def _reason(error: BaseException) -> str:
    """Say briefly why a transport failed: urllib3's messages run to several clauses."""
    text = str(error) or type(error).__name__
    if found := _ERRNO_REASON.search(text):
        return found.group(0).strip()
    return " ".join(text.split())[:200]


# The apply.


def _apply(
    config: RepoConfig,
    mirror: Mirror,
    clone_dir: Path,
    tip: str,
    template: str,
    tally: _Tally,
    progress: Callable[[int, int], None] | None,
) -> None:
    """Make the mirror hold the tip's matching files, reading only blobs that changed."""
    with Repo(str(clone_dir)) as repo:
        store = repo.object_store
        previous = mirror.status.revision
        consistent = _mirror_consistent(config, mirror, clone_dir)
        # Whatever happens below, the globs on record no longer describe the mirror until the
        # sync has finished: a sync killed half-way makes the next one compare in full.
        (clone_dir / PATHS_FILE).unlink(missing_ok=True)
        try:
            applier = _Applier(config, mirror, store, tip, template, tally)
            if consistent and previous == tip:
                pass
            elif consistent and _has_commit(store, previous):
                applier.apply_diff(_tree_of(store, previous), progress)
            else:
                applier.apply_full(progress)
            applier.relink()
        except KeyError as error:
            # dulwich's object store raises KeyError for an object it does not hold.
            missing = error.args[0] if error.args else ""
            if isinstance(missing, bytes):
                missing = missing.decode("ascii", "replace")
            raise _SyncFailed(
                f"the clone at {clone_dir} lacks object {missing}; delete it and sync again"
            ) from error
        except OSError as error:
            raise _SyncFailed(
                f"cannot write the mirror at {mirror.root}: {error.strerror or error}; "
                "free space or fix its permissions"
            ) from error


class _Applier:
    """Writes one tip's matching files into a mirror, counting what it did."""

    def __init__(
        self,
        config: RepoConfig,
        mirror: Mirror,
        store: BaseObjectStore,
        tip: str,
        template: str,
        tally: _Tally,
    ) -> None:
        self.config = config
        self.mirror = mirror
        self.store = store
        self.tip = tip
        self.tree = _tree_of(store, tip)
        self.template = template
        self.remote = _web_base(config.url)
        self.tally = tally

    def apply_diff(self, old_tree: ObjectID, progress: Callable[[int, int], None] | None) -> None:
        """Apply only the paths that differ between the mirror's tree and the tip's."""
        # Renames are matched by blob id only (max_files=0): a rename is applied as a remove and
        # a put either way, and content similarity would read every added and deleted blob of
        # the commit range, matching the globs or not.
        detector = RenameDetector(self.store, max_files=0)
        touched: dict[str, TreeEntry | None] = {}
        for change in tree_changes(self.store, old_tree, self.tree, rename_detector=detector):
            if change.old is not None and change.type in (CHANGE_DELETE, CHANGE_RENAME):
                touched.setdefault(_decoded(change.old.path, self.tally), None)
            if change.new is not None and change.type != CHANGE_DELETE:
                touched[_decoded(change.new.path, self.tally)] = change.new
            if change.type in (CHANGE_RENAME, CHANGE_COPY) and change.old and change.new:
                logger.debug(
                    "%s: %s %r -> %r",
                    self.config.name,
                    change.type,
                    change.old.path,
                    change.new.path,
                )
        wanted = {path: entry for path, entry in touched.items() if path and entry is not None}
        wanted = {path: entry for path, entry in wanted.items() if self._wanted(path, entry)}
        gone = [path for path in touched if path not in wanted and path in self.mirror.files]
        self._write(wanted, gone, progress)

    def apply_full(self, progress: Callable[[int, int], None] | None) -> None:
        """Compare every matching path of the tip with the mirror's records."""
        wanted: dict[str, TreeEntry] = {}
        for entry in iter_tree_contents(self.store, self.tree):
            path = _decoded(entry.path, self.tally)
            if path and self._wanted(path, entry):
                wanted[path] = entry
        gone = [path for path in self.mirror.files if path not in wanted]
        self._write(wanted, gone, progress)

    def relink(self) -> None:
        """Point every record's link at the tip: unchanged files have the same lines there."""
        for record in list(self.mirror.files.values()):
            url = self._link(record.path)
            if record.url != url:
                self.mirror.touch(dataclasses.replace(record, url=url))

    def _wanted(self, path: str, entry: TreeEntry) -> bool:
        """Tell whether a tree entry belongs in the mirror, warning about the ones refused."""
        mode = entry.mode or 0
        if stat.S_ISDIR(mode):
            return False
        if mode & 0o170000 == 0o160000:  # a submodule: a commit of another repository
            self.tally.warnings.append(
                f"{path}: a submodule, skipped (its files are not synced; add its repository "
                "as a source of its own)"
            )
            return False
        if not matches_any(path, self.config.paths):
            return False
        if stat.S_ISLNK(mode):
            self.tally.warnings.append(
                f"{path}: a symbolic link, skipped (its target is not synced)"
            )
            return False
        try:
            safe_relative(path)
        except ValueError:
            self.tally.warnings.append(
                f"{path}: a hidden or unsafe path, skipped (the mirror never writes one)"
            )
            return False
        return stat.S_ISREG(mode)

    def _write(
        self,
        wanted: Mapping[str, TreeEntry],
        gone: Sequence[str],
        progress: Callable[[int, int], None] | None,
    ) -> None:
        total = len(wanted) + len(gone)
        done = 0
        for path in gone:
            try:
                self.mirror.remove(path)
            except ValueError:
                # A record whose path the mirror refuses never had a file: drop the record.
                self.mirror.files.pop(path, None)
            self.tally.removed += 1
            done += 1
            if progress:
                progress(done, total)
        for path, entry in sorted(wanted.items()):
            self._put(path, entry)
            done += 1
            if progress:
                progress(done, total)

    def _put(self, path: str, entry: TreeEntry) -> None:
        """Write one blob into the mirror unless the record shows it is already there."""
        assert entry.sha is not None
        blob_id = entry.sha.decode("ascii")
        known = self.mirror.files.get(path)
        if known is not None and known.etag == blob_id and self.mirror.path_of(path).is_file():
            self.mirror.touch(dataclasses.replace(known, url=self._link(path)))
            return
        type_num, body = self.store.get_raw(entry.sha)
        self.tally.downloads += 1
        if type_num != Blob.type_num:
            raise KeyError(entry.sha.decode("ascii"))
        if len(body) > MAX_BLOB_BYTES:
            self.tally.warnings.append(
                f"{path}: {len(body) / _MEGABYTE:.1f} MB, over the "
                f"{MAX_BLOB_BYTES // _MEGABYTE} MB limit, skipped"
            )
            if known is not None:
                self.mirror.remove(path)
                self.tally.removed += 1
            return
        record = MirroredFile(
            path=path, url=self._link(path), sha256=content_hash(body), etag=blob_id
        )
        changed = self.mirror.put(record, body)
        if known is None:
            self.tally.added += 1
        elif changed:
            self.tally.changed += 1

    def _link(self, path: str) -> str:
        return _render_link(
            self.template, remote=self.remote, commit=self.tip, branch=self.config.branch, path=path
        )


def _mirror_consistent(config: RepoConfig, mirror: Mirror, clone_dir: Path) -> bool:
    """Tell whether the mirror holds exactly what its recorded commit gave, so a diff suffices."""
    if _read_synced_paths(clone_dir) != list(config.paths):
        return False
    return all(
        record.etag and matches_any(path, config.paths) and mirror.path_of(path).is_file()
        for path, record in mirror.files.items()
    )


def _read_synced_paths(clone_dir: Path) -> list[str] | None:
    try:
        raw = json.loads((clone_dir / PATHS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, list) else None


def _write_synced_paths(clone_dir: Path, paths: Sequence[str]) -> None:
    try:
        (clone_dir / PATHS_FILE).write_text(json.dumps(list(paths)), encoding="utf-8")
    except OSError as error:
        # Only costs the next sync a full comparison.
        logger.warning("cannot record the synced globs in %s: %s", clone_dir, error)


def _has_commit(store: BaseObjectStore, revision: str) -> bool:
    if not _HEX_COMMIT.fullmatch(revision):
        return False
    sha = ObjectID(revision.encode("ascii"))
    if sha not in store:
        return False
    return isinstance(store[sha], Commit)


def _tree_of(store: BaseObjectStore, revision: str) -> ObjectID:
    commit = store[ObjectID(revision.encode("ascii"))]
    if not isinstance(commit, Commit):
        raise KeyError(revision)
    return ObjectID(commit.tree)


def _decoded(path: bytes | None, tally: _Tally) -> str:
    """Return a tree path as text, or "" (with a warning) for one that is not UTF-8."""
    if path is None:
        return ""
    try:
        return path.decode("utf-8")
    except UnicodeDecodeError:
        tally.warnings.append(f"{path!r}: not a UTF-8 path, skipped")
        return ""


def _save_success(mirror: Mirror, attempt: str, tip: str) -> None:
    try:
        mirror.save(
            SyncStatus(
                last_attempt=attempt, last_success=attempt, files=len(mirror.files), revision=tip
            )
        )
    except OSError as error:
        # The files are written but their records are not: the next sync compares in full.
        raise _SyncFailed(
            f"cannot save the mirror state at {mirror.state_path}: {error.strerror or error}; "
            "free space or fix its permissions"
        ) from error


def _save_failure(mirror: Mirror, attempt: str, error: str, previous: str) -> None:
    status = mirror.status
    try:
        mirror.save(
            SyncStatus(
                last_attempt=attempt,
                last_success=status.last_success,
                last_error=error,
                files=len(mirror.files),
                revision=previous,
            )
        )
    except OSError as save_error:
        # The report already says the sync failed; the state keeps its previous content.
        logger.warning("cannot save the mirror state at %s: %s", mirror.state_path, save_error)


# Text for people: URLs without credentials.


def _display_url(url: str) -> str:
    return _URL_USERINFO.sub(r"\g<scheme>", url)


def _redact(text: str, config: RepoConfig) -> str:
    """Remove every credential from a message: the token, URL passwords, URL user parts."""
    text = _URL_USERINFO.sub(r"\g<scheme>", text)
    secrets = [config.token or ""]
    if "://" in config.url:
        with contextlib.suppress(ValueError):
            secrets.append(urlsplit(config.url).password or "")
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
            text = text.replace(quote(secret, safe=""), "***")
    return " ".join(text.split())


def _is_http(url: str) -> bool:
    return url.lower().startswith(("http://", "https://"))


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
