"""The one HTTP kit every dialer adapter talks through: pacing, retries and the error table.

Four pieces, each in one place:

* ``RateLimiter`` — the in-process pacer (GCRA: a token bucket of ``burst`` tokens refilled at
  ``rate`` per second), with an injectable clock and sleep. The kit takes any
  ``dialer.limits.Pacer``: the adapters get theirs from ``AdapterContext.limits``, which in a
  deployment is the same GCRA in Redis, shared by every replica (``state.limiter``);
* ``RetryPolicy`` — how many times and how long: the server's ``Retry-After`` is waited out in
  full (never capped below what it asked) up to ``retry_after_max_seconds``; a longer ask fails
  the call at once as ``DialerRateLimited``/``DialerUnavailable`` carrying ``retry_after``, so the
  caller can tell the team lead when to come back. Without ``Retry-After`` the wait is
  exponential backoff with full jitter;
* ``DialerHttp.request`` — which requests are resent. Only those safe to repeat: GET, PUT and
  DELETE (an adapter may mark a call either way with ``safe=``, e.g. LiveVox's search is a POST
  that reads, its append is a PUT that adds), a request that never left (connection refused,
  connect or pool timeout) and a 429 (refused before anything was done). A POST that may have
  arrived (read timeout, 5xx) is resent only when the adapter supplies ``find_existing``, a "did
  it happen?" check (e.g. VoIPBIN looks up a campaign by the ref in its name); what it finds is
  the answer. Without one, the error goes up;
* ``error_for`` — one table from HTTP status to ``dialer.errors`` (``STATUS_ERRORS``, like
  httpx's ``HTTPCORE_EXC_MAP``), with the messages a team lead reads. Adapters add only a
  ``Vendor`` description and a small hook reading their error body (the vendor's message, and
  a vendor code that refines the class, e.g. Enigma's duplicate-contact code).

Who retries what. Every control call and read is retried here, and only here. A batch of leads
is not: the leads upload (``commands.leads.upload``) owns batch retries, because it records
which batches were attempted and acknowledged and recognises a batch that arrived despite an
error. It calls ``add_contacts`` inside ``retried_by_caller()``, and within that every request
is tried once (auth renewal aside) and its error, ``retry_after`` included, goes up to the
upload, which waits and resends the batch.
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from dialer.errors import (
    CampaignConflict,
    CampaignNotFound,
    DialerAuthError,
    DialerError,
    DialerProtocolError,
    DialerRateLimited,
    DialerRejected,
    DialerUnavailable,
    DuplicateContact,
    NotFound,
)
from dialer.limits import Pacer, busy

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
Finder = Callable[[], Awaitable[Any]]
"""Looks for what a POST would have made; returns it, or None when there is nothing."""

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport failures before a byte of the request left: resending cannot double anything."""

STATUS_ERRORS: Mapping[int, type[DialerError]] = {
    400: DialerRejected,
    401: DialerAuthError,
    402: DialerRejected,
    403: DialerAuthError,
    404: CampaignNotFound,
    409: CampaignConflict,
    422: DialerRejected,
    429: DialerRateLimited,
}
"""Status → error; any other 4xx is ``DialerRejected``, 5xx ``DialerUnavailable`` and anything
else that is not 2xx (a redirect) ``DialerProtocolError``."""


# -- pacing ------------------------------------------------------------------------------------


class RateLimiter:
    """GCRA in this process: calls at most ``rate`` per second on average, ``burst`` of them back
    to back. A ``dialer.limits.Pacer``; ``state.limiter.RedisGcra`` is the same shared by replicas.

    Callers are let through first come, first served; the gap is counted from when a call was
    really let through, so one that wakes late does not squeeze the next one closer. Idle time
    is not saved up beyond ``burst``.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: int = 1,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limiter needs a positive rate and a burst of at least one")
        self.interval = 1.0 / rate
        self._tolerance = (burst - 1) * self.interval
        self._clock = clock
        self._sleep = sleep
        self._tat = 0.0  # theoretical arrival time of the next call
        self._turn = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._turn:
            while (wait := self._tat - self._tolerance - self._clock()) > 0:
                await self._sleep(wait)
            self._tat = max(self._tat, self._clock()) + self.interval

    async def pause(self, seconds: float) -> None:
        """Nobody calls for ``seconds`` (the dialer answered 429 with ``Retry-After``)."""
        self._tat = max(self._tat, self._clock() + seconds + self._tolerance)


# -- retry policy ------------------------------------------------------------------------------


def backoff(attempt: int, *, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(cap, base · 2^attempt)] (attempt 0 is the first retry)."""
    return rng() * min(cap, base * 2.0**attempt)


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    """Extra attempts after the first."""
    backoff_seconds: float = 0.5
    backoff_max_seconds: float = 10.0
    retry_after_max_seconds: float = 60.0
    """The longest ``Retry-After`` waited out; a longer one fails the call and is carried on the
    error (``retry_after``) for the caller to pass on."""

    def delay(self, attempt: int, retry_after: float | None, rng: Callable[[], float]) -> float:
        if retry_after is not None:
            return retry_after
        return backoff(attempt, base=self.backoff_seconds, cap=self.backoff_max_seconds, rng=rng)


_CALLER_RETRIES: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "dialer_http_caller_retries", default=False
)


@contextmanager
def retried_by_caller() -> Iterator[None]:
    """Within this block the kit tries each request once: the caller owns the retries."""
    token = _CALLER_RETRIES.set(True)
    try:
        yield
    finally:
        _CALLER_RETRIES.reset(token)


def retry_after_of(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delta or HTTP date), or None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


# -- errors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VendorSaid:
    """What an adapter reads from its vendor's error body."""

    message: str | None = None
    kind: type[DialerError] | None = None
    """A finer class for a 4xx (e.g. ``DuplicateContact`` for a vendor's duplicate code)."""


def _nothing_said(response: httpx.Response) -> VendorSaid:
    return VendorSaid()


@dataclass(frozen=True)
class Vendor:
    name: str
    """The registry name, carried on every error (``error.dialer``)."""
    label: str
    """The dialer as a team lead knows it: ``VoIPBIN``, ``Enigma``…"""
    credentials: str
    """What to check when the credentials are refused, e.g. ``check ENIGMA_API_KEY``."""
    url_setting: str
    """The setting that points the bot at the dialer, named when the answers make no sense."""
    read_error: Callable[[httpx.Response], VendorSaid] = _nothing_said


def error_for(
    vendor: Vendor,
    response: httpx.Response,
    action: str,
    *,
    not_found: type[DialerRejected] = CampaignNotFound,
) -> DialerError:
    """The error a non-2xx answer stands for, worded for a team lead."""
    status = response.status_code
    said = vendor.read_error(response)
    kind = STATUS_ERRORS.get(status) or (
        DialerUnavailable
        if status >= 500
        else DialerRejected
        if 400 <= status < 500
        else DialerProtocolError
    )
    if kind is CampaignNotFound:
        kind = not_found
    if said.kind is not None and 400 <= status < 500 and status not in (401, 403, 429):
        kind = said.kind
    name, label = vendor.name, vendor.label
    tail = f" {label} said: {said.message}." if said.message else ""
    retry_after = retry_after_of(response)
    if kind is DialerRateLimited:
        when = f"; it asks to wait {retry_after:g} s" if retry_after is not None else ""
        return DialerRateLimited(
            f"{label} is rate limiting the bot (asked to {action}){when}; try again shortly.{tail}",
            dialer=name,
            retry_after=retry_after,
        )
    if kind is DialerUnavailable:
        when = f" It asks to wait {retry_after:g} s." if retry_after is not None else ""
        return DialerUnavailable(
            f"{label} is having trouble (HTTP {status}) when asked to {action}; try again in a "
            f"few minutes.{tail}{when}",
            dialer=name,
            retry_after=retry_after,
        )
    messages: dict[type[DialerError], str] = {
        DialerAuthError: (
            f"{label} refused the bot's credentials (HTTP {status}) when asked to {action}: "
            f"{vendor.credentials}, and whether the account has permission for this.{tail}"
        ),
        CampaignNotFound: (
            f"{label} has no such campaign (asked to {action}); it may have been deleted on "
            f"the dialer.{tail}"
        ),
        CampaignConflict: (
            f"{label} refused to {action}: it conflicts with the campaign's current state.{tail}"
        ),
        DuplicateContact: (
            f"{label} refused to {action}: a contact reference was used before.{tail} Contact "
            "references are never reused; upload the leads to a new campaign."
        ),
        DialerProtocolError: (
            f"{label} answered HTTP {status} when asked to {action}; check {vendor.url_setting}."
        ),
    }
    if status == 402:
        message = (
            f"{label} wants payment (HTTP 402) before it will {action}: the account needs to be "
            f"topped up.{tail}"
        )
    elif issubclass(kind, NotFound) and kind not in messages:
        message = f"{label} has nothing there (asked to {action}).{tail}"
    else:
        message = messages.get(kind, f"{label} refused to {action} (HTTP {status}).{tail}")
    return kind(message, dialer=name)


def transport_error(vendor: Vendor, exc: httpx.TransportError, action: str) -> DialerUnavailable:
    """A timeout or connection failure; says whether the request may have been applied."""
    what = (
        "did not answer in time"
        if isinstance(exc, httpx.TimeoutException) and not isinstance(exc, NEVER_SENT)
        else "could not be reached"
    )
    outcome = (
        "nothing was sent"
        if isinstance(exc, NEVER_SENT)
        else "the request may or may not have been applied"
    )
    return DialerUnavailable(
        f"{vendor.label} {what} ({type(exc).__name__}) when asked to {action}; {outcome}. "
        "Try again in a minute.",
        dialer=vendor.name,
    )


def decoded(vendor: Vendor, response: httpx.Response, action: str) -> Any:
    """The JSON of a 2xx answer; None when it is empty."""
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise DialerProtocolError(
            f"{vendor.label}'s answer to {action} is not JSON; check {vendor.url_setting} points "
            f"at {vendor.label}.",
            dialer=vendor.name,
        ) from exc


# -- the client --------------------------------------------------------------------------------


class DialerHttp:
    """One adapter's HTTP side: every request paced, retried by ``policy``, errors mapped."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        vendor: Vendor,
        *,
        policy: RetryPolicy | None = None,
        pacer: Pacer | None = None,
        auth: httpx.Auth | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.client = client
        self.vendor = vendor
        self.policy = policy or RetryPolicy()
        self.pacer = pacer
        self._auth = auth
        self._sleep = sleep
        self._rng = rng

    def error_for(
        self,
        response: httpx.Response,
        action: str,
        *,
        not_found: type[DialerRejected] = CampaignNotFound,
    ) -> DialerError:
        return error_for(self.vendor, response, action, not_found=not_found)

    async def request(
        self,
        method: str,
        path: str,
        *,
        action: str | None = None,
        json: object = None,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
        safe: bool | None = None,
        find_existing: Finder | None = None,
        not_found: type[DialerRejected] = CampaignNotFound,
        gone_is_done: bool = False,
    ) -> Any:
        """Send one request; return its decoded JSON (None when empty).

        ``safe``: repeating it changes nothing more (default: GET, PUT, DELETE).
        ``find_existing``: for a request that is not safe, looks for what it would have made;
        with it, a request whose outcome is unknown is resent only when nothing is found.
        ``not_found``: the error a 404 is (``CampaignNotFound`` unless told otherwise).
        ``gone_is_done``: a 404 after an attempt whose outcome is unknown means that attempt
        did the job (a delete that timed out after deleting).
        """
        method = method.upper()
        action = action or f"{method} {path}"
        safe = method in SAFE_METHODS if safe is None else safe
        retries = 0 if _CALLER_RETRIES.get() else self.policy.retries
        attempt = 0
        while True:
            if self.pacer is not None:
                try:
                    await self.pacer.acquire()
                except TimeoutError as exc:  # the bot's own pace is booked too far ahead
                    raise busy(exc, dialer=self.vendor.name, label=self.vendor.label) from exc
            try:
                response = await self.client.request(
                    method,
                    path,
                    json=json,
                    params=params,
                    headers=headers,
                    auth=self._auth if self._auth is not None else httpx.USE_CLIENT_DEFAULT,
                )
            except httpx.TransportError as exc:
                error: DialerError = transport_error(self.vendor, exc, action)
                cause: Exception = exc
                arrived = not isinstance(exc, NEVER_SENT)
                retry_after = None
            else:
                if response.is_success:
                    return decoded(self.vendor, response, action)
                error = self.error_for(response, action, not_found=not_found)
                cause = httpx.HTTPStatusError(
                    f"HTTP {response.status_code}", request=response.request, response=response
                )
                if gone_is_done and attempt > 0 and isinstance(error, NotFound):
                    return None
                arrived = response.status_code != 429
                retry_after = getattr(error, "retry_after", None)
            if not error.retryable or attempt >= retries:
                raise error from cause
            if retry_after is not None and retry_after > self.policy.retry_after_max_seconds:
                raise error from cause  # it carries retry_after: the caller says when to return
            if arrived and not safe and find_existing is None:
                raise error from cause  # it may have been applied: never resent blindly
            await self._sleep(self.policy.delay(attempt, retry_after, self._rng))
            attempt += 1
            if arrived and not safe and find_existing is not None:
                found = await find_existing()
                if found is not None:
                    return found
