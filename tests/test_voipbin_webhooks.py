"""VoIPBIN webhooks through ``receive_webhook``: signatures, parsing, de-duplication, ordering."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import fakeredis
import httpx
import pytest

from dialer.base import WebhookReceiver, WebhookRejected
from dialer.voipbin import VoipbinDialer, VoipbinSettings
from dialer.voipbin.webhooks import sign
from state.campaign import Campaign
from state.domain import CampaignStatus, EndHandle, NotificationKind
from state.machine import Outcome
from state.store import CampaignStore
from tests.standins.server import webhook_receiver_app

SECRET = "whsec-test"
OUTPLAN = {
    "id": "plan-1",
    "dial_timeout": 20_000,
    "try_interval": 600_000,
    "max_try_count_0": 2,
}


def campaign(**overrides: Any) -> dict[str, Any]:
    return {
        "id": "vb-1",
        "name": "[c-20261123-7kq2] Spring promo",
        "status": "run",
        "service_level": 51,
        "end_handle": "stop",
        "outplan_id": "plan-1",
        "outdial_id": "od-1",
        "queue_id": "q-1",
        "tm_update": "2026-11-23 10:00:00.000001",
        "tm_delete": "9999-01-01 00:00:00.000000",
        **overrides,
    }


def envelope(event_type: str, data: dict[str, Any]) -> bytes:
    return json.dumps({"type": event_type, "data": data}).encode()


def signed(body: bytes) -> dict[str, str]:
    return {"X-VoIPBIN-Signature": sign(SECRET, body)}


def voipbin_api(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/v1.0/outplans/plan-1":
        return httpx.Response(200, json=OUTPLAN)
    return httpx.Response(404, json={"error": {"status": "NOT_FOUND", "reason": "NONE"}})


@pytest.fixture
async def dialer() -> AsyncIterator[VoipbinDialer]:
    settings = VoipbinSettings(
        api_url="https://voipbin.test/v1.0", accesskey="k", webhook_secret=SECRET
    )
    redis = fakeredis.FakeAsyncRedis()
    adapter = VoipbinDialer(settings, redis, transport=httpx.MockTransport(voipbin_api))
    yield adapter
    await adapter.aclose()
    await redis.aclose()


async def receive(dialer: VoipbinDialer, event_type: str, data: dict[str, Any]) -> list[Any]:
    body = envelope(event_type, data)
    return await dialer.receive_webhook(signed(body), body)


def test_the_adapter_is_a_webhook_receiver(dialer: VoipbinDialer) -> None:
    assert isinstance(dialer, WebhookReceiver)


# -- signatures ----------------------------------------------------------------------------


async def test_a_correctly_signed_delivery_is_accepted(dialer: VoipbinDialer) -> None:
    body = envelope("campaign_status_run", campaign())
    assert len(await dialer.receive_webhook(signed(body), body)) == 1


async def test_signature_header_name_is_case_insensitive(dialer: VoipbinDialer) -> None:
    body = envelope("campaign_status_run", campaign())
    headers = {"x-voipbin-signature": sign(SECRET, body)}
    assert len(await dialer.receive_webhook(headers, body)) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-VoIPBIN-Signature": ""},
        {"X-VoIPBIN-Signature": "sha256=" + "0" * 64},
        {
            "X-VoIPBIN-Signature": sign(
                "another-secret", envelope("campaign_status_run", campaign())
            )
        },
        {"X-VoIPBIN-Signature": sign(SECRET, envelope("campaign_status_run", campaign()))[7:]},
    ],
    ids=["missing", "empty", "wrong-digest", "wrong-secret", "no-prefix"],
)
async def test_a_missing_or_bad_signature_is_refused_with_401(
    dialer: VoipbinDialer, headers: dict[str, str]
) -> None:
    body = envelope("campaign_status_run", campaign())
    with pytest.raises(WebhookRejected) as rejected:
        await dialer.receive_webhook(headers, body)
    assert rejected.value.status_code == 401


async def test_a_body_changed_after_signing_is_refused(dialer: VoipbinDialer) -> None:
    body = envelope("campaign_status_run", campaign())
    forged = envelope("campaign_status_stop", campaign())
    with pytest.raises(WebhookRejected) as rejected:
        await dialer.receive_webhook(signed(body), forged)
    assert rejected.value.status_code == 401


async def test_without_a_secret_unsigned_deliveries_are_accepted() -> None:
    settings = VoipbinSettings(api_url="https://voipbin.test/v1.0", accesskey="k")
    adapter = VoipbinDialer(settings, fakeredis.FakeAsyncRedis())
    body = envelope("campaign_status_stop", campaign(status="stop"))
    [notification] = await adapter.receive_webhook({}, body)
    assert notification.status is CampaignStatus.STOPPED
    await adapter.aclose()


# -- malformed bodies ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'{"data": {}}',
        b'{"type": "campaign_status_run"}',
        b'{"type": "campaign_status_run", "data": "x"}',
        envelope("campaign_status_run", campaign(id=None)),
        envelope("campaign_status_run", campaign(tm_update=None)),
        envelope("campaign_status_run", campaign(tm_update="yesterday")),
    ],
    ids=[
        "not-json",
        "array",
        "no-type",
        "no-data",
        "data-not-object",
        "no-id",
        "no-time",
        "bad-time",
    ],
)
async def test_a_malformed_body_is_refused_with_400(dialer: VoipbinDialer, body: bytes) -> None:
    with pytest.raises(WebhookRejected) as rejected:
        await dialer.receive_webhook(signed(body), body)
    assert rejected.value.status_code == 400


# -- status --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("campaign_status_run", CampaignStatus.RUNNING),
        ("campaign_status_stopping", CampaignStatus.STOPPING),
        ("campaign_status_stop", CampaignStatus.STOPPED),
    ],
)
async def test_status_events_become_status_notifications(
    dialer: VoipbinDialer, event_type: str, status: CampaignStatus
) -> None:
    [notification] = await receive(dialer, event_type, campaign())
    assert notification.kind is NotificationKind.STATUS
    assert notification.status is status
    assert notification.dialer == "voipbin"
    assert notification.campaign_ref == "c-20261123-7kq2"
    assert notification.dialer_campaign_id == "vb-1"
    assert notification.occurred_at == datetime(2026, 11, 23, 10, 0, 0, 1, tzinfo=UTC)
    assert notification.raw["type"] == event_type


async def test_tm_update_orders_events_in_microseconds(dialer: VoipbinDialer) -> None:
    [earlier] = await receive(dialer, "campaign_status_stopping", campaign())
    later_data = campaign(tm_update="2026-11-23 10:00:00.000002")
    [later] = await receive(dialer, "campaign_status_stop", later_data)
    assert later.sequence - earlier.sequence == 1
    assert earlier.sequence == int(datetime(2026, 11, 23, 10, tzinfo=UTC).timestamp()) * 10**6 + 1


async def test_a_redelivery_carries_the_same_event_id(dialer: VoipbinDialer) -> None:
    [first] = await receive(dialer, "campaign_status_run", campaign())
    [again] = await receive(dialer, "campaign_status_run", campaign())
    assert first.event_id == again.event_id


async def test_different_events_carry_different_event_ids(dialer: VoipbinDialer) -> None:
    ids = {
        (await receive(dialer, "campaign_status_run", campaign()))[0].event_id,
        (await receive(dialer, "campaign_status_stop", campaign()))[0].event_id,
        (await receive(dialer, "campaign_status_run", campaign(id="vb-2")))[0].event_id,
        (
            await receive(
                dialer, "campaign_status_run", campaign(tm_update="2026-11-23 11:00:00.000000")
            )
        )[0].event_id,
    }
    assert len(ids) == 4


async def test_a_deleted_campaign_is_ordered_by_its_deletion_time(dialer: VoipbinDialer) -> None:
    [stopped] = await receive(dialer, "campaign_status_stop", campaign(status="stop"))
    deleted_data = campaign(status="stop", tm_delete="2026-11-23 10:05:00.000000")
    [deleted] = await receive(dialer, "campaign_deleted", deleted_data)
    assert deleted.status is CampaignStatus.DELETED
    assert deleted.sequence > stopped.sequence


async def test_a_campaign_not_made_by_the_bot_is_named_by_its_voipbin_id(
    dialer: VoipbinDialer,
) -> None:
    [notification] = await receive(dialer, "campaign_status_run", campaign(name="manual"))
    assert notification.campaign_ref is None
    assert notification.dialer_campaign_id == "vb-1"


# -- settings and progress -----------------------------------------------------------------


async def test_campaign_updated_becomes_settings_from_campaign_and_outplan(
    dialer: VoipbinDialer,
) -> None:
    data = campaign(service_level=280, end_handle="continue")
    [notification] = await receive(dialer, "campaign_updated", data)
    assert notification.kind is NotificationKind.SETTINGS
    assert notification.settings is not None
    assert notification.settings.aggression == 90
    assert notification.settings.end_handle is EndHandle.CONTINUE
    assert notification.settings.dial_timeout_seconds == 20
    assert notification.settings.retry_interval_minutes == 10
    assert notification.settings.max_attempts == 2


async def test_campaign_updated_without_an_outplan_is_refused(dialer: VoipbinDialer) -> None:
    with pytest.raises(WebhookRejected):
        await receive(dialer, "campaign_updated", campaign(outplan_id=""))


def call(status: str, result: str = "", call_id: str = "cc-1", **extra: Any) -> dict[str, Any]:
    return {
        "id": call_id,
        "campaign_id": "vb-1",
        "outdial_id": "od-1",
        "status": status,
        "result": result,
        "tm_update": f"2026-11-23 10:00:0{len(status) % 10}.000000",
        **extra,
    }


async def test_campaign_calls_become_progress_counters(dialer: VoipbinDialer) -> None:
    await receive(dialer, "campaigncall_created", call("dialing"))
    await receive(dialer, "campaigncall_updated", call("progressing"))
    await receive(dialer, "campaigncall_created", call("dialing", call_id="cc-2"))
    [last] = await receive(dialer, "campaigncall_updated", call("done", "success"))
    assert last.kind is NotificationKind.PROGRESS
    assert last.status is None
    assert last.dialer_campaign_id == "vb-1"
    assert last.counters == {"dialled": 2, "answered": 1, "succeeded": 1, "active": 1}


async def test_a_redelivered_call_event_is_counted_once(dialer: VoipbinDialer) -> None:
    await receive(dialer, "campaigncall_updated", call("done", "fail"))
    [again] = await receive(dialer, "campaigncall_updated", call("done", "fail"))
    assert again.counters == {"failed": 1}


@pytest.mark.parametrize(
    "event_type",
    [
        "campaign_created",
        "call_hangup",
        "agent_updated",
        "outplan_updated",
        "outdialtarget_updated",  # defined by VoIPBIN, never published; ignored if it ever is
    ],
)
async def test_other_events_give_no_notification_and_are_counted(
    dialer: VoipbinDialer, event_type: str
) -> None:
    assert await receive(dialer, event_type, campaign()) == []
    assert await receive(dialer, event_type, {"id": "x"}) == []  # whatever their data holds
    assert dialer.ignored_events[event_type] == 2


# -- what VoIPBIN's own code sends ----------------------------------------------------------


def created_call() -> dict[str, Any]:
    """A campaigncall_created as VoIPBIN publishes it: ``dbhandler.CampaigncallCreate`` sets
    ``tm_update`` and ``tm_delete`` to nil, marshalled as ``null``; times in RFC 3339."""
    return {
        "id": "cc-9",
        "customer_id": "cust-1",
        "campaign_id": "vb-1",
        "outplan_id": "plan-1",
        "outdial_id": "od-1",
        "outdial_target_id": "t-1",
        "queue_id": "q-1",
        "activeflow_id": "af-1",
        "flow_id": "f-1",
        "reference_type": "call",
        "reference_id": "call-1",
        "status": "dialing",
        "result": "",
        "source": {"type": "tel", "target": "+14155550100"},
        "destination": {"type": "tel", "target": "+14155550101"},
        "destination_index": 0,
        "try_count": 1,
        "tm_create": "2026-11-23T10:00:00.000001Z",
        "tm_update": None,
        "tm_delete": None,
    }


async def test_a_campaigncall_created_with_null_tm_update_is_ordered_by_its_creation(
    dialer: VoipbinDialer,
) -> None:
    [notification] = await receive(dialer, "campaigncall_created", created_call())
    assert notification.counters == {"dialled": 1, "active": 1}
    assert notification.occurred_at == datetime(2026, 11, 23, 10, 0, 0, 1, tzinfo=UTC)


async def test_a_live_campaign_with_null_tm_delete_is_not_taken_as_deleted(
    dialer: VoipbinDialer,
) -> None:
    data = campaign(tm_update="2026-11-23T10:00:00.000001Z", tm_delete=None)
    [notification] = await receive(dialer, "campaign_status_run", data)
    assert notification.status is CampaignStatus.RUNNING
    assert notification.occurred_at == datetime(2026, 11, 23, 10, 0, 0, 1, tzinfo=UTC)


@pytest.mark.parametrize("zero", ["0001-01-01T00:00:00Z", "0001-01-01 00:00:00", None])
async def test_a_go_zero_tm_update_means_not_set(dialer: VoipbinDialer, zero: str | None) -> None:
    data = campaign(tm_create="2026-11-23T09:00:00Z", tm_update=zero)
    [notification] = await receive(dialer, "campaign_status_run", data)
    assert notification.occurred_at == datetime(2026, 11, 23, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    "changes",
    [
        {"tm_update": "last tuesday"},
        {"tm_update": 1700000000},
        {"tm_update": "2026-02-30T10:00:00Z"},
        {"tm_update": "1960-01-01T00:00:00Z"},  # before 1970: no usable sequence
        {"tm_update": None, "tm_create": None},
        {"tm_update": "0001-01-01T00:00:00Z", "tm_create": "0001-01-01T00:00:00Z"},
    ],
)
async def test_a_garbage_timestamp_is_refused_with_400_not_an_error(
    dialer: VoipbinDialer, changes: dict[str, Any]
) -> None:
    for event_type in ("campaign_status_run", "campaign_deleted", "campaigncall_created"):
        with pytest.raises(WebhookRejected) as refused:
            await receive(dialer, event_type, campaign(campaign_id="vb-1", **changes))
        assert refused.value.status_code == 400


async def test_campaign_updated_of_a_campaign_without_outplan_is_ignored(
    dialer: VoipbinDialer,
) -> None:
    data = campaign(outplan_id="00000000-0000-0000-0000-000000000000")
    assert await receive(dialer, "campaign_updated", data) == []
    assert await receive(dialer, "campaign_updated", campaign(outplan_id="gone")) == []


async def test_run_notifications_delivers_nothing_but_confirmation_reads(
    dialer: VoipbinDialer,
) -> None:
    async def sink(_: object) -> None:
        raise AssertionError("nothing is pushed outside webhooks and the adapter's own reads")

    with pytest.raises(TimeoutError):
        await asyncio.wait_for(dialer.run_notifications(sink), timeout=0.1)


# -- matching by VoIPBIN's id ---------------------------------------------------------------


async def stored_campaign(store: CampaignStore, dialer_id: str | None) -> str:
    ref = await store.issue_ref()
    record = Campaign(
        ref=ref,
        name="Spring promo",
        dialer="voipbin",
        dialer_id=dialer_id,
        created_by="U0ANA",
        created_at=datetime(2026, 11, 23, 9, tzinfo=UTC),
        status=CampaignStatus.RUNNING,
    )
    await store.create(record)
    return ref


async def test_a_foreign_campaign_named_with_our_ref_never_touches_ours(
    dialer: VoipbinDialer,
) -> None:
    store = CampaignStore(fakeredis.FakeAsyncRedis())
    ref = await stored_campaign(store, "vb-ours")
    foreign = campaign(id="vb-foreign", name=f"[{ref}] Copy", status="stop")
    foreign["tm_delete"] = "2026-11-23T10:05:00Z"
    [deleted] = await receive(dialer, "campaign_deleted", foreign)
    assert (await store.apply_notification(deleted)).outcome is Outcome.IGNORED
    assert (await store.require(ref)).status is CampaignStatus.RUNNING

    ours = campaign(id="vb-ours", name="renamed in VoIPBIN", status="stop")
    [stopped] = await receive(dialer, "campaign_status_stop", ours)
    assert (await store.apply_notification(stopped)).outcome is Outcome.APPLIED
    assert (await store.require(ref)).status is CampaignStatus.STOPPED


async def test_the_ref_adopts_only_a_campaign_whose_id_is_not_recorded_yet(
    dialer: VoipbinDialer,
) -> None:
    store = CampaignStore(fakeredis.FakeAsyncRedis())
    ref = await stored_campaign(store, None)
    [stopped] = await receive(
        dialer, "campaign_status_stop", campaign(id="vb-new", name=f"[{ref}] x")
    )
    assert (await store.apply_notification(stopped)).outcome is Outcome.APPLIED
    assert (await store.require(ref)).status is CampaignStatus.STOPPED


# -- over HTTP, as the bot's route answers VoIPBIN -------------------------------------------


@pytest.mark.parametrize(
    ("event_type", "data", "status_code"),
    [
        ("campaigncall_created", created_call(), 200),
        (
            "campaign_status_run",
            campaign(tm_create="2026-11-23T09:00:00Z", tm_update="0001-01-01T00:00:00Z"),
            200,
        ),
        ("campaign_status_run", campaign(tm_update="garbage"), 400),
        ("campaign_status_run", campaign(tm_update="1900-01-01 00:00:00"), 400),
        ("queuecall_created", {"id": "qc-1", "tm_update": None}, 200),
    ],
)
async def test_voipbin_gets_2xx_or_4xx_never_a_500(
    dialer: VoipbinDialer, event_type: str, data: dict[str, Any], status_code: int
) -> None:
    received: list[Any] = []

    async def sink(notification: Any) -> None:
        received.append(notification)

    app = webhook_receiver_app("voipbin", dialer, sink)
    body = envelope(event_type, data)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bot"
    ) as bot:
        response = await bot.post("/dialer/voipbin/events", content=body, headers=signed(body))
    assert response.status_code == status_code
