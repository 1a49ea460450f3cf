"""Slack: Socket Mode or the HTTP Events API, through slack-bolt."""

from __future__ import annotations

from bot.platforms.base import Platform
from bot.settings import Settings


def _problems(settings: Settings) -> list[str]:
    problems = []
    token = settings.slack_bot_token
    if token is not None and not token.get_secret_value().startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN should start with xoxb-")
    if settings.slack.mode == "socket":
        app = settings.slack_app_token
        if app is None:
            problems.append("Socket Mode needs SLACK_APP_TOKEN")
        elif not app.get_secret_value().startswith("xapp-"):
            problems.append("SLACK_APP_TOKEN should start with xapp-")
    elif settings.slack_signing_secret is None:
        problems.append("HTTP mode needs SLACK_SIGNING_SECRET")
    return problems


PLATFORM = Platform(
    name="slack",
    title="Slack",
    extra="slack",
    library="slack_bolt",
    secrets=("slack_bot_token", "slack_app_token", "slack_signing_secret"),
    enabled_by="SLACK_BOT_TOKEN (xoxb-…)",
    setup_hint="SLACK_BOT_TOKEN (and SLACK_APP_TOKEN)",
    help="run the Slack bot (Socket Mode or HTTP, see README)",
    fix="copy the tokens from your Slack app's settings (README: Slack)",
    problems=_problems,
    describe=lambda settings: f"tokens set ({settings.slack.mode} mode)",
    start="bot.platforms.slack.adapter:start",
)
