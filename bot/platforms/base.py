"""What a chat platform declares to the rest of citebot, and what a started one hands back."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.engine import Citebot
    from bot.core.feedback import FeedbackStore
    from bot.core.guard import RateLimiter
    from bot.settings import Settings


@dataclass(frozen=True, slots=True)
class Shared:
    """What every platform in one process shares: one vote store, one question quota, and the
    collections' bots."""

    feedback: FeedbackStore
    limiter: RateLimiter
    # The further collections' bots by name (the default one is passed on its own).
    collections: Mapping[str, Citebot] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Running:
    """A started platform: how to stop it, and a task that ends early if it fails."""

    stop: Callable[[], Awaitable[None]]
    failed: asyncio.Task[None] | None = None


@dataclass(frozen=True, slots=True)
class Platform:
    """One chat platform: its name, install extra, secrets, checks and how it starts.

    Nothing here imports the platform's chat library: `start` names the function to import
    only when the platform is actually served.
    """

    name: str  # the CLI command and the settings section: "slack"
    title: str  # "Slack"
    extra: str  # the pip extra that installs its library
    library: str  # the module that extra provides
    secrets: tuple[str, ...]  # Settings fields holding its secrets; the first turns it on
    enabled_by: str  # how messages name the first secret: "SLACK_BOT_TOKEN (xoxb-…)"
    setup_hint: str  # what to set to turn it on: "SLACK_BOT_TOKEN and SLACK_APP_TOKEN"
    help: str  # the CLI command's help
    fix: str  # what doctor suggests when a check fails
    problems: Callable[[Settings], list[str]]  # what doctor finds wrong with its settings
    describe: Callable[[Settings], str]  # what doctor says when all is right
    start: str  # "module:function" of `async def start(bot, settings, shared) -> Running`

    def configured(self, settings: Settings) -> bool:
        """Tell whether the secret that turns this platform on is set."""
        return getattr(settings, self.secrets[0]) is not None

    def secret_values(self, settings: Settings) -> list[str]:
        """Return the values of the secrets that are set, for log redaction."""
        values = (getattr(settings, name) for name in self.secrets)
        return [value.get_secret_value() for value in values if value is not None]

    async def run(self, bot: Citebot, settings: Settings, shared: Shared) -> Running:
        """Import the platform's adapter and start it."""
        module, _, function = self.start.partition(":")
        starter = getattr(importlib.import_module(module), function)
        running: Running = await starter(bot, settings, shared)
        return running
