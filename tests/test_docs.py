"""Docs that cannot drift: the README's configuration reference and commands match the code."""

from __future__ import annotations

import re
from pathlib import Path

import discord

from bot.cli import _parser
from bot.config_docs import END, START, render_reference

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_configuration_reference_matches_settings() -> None:
    text = README.read_text(encoding="utf-8")
    block = START + text.split(START, 1)[1].split(END, 1)[0] + END
    assert block == render_reference(), "run `citebot config-docs --readme README.md`"


def test_readme_documents_every_command() -> None:
    text = README.read_text(encoding="utf-8")
    commands = _parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in commands:
        assert f"citebot {name}" in text, name


def test_readme_discord_invite_permissions_are_the_listed_ones() -> None:
    text = README.read_text(encoding="utf-8")
    wanted = discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        create_public_threads=True,
        embed_links=True,
        read_message_history=True,
    )
    assert set(re.findall(r"permissions=(\d+)", text)) == {str(wanted.value)}
