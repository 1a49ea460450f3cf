"""A fake Discord: REST API and gateway websocket on 127.0.0.1 (aiohttp), recording all calls."""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.loopback import LoopbackServer

BOT_ID = 900000000000000001
APP_ID = 900000000000000002
USER_ID = 900000000000000003
CONTENT_LIMIT = 2000
BOT_USER = {
    "id": str(BOT_ID),
    "username": "citebot",
    "discriminator": "0",
    "avatar": None,
    "global_name": "citebot",
    "bot": True,
}
HUMAN = {
    "id": str(USER_ID),
    "username": "asker",
    "discriminator": "0",
    "avatar": None,
    "global_name": "Asker",
}


@dataclass
class Call:
    """A REST request the fake received."""

    method: str
    path: str
    body: dict[str, Any]
    authorized: bool
    at: float = field(default_factory=time.perf_counter)


class FakeDiscord(LoopbackServer):
    """Serves REST under /api/v10 and the gateway at /gateway, in a background thread."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.identifies = 0
        self.intents: list[int] = []  # the intents of every IDENTIFY
        self.close_codes: list[int | None] = []  # how each gateway connection was closed
        self.heartbeats = 0
        self.rate_limit_next = 0  # 429s still to send for message posts
        # (status, code) to refuse thread creation with: (400, 50024) for a message inside a
        # thread, (403, 50013) without the Create Public Threads permission.
        self.thread_error: tuple[int, int] | None = None
        # (status, code) to refuse reading a channel's history with: (403, 50001) Missing Access,
        # as for a private thread the bot was never added to; (404, 10003) Unknown Channel.
        self.history_error: tuple[int, int] | None = None
        # (status, code) for each of the next message posts to refuse: (400, 50035) Invalid Form
        # Body, as for an embed Discord won't take.
        self.post_errors: list[tuple[int, int]] = []
        self.heartbeat_interval_ms = 41250
        self.token_rejected = False  # GET /users/@me answers 401, as for a reset token
        self.silent_connections = 0  # connections (from the first) that never ACK: zombies
        self.connections = 0
        # Channels by id as GET /channels/{id} gives them (unknown ids are text channels of guild
        # 1), and every message posted or dispatched, by channel, oldest first.
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self._ids = itertools.count(910000000000000000)
        self._seq = itertools.count(2)
        self._condition = threading.Condition()
        self._sockets: list[web.WebSocketResponse] = []
        super().__init__()

    # ---- server ------------------------------------------------------------------------------
    def routes(self, app: web.Application) -> None:
        """Serve the fake's endpoints."""
        app.router.add_route("*", "/api/v10/{tail:.*}", self._rest)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/gateway/", self._gateway)

    def _record(self, call: Call) -> None:
        with self._condition:
            self.calls.append(call)
            self._condition.notify_all()

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        # discord.py reads the body as JSON only when the content type is exactly this.
        return web.Response(
            status=status,
            body=json.dumps(data).encode(),
            headers={"Content-Type": "application/json", **(headers or {})},
        )

    def _message(self, channel_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": str(next(self._ids)),
            "channel_id": channel_id,
            "type": 0,
            "content": body.get("content") or "",
            "author": BOT_USER,
            "embeds": body.get("embeds") or [],
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": "2026-11-22T00:00:00+00:00",
            "edited_timestamp": None,
            "flags": 0,
            "components": body.get("components") or [],
        }

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        raw = await request.read()
        body: dict[str, Any] = {}
        if raw and request.content_type == "application/json":
            body = json.loads(raw)
        elif raw and request.content_type.startswith("multipart"):
            body = {"multipart": True}
        call = Call(request.method, path, body, "Authorization" in request.headers)
        if request.method == "GET" and path == "/users/@me" and self.token_rejected:
            return self._json({"message": "401: Unauthorized", "code": 0}, status=401)
        if request.method == "GET" and path == "/users/@me":
            return self._json(BOT_USER)
        if request.method == "GET" and path == "/oauth2/applications/@me":
            return self._json(
                {
                    "id": str(APP_ID),
                    "name": "citebot",
                    "description": "",
                    "icon": None,
                    "bot_public": True,
                    "bot_require_code_grant": False,
                    "owner": HUMAN,
                    "verify_key": "00",
                    "flags": 0,
                }
            )
        if request.method == "PUT" and path.endswith("/commands"):
            self._record(call)
            return self._json(
                [
                    {
                        "id": str(next(self._ids)),
                        "application_id": str(APP_ID),
                        "name": c.get("name"),
                        "description": c.get("description", ""),
                        "type": 1,
                        "version": "1",
                        "options": c.get("options", []),
                    }
                    for c in (json.loads(raw) if raw else [])
                ]
            )
        posting = request.method == "POST" and (
            path.endswith("/messages") or path.startswith("/webhooks/")
        )
        if posting and self.post_errors and path.endswith("/messages"):
            status, code = self.post_errors.pop(0)
            self._record(call)  # a POST like any other, answered with the error
            return self._json({"code": code, "message": "Invalid Form Body"}, status=status)
        if posting and self.rate_limit_next > 0:
            self.rate_limit_next -= 1
            self._record(Call("429", path, body, call.authorized))
            return self._json(
                {"message": "You are being rate limited.", "retry_after": 0.2, "global": False},
                status=429,
                headers={"Via": "1.1 google"},
            )
        self._record(call)
        if posting:
            if len(body.get("content") or "") > CONTENT_LIMIT:
                return self._json({"code": 50035, "message": "Invalid Form Body"}, status=400)
            channel_id = path.split("/")[2] if path.startswith("/channels/") else "0"
            message = self._message(channel_id, body)
            self.messages.setdefault(channel_id, []).append(message)
            return self._json(message)
        parts = path.strip("/").split("/")
        if request.method == "GET" and parts[0] == "channels" and len(parts) == 2:
            channel = {
                "id": parts[1],
                "type": 0,
                "guild_id": "1",
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "last_message_id": None,
                "rate_limit_per_user": 0,
            }
            return self._json(self.channels.get(parts[1], channel))
        if request.method == "GET" and parts[0] == "channels" and parts[2:3] == ["messages"]:
            history = self.messages.get(parts[1], [])
            if len(parts) == 4:  # one message
                found = [m for m in history if m["id"] == parts[3]]
                if not found:
                    return self._json({"code": 10008, "message": "Unknown Message"}, status=404)
                return self._json(found[0])
            if self.history_error is not None:
                status, code = self.history_error
                return self._json({"code": code, "message": "Missing Access"}, status=status)
            # Tests pick small ids for people's messages, the fake large ones for the bot's: the
            # order they arrived in stands for Discord's time-ordered ids.
            before = request.query.get("before", "")
            limit = int(request.query.get("limit", "50"))
            ids = [m["id"] for m in history]
            older = history[: ids.index(before)] if before in ids else history
            return self._json(older[::-1][:limit])  # newest first, as Discord gives them
        if path.endswith("/callback"):
            interaction_id = path.split("/")[2]
            return self._json(
                {
                    "interaction": {
                        "id": interaction_id,
                        "type": 2,
                        "response_message_loading": True,
                    },
                    "resource": {"type": body.get("type", 5)},
                }
            )
        if path.endswith("/threads") and self.thread_error is not None:
            status, code = self.thread_error
            return self._json({"code": code, "message": "Cannot create a thread"}, status=status)
        if path.endswith("/threads"):
            # A thread started on a message takes the message's id.
            thread_id = parts[3] if len(parts) == 5 else str(next(self._ids))
            self.channels[thread_id] = {
                "id": thread_id,
                "type": 11,
                "guild_id": "1",
                "parent_id": parts[1],
                "name": body.get("name"),
                "owner_id": str(BOT_ID),
                "message_count": 0,
                "member_count": 1,
                "rate_limit_per_user": 0,
                "thread_metadata": {
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": "2026-11-22T00:00:00+00:00",
                    "locked": False,
                },
            }
            return self._json(
                {
                    "id": thread_id,
                    "type": 11,
                    "name": body.get("name"),
                    "guild_id": "1",
                    "parent_id": path.split("/")[2],
                    "owner_id": str(BOT_ID),
                    "thread_metadata": {
                        "archived": False,
                        "auto_archive_duration": 1440,
                        "archive_timestamp": "2026-11-22T00:00:00+00:00",
                        "locked": False,
                    },
                }
            )
        return self._json({})

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.connections += 1
        zombie = self.connections <= self.silent_connections
        interval = {"heartbeat_interval": self.heartbeat_interval_ms}
        await socket.send_str(json.dumps({"op": 10, "d": interval}))
        async for message in socket:
            if message.type != WSMsgType.TEXT:
                continue
            payload = json.loads(message.data)
            if payload["op"] == 1:
                self.heartbeats += 1
                if not zombie:
                    await socket.send_str(json.dumps({"op": 11}))
            elif payload["op"] in (2, 6):
                with self._condition:
                    if payload["op"] == 2:
                        self.intents.append(int(payload["d"].get("intents", -1)))
                    self.identifies += 1
                    self._sockets.append(socket)
                    self._condition.notify_all()
                await socket.send_str(
                    json.dumps(
                        {
                            "op": 0,
                            "t": "READY",
                            "s": 1,
                            "d": {
                                "v": 10,
                                "user": BOT_USER,
                                "guilds": [],
                                "session_id": "s1",
                                "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway",
                                "application": {"id": str(APP_ID), "flags": 0},
                            },
                        }
                    )
                )
        with self._condition:
            self.close_codes.append(socket.close_code)
            self._condition.notify_all()
        if socket in self._sockets:
            self._sockets.remove(socket)
        return socket

    # ---- test side ---------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        """Return the REST base URL."""
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        """Return the gateway URL."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    def wait_until(self, predicate: Any, timeout: float = 30.0) -> None:
        """Wait for a condition over the fake's state."""
        with self._condition:
            assert self._condition.wait_for(lambda: predicate(self), timeout), "timed out"

    def posts(self, suffix: str = "/messages") -> list[Call]:
        """Return the POSTs whose path ends with suffix (or starts with it, for webhooks)."""
        with self._condition:
            return [
                c
                for c in self.calls
                if c.method == "POST" and (c.path.endswith(suffix) or c.path.startswith(suffix))
            ]

    def wait_for_posts(
        self, suffix: str = "/messages", count: int = 1, timeout: float = 30.0
    ) -> list[Call]:
        """Wait until count matching POSTs have been made."""
        self.wait_until(lambda fake: len(fake.posts(suffix)) >= count, timeout)
        return self.posts(suffix)

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send a gateway dispatch to the connected bot."""
        if event == "MESSAGE_CREATE" and "channel_id" in data:  # in the channel's history too
            self.messages.setdefault(str(data["channel_id"]), []).append(data)
        self.send_raw(json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data}))

    def send_raw(self, text: str) -> None:
        """Send any text frame to the connected bot."""

        async def push() -> None:
            await self._sockets[-1].send_str(text)

        self.run(push())

    def close_gateway(self) -> None:
        """Close the gateway connection, as Discord does on a session reset."""

        async def close() -> None:
            for socket in list(self._sockets):
                await socket.close(code=4000)

        self.run(close())

    def forum_post(self, thread_id: int, forum_id: int, content: str) -> dict[str, Any]:
        """Open a post in a forum channel: its thread (the post's id) and the opening message,
        which mentions nobody, as MESSAGE_CREATE gives it."""
        self.channels[str(thread_id)] = {
            "id": str(thread_id),
            "type": 11,
            "guild_id": "1",
            "parent_id": str(forum_id),
            "name": content[:90],
            "owner_id": HUMAN["id"],
            "message_count": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": "2026-11-22T00:00:00+00:00",
                "locked": False,
            },
        }
        return self.mention(content, thread_id, channel_id=str(thread_id), mentions=False)

    def mention(
        self,
        content: str,
        message_id: int = 1,
        *,
        guild: bool = True,
        channel_id: str = "500",
        author: dict[str, Any] = HUMAN,
        mentions: bool = True,
    ) -> dict[str, Any]:
        """Build a MESSAGE_CREATE payload from a person, mentioning the bot unless told not to."""
        data = {
            "id": str(message_id),
            "channel_id": channel_id,
            "type": 0,
            "content": content,
            "author": author,
            "mentions": [BOT_USER] if mentions else [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "timestamp": "2026-11-22T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "pinned": False,
            "flags": 0,
        }
        if guild:
            data["guild_id"] = "1"
        return data
