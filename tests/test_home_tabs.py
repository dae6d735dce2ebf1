"""Keeping Home tabs current: a changed view is published, an unchanged one is not, bursts are
coalesced to one publish per person per pace (across replicas too), and 200 live campaigns page
within Slack's 100 blocks."""

from __future__ import annotations

from typing import Any

import fakeredis
import pytest
from redis.asyncio import Redis

from bot.slack.home import HomeTabs
from commands.authz import Authorizer
from commands.handlers.context import Deps
from commands.views.home import HOME_PAGE_SIZE, HomeModel, home_view
from dialer.simulator import SimulatorDialer
from state.campaign import Campaign, PendingKind, PendingOperation
from state.keys import Keys
from state.store import CampaignStore
from tests.state_builders import T0
from tests.state_builders import campaign as build_campaign

ANA, BOB = "UANA", "UBOB"


class FakeClient:
    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []

    async def views_publish(self, *, user_id: str, view: dict[str, Any]) -> dict[str, Any]:
        self.published.append((user_id, view))
        return {"ok": True}

    async def conversations_members(self, **args: Any) -> dict[str, Any]:
        return {"members": [ANA], "response_metadata": {"next_cursor": ""}}


async def no_groups(group_id: str) -> frozenset[str]:
    return frozenset()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def redis() -> Any:
    client: Redis = fakeredis.FakeAsyncRedis()
    yield client
    await client.aclose()


def tabs(redis: Redis, client: FakeClient, clock: Clock) -> tuple[HomeTabs, CampaignStore]:
    store = CampaignStore(redis, Keys("home-test:"))
    deps = Deps(store=store, dialer=SimulatorDialer(), authz=Authorizer((ANA, BOB), no_groups))
    home = HomeTabs(client, deps, redis, "home-test:", pace=3.0, clock=clock)  # type: ignore[arg-type]
    return home, store


async def new_campaign(store: CampaignStore, name: str) -> Campaign:
    ref = await store.issue_ref()
    created = build_campaign(ref, name=name, channel_id="C1")
    await store.create(created)
    return created


async def pend(store: CampaignStore, ref: str, kind: PendingKind) -> None:
    await store.record_request(ref, PendingOperation(kind=kind, requested_by=ANA, requested_at=T0))


async def test_changes_are_published_paced_and_coalesced(redis: Redis) -> None:
    client, clock = FakeClient(), Clock()
    home, store = tabs(redis, client, clock)
    one = await new_campaign(store, "One")
    await home.opened(ANA)
    assert len(client.published) == 1
    assert await home.refresh() == 0  # nothing changed
    await pend(store, one.ref, PendingKind.START)
    assert await home.refresh() == 0  # changed, but published less than a pace ago
    await pend(store, one.ref, PendingKind.STOP)
    clock.now += 3.1  # (fakeredis expires the quiet key on real time; drop it as time passes)
    await redis.delete("home-test:home:UANA:quiet")
    assert await home.refresh() == 1  # both changes, one publish, the latest state
    assert "stop requested" in str(client.published[-1][1]["blocks"])
    assert await home.refresh() == 0


async def test_two_replicas_publish_a_change_once(redis: Redis) -> None:
    client, clock = FakeClient(), Clock()
    first, store = tabs(redis, client, clock)
    second, _ = tabs(redis, client, clock)
    one = await new_campaign(store, "One")
    await first.opened(ANA)
    await redis.delete("home-test:home:UANA:quiet")
    await pend(store, one.ref, PendingKind.START)
    assert await first.refresh() + await second.refresh() == 1
    assert len(client.published) == 2


async def test_a_viewer_who_left_long_ago_is_not_redrawn(redis: Redis) -> None:
    client, clock = FakeClient(), Clock()
    home, store = tabs(redis, client, clock)
    one = await new_campaign(store, "One")
    await home.opened(ANA)
    clock.now += home.viewer_seconds + 1
    await redis.delete("home-test:home:UANA:quiet")
    await pend(store, one.ref, PendingKind.START)
    assert await home.refresh() == 0


def test_two_hundred_live_campaigns_page_within_a_hundred_blocks() -> None:
    live = tuple(build_campaign(f"c-20261123-{n:04d}", name=f"Campaign {n}") for n in range(200))
    seen: set[str] = set()
    page = 0
    while True:
        view = home_view(HomeModel(ANA, True, live, (), page), T0)
        assert len(view["blocks"]) <= 100
        text = str(view["blocks"])
        seen |= {c.ref for c in live if c.ref in text}
        if "Show more" not in text:
            break
        page += 1
    assert page + 1 == -(-200 // HOME_PAGE_SIZE)
    assert seen == {c.ref for c in live}
