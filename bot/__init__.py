"""Compose cited answers and serve them through the CLI, Slack and Discord."""
