"""The New campaign form carries the dial settings the campaign view has, and after creating, the
reply takes the lead to the campaign's view."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import fakeredis

from commands.authz import Authorizer
from commands.handlers.context import Deps, Requester
from commands.handlers.create import create_campaign
from commands.views import ids
from commands.views.forms import read_new_campaign
from commands.views.modals import new_campaign_modal
from dialer.simulator import SimulatorDialer
from state.keys import Keys
from state.store import CampaignStore

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
DIAL_SETTINGS = (ids.DIAL_TIMEOUT, ids.MAX_ATTEMPTS, ids.RETRY_INTERVAL)


async def no_groups(group_id: str) -> frozenset[str]:
    return frozenset()


def test_the_new_campaign_form_has_the_dial_settings() -> None:
    blocks = {b.get("block_id"): b for b in new_campaign_modal("C1")["blocks"]}
    for block in DIAL_SETTINGS:
        assert blocks[block]["element"]["type"] == "number_input"


def test_the_dial_settings_of_the_form_are_read() -> None:
    values = {
        ids.NAME: {ids.NAME: {"type": "plain_text_input", "value": "Spring"}},
        ids.DIAL_TIMEOUT: {ids.DIAL_TIMEOUT: {"type": "number_input", "value": "45"}},
        ids.MAX_ATTEMPTS: {ids.MAX_ATTEMPTS: {"type": "number_input", "value": "5"}},
        ids.RETRY_INTERVAL: {ids.RETRY_INTERVAL: {"type": "number_input", "value": "90"}},
    }
    form = read_new_campaign(values, file_id="F1")
    settings = form.settings
    assert (settings.dial_timeout_seconds, settings.max_attempts) == (45, 5)
    assert settings.retry_interval_minutes == 90


async def test_the_reply_after_creating_opens_the_campaigns_view() -> None:
    redis = fakeredis.FakeAsyncRedis()
    dialer = SimulatorDialer()
    store = CampaignStore(redis, Keys(f"test:{uuid.uuid4().hex[:8]}:"), clock=lambda: NOW)
    deps = Deps(store, dialer, Authorizer(("U1",), no_groups), lambda: NOW)
    try:
        values = {ids.NAME: {ids.NAME: {"type": "plain_text_input", "value": "Spring"}}}
        form = read_new_campaign(values, file_id="F1")
        reply = await create_campaign(deps, Requester("U1", "C1"), form, "C1")
        assert reply.campaign is not None
        buttons = [e for b in reply.blocks if b["type"] == "actions" for e in b["elements"]]
        assert [(b["action_id"], b["value"]) for b in buttons] == [(ids.EDIT, reply.campaign.ref)]
    finally:
        await dialer.aclose()
        await redis.aclose()
