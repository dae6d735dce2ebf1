"""What a poll of LiveVox turns into: status, settings and progress notifications, once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dialer.livevox.poller import Observation, Requested, changes_between, with_settings
from dialer.livevox.vendor import LiveVoxCampaign, parse_campaign
from state.domain import CampaignSettings, CampaignStatus, NotificationKind

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
REF = "c-20261123-7kq2"


def seen(state: str, *, aggression: int = 40, **statistics: int) -> LiveVoxCampaign:
    item: dict[str, Any] = {
        "id": 9001,
        "name": f"{REF} Spring",
        "status": state,
        "statistics": statistics,
    }
    requested = Requested(CampaignSettings(aggression=aggression), strategy_id=11)
    return with_settings(parse_campaign(item), requested)


def test_a_new_campaign_in_its_creation_state_is_not_announced() -> None:
    after, notices = changes_between(None, seen("READY"), T0)
    assert notices == []
    assert after.state == "READY"


def test_a_campaign_first_seen_playing_is_announced_running() -> None:
    _, notices = changes_between(None, seen("PLAYING"), T0)
    assert [(n.kind, n.status) for n in notices] == [
        (NotificationKind.STATUS, CampaignStatus.RUNNING)
    ]
    assert notices[0].campaign_ref == REF and notices[0].dialer_campaign_id == "9001"


def test_a_state_change_becomes_one_status_notification() -> None:
    built, _ = changes_between(None, seen("READY"), T0)
    _, notices = changes_between(built, seen("PLAYING"), T0 + timedelta(seconds=15))
    assert [n.status for n in notices] == [CampaignStatus.RUNNING]
    assert notices[0].occurred_at == T0 + timedelta(seconds=15)


def test_the_same_observation_twice_announces_nothing_the_second_time() -> None:
    playing, _ = changes_between(None, seen("PLAYING"), T0)
    _, notices = changes_between(playing, seen("PLAYING"), T0 + timedelta(seconds=15))
    assert notices == []


def test_a_state_change_within_one_status_is_not_announced() -> None:
    building, _ = changes_between(None, seen("LOADING"), T0)
    _, notices = changes_between(building, seen("READY"), T0)
    done, _ = changes_between(None, seen("DONE"), T0)
    _, more = changes_between(done, seen("REPORTED"), T0)
    assert notices == [] and more == []


def test_playing_again_after_a_pause_gets_a_new_event_id() -> None:
    playing, first = changes_between(None, seen("PLAYING"), T0)
    paused, _ = changes_between(playing, seen("PAUSED"), T0 + timedelta(seconds=1))
    _, again = changes_between(paused, seen("PLAYING"), T0 + timedelta(seconds=2))
    assert again[0].status is CampaignStatus.RUNNING
    assert again[0].event_id != first[0].event_id


def test_a_replica_taking_over_makes_the_same_event_id_for_the_same_change() -> None:
    built, _ = changes_between(None, seen("READY"), T0)
    stored = Observation.loads(built.dumps())  # what the other replica reads from Redis
    _, mine = changes_between(built, seen("PLAYING"), T0)
    _, theirs = changes_between(stored, seen("PLAYING"), T0 + timedelta(seconds=3))
    assert mine[0].event_id == theirs[0].event_id


def test_settings_sent_with_another_strategy_than_livevox_shows_do_not_hold() -> None:
    requested = Requested(CampaignSettings(aggression=90), strategy_id=13)
    item = {"status": "PLAYING", "name": f"{REF} Spring", "dialingStrategyId": 12}
    assert with_settings(parse_campaign(item, "9001"), requested).settings is None
    item["dialingStrategyId"] = 13
    assert with_settings(parse_campaign(item, "9001"), requested).settings == requested.settings


def test_changed_settings_become_a_settings_notification() -> None:
    playing, _ = changes_between(None, seen("PLAYING", aggression=40), T0)
    _, notices = changes_between(playing, seen("PLAYING", aggression=90), T0)
    assert [n.kind for n in notices] == [NotificationKind.SETTINGS]
    assert notices[0].settings is not None and notices[0].settings.aggression == 90


def test_moving_counters_become_progress_without_a_status() -> None:
    playing, _ = changes_between(None, seen("PLAYING", uploaded=10, completed=2), T0)
    _, notices = changes_between(playing, seen("PLAYING", uploaded=10, completed=5), T0)
    assert [(n.kind, n.status) for n in notices] == [(NotificationKind.PROGRESS, None)]
    assert notices[0].counters == {"uploaded": 10, "completed": 5}


def test_sequence_follows_the_time_of_the_poll() -> None:
    built, _ = changes_between(None, seen("READY"), T0)
    playing, early = changes_between(built, seen("PLAYING"), T0)
    _, late = changes_between(playing, seen("PAUSED"), T0 + timedelta(seconds=1))
    assert late[0].sequence > early[0].sequence
