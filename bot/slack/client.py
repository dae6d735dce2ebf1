"""The Slack Web API client every part of the bot uses, with slack_sdk's own retry handlers.

- 429: ``RateLimitRetry`` (slack_sdk's ``AsyncRateLimitErrorRetryHandler``) waits ``Retry-After``
  and sends the same call again. It also notes, per method, until when Slack asked to wait
  (``RateLimits``), so the alert workers of other channels hold off too, and counts each 429.
- 5xx: ``ServerErrorRetry`` (slack_sdk's ``AsyncServerErrorRetryHandler``, widened to every 5xx)
  tries again after a short backoff.
- A dropped connection: slack_sdk's ``AsyncConnectionErrorRetryHandler``.

All of them share one count of attempts per call (slack_sdk's ``RetryState``), so one call is
tried at most ``1 + MAX_RATE_LIMIT_RETRIES`` times. Pacing per channel (about one message per
second) is not the SDK's business: ``bot.alerts`` does it.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient

from bot.metrics import Metrics

log = logging.getLogger(__name__)

MAX_RATE_LIMIT_RETRIES = 4
MAX_SERVER_ERROR_RETRIES = 2
MAX_CONNECTION_RETRIES = 2
DEFAULT_RETRY_AFTER = 1.0

OnRateLimit = Callable[[str, float], None]
_listener: contextvars.ContextVar[OnRateLimit | None] = contextvars.ContextVar(
    "slack_rate_limit_listener", default=None
)


@contextlib.contextmanager
def on_rate_limit(listener: OnRateLimit) -> Iterator[None]:
    """Call ``listener(method, retry_after)`` for each 429 the calls made inside meet."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


class RateLimits:
    """Until when Slack asked not to call each method again (its 429s' ``Retry-After``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._free_at: dict[str, float] = {}

    def hit(self, method: str, retry_after: float) -> None:
        self._free_at[method] = max(self._free_at.get(method, 0.0), self._clock() + retry_after)

    def free_at(self, method: str) -> float:
        """The ``time.monotonic()`` from which ``method`` may be called again (0: at once)."""
        return self._free_at.get(method, 0.0)


def method_of(request: HttpRequest) -> str:
    return request.url.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]


def retry_after_of(response: HttpResponse) -> float:
    for name, values in response.headers.items():
        if name.lower() == "retry-after" and values:
            try:
                return max(float(values[0]), 0.0)
            except ValueError:
                break
    return DEFAULT_RETRY_AFTER


class RateLimitRetry(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler, which also records and counts each 429."""

    def __init__(
        self,
        limits: RateLimits,
        metrics: Metrics | None = None,
        max_retry_count: int = MAX_RATE_LIMIT_RETRIES,
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.limits = limits
        self.metrics = metrics

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is not None and response.status_code == 429:
            method, delay = method_of(request), retry_after_of(response)
            self.limits.hit(method, delay)
            if self.metrics is not None:
                self.metrics.slack_calls.inc(method=method, result="ratelimited")
            listener = _listener.get()
            if listener is not None:
                listener(method, delay)
            log.warning("Slack rate-limited %s; trying again in %.0f s", method, delay)
        return await super().can_retry_async(
            state=state, request=request, response=response, error=error
        )


class ServerErrorRetry(AsyncServerErrorRetryHandler):
    """slack_sdk's server error handler, for every 5xx (502 and 504 pass too)."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code >= 500


def retry_handlers(limits: RateLimits, metrics: Metrics | None = None) -> list[AsyncRetryHandler]:
    backoff = BackoffRetryIntervalCalculator(backoff_factor=0.5)
    return [
        AsyncConnectionErrorRetryHandler(
            max_retry_count=MAX_CONNECTION_RETRIES, interval_calculator=backoff
        ),
        RateLimitRetry(limits, metrics),
        ServerErrorRetry(max_retry_count=MAX_SERVER_ERROR_RETRIES, interval_calculator=backoff),
    ]


def with_retries(
    client: AsyncWebClient, metrics: Metrics | None = None, limits: RateLimits | None = None
) -> AsyncWebClient:
    """Give ``client`` the bot's retry handlers; ``rate_limits_of(client)`` is then shared."""
    limits = limits or RateLimits()
    client.retry_handlers = retry_handlers(limits, metrics)
    client.rate_limits = limits  # type: ignore[attr-defined]
    return client


def rate_limits_of(client: AsyncWebClient) -> RateLimits:
    """The 429 ledger of a client built by ``with_retries`` (a fresh one for any other)."""
    limits: Any = getattr(client, "rate_limits", None)
    return limits if isinstance(limits, RateLimits) else RateLimits()
