"""A logging filter that blanks out secret values wherever they would appear in a log line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

REDACTED = "[redacted]"
# Tokens that live inside URLs and are never configured, so no list of secrets holds them:
# Discord interaction tokens (webhooks/<app>/<token>, interactions/<id>/<token>/callback, valid
# 15 minutes) and Slack response_url paths (hooks.slack.com/commands/… and actions/…).
# Gateway payloads logged at DEBUG carry the same token as a "token" field.
_URL_TOKENS = re.compile(
    r"(?P<keep>/webhooks/\d+/|/interactions/\d+/|hooks\.slack\.com/(?:commands|actions)/"
    r"|['\"]token['\"]:\s*['\"])[A-Za-z0-9._\-/]+"
)


class RedactSecrets(logging.Filter):
    """Replace every occurrence of the given secrets in a record's message and arguments."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact in place; never drops a record."""
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        message = _URL_TOKENS.sub(rf"\g<keep>{REDACTED}", message)
        if record.exc_text:
            record.exc_text = _URL_TOKENS.sub(rf"\g<keep>{REDACTED}", record.exc_text)
        for secret in self._secrets:
            message = message.replace(secret, REDACTED)
            if record.exc_text:
                record.exc_text = record.exc_text.replace(secret, REDACTED)
        record.msg, record.args = message, None
        return True


def install_redaction(secrets: Iterable[str]) -> None:
    """Attach the filter to every handler of the root logger."""
    redactor = RedactSecrets(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
