"""A fake Slack: Web API, response_url and Socket Mode websocket, on 127.0.0.1 (aiohttp)."""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.loopback import LoopbackServer

SECTION_LIMIT = 3000
BLOCK_LIMIT = 50


@dataclass
class Recorded:
    """A request the fake received."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    at: float = field(default_factory=time.perf_counter)


class FakeSlack(LoopbackServer):
    """Runs an aiohttp server in a thread and records every call; tests wait on conditions."""

    def __init__(self) -> None:
        self.calls: list[Recorded] = []
        self.acks: list[dict[str, Any]] = []
        self.rate_limit_next: dict[str, int] = defaultdict(int)  # path -> 429s still to send
        self.connections_opened = 0
        self.sockets_opened = 0
        self.token_rejected = False  # auth.test answers invalid_auth, as for a revoked token
        self.expired_response_urls: set[str] = set()  # keys whose response_url answers 404
        # Thread messages by (channel, thread_ts), oldest first, as conversations.replies gives
        # them; the bot's threaded posts join them. missing_scopes: methods that answer as Slack
        # does when the app lacks the scope.
        self.threads: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        self.missing_scopes: set[str] = set()
        # method -> replies still to give instead of the real one: an error code ("invalid_blocks")
        # answered as {"ok": false}, or None for a body that is not JSON at all.
        self.fail_next: dict[str, list[str | None]] = defaultdict(list)
        # What auth.test says the token was granted (its X-OAuth-Scopes header): the manifest's.
        self.scopes = {
            "app_mentions:read",
            "channels:history",
            "groups:history",
            "chat:write",
            "commands",
            "im:history",
            "im:read",
            "im:write",
        }
        self._condition = threading.Condition()
        self._sockets: list[web.WebSocketResponse] = []
        super().__init__()

    # ---- server side -------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        """Serve the fake's endpoints."""
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/response/{key}", self._response_url)
        app.router.add_get("/link/", self._websocket)

    def _record(self, path: str, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._condition:
            self.calls.append(Recorded(path, body, headers))
            self._condition.notify_all()

    async def _parse(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if not raw:
            return {}
        if request.content_type == "application/json":
            return dict(json.loads(raw))
        return {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}

    @staticmethod
    def _blocks_problem(body: dict[str, Any]) -> str | None:
        blocks = body.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        if len(blocks) > BLOCK_LIMIT:
            return "too many blocks"
        for block in blocks:
            text = (block.get("text") or {}).get("text", "")
            if len(text) > SECTION_LIMIT:
                return "section text too long"
        return None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await self._parse(request)
        if self.rate_limit_next[method] > 0:
            self.rate_limit_next[method] -= 1
            self._record(f"429:{method}", body, dict(request.headers))
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        if self.fail_next[method]:
            error = self.fail_next[method].pop(0)
            self._record(f"failed:{method}", body, dict(request.headers))
            if error is None:
                return web.Response(text="<html>502 Bad Gateway</html>", content_type="text/html")
            return web.json_response({"ok": False, "error": error})
        self._record(method, body, dict(request.headers))
        if method == "auth.test" and self.token_rejected:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return web.json_response(
                {
                    "ok": True,
                    "team_id": "T1",
                    "user_id": "UBOT",
                    "bot_id": "BBOT",
                    "url": "https://fake.slack/",
                },
                headers={"X-OAuth-Scopes": ",".join(sorted(self.scopes))},
            )
        if method == "apps.connections.open":
            self.connections_opened += 1
            return web.json_response({"ok": True, "url": f"ws://127.0.0.1:{self.port}/link/"})
        if method in self.missing_scopes:
            return web.json_response({"ok": False, "error": "missing_scope"})
        if method == "conversations.replies":
            # Oldest first, a page at a time, the next page's place in an opaque cursor.
            thread = self.threads.get((str(body.get("channel")), str(body.get("ts"))), [])
            limit = min(int(body.get("limit") or 1000), 1000)
            start = int(base64.b64decode(str(body.get("cursor") or "MA==")))
            page = thread[start : start + limit]
            more = start + limit < len(thread)
            cursor = base64.b64encode(str(start + limit).encode()).decode() if more else ""
            return web.json_response(
                {
                    "ok": True,
                    "messages": page,
                    "has_more": more,
                    "response_metadata": {"next_cursor": cursor},
                }
            )
        if method == "chat.postMessage":
            problem = self._blocks_problem(body)
            if problem:
                return web.json_response(
                    {"ok": False, "error": "invalid_blocks", "detail": problem}
                )
            ts = f"{len(self.calls)}.000100"
            if body.get("thread_ts"):
                self.threads[(str(body.get("channel")), str(body["thread_ts"]))].append(
                    {"ts": ts, "bot_id": "BBOT", "user": "UBOT", "text": body.get("text", "")}
                )
            return web.json_response({"ok": True, "channel": body.get("channel"), "ts": ts})
        return web.json_response({"ok": True})

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await self._parse(request)
        if request.match_info["key"] in self.expired_response_urls:
            self._record("response_url:expired", body, dict(request.headers))
            return web.Response(status=404, text="expired_url")
        problem = self._blocks_problem(body)
        self._record("response_url", body, dict(request.headers))
        if problem:
            return web.Response(status=400, text=problem)
        return web.Response(text="ok")

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        with self._condition:
            self._sockets.append(socket)
            self.sockets_opened += 1
            self._condition.notify_all()
        await socket.send_str(json.dumps({"type": "hello", "num_connections": 1}))
        async for message in socket:
            if message.type == WSMsgType.TEXT:
                with self._condition:
                    self.acks.append(json.loads(message.data))
                    self._condition.notify_all()
        if socket in self._sockets:
            self._sockets.remove(socket)
        return socket

    # ---- test side ---------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        """Return the Web API base URL to give the client."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, key: str = "r1") -> str:
        """Return a response_url that the fake records."""
        return f"http://127.0.0.1:{self.port}/response/{key}"

    def posted(self, path: str) -> list[dict[str, Any]]:
        """Return the bodies of every call to path so far."""
        with self._condition:
            return [call.body for call in self.calls if call.path == path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait until path has been called count times; return the bodies."""
        with self._condition:
            done = self._condition.wait_for(
                lambda: sum(1 for c in self.calls if c.path == path) >= count, timeout
            )
            bodies = [call.body for call in self.calls if call.path == path]
        assert done, f"{path}: {len(bodies)} calls, wanted {count}"
        return bodies

    def wait_for_ack(self, envelope_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait for the client's ack of a Socket Mode envelope."""

        def acked() -> list[dict[str, Any]]:
            return [a for a in self.acks if a.get("envelope_id") == envelope_id]

        with self._condition:
            assert self._condition.wait_for(lambda: bool(acked()), timeout), envelope_id
            return acked()[0]

    def wait_for_socket(self, count: int = 1, timeout: float = 30.0) -> None:
        """Wait until count websocket connections have been opened."""
        with self._condition:
            assert self._condition.wait_for(lambda: self.sockets_opened >= count, timeout), (
                f"{self.sockets_opened} websocket connections, wanted {count}"
            )

    def say_in_thread(self, channel: str, thread_ts: str, user: str, text: str, ts: str) -> None:
        """Put a person's message in a thread, as if posted there earlier."""
        self.threads[(channel, thread_ts)].append(
            {"ts": ts, "user": user, "text": text, "thread_ts": thread_ts}
        )

    def send(self, envelope: dict[str, Any]) -> None:
        """Send a Socket Mode message to the connected client."""

        async def push() -> None:
            await self._sockets[-1].send_str(json.dumps(envelope))

        self.run(push())

    def close_sockets(self) -> None:
        """Close every websocket, as Slack does when it rotates connections."""

        async def close() -> None:
            for socket in list(self._sockets):
                await socket.close()
            self._sockets.clear()

        self.run(close())
