"""The one place that makes text safe to show in Slack.

Everything a person or a dialer wrote (campaign names, details, agent ids, dialer error messages)
goes through ``escape`` before it lands in ``mrkdwn`` or ``plain_text``, so nobody can slip in
``<!channel>``, a fake link or a user mention. The builders here wrap escaped text; they never
escape twice because they only take values straight from the models.
"""

from __future__ import annotations

import re
from datetime import datetime

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def escape(text: str) -> str:
    """Slack's three control characters as entities (``&`` first, so entities stay intact)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    """Inline code, for refs and agent ids: escaped, and backticks cannot close it early."""
    safe = escape(text).replace("`", "'")
    return f"`{safe}`"


def user(user_id: str) -> str:
    """A mention of a Slack user id; anything that is not one is shown as plain text."""
    if SLACK_USER_ID.match(user_id):
        return f"<@{user_id}>"
    return escape(user_id)


def ago(then: datetime, now: datetime) -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 90:
        return f"{seconds} s ago"
    if seconds < 90 * 60:
        return f"{seconds // 60} min ago"
    if seconds < 36 * 3600:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"
