"""``manifest.yml`` turns on the Home tab the bot publishes and subscribes to the event that
tells it when to publish."""

from __future__ import annotations

from tests.test_slack_manifest import manifest


def test_the_home_tab_is_enabled_and_app_home_opened_subscribed() -> None:
    app = manifest()
    assert app["features"]["app_home"]["home_tab_enabled"] is True
    events = app["settings"]["event_subscriptions"]
    assert "app_home_opened" in events["bot_events"]
    assert events["request_url"] == app["settings"]["interactivity"]["request_url"]
