"""A documentation site over loopback: a folder of pages served as a docs server serves them.

Each page has an ETag (its SHA-256) and a Last-Modified (its file's time) and a conditional
request for an unchanged page gets a 304 with no body; `/sitemap.xml` lists every page with its
`lastmod`, built afresh at each request so pages written or deleted by a test show at once;
`/robots.txt` disallows one folder and names the sitemap. Every request is logged with its
status, so a test counts the 200s and 304s a sync cost and checks nothing else was asked for.
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from collections import Counter
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.sax.saxutils import escape

_TYPES = {".md": "text/markdown; charset=utf-8", ".txt": "text/plain; charset=utf-8"}


class DocsServer:
    """Serve root's files under prefix on 127.0.0.1, in a background thread, until stop()."""

    def __init__(self, root: Path, *, prefix: str = "/docs/", disallow: str = "") -> None:
        self.root = root
        self.prefix = prefix
        self.disallow = disallow  # a path robots.txt disallows, "" for none
        self.advertise_sitemap = True  # robots.txt names /sitemap.xml
        self.log: list[tuple[str, str, int]] = []  # (method, path, status)
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, headers, body = server._respond(self.path, self.headers)
                with server._lock:
                    server.log.append(("GET", self.path, status))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # the test reads server.log instead

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    @property
    def start_url(self) -> str:
        """Return the address of the site's front page."""
        return self.base + self.prefix

    def statuses(self) -> Counter[int]:
        """Count the responses given so far by status."""
        with self._lock:
            return Counter(status for _, _, status in self.log)

    def reset_log(self) -> None:
        """Forget the requests so far."""
        with self._lock:
            self.log.clear()

    def stop(self) -> None:
        """Stop serving: later requests are refused at connect."""
        self._httpd.shutdown()
        self._httpd.server_close()

    def _pages(self) -> list[Path]:
        return sorted(path for path in self.root.rglob("*") if path.is_file())

    def _respond(self, target: str, request: object) -> tuple[int, dict[str, str], bytes]:
        path = unquote(urlsplit(target).path)
        if path == "/robots.txt":
            rules = f"Disallow: {self.disallow}\n" if self.disallow else ""
            sitemap = f"Sitemap: {self.base}/sitemap.xml\n" if self.advertise_sitemap else ""
            body = f"User-agent: *\n{rules}{sitemap}".encode()
            return 200, {"Content-Type": "text/plain"}, body
        if path == "/sitemap.xml":
            return 200, {"Content-Type": "application/xml"}, self._sitemap()
        if not path.startswith(self.prefix):
            return 404, {}, b"not found"
        inside = path[len(self.prefix) :]
        if inside == "" or inside.endswith("/"):
            inside += "index.html"
        file = (self.root / inside).resolve()
        if not file.is_relative_to(self.root.resolve()) or not file.is_file():
            return 404, {"Content-Type": "text/html"}, b"<h1>Not found</h1>"
        body = file.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        modified = format_datetime(
            datetime.fromtimestamp(int(file.stat().st_mtime), UTC), usegmt=True
        )
        headers = {"ETag": etag, "Last-Modified": modified}
        if getattr(request, "get", lambda _: None)("If-None-Match") == etag:
            return 304, headers, b""
        kind = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0] or "text/html"
        return 200, {**headers, "Content-Type": kind}, body

    def _sitemap(self) -> bytes:
        entries = []
        for page in self._pages():
            relative = page.relative_to(self.root).as_posix()
            if relative == "index.html" or relative.endswith("/index.html"):
                relative = relative[: -len("index.html")]  # a folder's page is its folder's URL
            when = datetime.fromtimestamp(page.stat().st_mtime, UTC).isoformat(timespec="seconds")
            entries.append(
                f"<url><loc>{escape(self.start_url + relative)}</loc>"
                f"<lastmod>{when}</lastmod></url>"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(entries)
            + "</urlset>"
        ).encode()
