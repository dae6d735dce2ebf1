"""``GET /metrics`` is valid Prometheus text (read back with ``prometheus_client``'s own parser),
with the documented names, types and labels; each replica counts in its own registry, so
replicas built in one process neither share nor double their counts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import fakeredis
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from bot.bootstrap import Services, build_services
from bot.metrics import AlertMetrics, Metrics, render_metrics
from bot.server import BotServer
from bot.settings import Settings
from dialer.simulator import SimulatorDialer
from state.domain import CampaignStatus
from tests.e2e.harness import FAST, serving_on_loopback

COUNTERS = {
    "campaign_bot_notifications": ("outcome",),
    "campaign_bot_slack_calls": ("method", "result"),
    "campaign_bot_dialer_calls": ("operation", "outcome"),
    "campaign_bot_leads_uploaded": (),
    "campaign_bot_webhook_buffer": ("outcome",),
    "campaign_bot_reconciled": (),
}
GAUGES = {
    "campaign_bot_campaigns": ("status",),
    "campaign_bot_removals_under_way": (),
    "campaign_bot_notification_stream_length": (),
    "campaign_bot_webhook_buffer_length": (),
}


def services(redis: fakeredis.FakeAsyncRedis | None = None) -> Services:
    settings = Settings(redis_key_prefix=f"test:{uuid.uuid4().hex[:8]}:", host="127.0.0.1")
    return build_services(
        settings, redis=redis or fakeredis.FakeAsyncRedis(), dialer=SimulatorDialer(FAST)
    )


def samples(text: str) -> dict[str, list[Sample]]:
    """Family name -> its samples, as Prometheus would read the page."""
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def types(text: str) -> dict[str, str]:
    return {family.name: family.type for family in text_string_to_metric_families(text)}


@pytest.fixture
async def http() -> AsyncIterator[tuple[Services, httpx.AsyncClient]]:
    replica = services()
    bot = BotServer(replica)
    async with serving_on_loopback(bot) as url, httpx.AsyncClient(base_url=url) as client:
        yield replica, client


async def test_metrics_page_parses_with_every_documented_family_and_label(
    http: tuple[Services, httpx.AsyncClient],
) -> None:
    replica, client = http
    replica.metrics.notifications.inc(outcome="applied")
    replica.metrics.slack_calls.inc(method="chat.postMessage", result="ok")
    replica.metrics.dialer_calls.inc(operation="start", outcome="ok")
    replica.metrics.webhook_buffer.inc(2, outcome="buffered")

    answer = await client.get("/metrics")

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    found = types(answer.text)
    assert {name: found.get(name) for name in COUNTERS} == dict.fromkeys(COUNTERS, "counter")
    assert {name: found.get(name) for name in GAUGES} == dict.fromkeys(GAUGES, "gauge")
    page = samples(answer.text)
    for name, labels in {**COUNTERS, **GAUGES}.items():
        assert all(set(s.labels) == set(labels) for s in page[name]), name
    statuses = {s.labels["status"]: s.value for s in page["campaign_bot_campaigns"]}
    assert statuses == {status.value: 0 for status in CampaignStatus}
    assert not [name for name in page if name.endswith("_created")]


async def test_counters_are_named_with_total_and_count_what_was_done(
    http: tuple[Services, httpx.AsyncClient],
) -> None:
    replica, client = http
    replica.metrics.leads_uploaded.inc(250)
    replica.metrics.dialer_calls.inc(operation="add_contacts", outcome="ok")
    replica.metrics.dialer_calls.inc(operation="add_contacts", outcome="dialer_unavailable")

    page = samples((await client.get("/metrics")).text)

    assert [(s.name, s.value) for s in page["campaign_bot_leads_uploaded"]] == [
        ("campaign_bot_leads_uploaded_total", 250.0)
    ]
    calls = {s.labels["outcome"]: s.value for s in page["campaign_bot_dialer_calls"]}
    assert calls == {"ok": 1.0, "dialer_unavailable": 1.0}


async def test_two_replicas_in_one_process_keep_their_own_counts_which_sum() -> None:
    first, second = services(), services()
    first.metrics.notifications.inc(3, outcome="applied")
    second.metrics.notifications.inc(4, outcome="applied")
    second.metrics.notifications.inc(outcome="duplicate")

    pages = [samples(await render_metrics(replica, None)) for replica in (first, second)]

    applied = [
        s.value
        for page in pages
        for s in page["campaign_bot_notifications"]
        if s.labels == {"outcome": "applied"}
    ]
    assert applied == [3.0, 4.0]
    assert sum(applied) == 7.0
    assert first.metrics.notifications.total() == 3.0
    assert second.metrics.notifications.value(outcome="duplicate") == 1.0


async def test_alert_worker_counters_appear_when_slack_runs() -> None:
    replica = services()
    alerts = AlertMetrics(slack_calls=5, rate_limited=1)

    page = samples(await render_metrics(replica, alerts))

    assert page["campaign_bot_alerts_slack_calls"][0].value == 5.0
    assert page["campaign_bot_alerts_rate_limited"][0].name == (
        "campaign_bot_alerts_rate_limited_total"
    )


async def test_without_redis_the_page_still_parses_with_the_counters_only() -> None:
    redis = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    redis.connection_pool.connection_kwargs["server"].connected = False
    replica = services(redis)
    replica.metrics.reconciliations.inc()

    text = await render_metrics(replica, None, redis_deadline=0.5)

    page = samples(text)
    assert text.startswith("# campaign gauges left out: Redis is not answering")
    assert "campaign_bot_campaigns" not in page
    assert page["campaign_bot_reconciled"][0].value == 1.0
    assert page["campaign_bot_webhook_buffer_length"][0].value == 0.0


def test_a_count_with_the_wrong_labels_is_refused() -> None:
    metrics = Metrics()
    with pytest.raises(ValueError, match="takes labels"):
        metrics.dialer_calls.inc(operation="start")
    with pytest.raises(ValueError, match="takes labels"):
        metrics.leads_uploaded.inc(outcome="ok")
