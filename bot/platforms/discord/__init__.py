"""Discord: mentions and slash commands, through discord.py."""

from __future__ import annotations

from bot.platforms.base import Platform

PLATFORM = Platform(
    name="discord",
    title="Discord",
    extra="discord",
    library="discord",
    secrets=("discord_token",),
    enabled_by="DISCORD_TOKEN",
    setup_hint="DISCORD_TOKEN",
    help="run the Discord bot (see README)",
    fix="copy the token from Developer Portal → Bot (README: Discord)",
    problems=lambda settings: [],
    describe=lambda settings: "DISCORD_TOKEN set",
    start="bot.platforms.discord.adapter:start",
)
