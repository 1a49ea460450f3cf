"""What every chat adapter does around the core call: rate limits, bad questions, failures."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.answer import Answer
from bot.core.engine import Citebot, QuestionError
from bot.core.messages import APOLOGY, DAMAGED_INDEX, too_many_questions
from index.errors import IndexCorruptError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A reply that is not an answer: the question was refused or answering failed."""

    message: str


class RateLimiter:
    """Allow each user at most `limit` questions in any `window` seconds."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._asked: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait_time(self, user: str) -> float:
        """Return 0 and count the question if allowed, else the seconds until it would be."""
        now = time.monotonic()
        with self._lock:
            times = self._asked.setdefault(user, deque())
            while times and now - times[0] >= self.window:
                times.popleft()
            if len(times) >= self.limit:
                return self.window - (now - times[0])
            times.append(now)
            return 0.0


def question_refusal(exc: QuestionError) -> Refusal:
    """Say why a question can't be asked, as a sentence for the asker."""
    message = str(exc)
    return Refusal(message[:1].upper() + message[1:] + ".")


def rate_limited(limiter: RateLimiter, user: str) -> Refusal | None:
    """Count a question; return the refusal to send when the user has asked too many."""
    wait = limiter.wait_time(user)
    if wait <= 0:
        return None
    return Refusal(too_many_questions(limiter.limit, limiter.window, wait))


def answer_safely(
    bot: Citebot,
    question: str,
    *,
    user: str,
    limiter: RateLimiter | None = None,
    earlier: Sequence[str] = (),
) -> Answer | Refusal:
    """Answer a chat question, turning every way it can go wrong into a reply for the user.

    earlier: the thread's previous questions, oldest first, when the question follows them.
    """
    refusal = rate_limited(limiter, user) if limiter is not None else None
    if refusal is not None:
        return refusal
    try:
        return bot.answer(question, earlier)
    except QuestionError as exc:
        return question_refusal(exc)
    except IndexCorruptError as exc:
        logger.error("declined a question: %s", exc)  # one line: the fix is in it
        return Refusal(DAMAGED_INDEX)
    except Exception:
        # The user gets an apology, the operator the traceback; neither ever sees a token.
        logger.exception("answering a question of %d characters failed", len(question))
        return Refusal(APOLOGY)
