"""HTTP for a site sync: polite, bounded GETs that connect only where they may.

`Fetcher.get` sends one GET (retrying a 429, or a 503 that says when, after Retry-After) and
returns a `Fetched`: the status, the body if it was wanted, or in words why there is none. It
never follows a redirect itself (the caller checks each hop) and never raises for a failed page.

Three guards sit below httpx, in the network backend every connection goes through:
- Address: a host is resolved once, every address is checked against `AddressPolicy`, and the
  socket connects to a checked address, so a second DNS answer cannot swap in another (no
  rebinding window). Private and loopback addresses are allowed only for a host the admin named;
  link-local and cloud metadata addresses only when that very IP was named.
- Deadline: each read and write gets what is left of the response's whole time budget, so a
  server that drips headers or body a byte at a time ends at `timeout`, not at timeout per byte.
- Size: the body is streamed and its decoded bytes counted, so neither a huge page nor a gzip
  bomb is read past the cap (httpx inflates at most one 64 KiB network read at a time).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import ssl
import threading
import time
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpcore
import httpx

from ingest.sources.site_urls import netloc_of

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER = 60.0  # seconds; a longer wait is capped, not obeyed
MAX_CRAWL_DELAY = 60.0
RETRIES = 2  # after a 429 or 503, the same URL is tried this many more times
CHUNK_BYTES = 64 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Cloud instance metadata endpoints: a redirect there would hand out the machine's credentials.
METADATA_ADDRESSES = frozenset(
    {
        ipaddress.ip_address("169.254.169.254"),
        ipaddress.ip_address("169.254.170.2"),
        ipaddress.ip_address("100.100.100.200"),
        ipaddress.ip_address("fd00:ec2::254"),
    }
)


class RefusedAddress(httpcore.ConnectError):
    """A host resolved to an address a sync may not connect to."""


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which addresses a sync may connect to, given the hosts the admin named."""

    named: frozenset[str] = frozenset()  # host names and IP literals, lowercase, no port

    def refusal(self, host: str, address: IPAddress) -> str:
        """Return why host may not be reached at address ("" if it may)."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        host = host.lower().strip("[]")
        if address in METADATA_ADDRESSES or address.is_link_local:
            named_literal = _literal(host) == address and host in self.named
            return "" if named_literal else "a link-local or cloud metadata address"
        if address.is_global and not address.is_multicast:
            return ""
        return "" if host in self.named else "a private, loopback or reserved address"


def _literal(host: str) -> IPAddress | None:
    """Return host as an IP address if it is one."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


class GuardedBackend(httpcore.NetworkBackend):
    """Connect only to checked addresses, and end every read at the response's deadline."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()
        # httpcore does a request's I/O in the thread that sent it, so a thread's deadline is
        # the deadline of the response it is reading.
        self._local = threading.local()

    def set_deadline(self, deadline: float | None) -> None:
        """Bound this thread's reads, writes and connects by a monotonic time (None: unbounded)."""
        self._local.deadline = deadline

    def remaining(self, timeout: float | None, error: type[Exception]) -> float | None:
        """Return timeout cut to this thread's deadline; raise error once it has passed."""
        deadline: float | None = getattr(self._local, "deadline", None)
        if deadline is None:
            return timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise error("the response took longer than the timeout")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Resolve host, refuse it if any address is refused, and connect to a checked one."""
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}") from exc
        addresses: list[str] = []
        for *_, sockaddr in found:
            text = str(sockaddr[0]).split("%")[0]
            reason = self._policy.refusal(host, ipaddress.ip_address(text))
            if reason:
                raise RefusedAddress(f"{host} resolves to {text}, {reason}")
            addresses.append(text)
        error: Exception = httpcore.ConnectError(f"cannot connect to {host}")
        for address in dict.fromkeys(addresses):
            try:
                stream = self._inner.connect_tcp(
                    address,
                    port,
                    timeout=self.remaining(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            return _DeadlineStream(stream, self)
        raise error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Refuse: a site is never reached through a local socket."""
        raise httpcore.ConnectError("a site sync does not use unix sockets")

    def sleep(self, seconds: float) -> None:
        """Sleep (httpcore's retry backoff)."""
        time.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every operation ends by its thread's response deadline."""

    def __init__(self, inner: httpcore.NetworkStream, backend: GuardedBackend) -> None:
        self._inner = inner
        self._backend = backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """Read what arrives before the deadline."""
        return self._inner.read(max_bytes, self._backend.remaining(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        """Write before the deadline."""
        self._inner.write(buffer, self._backend.remaining(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        """Close the connection."""
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        """Upgrade to TLS (checked against the host name, not the address) before the deadline."""
        left = self._backend.remaining(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, left), self._backend
        )

    def get_extra_info(self, info: str) -> typing.Any:
        """Answer httpcore's questions about the connection."""
        return self._inner.get_extra_info(info)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport, with its connection pool built on a `GuardedBackend`."""

    def __init__(self, backend: GuardedBackend, *, connections: int) -> None:
        super().__init__(trust_env=False)
        # httpx takes no network backend, so its pool is rebuilt with the same settings around
        # ours; retries=1 retries a failed connect once before the host counts as down.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=connections,
            max_keepalive_connections=connections,
            retries=1,
            network_backend=backend,
        )


@dataclass(frozen=True, slots=True)
class Fetched:
    """What one GET gave: a status and body, or in words why there is none."""

    url: str
    status: int = 0  # 0: no HTTP response at all
    body: bytes = b""
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""
    location: str = ""  # a redirect's Location header, as sent
    problem: str = ""  # why the body is missing: "timed out after 30 s", "larger than ..."
    unreachable: bool = False  # the host did not answer at all (DNS, refused, TLS)
    skipped: bool = False  # a 200 of a content type not wanted: the body was not read
    refused: bool = False  # the host resolved to an address a sync may not connect to

    @property
    def ok(self) -> bool:
        """Tell whether a wanted body arrived whole."""
        return self.status == 200 and not self.problem and not self.skipped


def retry_after_seconds(value: str, now: datetime | None = None) -> float | None:
    """Return how long a Retry-After header (seconds or HTTP date) asks to wait, capped."""
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class _Pacer:
    """Space request starts evenly across all threads: the sync's polite rate."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this thread's request may start."""
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)

    def pause_until(self, when: float) -> None:
        """Hold every request until a monotonic time (a server asked us to back off)."""
        with self._lock:
            self._next = max(self._next, when)


class Fetcher:
    """GET pages for one sync: one shared client, a global rate, bounded time and size."""

    def __init__(
        self,
        *,
        user_agent: str,
        timeout: float,
        requests_per_second: float,
        connections: int,
        policy: AddressPolicy,
        token: str | None = None,
        token_hosts: frozenset[str] = frozenset(),
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._timeout = timeout
        self._token = token
        self._token_hosts = token_hosts
        self._backend = GuardedBackend(policy) if transport is None else None
        if self._backend is not None:
            transport = GuardedTransport(self._backend, connections=connections)
        self._client = httpx.Client(
            transport=transport,
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(timeout),
            follow_redirects=False,
            trust_env=False,
        )
        self._pacer = _Pacer(1.0 / requests_per_second)

    def close(self) -> None:
        """Close the connections."""
        self._client.close()

    def slow_down(self, seconds: float) -> None:
        """Space requests at least this far apart (a robots.txt Crawl-delay), capped."""
        self._pacer.interval = max(self._pacer.interval, min(seconds, MAX_CRAWL_DELAY))

    def get(
        self,
        url: str,
        *,
        max_bytes: int,
        headers: Mapping[str, str] | None = None,
        wanted: Callable[[str], bool] | None = None,
    ) -> Fetched:
        """GET url, waiting out a 429 or 503 Retry-After up to RETRIES times; never raise."""
        retries = 0
        while True:
            self._pacer.wait()
            fetched, wait = self._get_once(url, max_bytes, headers or {}, wanted)
            if wait is None or retries == RETRIES:
                return fetched
            retries += 1
            logger.debug("%s answered %s; retrying in %.1f s", url, fetched.status, wait)
            # Every thread waits, not just this one: the server asked the whole client to.
            self._pacer.pause_until(time.monotonic() + wait)

    def _get_once(
        self,
        url: str,
        max_bytes: int,
        headers: Mapping[str, str],
        wanted: Callable[[str], bool] | None,
    ) -> tuple[Fetched, float | None]:
        """GET url once; return what came and, for a 429/503 worth retrying, how long to wait."""
        sent = dict(headers)
        if self._token and netloc_of(url) in self._token_hosts:
            sent["Authorization"] = f"Bearer {self._token}"
        deadline = time.monotonic() + self._timeout
        if self._backend is not None:
            self._backend.set_deadline(deadline)
        try:
            with self._client.stream("GET", url, headers=sent) as response:
                return self._read(url, response, max_bytes, deadline, wanted)
        except httpx.ConnectError as exc:
            if isinstance(exc.__cause__, RefusedAddress):
                return Fetched(url, problem=f"refused: {exc.__cause__}", refused=True), None
            return Fetched(url, problem=_connect_problem(exc), unreachable=True), None
        except httpx.ConnectTimeout:
            problem = f"could not connect within {self._timeout:g} s"
            return Fetched(url, problem=problem, unreachable=True), None
        except httpx.TimeoutException:
            return Fetched(url, problem=self._too_slow()), None
        except httpx.DecodingError:
            return Fetched(url, problem="sent a body that could not be decoded"), None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return Fetched(url, problem=f"the connection broke ({type(exc).__name__})"), None
        finally:
            if self._backend is not None:
                self._backend.set_deadline(None)

    def _read(
        self,
        url: str,
        response: httpx.Response,
        max_bytes: int,
        deadline: float,
        wanted: Callable[[str], bool] | None,
    ) -> tuple[Fetched, float | None]:
        """Turn a response into a `Fetched`, reading the body only if it is wanted and fits."""
        status = response.status_code
        header = response.headers.get
        if status in (429, 503):
            wait = retry_after_seconds(header("retry-after", ""))
            if status == 429 and wait is None:
                wait = 1.0
            problem = f"answered {status} {response.reason_phrase} (the site is busy)"
            return Fetched(url, status, problem=problem), wait
        if 300 <= status < 400 and status != 304:
            return Fetched(url, status, location=header("location", "")), None
        if status == 304:
            validators = {"etag": header("etag", ""), "last_modified": header("last-modified", "")}
            return Fetched(url, status, **validators), None
        if status != 200:
            reason = response.reason_phrase
            return Fetched(url, status, problem=f"answered {status} {reason}".strip()), None
        content_type = header("content-type", "")
        meta = {
            "content_type": content_type,
            "etag": header("etag", ""),
            "last_modified": header("last-modified", ""),
        }
        if wanted is not None and not wanted(content_type):
            return Fetched(url, status, skipped=True, **meta), None
        too_big = f"is larger than {max_bytes:,} bytes (max_page_bytes); not downloaded"
        declared = header("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            return Fetched(url, status, problem=too_big, **meta), None
        chunks: list[bytes] = []
        size = 0
        # iter_bytes yields decoded bytes, so the cap holds for a compressed body too.
        for chunk in response.iter_bytes(CHUNK_BYTES):
            size += len(chunk)
            if size > max_bytes:
                return Fetched(url, status, problem=too_big, **meta), None
            if time.monotonic() > deadline:
                return Fetched(url, status, problem=self._too_slow(), **meta), None
            chunks.append(chunk)
        return Fetched(url, status, body=b"".join(chunks), **meta), None

    def _too_slow(self) -> str:
        """Describe a response that did not finish in time."""
        return f"did not finish within {self._timeout:g} s (timeout)"


def _connect_problem(exc: httpx.ConnectError) -> str:
    """Describe a failed connection in a few words, without a traceback."""
    cause = exc.__cause__
    while cause is not None and cause.__cause__ is not None:
        cause = cause.__cause__
    detail = str(cause or exc).splitlines()[0] if str(cause or exc) else type(exc).__name__
    return f"could not connect ({detail[:160]})"
