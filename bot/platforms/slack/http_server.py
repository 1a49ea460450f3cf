"""Slack's HTTP mode: a guarded uvicorn server in front of bolt.

Two guards, in the order a request meets them:
- the connection (`GuardedH11Protocol`): at most `max_connections` open at once, and a request
  must arrive whole (headers and body) within `read_seconds`, so clients that dribble bytes
  cannot hold the server's connections; idle keep-alive connections close after 5 s (uvicorn's
  own timer);
- the request (`ThreadedSlackRequestHandler`): a capped body, Slack's signature checked over the
  raw bytes (the one signature check: bolt's own is off), replays dropped, the shape checked.

Exposed to the internet, it still belongs behind a reverse proxy or load balancer that
terminates TLS and buffers requests (nginx, Caddy, a cloud load balancer): see README "Slack".
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import h11
from slack_bolt import App, BoltResponse
from slack_bolt.adapter.asgi import SlackRequestHandler
from slack_bolt.adapter.asgi.http_request import AsgiHttpRequest
from slack_bolt.request import BoltRequest
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.settings import Settings
from index.errors import ConfigError

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20  # Slack's payloads are a few KB
_REPLAY_WINDOW = 300  # seconds: Slack's signatures are accepted for five minutes
_client: contextvars.ContextVar[str] = contextvars.ContextVar("slack_client", default="?")
_TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
_TOO_MANY = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def make_http_server(app: App, settings: Settings) -> Any:
    """Build a uvicorn server for HTTP mode (Events API and slash commands)."""
    import uvicorn  # noqa: PLC0415

    slack = settings.slack
    secret = settings.slack_signing_secret
    if secret is None:
        raise ConfigError("HTTP mode needs SLACK_SIGNING_SECRET; set it or use Socket Mode")
    protocol = guarded_protocol(slack.read_seconds, slack.max_connections)
    config = uvicorn.Config(
        ThreadedSlackRequestHandler(app, slack.path, secret.get_secret_value()),
        host=slack.host,
        port=slack.port,
        http=protocol,
        lifespan="off",
        log_level="warning",
        access_log=False,
        log_config=None,  # use root logging, where secrets are redacted
    )
    return uvicorn.Server(config)


def guarded_protocol(read_seconds: float, max_connections: int) -> type[H11Protocol]:
    """Return uvicorn's HTTP/1.1 protocol with a connection cap and a whole-request deadline."""
    warned = _OncePerMinute()

    class GuardedH11Protocol(H11Protocol):
        """uvicorn's h11 protocol, closing connections that are too many or too slow."""

        _deadline: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            if len(self.connections) > max_connections:
                warned.log(f"over {max_connections} connections open: refusing new ones (HTTP 503)")
                transport.write(_TOO_MANY)
                transport.close()
                return
            self._start_deadline()

        def data_received(self, data: bytes) -> None:
            if self._deadline is None and self.conn.their_state is h11.IDLE:
                self._start_deadline()  # the next request on a kept-alive connection
            super().data_received(data)
            if self.conn.their_state in (h11.DONE, h11.MUST_CLOSE, h11.CLOSED, h11.ERROR):
                self._stop_deadline()  # the request is in: the app may take its time

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_deadline()
            super().connection_lost(exc)

        def _start_deadline(self) -> None:
            self._deadline = self.loop.call_later(read_seconds, self._too_slow)

        def _stop_deadline(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            warned.log(f"closed connections that sent no whole request in {read_seconds:g} s")
            if self.cycle is None or not self.cycle.response_started:
                self.transport.write(_TOO_SLOW)
            self.transport.close()

    return GuardedH11Protocol


class _OncePerMinute:
    """Log each distinct warning at most once a minute: a flood must not flood the log."""

    def __init__(self) -> None:
        self._last: dict[str, float] = {}

    def log(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last.get(message, -60.0) >= 60:
            self._last[message] = now
            logger.warning("Slack HTTP: %s", message)


class ThreadedSlackRequestHandler(SlackRequestHandler):
    """bolt's ASGI adapter, guarded: bounded, authenticated and well-formed before bolt parses.

    The body is read only up to a cap, its signature checked over the raw bytes, replays of a
    seen signature dropped, and its shape checked; anything else gets a 4xx and one log line a
    minute per client and reason, never a traceback. bolt then runs in a worker thread so the
    event loop never blocks.
    """

    def __init__(self, app: App, path: str, signing_secret: str) -> None:
        super().__init__(app, path=path)
        self._secret = signing_secret.encode()
        self._seen: dict[str, float] = {}  # signature -> when it was first accepted
        self._logged: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    async def __call__(
        self, scope: Any, receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        """Remember which client sent the request, for the rejection log."""
        client = scope.get("client") if isinstance(scope, dict) else None
        _client.set(str(client[0]) if client else "?")
        await super().__call__(scope, receive, send)

    async def dispatch(self, request: AsgiHttpRequest) -> Any:
        """Check the request, then run the synchronous bolt app off the event loop."""
        headers = request.get_headers()
        declared = str(headers.get("content-length", "0"))
        if not declared.isdigit() or int(declared) > MAX_BODY_BYTES:
            return self._reject(413, "body over 1 MB (or a bad Content-Length)")
        try:
            body = await _read_capped(request, MAX_BODY_BYTES)
        except _ClientGone:  # closed by the client, or by the read deadline: nobody to tell
            return BoltResponse(status=408, body="")
        if body is None:
            return self._reject(413, "body over 1 MB")
        if not self._signed(body, headers):
            return self._reject(401, "bad or stale signature")
        signature = str(headers.get("x-slack-signature", ""))
        if not self._first_time(signature):
            logger.info("ignoring a replayed request")
            return BoltResponse(status=200, body="")
        try:
            bolt_request = BoltRequest(
                body=body.decode("utf-8"), query=request.query_string, headers=headers
            )
        except Exception:  # bolt parses as it builds: bad UTF-8, JSON, or a JSON list
            return self._reject(400, "body is not valid JSON or form data")
        problem = _malformed(bolt_request.body)
        if problem:
            return self._reject(400, problem)
        return await asyncio.to_thread(self.app.dispatch, bolt_request)

    def _signed(self, body: bytes, headers: Mapping[str, Any]) -> bool:
        """Check Slack's signature over the raw bytes, and that it is under five minutes old."""
        stamp = str(headers.get("x-slack-request-timestamp", ""))
        signature = str(headers.get("x-slack-signature", ""))
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > _REPLAY_WINDOW:
            return False
        base = b"v0:" + stamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self._secret, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    def _first_time(self, signature: str) -> bool:
        now = time.monotonic()
        with self._lock:
            for seen, when in list(self._seen.items()):
                if now - when > _REPLAY_WINDOW:
                    del self._seen[seen]
            if signature in self._seen:
                return False
            self._seen[signature] = now
            return True

    def _reject(self, status: int, reason: str) -> BoltResponse:
        client = _client.get()
        now = time.monotonic()
        with self._lock:
            last = self._logged.get((client, reason))
            if last is None or now - last > 60:
                self._logged[(client, reason)] = now
                logger.warning("rejected a request from %s: %s (HTTP %d)", client, reason, status)
        return BoltResponse(status=status, body=reason)


class _ClientGone(Exception):
    """The connection closed before the request's body was read."""


async def _read_capped(request: AsgiHttpRequest, cap: int) -> bytes | None:
    """Read the request body, or return None as soon as it passes cap bytes."""
    body = bytearray()
    while True:
        message = await request.receive()
        if message.get("type") != "http.request":
            raise _ClientGone
        body.extend(message.get("body", b""))
        if len(body) > cap:
            return None
        if not message.get("more_body", False):
            return bytes(body)


def _malformed(body: Any) -> str:
    """Say what a signed payload lacks that bolt would trip over, or "" when it is usable."""
    if not isinstance(body, dict) or not body:
        return "body is not a JSON object or a form"
    if body.get("type") == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
            return "block_actions without actions"
    if body.get("type") == "event_callback" and not isinstance(body.get("event"), dict):
        return "event_callback without an event"
    return ""
