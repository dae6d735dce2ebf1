"""A Pub/Sub subscription to Enigma's Redis that survives that Redis going away.

redis-py would silently reconnect and re-subscribe on its own; the bot needs to *know* about every
gap, because packets published during a gap are lost for good (Pub/Sub keeps nothing). So the
client's own retries are off, each connection is a fresh client, and every time the subscription
is (re-)established ``on_listening`` runs — the adapter reconciles there.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

MessageHandler = Callable[[str, bytes], Awaitable[None]]
ListeningHook = Callable[[], Coroutine[Any, Any, None]]

# Notice a dialer host that vanished without closing the connection within about half a minute.
_KEEPALIVE = {
    option: value
    for name, value in (("TCP_KEEPIDLE", 15), ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 3))
    if (option := getattr(socket, name, None)) is not None
}


class DeliveryFailed(Exception):
    """The bot could not take a notification: resubscribe, so the reconcile makes up for it."""


@dataclass(frozen=True)
class Backoff:
    initial_seconds: float = 0.5
    max_seconds: float = 30.0

    def delay(self, failures: int) -> float:
        return min(self.initial_seconds * 2.0**failures, self.max_seconds)


class ResilientSubscriber:
    def __init__(
        self,
        redis_url: str,
        patterns: Sequence[str],
        backoff: Backoff,
        connect_timeout: float = 5.0,
    ) -> None:
        self._redis_url = redis_url
        self._patterns = tuple(patterns)
        self._backoff = backoff
        self._connect_timeout = connect_timeout
        self.listening = asyncio.Event()
        self._reached_listening = False

    async def run(self, on_message: MessageHandler, on_listening: ListeningHook) -> NoReturn:
        failures = 0
        while True:
            self._reached_listening = False
            try:
                await self._session(on_message, on_listening)
            except (RedisError, OSError, DeliveryFailed) as exc:
                failures = 0 if self._reached_listening else failures + 1
                delay = self._backoff.delay(failures)
                log.warning(
                    "Enigma notifications interrupted (%s: %s); resubscribing in %.1fs",
                    type(exc).__name__,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _session(self, on_message: MessageHandler, on_listening: ListeningHook) -> NoReturn:
        client = self._client()
        pubsub = client.pubsub()
        listening_task: asyncio.Task[None] | None = None
        try:
            await pubsub.psubscribe(*self._patterns)
            confirmed = 0
            while True:
                message = await pubsub.get_message(timeout=None)
                if message is None:
                    continue
                if message["type"] == "psubscribe":
                    confirmed += 1
                    if confirmed == len(self._patterns):
                        self._reached_listening = True
                        self.listening.set()
                        log.info("Listening to Enigma notifications on %s", self._patterns)
                        listening_task = asyncio.create_task(on_listening())
                elif message["type"] == "pmessage":
                    await on_message(_text(message["channel"]), message["data"])
        finally:
            self.listening.clear()
            if listening_task is not None:
                listening_task.cancel()
                await asyncio.gather(listening_task, return_exceptions=True)
            await _close_quietly(pubsub, client)

    def _client(self) -> Redis:
        return Redis.from_url(
            self._redis_url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=self._connect_timeout,
            socket_keepalive=True,
            socket_keepalive_options=_KEEPALIVE,
        )


async def _close_quietly(pubsub: PubSub, client: Redis) -> None:
    # The server may be gone already; closing must not replace the error that brought us here.
    with contextlib.suppress(RedisError, OSError):
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # untyped in redis-py
    with contextlib.suppress(RedisError, OSError):
        await client.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
