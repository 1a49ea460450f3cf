"""Serving a real SlackBot over loopback for tests and benchmarks: settings, signed requests."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from bot.core.feedback import FeedbackStore
from bot.core.guard import RateLimiter
from bot.platforms.slack.adapter import SlackBot
from bot.platforms.slack.http_server import MAX_BODY_BYTES, make_http_server
from bot.platforms.slack.seen_events import SeenEvents
from bot.settings import Settings
from tests.fake_slack import FakeSlack

BOT_TOKEN = "xoxb-test-token-0123456789"
APP_TOKEN = "xapp-test-token-9876543210"
SECRET = "signing-secret-abcdef"


def slack_settings(
    fake: FakeSlack, tmp_path: Path, *, documents: Any = None, **slack: Any
) -> Settings:
    """Settings for a SlackBot against the fake; documents: CITEBOT_COLLECTIONS, if any."""
    return Settings(
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_signing_secret=SECRET,
        slack={"mode": "http", "api_url": fake.base_url, "port": 0, **slack},
        data_dir=tmp_path / "state",
        collections=documents or {},
    )


def make_slack(
    bot: Any, settings: Settings, *, rate_limit: int = 100, collections: Any = None
) -> SlackBot:
    return SlackBot(
        bot,
        settings,
        feedback=FeedbackStore(settings.data_dir / "feedback.sqlite"),
        seen=SeenEvents(settings.data_dir / "slack-events.sqlite"),
        limiter=RateLimiter(rate_limit),
        collections=collections,
    )


class HttpBot:
    """A SlackBot served by uvicorn on 127.0.0.1, with signed-request helpers."""

    def __init__(self, slack: SlackBot) -> None:
        self.slack = slack
        self.server = make_http_server(slack.app, slack.settings)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.01)

    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        secret: str = SECRET,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        stamp = str(timestamp if timestamp is not None else int(time.time()))
        # Signed over the raw bytes, as Slack does (the SDK's helper wants UTF-8 text).
        base = b"v0:" + stamp.encode() + b":" + body
        signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/slack/events",
            data=body,
            method="POST",
            headers={
                "Content-Type": content_type,
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": signature,
                **(headers or {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def oversize(self, *, chunked: bool) -> int:
        """Send a body just over the cap, declared up front or streamed; return the status.

        Only what the server reads is sent (headers alone when the length is declared), so its
        early rejection can't turn into a broken pipe on this side.
        """
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.putrequest("POST", "/slack/events")
            connection.putheader("Content-Type", "application/json")
            if chunked:
                connection.putheader("Transfer-Encoding", "chunked")
                connection.endheaders()
                piece = b"x" * 65536
                for _ in range(MAX_BODY_BYTES // len(piece) + 1):
                    connection.send(b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                connection.putheader("Content-Length", str(2 * MAX_BODY_BYTES))
                connection.endheaders()
            return connection.getresponse().status
        finally:
            connection.close()

    def slash(
        self, text: str, fake: FakeSlack, *, channel: str = "C1", **options: Any
    ) -> tuple[int, str]:
        form = {
            "command": "/ask",
            "text": text,
            "user_id": "U1",
            "channel_id": channel,
            "team_id": "T1",
            "response_url": fake.response_url(),
            "trigger_id": "t1",
        }
        return self.post(
            urllib.parse.urlencode(form).encode(), "application/x-www-form-urlencoded", **options
        )

    def event(
        self, event: dict[str, Any], event_id: str = "Ev1", headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        envelope = {
            "type": "event_callback",
            "team_id": "T1",
            "api_app_id": "A1",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": event,
        }
        return self.post(json.dumps(envelope).encode(), "application/json", headers=headers)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
