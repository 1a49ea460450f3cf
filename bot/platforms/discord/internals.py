"""Every discord.py internal the adapter relies on, in one place, for discord.py 2.x (<3).

discord.py has no public way to aim a client at another server (the tests' fake), to keep one
malformed gateway event from ending the connection task, or to start a thread on a message
whose guild isn't cached. tests/test_discord.py checks each attribute used here still exists.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord
import yarl

logger = logging.getLogger(__name__)

# (object, attribute) pairs this module touches, checked by a test against the installed version.
TOUCHED = (
    ("discord.http.Route", "BASE"),
    ("discord.gateway.DiscordWebSocket", "DEFAULT_GATEWAY"),
    ("discord.Client", "_connection"),
    ("discord.state.ConnectionState", "parsers"),
    ("discord.http.HTTPClient", "start_thread_with_message"),
)


def guard_parsers(client: discord.Client) -> None:
    """Make each gateway event parser log and skip a malformed event instead of raising.

    discord.py parses dispatches inside its connection task; one bad payload would otherwise
    end that task and take the bot offline.
    """
    parsers: dict[str, Callable[[Any], None]] = client._connection.parsers

    def guarded(event: str, parse: Callable[[Any], None]) -> Callable[[Any], None]:
        def parse_or_skip(data: Any) -> None:
            try:
                parse(data)
            except Exception:
                logger.exception("skipped a malformed %s event", event)

        return parse_or_skip

    for event, parse in list(parsers.items()):
        parsers[event] = guarded(event, parse)


def point_at(api_url: str, gateway_url: str) -> tuple[str, yarl.URL]:
    """Aim discord.py at the given REST and gateway URLs; return the old ones to restore."""
    from discord.gateway import DiscordWebSocket  # noqa: PLC0415
    from discord.http import Route  # noqa: PLC0415

    previous = (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)
    Route.BASE = api_url.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    return previous


async def start_thread_on(
    client: discord.Client, channel_id: int, message_id: int, name: str
) -> int:
    """Start a public thread on a message, by id alone; return the thread's id."""
    thread = await client.http.start_thread_with_message(
        channel_id, message_id, name=name, auto_archive_duration=1440
    )
    return int(thread["id"])
