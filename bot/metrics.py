"""Every figure ``GET /metrics`` shows, defined in one place, and their Prometheus text.

Counters are per process (each replica counts what it did; Prometheus sums replicas). Gauges are
read from Redis when scraped, so every replica shows the same campaigns and backlog.

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
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from dialer.models import CampaignStatus

if TYPE_CHECKING:
    from bot.bootstrap import Services

PREFIX = "campaign_bot_"


class Counter:
    """A monotonically increasing count per combination of label values."""

    def __init__(self, name: str, help_text: str, labels: tuple[str, ...] = ()) -> None:
        self.name = PREFIX + name
        self.help_text = help_text
        self.labels = labels
        self._values: dict[tuple[str, ...], float] = {}

    def inc(self, amount: float = 1, **labels: str) -> None:
        if set(labels) != set(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, not {tuple(labels)}")
        key = tuple(labels[name] for name in self.labels)
        self._values[key] = self._values.get(key, 0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(tuple(labels[name] for name in self.labels), 0)

    def total(self) -> float:
        return sum(self._values.values())

    def lines(self) -> Iterator[str]:
        yield f"# HELP {self.name} {self.help_text}"
        yield f"# TYPE {self.name} counter"
        if not self.labels:
            yield f"{self.name} {_number(self.total())}"
            return
        for key, value in sorted(self._values.items()):
            pairs = ",".join(f'{n}="{_label(v)}"' for n, v in zip(self.labels, key, strict=True))
            yield f"{self.name}{{{pairs}}} {_number(value)}"


@dataclass
class Metrics:
    """The process's counters; ``Services`` holds one, the instrumented places count into it."""

    notifications: Counter = field(
        default_factory=lambda: Counter(
            "notifications_total", "Dialer notifications by what became of them.", ("outcome",)
        )
    )
    slack_calls: Counter = field(
        default_factory=lambda: Counter(
            "slack_calls_total", "Slack Web API calls by method and result.", ("method", "result")
        )
    )
    dialer_calls: Counter = field(
        default_factory=lambda: Counter(
            "dialer_calls_total",
            "Dialer API calls by operation and outcome.",
            ("operation", "outcome"),
        )
    )
    leads_uploaded: Counter = field(
        default_factory=lambda: Counter("leads_uploaded_total", "Contacts the dialer accepted.")
    )
    webhook_buffer: Counter = field(
        default_factory=lambda: Counter(
            "webhook_buffer_total",
            "Webhook notifications kept in memory while Redis was away: buffered, flushed to the "
            "inbox, or refused (buffer full).",
            ("outcome",),
        )
    )
    reconciliations: Counter = field(
        default_factory=lambda: Counter(
            "reconciled_total",
            "Campaign statuses corrected from the dialer's own list after a Redis outage.",
        )
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


async def render_metrics(
    services: Services,
    alerts: AlertMetrics | None,
    buffered: int = 0,
    *,
    redis_deadline: float = 1.5,
) -> str:
    """The figures an operator watches, in Prometheus' text format. The gauges read from Redis
    are left out while it does not answer; the counters are always there."""
    lines = []
    try:
        async with asyncio.timeout(redis_deadline):
            live = await services.store.list_live()
            backlog = await services.redis.xlen(services.inbox.stream)
    except (RedisError, OSError, TimeoutError):
        lines.append("# campaign gauges left out: Redis is not answering")
    else:
        lines.append("# TYPE campaign_bot_campaigns gauge")
        for status in CampaignStatus:
            count = sum(1 for c in live if c.status is status)
            lines.append(f'campaign_bot_campaigns{{status="{status.value}"}} {count}')
        lines.append("# TYPE campaign_bot_removals_under_way gauge")
        lines.append(f"campaign_bot_removals_under_way {sum(1 for c in live if c.removal)}")
        lines.append("# TYPE campaign_bot_notification_stream_length gauge")
        lines.append(f"campaign_bot_notification_stream_length {backlog}")
    lines.append("# TYPE campaign_bot_webhook_buffer_length gauge")
    lines.append(f"campaign_bot_webhook_buffer_length {buffered}")
    for counter in services.metrics.counters():
        lines.extend(counter.lines())
    if alerts is not None:
        for name, value in asdict(alerts).items():
            lines.append(f"# TYPE campaign_bot_alerts_{name}_total counter")
            lines.append(f"campaign_bot_alerts_{name}_total {value}")
    return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
