"""Every sentence citebot says in chat that is not quoted from a document, in one place.

Adapters format these for their platform; they never write their own. Kept together so the
wording stays the same on every platform and a change of tone is one edit.
"""

from __future__ import annotations

NOT_ALLOWED = "citebot isn't enabled in this channel; ask an admin to add it to the allowlist."
WORKSPACE_NOT_ALLOWED = (
    "citebot isn't enabled in this server; ask an admin to add it to the allowlist."
)
NO_DIRECT_MESSAGES = "citebot doesn't answer direct messages here; ask in a channel."
APOLOGY = (
    "Sorry, something went wrong while answering that. The details are in the bot's log; "
    "please try again in a moment."
)
# Damage found in the index is not the asker's to fix, nor worth retrying: say who fixes it.
DAMAGED_INDEX = (
    "Sorry, citebot's index is damaged, so it won't quote from it. An admin needs to run "
    "`citebot ingest --rebuild`; the details are in the bot's log."
)
# When the answer itself could not be posted (too long, refused, malformed for the platform).
COULD_NOT_POST = (
    "Sorry, citebot found an answer but could not post it here. The details are in the bot's "
    "log; please try again, or ask an admin to check the bot's permissions in this channel."
)
VOTE_RECORDED = "Thanks for the feedback."
VOTE_UNKNOWN = "That answer is no longer on record."


def too_many_questions(limit: int, window: float, wait: float) -> str:
    """Say the asker has hit the rate limit, and when to ask again."""
    return (
        f"You've asked {limit} questions in the last {window:.0f} seconds; "
        f"please wait {wait:.0f} s and ask again."
    )
