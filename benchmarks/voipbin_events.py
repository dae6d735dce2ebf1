"""VoIPBIN-style campaign status webhooks, as VoIPBIN would deliver them: signed, some twice,
some late."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from benchmarks.load import Request
from dialer.voipbin.mapping import campaign_name
from dialer.voipbin.webhooks import SIGNATURE_HEADER, sign

WEBHOOK_SECRET = "bench-webhook-secret"
NOT_DELETED = "9999-01-01 00:00:00.000000"
# The campaign statuses VoIPBIN reports, in the order a campaign goes through them.
CYCLE = (("run", "running"), ("stopping", "stopping"), ("stop", "stopped"))


@dataclass(frozen=True)
class Event:
    campaign: int
    event_id: str
    status: str  # ours, as the bot should store it
    sequence: int  # tm_update in microseconds
    body: str


@dataclass(frozen=True)
class Plan:
    events: list[Event]
    deliveries: list[Event]  # in sending order: every event, some twice, some swapped
    campaign_ids: list[str]

    def final_status(self) -> dict[int, Event]:
        """The newest event of each campaign: what its stored status must end on."""
        newest: dict[int, Event] = {}
        for event in self.events:
            if event.campaign not in newest or event.sequence > newest[event.campaign].sequence:
                newest[event.campaign] = event
        return newest


def plan(
    refs: list[str], events: int, *, duplicate_share: float, swap_share: float, seed: int = 7
) -> Plan:
    rng = random.Random(seed)
    start = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    campaign_ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in refs]
    made: list[Event] = []
    for n in range(events):
        index = n % len(refs)
        step = n // len(refs)
        voipbin_status, ours = CYCLE[step % len(CYCLE)]
        moment = start + timedelta(milliseconds=step, microseconds=index)
        stamp = moment.strftime("%Y-%m-%d %H:%M:%S.%f")
        data = {
            "id": campaign_ids[index],
            "customer_id": "00000000-0000-0000-0000-000000000000",
            "type": "call",
            "name": campaign_name(refs[index], f"Bench {index}"),
            "detail": "",
            "status": voipbin_status,
            "service_level": 51,
            "end_handle": "stop",
            "tm_create": start.strftime("%Y-%m-%d %H:%M:%S.%f"),
            "tm_update": stamp,
            "tm_delete": NOT_DELETED,
        }
        body = json.dumps({"type": f"campaign_status_{voipbin_status}", "data": data})
        sequence = round(moment.timestamp() * 1_000_000)
        event_id = f"voipbin:campaign_status_{voipbin_status}:{campaign_ids[index]}:{sequence}"
        made.append(Event(index, event_id, ours, sequence, body))
    steps = [made[index :: len(refs)] for index in range(len(refs))]
    for campaign_events in steps:
        for i in range(len(campaign_events) - 1):
            if rng.random() < swap_share:  # a late delivery: the older event arrives second
                campaign_events[i], campaign_events[i + 1] = (
                    campaign_events[i + 1],
                    campaign_events[i],
                )
    order = [steps[n % len(refs)][n // len(refs)] for n in range(len(made))]
    keyed = [(float(position), event) for position, event in enumerate(order)]
    redeliveries = round(len(made) * duplicate_share / (1 - duplicate_share))
    for position in rng.sample(range(len(order)), redeliveries):
        # VoIPBIN redelivers when it missed the answer: a little after the first delivery.
        keyed.append((position + rng.randint(1, 200) + 0.5, order[position]))
    keyed.sort(key=lambda pair: pair[0])
    return Plan(made, [event for _, event in keyed], campaign_ids)


def webhook(event: Event) -> Request:
    return Request(
        "/dialer/voipbin/events",
        event.body,
        {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(WEBHOOK_SECRET, event.body.encode()),
        },
    )
