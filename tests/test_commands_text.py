"""The one escaping helper, and the small formatters built on it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from commands.text import ago, code, escape, user


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("plain", "plain"),
        ("<!channel>", "&lt;!channel&gt;"),
        ("<https://evil.example|bank>", "&lt;https://evil.example|bank&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("Tom & Jerry", "Tom &amp; Jerry"),
        ("&lt; already", "&amp;lt; already"),
        ("", ""),
    ],
)
def test_escape_turns_slack_control_characters_into_entities(raw: str, shown: str) -> None:
    assert escape(raw) == shown


def test_code_cannot_be_closed_early_by_a_backtick() -> None:
    assert code("a`<b>") == "`a'&lt;b&gt;`"


def test_user_mentions_only_real_user_ids() -> None:
    assert user("U123ABC") == "<@U123ABC>"
    assert user("<!here>") == "&lt;!here&gt;"
    assert user("campaign-bot") == "campaign-bot"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s ago"),
        (12, "12 s ago"),
        (300, "5 min ago"),
        (7200, "2 h ago"),
        (3 * 86400, "3 d ago"),
    ],
)
def test_ago_reads_like_a_person_would_say_it(seconds: int, text: str) -> None:
    now = datetime(2026, 11, 23, 12, tzinfo=UTC)
    assert ago(now - timedelta(seconds=seconds), now) == text
