"""The bot's durable inbox of dialer notifications: a Redis Stream read by a consumer group.

Adapters ``publish`` what their dialer reports and the webhook answers 200 at once; any replica's
consumer then applies it. Each entry is acknowledged only after its handler returned, so a
consumer that dies mid-way leaves its entries pending, and another consumer claims them once they
have been idle for ``claim_idle``. The handler (``CampaignStore.apply_notification`` and the
effects) is idempotent, so an entry handled twice after such a claim changes nothing twice.

With ``wait_replicas`` (a primary with replicas, e.g. under Sentinel) ``publish`` returns only once
that many replicas hold the entry (``WAIT``), so a failover right after a webhook was answered does
not lose it. Nothing else needs it: a change the entry led to is replicated before the entry's
acknowledgement (one replication stream, in order), so a failover that loses the change loses the
acknowledgement too, and the entry is claimed and applied again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from state.cancellation import cancellation_requested, raise_if_cancelled
from state.coalesce import Coalescer
from state.connection import is_cluster, runs_lua
from state.domain import DialerNotification
from state.keys import NOTIFICATION_STREAM_MAXLEN, Keys

log = logging.getLogger(__name__)

Handler = Callable[[DialerNotification], Awaitable[object]]
FIELD = "notification"
IDLE_PAUSE = 0.02
INBOX_BLOCK_SECONDS = 1.0
"""How long the consumer's XREADGROUP blocks; Redis clients' socket timeouts must be longer."""
WAIT_TIMEOUT = timedelta(seconds=1)
"""How long ``publish`` waits for the replicas (``wait_replicas``) before it fails."""
# KEYS[1]: the stream. ARGV: its MAXLEN (approximate), then one notification's JSON each.
PUBLISH = f"""
for i = 2, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', '{FIELD}', ARGV[i])
end
return #ARGV - 1
"""


class NotReplicated(RedisError):
    """The entry was written, but fewer replicas than required acknowledged it in time: the
    caller answers as if Redis were unavailable, and the dialer's redelivery is a duplicate."""


class NotificationInbox:
    def __init__(
        self,
        redis: Redis,
        keys: Keys | None = None,
        *,
        group: str = "appliers",
        claim_idle: timedelta = timedelta(seconds=30),
        maxlen: int = NOTIFICATION_STREAM_MAXLEN,
        wait_replicas: int = 0,
        coalesce_publishes: bool = True,
    ) -> None:
        if wait_replicas and is_cluster(redis):
            raise ValueError(
                "REDIS_WAIT_REPLICAS is for a primary with replicas (one Redis or Sentinel); on a "
                "Redis Cluster set it to 0 and rely on the cluster's own replication"
            )
        self.redis = redis
        self.stream = (keys or Keys()).notifications
        self.group = group
        self._claim_idle_ms = int(claim_idle.total_seconds() * 1000)
        self._maxlen = maxlen
        self._wait_replicas = wait_replicas
        self._one_command = runs_lua(redis)
        self._publishing: Coalescer[DialerNotification, None] | None = None
        if coalesce_publishes:
            self._publishing = Coalescer(self._publish_batch)
        # Entries become claimable only after claim_idle, so looking twice as often is enough.
        self._claim_every = claim_idle.total_seconds() / 2
        self._next_claim = 0.0

    async def publish(self, notification: DialerNotification) -> None:
        """Append ``notification``; with ``wait_replicas``, return once replicated (else raise
        ``NotReplicated``). Concurrent publishes (several webhooks) share one round trip."""
        if self._publishing is None:
            (failure,) = await self._publish_batch([notification])
            if failure is not None:
                raise failure
            return
        await self._publishing.submit(notification)

    async def _publish_batch(
        self, notifications: list[DialerNotification]
    ) -> list[BaseException | None]:
        payloads = [notification.model_dump_json() for notification in notifications]
        # WAIT counts this connection's writes, so it goes down the same connection.
        async with self.redis.pipeline(transaction=False) as pipe:
            if self._one_command:  # one command of N payloads packs far cheaper than N XADDs
                pipe.eval(PUBLISH, 1, self.stream, self._maxlen, *payloads)
            else:
                for payload in payloads:
                    fields: dict[Any, Any] = {FIELD: payload}
                    pipe.xadd(self.stream, fields, maxlen=self._maxlen, approximate=True)
            if self._wait_replicas:
                pipe.wait(self._wait_replicas, int(WAIT_TIMEOUT.total_seconds() * 1000))
            results = await pipe.execute()
        if self._wait_replicas and results[-1] < self._wait_replicas:
            return [
                NotReplicated(
                    f"notification {notification.event_id} reached {results[-1]} of "
                    f"{self._wait_replicas} replicas (REDIS_WAIT_REPLICAS) in {WAIT_TIMEOUT}"
                )
                for notification in notifications
            ]
        return [None] * len(notifications)

    async def ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def process(
        self, consumer: str, handle: Handler, *, count: int = 100, block_ms: int | None = None
    ) -> int:
        """Handle what is waiting: entries abandoned by dead consumers first, then new ones.

        Returns how many entries were handled (and acknowledged).
        """
        entries: list[Any] = []
        if time.monotonic() >= self._next_claim:
            claimed: Any = await self.redis.xautoclaim(
                self.stream, self.group, consumer, self._claim_idle_ms, start_id="0-0", count=count
            )
            entries = list(claimed[1])
            # A full page may leave more behind: look again next round.
            self._next_claim = (
                0.0 if len(entries) >= count else time.monotonic() + self._claim_every
            )
        if not entries:
            fresh: Any = await self.redis.xreadgroup(
                self.group, consumer, {self.stream: ">"}, count=count, block=block_ms
            )
            entries = [entry for _, stream_entries in fresh or [] for entry in stream_entries]
        acknowledge: list[Any] = []
        by_campaign: dict[str, list[tuple[Any, DialerNotification]]] = defaultdict(list)
        for entry_id, fields in entries:
            notification = None if fields is None else _parse(entry_id, fields)
            if notification is None:
                acknowledge.append(entry_id)  # trimmed away while pending, or unreadable
            else:
                by_campaign[_campaign_key(notification)].append((entry_id, notification))
        handled: list[Any] = []

        async def handle_in_order(items: list[tuple[Any, DialerNotification]]) -> None:
            for entry_id, notification in items:
                try:
                    await handle(notification)
                except RedisError:
                    raise
                except Exception:
                    # Left pending: claimed and retried once idle, never lost.
                    log.exception("notification inbox: handling %s failed", entry_id)
                    continue
                handled.append(entry_id)

        # Campaigns are independent, so they are handled side by side; one campaign's
        # notifications keep their order (the store would cope, but alerts read better).
        try:
            await asyncio.gather(*(handle_in_order(items) for items in by_campaign.values()))
        finally:
            if acknowledge or handled:
                await self.redis.xack(self.stream, self.group, *acknowledge, *handled)
        return len(handled)

    async def run(
        self,
        consumer: str,
        handle: Handler,
        *,
        block_ms: int = int(INBOX_BLOCK_SECONDS * 1000),
        on_recovered: Callable[[], None] | None = None,
    ) -> None:
        """Consume until cancelled, riding out Redis outages with a capped backoff;
        ``on_recovered`` is called each time Redis answers again after an outage."""
        await self.ensure_group()
        backoff = 0.1
        failing = False
        while True:
            raise_if_cancelled()
            try:
                if not await self.process(consumer, handle, block_ms=block_ms):
                    # Idle. A real Redis already blocked for block_ms; an in-memory one
                    # returns at once, and must not starve the event loop.
                    await asyncio.sleep(IDLE_PAUSE)
                backoff = 0.1
                if failing:
                    failing = False
                    if on_recovered is not None:
                        on_recovered()
            except RedisError as exc:
                failing = True
                if cancellation_requested():
                    # redis-py can turn a cancellation that lands mid-command into a
                    # connection error; the cancellation must still end the loop.
                    raise asyncio.CancelledError from exc
                log.warning("notification inbox: Redis unavailable (%s); retrying", exc)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                with contextlib.suppress(RedisError):
                    await self.ensure_group()  # a restarted Redis without persistence lost it


def _campaign_key(notification: DialerNotification) -> str:
    return notification.campaign_ref or f"{notification.dialer}:{notification.dialer_campaign_id}"


def _parse(entry_id: object, fields: dict[bytes | str, bytes | str]) -> DialerNotification | None:
    raw = fields.get(FIELD.encode()) or fields.get(FIELD)
    try:
        return DialerNotification.model_validate_json(raw or b"")
    except ValidationError:
        log.error("notification inbox: dropping unreadable entry %s", entry_id)
        return None
