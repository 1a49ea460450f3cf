"""Run the chat bots in one process, sharing one loaded model and index; stop on SIGTERM."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import signal
from collections.abc import Collection, Mapping

from bot.core.engine import Citebot
from bot.core.feedback import FeedbackStore
from bot.core.guard import RateLimiter
from bot.platforms import PLATFORMS, setup_hint
from bot.platforms.base import Platform, Running, Shared
from bot.settings import Settings
from bot.sync_schedule import SyncSchedule
from index.errors import ConfigError

logger = logging.getLogger(__name__)


def configured_platforms(settings: Settings) -> list[str]:
    """Return the names of the platforms whose tokens are set."""
    return [platform.name for platform in PLATFORMS if platform.configured(settings)]


def serve(
    bot: Citebot,
    settings: Settings,
    platforms: Collection[str],
    collections: Mapping[str, Citebot] | None = None,
) -> None:
    """Serve the named platforms until SIGTERM or Ctrl-C; collections: the further document
    sets' bots by name (each closed at the end, as bot is)."""
    if not platforms:
        raise ConfigError(f"no chat platform is configured; set {setup_hint()}")
    chosen = [platform for platform in PLATFORMS if platform.name in platforms]
    for platform in chosen:
        if importlib.util.find_spec(platform.library) is None:
            raise ConfigError(
                f"the {platform.title} bot needs {platform.library}; install it with "
                f"`pip install 'citebot[{platform.extra}]'` (scripts/citebot does)"
            )
    asyncio.run(_serve(bot, settings, chosen, dict(collections or {})))


async def _serve(
    bot: Citebot, settings: Settings, platforms: list[Platform], collections: dict[str, Citebot]
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    # One store and one limiter for every platform: a user's quota and votes are shared.
    shared = Shared(
        FeedbackStore(settings.data_dir / "feedback.sqlite"),
        RateLimiter(settings.chat.rate_limit),
        collections,
    )
    running: list[Running] = []
    schedule = SyncSchedule(settings)  # sites and repositories re-synced in the background
    try:
        for platform in platforms:
            running.append(await platform.run(bot, settings, shared))
        names = ", ".join(platform.name for platform in platforms)
        logger.warning("citebot serving %s; SIGTERM or Ctrl-C stops it", names)
        schedule.start()
        failures = {started.failed for started in running if started.failed is not None}
        waiters: set[asyncio.Future[object]] = {asyncio.ensure_future(stop.wait())}
        waiters.update(failures)  # type: ignore[arg-type]
        done, _ = await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        for failed in failures & done:
            failed.result()  # surfaces login failures instead of hanging
    finally:
        logger.warning("citebot shutting down")
        await asyncio.to_thread(schedule.stop)
        for started in reversed(running):
            await started.stop()
        bot.close()
        for collection in collections.values():
            collection.close()
