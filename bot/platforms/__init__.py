"""The chat platforms citebot serves, one package each, and the registry that lists them.

A new platform is a package here with a `PLATFORM` entry (see `base.Platform`), one line below,
its settings section and secrets in `bot.settings`, and its extra in pyproject.toml; `serve`,
the CLI, doctor and log redaction loop over this registry.
"""

from __future__ import annotations

from bot.platforms import discord, slack
from bot.platforms.base import Platform

PLATFORMS: tuple[Platform, ...] = (slack.PLATFORM, discord.PLATFORM)


def platform_named(name: str) -> Platform:
    """Return the platform with this name."""
    return next(platform for platform in PLATFORMS if platform.name == name)


def setup_hint() -> str:
    """Say what to set to turn any platform on: "SLACK_BOT_TOKEN and … and/or DISCORD_TOKEN"."""
    return " and/or ".join(platform.setup_hint for platform in PLATFORMS)
