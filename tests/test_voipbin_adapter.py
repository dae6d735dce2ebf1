"""The VoIPBIN adapter against the spec-checked stand-in: what it sends and what it refuses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import fakeredis
import pytest

from dialer.base import Dialer
from dialer.errors import CampaignConflict, CampaignNotFound, DialerRejected, DuplicateContact
from dialer.registry import AdapterContext
from dialer.voipbin import VoipbinDialer, VoipbinSettings, build
from state.domain import (
    AgentAssignment,
    AgentDefaultState,
    CampaignSettings,
    DialerNotification,
    EndHandle,
    NotificationKind,
    NotificationSource,
)
from tests.contract.dialer_contract import contacts_for, new_campaign
from tests.standins.voipbin import StandinKnobs, VoipbinStandin


@pytest.fixture
async def standin() -> AsyncIterator[VoipbinStandin]:
    async with VoipbinStandin(users={"lead": "pw"}) as running:
        yield running
        await running.quiesce()
    running.assert_clean()


@pytest.fixture
def redis() -> fakeredis.FakeAsyncRedis:
    return fakeredis.FakeAsyncRedis()


def adapter(
    standin: VoipbinStandin, redis: fakeredis.FakeAsyncRedis, **overrides: Any
) -> VoipbinDialer:
    values: dict[str, Any] = {
        "api_url": standin.api_url,
        "accesskey": standin.accesskey,
        "requests_per_second": 1000,
        "backoff_seconds": 0.01,
        "caller_id": "+14155550100",
        **overrides,
    }
    return VoipbinDialer(VoipbinSettings(**values), redis)


@pytest.fixture
async def dialer(
    standin: VoipbinStandin, redis: fakeredis.FakeAsyncRedis
) -> AsyncIterator[VoipbinDialer]:
    made = adapter(standin, redis)
    yield made
    await made.aclose()


def sent(standin: VoipbinStandin, method: str, prefix: str) -> list[Any]:
    return [
        r.body
        for r in standin.requests
        if r.method == method and r.path.removeprefix("/v1.0").startswith(prefix)
    ]


def calls(standin: VoipbinStandin) -> list[str]:
    return [f"{r.method} {r.path.removeprefix('/v1.0')}" for r in standin.requests]


# -- create --------------------------------------------------------------------------------


async def test_create_makes_queue_and_outplan_then_the_campaign_then_its_outdial(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    settings = CampaignSettings(aggression=75, dial_timeout_seconds=25, max_attempts=2)
    spec = new_campaign(settings=settings)
    created = await dialer.create_campaign(spec)

    order = [c for c in calls(standin) if c.startswith("POST")]
    assert order == [
        "POST /tags",
        "POST /tags",
        "POST /queues",
        "POST /outplans",
        "POST /campaigns",  # VoIPBIN wants an outdial's campaign id when it is created
        "POST /outdials",
    ]
    assert f"PUT /campaigns/{created.dialer_id}/resource_info" in calls(standin)
    [outplan] = sent(standin, "POST", "/outplans")
    assert (outplan["dial_timeout"], outplan["max_try_count_0"]) == (25_000, 2)
    assert outplan["source"] == {"type": "tel", "target": "+14155550100"}
    campaign = standin.campaign(created.dialer_id)
    assert campaign["name"] == f"[{spec.ref}] {spec.name}"
    assert campaign["service_level"] == 249  # aggression 75
    assert standin.store["outdials"][campaign["outdial_id"]]["campaign_id"] == created.dialer_id


async def test_create_uses_configured_outplan_and_queue(
    standin: VoipbinStandin, redis: fakeredis.FakeAsyncRedis
) -> None:
    _, outplan = standin._create("outplans", {"name": "shared"})
    _, queue = standin._create("queues", {"name": "shared", "tag_ids": []})
    dialer = adapter(standin, redis, outplan_id=outplan["id"], queue_id=queue["id"])
    created = await dialer.create_campaign(new_campaign(agents=()))
    campaign = standin.campaign(created.dialer_id)
    assert (campaign["outplan_id"], campaign["queue_id"]) == (outplan["id"], queue["id"])
    assert not sent(standin, "POST", "/outplans") and not sent(standin, "POST", "/queues")
    await dialer.aclose()


async def test_agents_cannot_be_given_to_a_campaign_on_a_shared_queue(
    standin: VoipbinStandin, redis: fakeredis.FakeAsyncRedis
) -> None:
    dialer = adapter(standin, redis, queue_id="shared-queue")
    with pytest.raises(DialerRejected, match="VOIPBIN_QUEUE_ID"):
        await dialer.create_campaign(new_campaign())
    assert standin.requests == []
    await dialer.aclose()


async def test_a_failed_create_removes_what_it_made(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    standin.fail_next(1, status=400, operation="POST /campaigns")
    with pytest.raises(DialerRejected):
        await dialer.create_campaign(new_campaign())
    for kind in ("tags", "queues", "outplans", "outdials"):
        assert all(not r["tm_delete"].startswith("9999") for r in standin.store[kind].values())


async def test_an_unknown_agent_is_refused_by_its_id(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    spec = new_campaign(agents=(AgentAssignment(agent_id="nobody"),))
    with pytest.raises(DialerRejected, match="no agent 'nobody'"):
        await dialer.create_campaign(spec)


# -- contacts ------------------------------------------------------------------------------


async def test_each_contact_goes_up_as_one_target(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    spec = new_campaign()
    created = await dialer.create_campaign(spec)
    await dialer.add_contacts(spec.ref, contacts_for(spec.ref, 5))
    outdial = standin.campaign(created.dialer_id)["outdial_id"]
    names = sorted(t["name"] for t in standin.targets_of(outdial))
    assert names == sorted(f"{spec.ref}-{n}" for n in range(1, 6))
    assert len(sent(standin, "POST", f"/outdials/{outdial}/targets")) == 5


async def test_a_batch_with_a_repeated_ref_sends_nothing(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    spec = new_campaign()
    await dialer.create_campaign(spec)
    await dialer.add_contacts(spec.ref, contacts_for(spec.ref, 2))
    before = len(standin.requests)
    batch = contacts_for(spec.ref, 3, start=2)  # -2 was sent before
    with pytest.raises(DuplicateContact, match=f"{spec.ref}-2"):
        await dialer.add_contacts(spec.ref, batch)
    assert len(standin.requests) == before
    await dialer.add_contacts(spec.ref, contacts_for(spec.ref, 2, start=3))  # -3, -4 still free


async def test_contacts_of_a_failed_upload_can_be_sent_again(
    standin: VoipbinStandin, redis: fakeredis.FakeAsyncRedis
) -> None:
    dialer = adapter(standin, redis, max_retries=0)
    spec = new_campaign()
    await dialer.create_campaign(spec)
    standin.fail_next(1, status=503, operation="POST /outdials/{id}/targets")
    with pytest.raises(Exception, match="trouble"):
        await dialer.add_contacts(spec.ref, contacts_for(spec.ref, 3))
    await dialer.add_contacts(spec.ref, contacts_for(spec.ref, 3))
    await dialer.aclose()


async def test_an_upload_cancelled_mid_batch_can_send_the_contacts_it_did_not_reach(
    standin: VoipbinStandin, redis: fakeredis.FakeAsyncRedis
) -> None:
    dialer = adapter(standin, redis, requests_per_second=20)  # slow enough to cut mid-batch
    spec = new_campaign()
    created = await dialer.create_campaign(spec)
    outdial = standin.campaign(created.dialer_id)["outdial_id"]
    batch = contacts_for(spec.ref, 10)
    upload = asyncio.create_task(dialer.add_contacts(spec.ref, batch))
    while len(standin.targets_of(outdial)) < 3:
        await asyncio.sleep(0.005)
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload
    uploaded = {t["name"] for t in standin.targets_of(outdial)}
    rest = [c for c in batch if c.ref not in uploaded]
    assert rest, "the cancellation came too late to test anything"
    await dialer.add_contacts(spec.ref, rest)
    names = sorted(t["name"] for t in standin.targets_of(outdial))
    assert names == sorted(c.ref for c in batch)
    await dialer.aclose()


# -- control -------------------------------------------------------------------------------


async def test_delete_is_refused_while_running(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    spec = new_campaign()
    created = await dialer.create_campaign(spec)
    await dialer.add_contacts(spec.ref, contacts_for(spec.ref, 20))
    await dialer.start(spec.ref)
    while standin.campaign(created.dialer_id)["status"] != "run":
        await asyncio.sleep(0.01)
    with pytest.raises(CampaignConflict, match="stop it"):
        await dialer.delete(spec.ref)
    assert not sent(standin, "DELETE", "/campaigns")


async def test_delete_of_a_stopped_campaign_removes_its_resources(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    spec = new_campaign()
    created = await dialer.create_campaign(spec)
    campaign = standin.campaign(created.dialer_id)
    await dialer.delete(spec.ref)
    assert not campaign["tm_delete"].startswith("9999")
    for kind, key in (
        ("outdials", "outdial_id"),
        ("outplans", "outplan_id"),
        ("queues", "queue_id"),
    ):
        assert not standin.store[kind][campaign[key]]["tm_delete"].startswith("9999")
    assert standin.store["agents"]["agent-1"]["tag_ids"] == []
    with pytest.raises(CampaignNotFound):
        await dialer.get_campaign(spec.ref)


async def test_aggression_alone_goes_through_the_service_level_call(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    spec = new_campaign()
    created = await dialer.create_campaign(spec)
    await dialer.update_settings(spec.ref, spec.settings.model_copy(update={"aggression": 90}))
    assert sent(standin, "PUT", f"/campaigns/{created.dialer_id}/service_level") == [
        {"service_level": 280}
    ]
    assert not sent(standin, "PUT", "/outplans")


async def test_end_handle_and_dial_settings_update_campaign_and_outplan(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    spec = new_campaign()
    created = await dialer.create_campaign(spec)
    wanted = CampaignSettings(aggression=40, end_handle=EndHandle.CONTINUE, max_attempts=5)
    await dialer.update_settings(spec.ref, wanted)
    [campaign_put] = [
        body for body in sent(standin, "PUT", f"/campaigns/{created.dialer_id}") if "name" in body
    ]
    assert campaign_put["end_handle"] == "continue"
    assert campaign_put["name"] == f"[{spec.ref}] {spec.name}"
    [dial] = sent(standin, "PUT", "/outplans")
    assert dial["max_try_count_4"] == 5
    assert (await dialer.get_campaign(spec.ref)).settings == wanted


async def test_dial_settings_of_a_shared_outplan_are_refused(
    standin: VoipbinStandin, redis: fakeredis.FakeAsyncRedis
) -> None:
    tries = {f"max_try_count_{i}": 3 for i in range(5)}
    _, outplan = standin._create(
        "outplans", {"name": "shared", "dial_timeout": 30000, "try_interval": 3600000, **tries}
    )
    dialer = adapter(standin, redis, outplan_id=outplan["id"])
    spec = new_campaign()
    await dialer.create_campaign(spec)
    with pytest.raises(DialerRejected, match="VOIPBIN_OUTPLAN_ID"):
        await dialer.update_settings(spec.ref, CampaignSettings(max_attempts=9))
    await dialer.update_settings(spec.ref, CampaignSettings(aggression=10))  # pacing still works
    await dialer.aclose()


async def test_start_calls_in_agents_whose_default_state_is_available(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    spec = new_campaign(
        agents=(
            AgentAssignment(agent_id="agent-1"),
            AgentAssignment(agent_id="agent-2", default_state=AgentDefaultState.AVAILABLE),
        )
    )
    await dialer.create_campaign(spec)
    await dialer.start(spec.ref)
    agents = standin.store["agents"]
    assert (agents["agent-1"]["status"], agents["agent-2"]["status"]) == ("offline", "available")


async def test_agents_are_routed_by_the_tag_of_the_campaigns_queue(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    spec = new_campaign()
    created = await dialer.create_campaign(spec)
    queue = standin.store["queues"][standin.campaign(created.dialer_id)["queue_id"]]
    await dialer.add_agents(spec.ref, ["agent-3"])
    assert set(queue["tag_ids"]) <= set(standin.store["agents"]["agent-3"]["tag_ids"])
    await dialer.remove_agents(spec.ref, ["agent-3"])
    assert standin.store["agents"]["agent-3"]["tag_ids"] == []


async def test_an_agents_change_is_read_back_and_delivered_as_a_confirmation(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    spec = new_campaign()
    await dialer.create_campaign(spec)
    received: list[DialerNotification] = []

    async def sink(notification: DialerNotification) -> None:
        received.append(notification)

    delivery = asyncio.create_task(dialer.run_notifications(sink))
    try:
        await dialer.add_agents(spec.ref, ["agent-3"])
        await dialer.set_agent_default_state(spec.ref, AgentDefaultState.AVAILABLE)
        await dialer.remove_agents(spec.ref, ["agent-1"])
        for _ in range(100):
            if len(received) == 3:
                break
            await asyncio.sleep(0.01)
    finally:
        delivery.cancel()
    assert [n.kind for n in received] == [NotificationKind.AGENTS] * 3
    assert all(n.source is NotificationSource.CONFIRMATION for n in received)
    assert all(n.campaign_ref == spec.ref for n in received)
    added, defaulted, removed = (
        {a.agent_id: a.default_state for a in n.agents or ()} for n in received
    )
    assert set(added) == {"agent-1", "agent-3"}
    assert set(defaulted.values()) == {AgentDefaultState.AVAILABLE}
    assert set(removed) == {"agent-3"}
    assert received[0].sequence < received[1].sequence < received[2].sequence
    # What was read is what VoIPBIN holds: the agent carries the campaign queue's tag.
    assert standin.store["agents"]["agent-3"]["tag_ids"]


# -- restarts, listing, auth, faults -------------------------------------------------------


async def test_a_restarted_adapter_finds_campaigns_by_ref_through_the_listing(
    dialer: VoipbinDialer, standin: VoipbinStandin, redis: fakeredis.FakeAsyncRedis
) -> None:
    spec = new_campaign()
    await dialer.create_campaign(spec)
    restarted = adapter(standin, redis)
    await restarted.add_agents(spec.ref, ["agent-2"])
    fetched = await restarted.get_campaign(spec.ref)
    assert {a.agent_id for a in fetched.agents} == {"agent-1", "agent-2"}
    await restarted.aclose()


async def test_listing_pages_through_every_campaign(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    for n in range(230):
        standin._create("campaigns", {"name": f"[c-seed-{n}] Seed", "status": "stop"})
    listed = await dialer.list_campaigns()
    assert len(listed) == 230
    assert len({c.ref for c in listed}) == 230
    pages = [r for r in standin.requests if r.path == "/v1.0/campaigns"]
    assert [r.query.get("page_size") for r in pages] == ["100"] * 4  # 100, 100, 30, empty


async def test_jwt_login_is_renewed_when_voipbin_expires_it(
    standin: VoipbinStandin, redis: fakeredis.FakeAsyncRedis
) -> None:
    dialer = adapter(standin, redis, accesskey=None, username="lead", password="pw")
    spec = new_campaign()
    await dialer.create_campaign(spec)
    standin.expire_tokens()
    assert (await dialer.get_campaign(spec.ref)).ref == spec.ref
    assert standin.logins == 2
    assert all("accesskey" not in r.query for r in standin.requests)
    await dialer.aclose()


async def test_voipbins_429_is_waited_out(redis: fakeredis.FakeAsyncRedis) -> None:
    knobs = StandinKnobs(rate_limit=3, rate_window=0.1, retry_after="0.1")
    async with VoipbinStandin(knobs=knobs) as standin:
        dialer = adapter(standin, redis)
        created = await dialer.create_campaign(new_campaign(agents=()))
        assert created.ref
        assert len(standin.requests) > 7  # some answered 429, then resent
        await dialer.aclose()
        standin.assert_clean()


async def test_injected_5xx_is_retried(dialer: VoipbinDialer, standin: VoipbinStandin) -> None:
    spec = new_campaign()
    await dialer.create_campaign(spec)
    standin.fail_next(2, status=503)
    assert (await dialer.get_campaign(spec.ref)).ref == spec.ref


def test_build_takes_the_voipbin_section_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("VOIPBIN_ACCESSKEY", "from-env")
    monkeypatch.setenv("VOIPBIN_REQUESTS_PER_SECOND", "8")
    dialer = build(AdapterContext(redis=fakeredis.FakeAsyncRedis()), VoipbinSettings())
    assert isinstance(dialer, Dialer)
    assert dialer.name == "voipbin"
    assert dialer.max_calls_per_second == 8 / dialer.batch_size


# -- pacing, end to end --------------------------------------------------------------------


async def test_more_aggression_while_running_means_more_calls_in_progress(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    standin.knobs.call_duration = 60  # no call ends during the test
    available = AgentDefaultState.AVAILABLE
    spec = new_campaign(
        settings=CampaignSettings(aggression=20),
        agents=tuple(
            AgentAssignment(agent_id=f"agent-{n}", default_state=available) for n in (1, 2, 3)
        ),
    )
    created = await dialer.create_campaign(spec)
    await dialer.add_contacts(spec.ref, contacts_for(spec.ref, 30))
    await dialer.start(spec.ref)

    async def settles_at(calls: int) -> None:
        async with asyncio.timeout(5):
            while standin.dialing(created.dialer_id) < calls:
                await asyncio.sleep(0.01)
        await asyncio.sleep(10 * standin.knobs.tick)
        assert standin.dialing(created.dialer_id) == calls

    # VoIPBIN: 3 available agents * service_level // 100 calls dialling at once
    await settles_at(3 * 138 // 100)  # aggression 20 -> service level 138: 4 calls
    await dialer.update_settings(spec.ref, CampaignSettings(aggression=85))
    await settles_at(3 * 270 // 100)  # aggression 85 -> service level 270: 8 calls


# -- a POST is not blindly resent ----------------------------------------------------------


async def test_a_target_made_despite_a_5xx_is_found_not_sent_twice(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    spec = new_campaign()
    created = await dialer.create_campaign(spec)
    standin.fail_after_next(1, status=500, operation="POST /outdials/{id}/targets")
    await dialer.add_contacts(spec.ref, contacts_for(spec.ref, 3))
    outdial = standin.campaign(created.dialer_id)["outdial_id"]
    names = sorted(t["name"] for t in standin.targets_of(outdial))
    assert names == [f"{spec.ref}-{n}" for n in (1, 2, 3)]


async def test_a_campaign_made_despite_a_5xx_is_found_not_made_twice(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    spec = new_campaign()
    standin.fail_after_next(1, status=502, operation="POST /campaigns")
    created = await dialer.create_campaign(spec)
    named = [
        c for c in standin.store["campaigns"].values() if c["name"].startswith(f"[{spec.ref}]")
    ]
    assert [c["id"] for c in named] == [created.dialer_id]


async def test_a_target_of_an_upload_that_failed_unsure_is_looked_for_before_resending(
    standin: VoipbinStandin, redis: fakeredis.FakeAsyncRedis
) -> None:
    dialer = adapter(standin, redis, max_retries=0)
    spec = new_campaign()
    created = await dialer.create_campaign(spec)
    standin.fail_after_next(1, status=500, operation="POST /outdials/{id}/targets")
    with pytest.raises(Exception, match="trouble"):
        await dialer.add_contacts(spec.ref, contacts_for(spec.ref, 3))
    await dialer.add_contacts(spec.ref, contacts_for(spec.ref, 3))  # the upload's retry
    outdial = standin.campaign(created.dialer_id)["outdial_id"]
    names = sorted(t["name"] for t in standin.targets_of(outdial))
    assert names == [f"{spec.ref}-{n}" for n in (1, 2, 3)]
    await dialer.aclose()


async def test_setup_posts_are_not_resent_after_a_5xx(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    standin.fail_after_next(1, status=500, operation="POST /outplans")
    with pytest.raises(Exception, match="trouble"):
        await dialer.create_campaign(new_campaign())
    assert (
        len([r for r in standin.requests if r.method == "POST" and r.path.endswith("/outplans")])
        == 1
    )


async def test_the_card_counts_uploaded_contacts(
    dialer: VoipbinDialer, standin: VoipbinStandin
) -> None:
    spec = new_campaign()
    await dialer.create_campaign(spec)
    await dialer.add_contacts(spec.ref, contacts_for(spec.ref, 5))
    assert (await dialer.get_campaign(spec.ref)).counters == {"uploaded": 5}
