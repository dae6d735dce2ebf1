"""Enigma's HTTP API: one call with retries, and every failure translated into ``dialer.errors``.

    httpx.TransportError (timeout, refused…)  -> DialerUnavailable
    5xx                                       -> DialerUnavailable
    429                                       -> DialerRateLimited (``Retry-After`` honoured)
    401, 403                                  -> DialerAuthError
    404                                       -> CampaignNotFound
    409 with the duplicate-contact code       -> DuplicateContact
    409 otherwise                             -> CampaignConflict
    other 4xx                                 -> DialerRejected
    unreadable 2xx body, redirects            -> DialerProtocolError

Retries back off exponentially. A 429 and a request that never reached Enigma (connection
refused, connect timeout) are always retried; 5xx and read timeouts only for idempotent calls,
since a non-idempotent one may already have been applied.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from typing import Any

import httpx

from dialer.enigma.packets import DIALER_NAME
from dialer.enigma.wire import WIRE, Route, error_from_json
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
)

log = logging.getLogger(__name__)

_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    retries: int = 3
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 10.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_backoff_seconds)
        ceiling = min(self.backoff_seconds * 2.0**attempt, self.max_backoff_seconds)
        return random.uniform(ceiling / 2, ceiling)  # jitter: replicas do not retry in step


def error_for_response(response: httpx.Response, action: str) -> DialerError:
    """The error a non-2xx answer stands for, with a message a team lead can act on."""
    status = response.status_code
    code, vendor_message = error_from_json(_json_or_none(response))
    said = f" Enigma said: {vendor_message}" if vendor_message else ""
    if status in (401, 403):
        return DialerAuthError(
            f"Enigma refused the bot's credentials (HTTP {status}) when asked to {action}. "
            "Check ENIGMA_API_KEY.",
            dialer=DIALER_NAME,
        )
    if status == 404:
        return CampaignNotFound(
            f"Enigma has no such campaign (asked to {action}); it may have been deleted on the "
            f"dialer.{said}",
            dialer=DIALER_NAME,
        )
    if status == 409 and code == WIRE.duplicate_contact_code:
        return DuplicateContact(
            f"Enigma refused to {action}: a contact reference was used before.{said} "
            "Contact references are never reused; upload the leads to a new campaign.",
            dialer=DIALER_NAME,
        )
    if status == 409:
        return CampaignConflict(
            f"Enigma refused to {action}: it conflicts with the campaign's current state.{said}",
            dialer=DIALER_NAME,
        )
    if status == 429:
        return DialerRateLimited(
            f"Enigma is rate limiting the bot (asked to {action}); try again shortly.",
            dialer=DIALER_NAME,
            retry_after=_retry_after(response),
        )
    if status >= 500:
        return DialerUnavailable(
            f"Enigma failed (HTTP {status}) when asked to {action}; try again in a minute.{said}",
            dialer=DIALER_NAME,
        )
    if 400 <= status < 500:
        return DialerRejected(
            f"Enigma refused to {action} (HTTP {status}).{said}", dialer=DIALER_NAME
        )
    return DialerProtocolError(
        f"Enigma answered HTTP {status} when asked to {action}; check ENIGMA_API_URL.",
        dialer=DIALER_NAME,
    )


def error_for_transport(exc: httpx.TransportError, action: str) -> DialerUnavailable:
    what = (
        "did not answer in time"
        if isinstance(exc, httpx.TimeoutException)
        else "could not be reached"
    )
    return DialerUnavailable(
        f"Enigma {what} when asked to {action}; the request may not have been applied. "
        "Try again in a minute.",
        dialer=DIALER_NAME,
    )


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(float(response.headers["Retry-After"]), 0.0)
    except (KeyError, ValueError):
        return None


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


class EnigmaHttp:
    def __init__(self, client: httpx.AsyncClient, retry: RetryPolicy) -> None:
        self._client = client
        self._retry = retry

    async def call(
        self,
        route: Route,
        action: str,
        *,
        ref: str | None = None,
        body: dict[str, Any] | None = None,
        idempotent: bool,
        gone_is_done: bool = False,
    ) -> Any:
        """The decoded JSON answer (``None`` when empty).

        ``gone_is_done``: a 404 after an attempt whose outcome is unknown means the earlier attempt
        did the job (a delete that timed out after deleting).
        """
        attempt = 0
        while True:
            try:
                return await self._once(route, action, ref, body)
            except DialerError as error:
                if gone_is_done and attempt > 0 and isinstance(error, CampaignNotFound):
                    return None
                if attempt >= self._retry.retries or not _may_retry(error, idempotent):
                    raise
                retry_after = error.retry_after if isinstance(error, DialerRateLimited) else None
                delay = self._retry.delay(attempt, retry_after)
                log.info("Retrying Enigma in %.2fs (%s): %s", delay, action, error)
                await asyncio.sleep(delay)
                attempt += 1

    async def _once(
        self, route: Route, action: str, ref: str | None, body: dict[str, Any] | None
    ) -> Any:
        try:
            response = await self._client.request(route.method, route.url(ref), json=body)
        except httpx.TransportError as exc:
            raise error_for_transport(exc, action) from exc
        try:
            response.raise_for_status()  # anything but 2xx, redirects included
        except httpx.HTTPStatusError as exc:
            raise error_for_response(response, action) from exc
        return _decoded(response, action)


def _may_retry(error: DialerError, idempotent: bool) -> bool:
    if isinstance(error, DialerRateLimited) or isinstance(error.__cause__, _NEVER_SENT):
        return True
    return idempotent and isinstance(error, DialerUnavailable)


def _decoded(response: httpx.Response, action: str) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise DialerProtocolError(
            f"Enigma's answer to {action} is not JSON; check ENIGMA_API_URL points at Enigma.",
            dialer=DIALER_NAME,
        ) from exc
