"""Fetch the real manuals the quality benchmark reads, from Debian's archive or PyPI, checksummed.

    .venv/bin/python benchmarks/quality/fetch.py        # into data/manuals/<name>/

Each manual is a Debian documentation package, or a PyPI source distribution that carries its
project's documentation, pinned by version and SHA-256. Only the pages are kept: HTML from the
Debian packages (git-doc also ships the AsciiDoc sources of the same pages; Django's
highlighted module sources are code listings, not documentation), the Markdown sources of an
MkDocs site from an sdist. Nothing here is committed: the packages are a few MB each and
re-fetched on demand.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import lzma
import shutil
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MIRROR = "http://deb.debian.org/debian/"


@dataclass(frozen=True)
class Manual:
    """A documentation package and the part of it that is the manual."""

    name: str
    pool_path: str
    sha256: str
    html_root: str  # folder inside the package holding the pages
    leave_out: tuple[str, ...] = ()  # sub-folders of html_root that are not documentation
    suffix: str = ".html"  # the pages' extension


MANUALS = {
    manual.name: manual
    for manual in (
        Manual(
            name="git",
            pool_path="pool/main/g/git/git-doc_2.39.5-0+deb12u3_all.deb",
            sha256="3c89668a11053a6bafade3de1f611f4613db31e082af63f43d8c5b69ad8795ec",
            html_root="usr/share/doc/git-doc",
        ),
        Manual(
            name="django",
            pool_path="pool/main/p/python-django/python-django-doc_3.2.25-0+deb12u3_all.deb",
            sha256="33319c8e45b95693603213442ccf9bcee933ef338488115203ad25a0e01c696f",
            html_root="usr/share/doc/python-django-doc/html",
            leave_out=("_modules", "_static", "_images", "_sources"),
        ),
        # Held out: its questions were written after every tuning choice above, and none was
        # tuned on it. A Sphinx manual with a 1,000-row plugin table of other products' names.
        Manual(
            name="pytest",
            pool_path="pool/main/p/pytest/python-pytest-doc_7.2.1-2_all.deb",
            sha256="8cf17eb7826a2bbbc8207447fc888cbb75fd86680146542ebd9545e18229d3aa",
            html_root="usr/share/doc/python-pytest-doc/html",
            leave_out=("_modules", "_static", "_images", "_sources"),
        ),
        # Markdown as people write it for MkDocs Material: admonitions (!!!), content tabs
        # (===), icons, snippet includes, mkdocstrings (:::) and mkdocs-click directives, a
        # changelog and release blog posts. Hatch's docs, from its sdist on PyPI. Held out like
        # pytest: questions written and frozen before any run, halves by odd and even number.
        Manual(
            name="hatch",
            pool_path="pypi:hatch==1.18.2:hatch-1.18.2.tar.gz",
            sha256="7f365f1a5b8f1a8162813daed9bf9fce83f15dc933fc99c6d04cbb942e64f4d0",
            html_root="hatch-1.18.2/docs",
            leave_out=("assets", ".snippets"),
            suffix=".md",
        ),
    )
}


def download(manual: Manual, cache: Path) -> bytes:
    """Return the package's bytes, from the cache or the mirror, after checking its SHA-256."""
    cached = cache / Path(manual.pool_path).name.split(":")[-1]
    if cached.exists():
        data = cached.read_bytes()
    elif manual.pool_path.startswith("pypi:"):
        data = _pip_download(manual.pool_path.split(":")[1], cache)
    else:
        with urllib.request.urlopen(MIRROR + manual.pool_path, timeout=120) as response:
            data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != manual.sha256:
        cached.unlink(missing_ok=True)
        raise SystemExit(f"{manual.pool_path}: SHA-256 {digest} is not the pinned {manual.sha256}")
    cache.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(data)
    return data


def _pip_download(requirement: str, cache: Path) -> bytes:
    """Download a source distribution with pip (the machine's own index settings apply)."""
    import subprocess

    cache.mkdir(parents=True, exist_ok=True)
    before = set(cache.iterdir())
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-d",
            str(cache),
            requirement,
        ],
        check=True,
        capture_output=True,
    )
    (new,) = set(cache.iterdir()) - before
    return new.read_bytes()


def data_tar(deb: bytes) -> tarfile.TarFile:
    """Open the data.tar.* member of a .deb (an ar archive) without dpkg."""
    if not deb.startswith(b"!<arch>\n"):
        raise SystemExit("not a Debian package (no ar header)")
    offset = 8
    while offset < len(deb):
        header = deb[offset : offset + 60]
        name = header[:16].decode().strip().rstrip("/")
        size = int(header[48:58].decode().strip())
        body = deb[offset + 60 : offset + 60 + size]
        if name.startswith("data.tar"):
            if name.endswith(".xz"):
                body = lzma.decompress(body)
            return tarfile.open(fileobj=io.BytesIO(body))
        offset += 60 + size + (size % 2)
    raise SystemExit("the package has no data.tar member")


def extract(manual: Manual, deb: bytes, target: Path) -> int:
    """Write the manual's HTML pages under target; return how many."""
    if target.exists():
        shutil.rmtree(target)
    count = 0
    sdist = manual.pool_path.startswith("pypi:")
    root = ("" if sdist else "./") + manual.html_root + "/"
    with tarfile.open(fileobj=io.BytesIO(deb)) if sdist else data_tar(deb) as archive:
        for member in archive.getmembers():
            if not (member.isfile() and member.name.startswith(root)):
                continue
            relative = member.name[len(root) :]
            if relative.split("/")[0] in manual.leave_out or not relative.endswith(manual.suffix):
                continue
            handle = archive.extractfile(member)
            assert handle is not None
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_bytes(handle.read())
            count += 1
    return count


def fetch(names: list[str], into: Path) -> dict[str, Path]:
    """Make sure each named manual is unpacked under into; return their folders."""
    folders = {}
    for name in names:
        manual = MANUALS[name]
        folder = into / name
        stamp = folder / ".fetched"
        if not (stamp.exists() and stamp.read_text() == manual.sha256):
            deb = download(manual, into / ".cache")
            pages = extract(manual, deb, folder)
            stamp.write_text(manual.sha256)
            print(f"{name}: {pages} pages from {Path(manual.pool_path).name}", file=sys.stderr)
        folders[name] = folder
    return folders


def main() -> None:
    """Fetch the manuals named on the command line (default: all)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(MANUALS)} (default: all)")
    parser.add_argument("--into", type=Path, default=REPO / "data" / "manuals")
    args = parser.parse_args()
    unknown = set(args.names) - set(MANUALS)
    if unknown:
        known = ", ".join(MANUALS)
        parser.error(f"unknown manual {', '.join(sorted(unknown))}; choose from {known}")
    for name, folder in fetch(args.names or list(MANUALS), args.into).items():
        print(f"{name}\t{folder}")


if __name__ == "__main__":
    main()
