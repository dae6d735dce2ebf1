"""Notification ingest: VoIPBIN webhooks over HTTP from concurrent senders, through the bot's
durable stream and the engine's consumer, into a real Redis, until every event is applied.

The webhook route verifies and parses each delivery and XADDs it to the notification stream;
the engine's consumer applies it with ``CampaignStore.apply_notification``. Every delivery leaves
one audit entry (applied, stale or duplicate), which is how the end is seen and how lost or
doubly applied events are counted. Side by side: a bare redis-py pipeline writing the same keys
(stream entry, seen id, campaign document, audit entry) for the same deliveries, and the same
ingest as it was before (one XADD and one transaction per notification).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import time
from collections import Counter, defaultdict
from dataclasses import dataclass

from redis._parsers import _AsyncHiredisParser, _AsyncRESP3Parser
from redis.asyncio import Redis
from redis.typing import EncodableT, FieldT

from benchmarks.common import REDIS_URL, Figure, figure, missed, profiling, rate, redis_space
from benchmarks.load import Answer, run_load
from benchmarks.slack_requests import store_campaign
from benchmarks.voipbin_events import WEBHOOK_SECRET, Plan, plan, webhook
from bot.bootstrap import build_services
from bot.demo.driver import serving_on_loopback
from bot.server import BotServer, freeze_start_up_heap
from bot.settings import Settings
from dialer.voipbin import VoipbinDialer, VoipbinSettings
from dialer.voipbin.webhooks import parse_envelope, status_notification
from state.inbox import NotificationInbox
from state.keys import AUDIT_MAXLEN, NOTIFICATION_STREAM_MAXLEN, SEEN_EVENT_TTL, Keys
from state.store import CampaignStore

TARGET_EVENTS_PER_SECOND = 2_000
TARGET_RATIO_TO_BARE = 0.2
PIPELINE_BATCH = 100


@dataclass(frozen=True)
class Variant:
    batched: bool
    """Concurrent applies (``CampaignStore``) and publishes (``NotificationInbox``) coalesced
    into one round trip each."""


NOW = Variant(batched=True)
BEFORE = Variant(batched=False)


@dataclass(frozen=True)
class Size:
    campaigns: int = 200
    events: int = 10_000  # distinct; the duplicates come on top
    duplicate_share: float = 0.2  # of all deliveries
    swap_share: float = 0.1  # adjacent deliveries swapped: the older one arrives late
    senders: int = 32
    """Connections sending at once. VoIPBIN's webhook-manager sends every event from a goroutine
    of its own (bin-webhook-manager/pkg/webhookhandler/webhook.go, ``go func() { sendMessage }``),
    so at thousands of events a second its deliveries overlap on many connections."""
    few_senders: int = 4
    """The same ingest from this many connections: what a sender that waits more costs."""
    timeout_s: float = 120.0


FULL = Size()
TOY = Size(campaigns=5, events=100, senders=4, few_senders=2)
PROFILED = Size(events=2_000)


@dataclass(frozen=True)
class Check:
    lost: int
    applied_twice: int
    duplicates_seen: int
    stale: int
    wrong_final_state: int


@dataclass(frozen=True)
class Run:
    plan: Plan
    answers: list[Answer]
    seconds: float
    check: Check
    bare_seconds: float


async def ingest(size: Size, profile: list[str] | None = None, variant: Variant = NOW) -> Run:
    async with redis_space("ingest") as (redis, prefix):
        settings = Settings(
            redis_key_prefix=prefix, dialer="voipbin", host="127.0.0.1", log_level="WARNING"
        )
        voipbin = VoipbinDialer(
            VoipbinSettings(
                api_url="http://127.0.0.1:9/v1.0",  # status webhooks need no API call
                accesskey="unused",
                webhook_secret=WEBHOOK_SECRET,
            ),
            redis,
            key_prefix=prefix,
        )
        services = build_services(settings, redis=redis, dialer=voipbin)
        if not variant.batched:
            keys = services.store.keys
            services.store = CampaignStore(redis, keys, batch_applies=False)
            services.inbox = NotificationInbox(redis, keys, coalesce_publishes=False)
        store = services.store
        refs = [await store.issue_ref() for _ in range(size.campaigns)]
        events = plan(
            refs, size.events, duplicate_share=size.duplicate_share, swap_share=size.swap_share
        )
        for n, (ref, campaign_id) in enumerate(zip(refs, events.campaign_ids, strict=True)):
            await store_campaign(store, ref, f"Bench {n}", dialer="voipbin", dialer_id=campaign_id)
        before = await redis.xlen(store.keys.audit)
        requests = [webhook(event) for event in events.deliveries]
        server = BotServer(services)
        freeze_start_up_heap()  # as `campaign-bot serve` does once it is built
        try:
            async with serving_on_loopback(server) as url:
                sending = asyncio.create_task(run_load(url, requests, senders=size.senders))
                with profiling(profile) if profile is not None else contextlib.nullcontext():
                    await _until_audited(redis, store, before + len(requests), size.timeout_s)
                finished = time.time()
                answers = await sending
        finally:
            gc.unfreeze()  # this process goes on to other runs
        check = await _check(store, refs, events)
        bare = await _bare_pipeline(redis, prefix, events, store, refs)
    first_sent = min(answer.sent_at for answer in answers)
    return Run(events, answers, finished - first_sent, check, bare)


async def _until_audited(redis: Redis, store: CampaignStore, entries: int, timeout: float) -> None:
    """Every delivery leaves one audit entry once the consumer has handled it."""
    give_up = time.monotonic() + timeout
    while await redis.xlen(store.keys.audit) < entries and time.monotonic() < give_up:
        await asyncio.sleep(0.02)


async def _check(store: CampaignStore, refs: list[str], events: Plan) -> Check:
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    for entry in await store.audit_entries(count=len(events.deliveries) + len(refs) + 1):
        action = entry["action"]
        if action.startswith("notification:"):
            event_id = json.loads(entry["data"])["event"]["event_id"]
            outcomes[event_id][action.removeprefix("notification:")] += 1
    handled = {event_id: c["applied"] + c["stale"] for event_id, c in outcomes.items()}
    wrong = 0
    for index, newest in events.final_status().items():
        campaign = await store.get(refs[index])
        if campaign is None or (campaign.status.value, campaign.status_sequence) != (
            newest.status,
            newest.sequence,
        ):
            wrong += 1
    return Check(
        lost=sum(1 for event in events.events if handled.get(event.event_id, 0) == 0),
        applied_twice=sum(1 for count in handled.values() if count > 1),
        duplicates_seen=sum(c["duplicate"] for c in outcomes.values()),
        stale=sum(c["stale"] for c in outcomes.values()),
        wrong_final_state=wrong,
    )


async def _bare_pipeline(
    redis: Redis, prefix: str, events: Plan, store: CampaignStore, refs: list[str]
) -> float:
    """Seconds for redis-py alone to write what ingest writes per delivery, pipelined."""
    keys = Keys(f"{prefix}bare:")
    docs = {i: (await store.require(ref)).model_dump_json() for i, ref in enumerate(refs)}
    writes = []
    for event in events.deliveries:
        notification = status_notification(parse_envelope(event.body.encode()))
        payload = notification.model_dump_json()
        audit: dict[FieldT, EncodableT] = {
            "at": notification.occurred_at.isoformat(),
            "action": "notification:applied",
            "ref": refs[event.campaign],
            "actor": "voipbin",
            "data": json.dumps({"event": notification.model_dump(mode="json")}),
        }
        writes.append((event, payload, audit))
    started = time.perf_counter()
    for start in range(0, len(writes), PIPELINE_BATCH):
        async with redis.pipeline(transaction=False) as pipe:
            for event, payload, audit in writes[start : start + PIPELINE_BATCH]:
                pipe.xadd(
                    keys.notifications,
                    {"notification": payload},
                    maxlen=NOTIFICATION_STREAM_MAXLEN,
                    approximate=True,
                )
                pipe.set(keys.seen_event("voipbin", event.event_id), "1", ex=SEEN_EVENT_TTL)
                pipe.set(keys.campaign(refs[event.campaign]), docs[event.campaign])
                pipe.xadd(keys.audit, audit, maxlen=AUDIT_MAXLEN, approximate=True)
            await pipe.execute()
    return time.perf_counter() - started


async def reply_parsing(entries: int = 100, reads: int = 200) -> dict[str, float]:
    """CPU microseconds to read ``entries`` stream entries of a notification's size (what the
    consumer's XREADGROUP gets), with hiredis and with redis-py's own parser, side by side."""
    payload = json.dumps({"notification": "x" * 700})
    figures: dict[str, float] = {}
    async with redis_space("parse") as (redis, prefix):
        stream = f"{prefix}stream"
        async with redis.pipeline(transaction=False) as pipe:
            for _ in range(entries):
                pipe.xadd(stream, {"notification": payload})
            await pipe.execute()
        for name, parser in (("hiredis", _AsyncHiredisParser), ("redis_py", _AsyncRESP3Parser)):
            client = Redis.from_url(REDIS_URL, parser_class=parser, protocol=3)
            try:
                best = float("inf")
                for _ in range(3):
                    started = time.process_time()
                    for _ in range(reads):
                        await client.xrange(stream, count=entries)
                    best = min(best, time.process_time() - started)
            finally:
                await client.aclose()
            figures[f"{name}_us"] = round(best / reads * 1e6)
    return figures


async def run(size: Size = FULL, *, profile_size: Size | None = PROFILED) -> Figure:
    measured = await ingest(size)
    before = await ingest(size, variant=BEFORE)
    few = await ingest(dataclasses.replace(size, senders=size.few_senders))
    deliveries = len(measured.plan.deliveries)
    events_per_second = rate(deliveries, measured.seconds)
    bare_per_second = rate(deliveries, measured.bare_seconds)
    before_per_second = rate(deliveries, before.seconds)
    check = measured.check
    correct = all(
        c.lost == 0 and c.applied_twice == 0 and c.wrong_final_state == 0
        for c in (check, before.check, few.check)
    )
    statuses = Counter(answer.status for answer in measured.answers)
    result = figure(
        events_per_second,
        "events/s",
        f">= {TARGET_EVENTS_PER_SECOND:,} events/s end to end and >= {TARGET_RATIO_TO_BARE} of "
        "the bare pipeline, 0 lost, 0 applied twice",
        events_per_second >= TARGET_EVENTS_PER_SECOND
        and events_per_second >= TARGET_RATIO_TO_BARE * bare_per_second
        and correct,
        deliveries=deliveries,
        distinct_events=len(measured.plan.events),
        campaigns=size.campaigns,
        senders=size.senders,
        seconds=round(measured.seconds, 2),
        http_statuses={str(code): count for code, count in sorted(statuses.items())},
        lost=check.lost,
        applied_twice=check.applied_twice,
        duplicates_recognised=check.duplicates_seen,
        duplicates_sent=deliveries - len(measured.plan.events),
        stale_recognised=check.stale,
        wrong_final_state=check.wrong_final_state,
        bare_pipeline_events_per_second=round(bare_per_second),
        ratio_to_bare_pipeline=round(
            rate(round(events_per_second * 1000), bare_per_second) / 1000, 3
        ),
        before_events_per_second=round(before_per_second),
        before="one XADD and one transaction per notification, measured in the same run",
        before_lost=before.check.lost,
        before_applied_twice=before.check.applied_twice,
        before_bare_pipeline_events_per_second=round(rate(deliveries, before.bare_seconds)),
        speedup_over_before=round(
            rate(round(events_per_second * 1000), before_per_second) / 1000, 2
        ),
        few_senders=size.few_senders,
        few_senders_events_per_second=round(rate(deliveries, few.seconds)),
        few_senders_lost=few.check.lost,
        few_senders_applied_twice=few.check.applied_twice,
        reading_100_stream_entries_cpu=await reply_parsing(),
    )
    profile: list[str] = []
    if not result["met"] and profile_size is not None:
        await ingest(profile_size, profile)
    return missed(
        result,
        "CPU-bound in one Python process sharing 2 cores with the senders and Redis: per event "
        "an HTTP request (verified, parsed, validated) and its share of a coalesced XADD, then "
        "of a batched apply (one WATCH/MGET, then one EVAL in the MULTI); compare the load "
        "average, and more replicas (consumers in the group) is how it scales "
        "(profile: the bot process during a 2,000-event run)",
        profile,
    )
