"""Every figure ``GET /metrics`` shows, defined in one place, exposed with ``prometheus_client``.

Counters are per replica: each ``Metrics`` has its own registry (never the library's global
one), so each replica counts what it did, Prometheus sums replicas, and tests can build several
in one process. Gauges are read from Redis when scraped, so every replica shows the same
campaigns and backlog.

    notifications_total{outcome}          applied, duplicate, stale, ignored; and rejected:
                                          webhook deliveries refused (forged, unreadable)
    slack_calls_total{method,result}      every Web API call: ok, error, ratelimited (429),
                                          unreachable
    dialer_calls_total{operation,outcome} ok, or the kind of DialerError (dialer_unavailable…)
    leads_uploaded_total                  contacts the dialer accepted
    alerts_*_total                        the channel alert worker (``AlertMetrics``)
    webhook_buffer_total{outcome}         webhook notifications kept while Redis was away:
                                          buffered, flushed, refused
    reconciled_total                      statuses corrected from the dialer after an outage
    campaigns{status}, removals_under_way, notification_stream_length, webhook_buffer_length:
                                          gauges

Every name starts with ``campaign_bot_``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Protocol

import prometheus_client
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from redis.asyncio import Redis
from redis.exceptions import RedisError

from state.domain import CampaignStatus
from state.inbox import NotificationInbox
from state.store import CampaignStore

PREFIX = "campaign_bot_"
CONTENT_TYPE = prometheus_client.CONTENT_TYPE_LATEST
REDIS_LEFT_OUT = "# campaign gauges left out: Redis is not answering\n"


class Counter:
    """One counter of a replica's registry, by label values. ``inc`` takes the labels by name
    and refuses a wrong set, as every instrumented place calls it."""

    def __init__(
        self,
        registry: CollectorRegistry,
        name: str,
        help_text: str,
        labels: tuple[str, ...] = (),
    ) -> None:
        self.name = PREFIX + name
        self.labels = labels
        self._registry = registry
        self._counter = prometheus_client.Counter(self.name, help_text, labels, registry=registry)

    def inc(self, amount: float = 1, **labels: str) -> None:
        if set(labels) != set(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, not {tuple(labels)}")
        (self._counter.labels(**labels) if labels else self._counter).inc(amount)

    def value(self, **labels: str) -> float:
        return self._registry.get_sample_value(self.name, labels) or 0.0

    def total(self) -> float:
        return sum(
            sample.value
            for family in self._counter.collect()
            for sample in family.samples
            if sample.name == self.name
        )


class Metrics:
    """A replica's counters in its own registry; ``Services`` holds one, the instrumented
    places count into it."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.notifications = Counter(
            self.registry,
            "notifications_total",
            "Dialer notifications by what became of them.",
            ("outcome",),
        )
        self.slack_calls = Counter(
            self.registry,
            "slack_calls_total",
            "Slack Web API calls by method and result.",
            ("method", "result"),
        )
        self.dialer_calls = Counter(
            self.registry,
            "dialer_calls_total",
            "Dialer API calls by operation and outcome.",
            ("operation", "outcome"),
        )
        self.leads_uploaded = Counter(
            self.registry, "leads_uploaded_total", "Contacts the dialer accepted."
        )
        self.webhook_buffer = Counter(
            self.registry,
            "webhook_buffer_total",
            "Webhook notifications kept in memory while Redis was away: buffered, flushed to the "
            "inbox, or refused (buffer full).",
            ("outcome",),
        )
        self.reconciliations = Counter(
            self.registry,
            "reconciled_total",
            "Campaign statuses corrected from the dialer's own list after a Redis outage.",
        )

    def counters(self) -> tuple[Counter, ...]:
        return (
            self.notifications,
            self.slack_calls,
            self.dialer_calls,
            self.leads_uploaded,
            self.webhook_buffer,
            self.reconciliations,
        )


@dataclass
class AlertMetrics:
    """The channel alert worker's counters."""

    slack_calls: int = 0
    rate_limited: int = 0
    slack_errors: int = 0
    alerts_queued: int = 0
    alerts_merged: int = 0
    cards_coalesced: int = 0
    dropped: int = 0


_ALERT_HELP = {
    "slack_calls": "Slack calls the channel alert worker made.",
    "rate_limited": "Slack calls of the alert worker answered 429.",
    "slack_errors": "Slack calls of the alert worker that failed otherwise.",
    "alerts_queued": "Status alerts queued for a channel.",
    "alerts_merged": "Queued alerts merged into one message.",
    "cards_coalesced": "Campaign card updates folded into a later one.",
    "dropped": "Alerts dropped (no channel, or the channel refused them).",
}


class _Scrape:
    """What one scrape shows: the replica's counters, then the figures read for it."""

    def __init__(self, registry: CollectorRegistry, read_now: list[Metric]) -> None:
        self._registry = registry
        self._read_now = read_now

    def collect(self) -> Iterable[Metric]:
        yield from self._read_now
        for family in self._registry.collect():
            # prometheus_client adds a ``_created`` timestamp beside each counter; the bot has
            # never shown one, so the series stay those documented above.
            family.samples = [s for s in family.samples if not s.name.endswith("_created")]
            yield family


class MetricSources(Protocol):
    """What a scrape reads: ``bot.services.Services`` is one. Named here rather than imported,
    as ``Services`` holds this module's ``Metrics``."""

    @property
    def redis(self) -> Redis: ...
    @property
    def store(self) -> CampaignStore: ...
    @property
    def inbox(self) -> NotificationInbox: ...
    @property
    def metrics(self) -> Metrics: ...


async def render_metrics(
    services: MetricSources,
    alerts: AlertMetrics | None,
    buffered: int = 0,
    *,
    redis_deadline: float = 1.5,
) -> str:
    """The figures an operator watches, in Prometheus' text format. The gauges read from Redis
    are left out while it does not answer; the counters are always there."""
    read_now: list[Metric] = []
    try:
        async with asyncio.timeout(redis_deadline):
            live = await services.store.list_live()
            backlog = await services.redis.xlen(services.inbox.stream)
    except (RedisError, OSError, TimeoutError):
        head = REDIS_LEFT_OUT
    else:
        head = ""
        campaigns = GaugeMetricFamily(
            PREFIX + "campaigns", "Live campaigns by status.", labels=("status",)
        )
        for status in CampaignStatus:
            campaigns.add_metric((status.value,), sum(1 for c in live if c.status is status))
        read_now.append(campaigns)
        read_now.append(
            _gauge(
                "removals_under_way",
                "Campaigns with a removal under way.",
                sum(1 for c in live if c.removal),
            )
        )
        read_now.append(
            _gauge("notification_stream_length", "Dialer notifications not yet applied.", backlog)
        )
    read_now.append(
        _gauge(
            "webhook_buffer_length",
            "Webhook notifications waiting in this replica's memory for Redis.",
            buffered,
        )
    )
    if alerts is not None:
        for name, value in asdict(alerts).items():
            read_now.append(
                CounterMetricFamily(f"{PREFIX}alerts_{name}_total", _ALERT_HELP[name], value)
            )
    body = generate_latest(_Scrape(services.metrics.registry, read_now)).decode()
    return head + body


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(PREFIX + name, help_text, value=value)
