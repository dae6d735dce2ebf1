"""The engine's one table of effect handlers: every kind of effect has one, the dialer's
requests go to the dialer and what the channel shows goes to the alert handler."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import get_args

import fakeredis
import pytest

from bot.bootstrap import Services
from bot.engine import Engine
from bot.settings import Settings
from dialer.simulator import SimulatorDialer
from state.campaign import Campaign
from state.domain import CampaignStatus
from state.effects import (
    ConfirmStop,
    Effect,
    RefreshCard,
    RemovalRejected,
    RemovalRequested,
    SendDelete,
    SendStop,
    StatusAlert,
)
from state.inbox import NotificationInbox
from state.keys import Keys
from state.store import CampaignStore

REF = "c-20261123-7kq2"


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    redis = fakeredis.FakeAsyncRedis()
    keys = Keys(f"test:{uuid.uuid4().hex[:8]}:")
    dialer = SimulatorDialer()
    services = Services(
        settings=Settings(),
        redis=redis,
        store=CampaignStore(redis, keys),
        inbox=NotificationInbox(redis, keys),
        dialer=dialer,
    )
    yield Engine(services)
    await dialer.aclose()
    await redis.aclose()


def test_every_kind_of_effect_has_a_handler(engine: Engine) -> None:
    assert set(engine.effect_handlers()) == set(get_args(Effect))


async def test_what_the_channel_shows_goes_to_the_alert_handler_and_nothing_else(
    engine: Engine,
) -> None:
    shown: list[Effect] = []

    async def alerts(effect: Effect, campaign: Campaign | None) -> None:
        shown.append(effect)

    engine.alerts = alerts
    for_channel: list[Effect] = [
        StatusAlert(REF, CampaignStatus.STOPPED, CampaignStatus.RUNNING),
        RefreshCard(REF),
        RemovalRequested(REF, "U0ANA"),
        RemovalRejected(REF, "U0BEN"),
    ]
    # The simulator has no such campaign: the stop and the delete fail, are logged, and the
    # removal sweeper would send them again; neither reaches the channel.
    await engine.dispatch([SendStop(REF), *for_channel, SendDelete(REF), ConfirmStop(REF)], None)
    assert shown == for_channel
