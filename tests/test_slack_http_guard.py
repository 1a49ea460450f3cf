"""Slack's HTTP mode against slow and surplus connections, over real sockets on 127.0.0.1.

Clients that open connections and dribble their headers (or a body shorter than declared) must
not hold the server: each request must arrive whole within `read_seconds`, and connections past
`max_connections` are refused at once. Signed requests keep being served meanwhile.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.fake_slack import FakeSlack
from tests.slack_harness import HttpBot, make_slack, slack_settings

READ_SECONDS = 1.0
MAX_CONNECTIONS = 12
# How long a test waits for the server to act: far beyond read_seconds, so a slow machine
# only makes the test slower, never wrong.
PATIENCE = 15.0


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    server = FakeSlack()
    yield server
    server.stop()


@pytest.fixture
def guarded(fake: FakeSlack, tmp_path: Path) -> Iterator[HttpBot]:
    settings = slack_settings(
        fake, tmp_path, read_seconds=READ_SECONDS, max_connections=MAX_CONNECTIONS
    )
    # The guard acts before any question is asked: the bot behind it is never called.
    served = HttpBot(make_slack(SimpleNamespace(settings=settings), settings))
    yield served
    served.stop()


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=PATIENCE)
    return sock


def read_until_closed(sock: socket.socket) -> bytes:
    """Read what the server sends until it closes the connection (or PATIENCE runs out)."""
    received = b""
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        try:
            piece = sock.recv(4096)
        except (ConnectionResetError, TimeoutError):
            break
        if not piece:
            break
        received += piece
    return received


def verification(served: HttpBot) -> tuple[int, str]:
    """Send Slack's signed url_verification request: the smallest real request bolt answers."""
    body = json.dumps({"type": "url_verification", "challenge": "c-42", "token": "t"})
    return served.post(body.encode(), "application/json")


def test_a_request_that_does_not_arrive_whole_in_time_gets_408_and_is_closed(
    guarded: HttpBot,
) -> None:
    headers_never_end = connect(guarded.port)
    headers_never_end.sendall(b"POST /slack/events HTTP/1.1\r\nHost: citebot\r\n")
    short_body = connect(guarded.port)
    short_body.sendall(
        b"POST /slack/events HTTP/1.1\r\nHost: citebot\r\nContent-Type: application/json\r\n"
        b'Content-Length: 100\r\n\r\n{"type":'
    )
    dribbling = connect(guarded.port)
    stop = threading.Event()

    def dribble() -> None:  # a byte every 0.2 s: never idle, never done
        for byte in b"POST /slack/events HTTP/1.1\r\nHost: citebot\r\nX-Padding: " + b"a" * 200:
            if stop.wait(0.2):
                return
            try:
                dribbling.sendall(bytes([byte]))
            except OSError:
                return  # closed by the server, as it should be

    thread = threading.Thread(target=dribble, daemon=True)
    thread.start()
    try:
        for sock in (headers_never_end, short_body, dribbling):
            assert read_until_closed(sock).startswith(b"HTTP/1.1 408")
        assert verification(guarded) == (200, '{"challenge": "c-42"}')  # the server itself is fine
    finally:
        stop.set()
        thread.join(5)
        for sock in (headers_never_end, short_body, dribbling):
            sock.close()


def test_connections_past_the_cap_are_refused_and_served_again_once_slots_free(
    guarded: HttpBot,
) -> None:
    held = [connect(guarded.port) for _ in range(MAX_CONNECTIONS)]
    for sock in held:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\n")  # half a request each
    surplus = connect(guarded.port)
    try:
        assert read_until_closed(surplus).startswith(b"HTTP/1.1 503")
        for sock in held:  # the half requests time out and free their slots
            assert read_until_closed(sock).startswith(b"HTTP/1.1 408")
        assert verification(guarded) == (200, '{"challenge": "c-42"}')
    finally:
        surplus.close()
        for sock in held:
            sock.close()


def test_a_kept_alive_connection_gets_a_fresh_deadline_for_its_next_request(
    guarded: HttpBot,
) -> None:
    # A whole request, answered; then the same connection waits longer than read_seconds in
    # total before its next request is whole, which must still be answered (the deadline is
    # per request, not per connection).
    connection = http.client.HTTPConnection("127.0.0.1", guarded.port, timeout=PATIENCE)
    try:
        connection.request("GET", "/elsewhere")
        first = connection.getresponse()
        first.read()
        kept = connection.sock
        time.sleep(READ_SECONDS * 0.6)
        connection.request("GET", "/elsewhere")
        time.sleep(READ_SECONDS * 0.6)  # over read_seconds since the first request began
        second = connection.getresponse()
        second.read()
        assert (first.status, second.status) == (404, 404)
        assert connection.sock is kept  # one connection, kept alive
    finally:
        connection.close()
