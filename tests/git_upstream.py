"""A real Git repository for tests, written with dulwich (no git program needed)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from dulwich.index import commit_tree
from dulwich.objects import Blob, Commit
from dulwich.repo import Repo

FILE = 0o100644
SYMLINK = 0o120000
SUBMODULE = 0o160000


class Upstream:
    """A repository whose branches are rewritten one snapshot at a time."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = Repo.init(str(root), mkdir=True)
        self._clock = 1_700_000_000

    def commit(
        self,
        files: dict[str, bytes | tuple[int, bytes]],
        *,
        branch: str = "main",
        parents: Iterable[bytes] | None = None,
    ) -> str:
        """Make the branch point at a new commit holding exactly files; return its id."""
        store = self.repo.object_store
        entries = []
        for path, content in files.items():
            mode, data = content if isinstance(content, tuple) else (FILE, content)
            if mode == SUBMODULE:
                sha = data  # a commit of another repository: not in this object store
            else:
                blob = Blob.from_string(data)
                store.add_object(blob)
                sha = blob.id
            entries.append((path.encode(), sha, mode))
        ref = b"refs/heads/" + branch.encode()
        commit = Commit()
        commit.tree = commit_tree(store, entries)
        commit.parents = list(parents) if parents is not None else self._parents(ref)
        commit.author = commit.committer = b"Ada <ada@example.test>"
        self._clock += 60
        commit.author_time = commit.commit_time = self._clock
        commit.author_timezone = commit.commit_timezone = 0
        commit.message = f"snapshot {self._clock}\n".encode()
        store.add_object(commit)
        self.repo.refs[ref] = commit.id
        return commit.id.decode()

    def _parents(self, ref: bytes) -> list[bytes]:
        tip = self.repo.refs.as_dict().get(ref)
        return [tip] if tip else []
