"""A real CitebotClient connected to the fake Discord over loopback, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from bot.core.feedback import FeedbackStore
from bot.core.guard import RateLimiter
from bot.platforms.discord.adapter import CitebotClient
from bot.platforms.discord.internals import point_at
from bot.settings import Settings
from tests.fake_discord import FakeDiscord

TOKEN = "discord-test-token-abcdef123456"


class RunningClient:
    """A CitebotClient connected to the fake, on its own event loop in a thread."""

    def __init__(
        self,
        bot: Any,
        fake: FakeDiscord,
        tmp_path: Path,
        *,
        chat: dict[str, Any] | None = None,
        **discord: Any,
    ) -> None:
        self.previous = point_at(fake.api_url, fake.gateway_url)
        settings = Settings(
            discord_token=TOKEN, data_dir=tmp_path / "state", discord=discord, chat=chat or {}
        )
        self.loop = asyncio.new_event_loop()
        self.client = CitebotClient(
            bot=bot,
            settings=settings,
            feedback=FeedbackStore(settings.data_dir / "feedback.sqlite"),
            limiter=RateLimiter(100),
            guild_ready_timeout=0,
        )
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        fake.wait_until(lambda f: f.identifies >= 1)
        self.call(self.client.wait_until_ready())

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.task = self.loop.create_task(self.client.start(TOKEN))
        self.loop.run_forever()  # until stop(): the client's close must finish on this loop

    def call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    @property
    def alive(self) -> bool:
        return not self.task.done()

    def stop(self) -> None:
        from discord.gateway import DiscordWebSocket
        from discord.http import Route

        try:
            self.call(self.client.close())
            self.call(asyncio.wait([self.task], timeout=10))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()
            Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = self.previous
