"""Run the chat bots in one process, sharing one loaded model and index; stop on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import signal
from collections.abc import Callable, Collection

from bot.engine import Citebot
from bot.feedback import FeedbackStore
from bot.guard import RateLimiter
from bot.settings import Settings
from index.errors import ConfigError

logger = logging.getLogger(__name__)

PLATFORMS = ("slack", "discord")


def configured_platforms(settings: Settings) -> list[str]:
    """Return the platforms whose tokens are set."""
    found = []
    if settings.slack_bot_token is not None:
        found.append("slack")
    if settings.discord_token is not None:
        found.append("discord")
    return found


def serve(bot: Citebot, settings: Settings, platforms: Collection[str]) -> None:
    """Serve the given platforms until SIGTERM or Ctrl-C."""
    if not platforms:
        raise ConfigError(
            "no chat platform is configured; set SLACK_BOT_TOKEN (and SLACK_APP_TOKEN) and/or "
            "DISCORD_TOKEN"
        )
    for platform, module in (("slack", "slack_bolt"), ("discord", "discord")):
        if platform in platforms and importlib.util.find_spec(module) is None:
            raise ConfigError(
                f"the {platform.title()} bot needs {module}; install it with "
                f"`pip install 'citebot[{platform}]'` (scripts/citebot does)"
            )
    asyncio.run(_serve(bot, settings, platforms))


async def _serve(bot: Citebot, settings: Settings, platforms: Collection[str]) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # One store and one limiter for both platforms: a user's quota and votes are shared.
    feedback = FeedbackStore(settings.data_dir / "feedback.sqlite")
    limiter = RateLimiter(settings.chat.rate_limit)
    stoppers: list[Callable[[], object]] = []
    discord_task: asyncio.Task[None] | None = None
    try:
        if "slack" in platforms:
            from bot.seen_events import SeenEvents  # noqa: PLC0415
            from bot.slack_adapter import SlackBot, start_slack  # noqa: PLC0415

            slack = SlackBot(
                bot,
                settings,
                feedback=feedback,
                seen=SeenEvents(settings.data_dir / "slack-events.sqlite"),
                limiter=limiter,
            )
            stoppers.append(await asyncio.to_thread(start_slack, slack))
        if "discord" in platforms:
            from bot.discord_adapter import CitebotClient, point_at, run_client  # noqa: PLC0415

            token = settings.discord_token
            if token is None:
                raise ConfigError("set DISCORD_TOKEN to run the Discord bot")
            point_at(settings.discord.api_url, settings.discord.gateway_url)
            client = CitebotClient(bot=bot, settings=settings, feedback=feedback, limiter=limiter)
            discord_task = asyncio.create_task(run_client(client, token.get_secret_value()))
            stoppers.append(client.close)
        logger.warning("citebot serving %s; SIGTERM or Ctrl-C stops it", ", ".join(platforms))
        waiters: set[asyncio.Future[object]] = {asyncio.ensure_future(stop.wait())}
        if discord_task is not None:
            waiters.add(discord_task)  # type: ignore[arg-type]
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if discord_task is not None and discord_task in done:
            discord_task.result()  # surfaces login failures instead of hanging
    finally:
        logger.warning("citebot shutting down")
        for stopper in reversed(stoppers):
            result = stopper()
            if asyncio.iscoroutine(result) or (result is not None and hasattr(result, "__await__")):
                await result
        if discord_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(discord_task, 10)
        bot.close()
