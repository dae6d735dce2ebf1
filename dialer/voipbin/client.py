"""The HTTP side of the VoIPBIN adapter: auth, pacing, retries, errors and pagination.

Only ``dialer.errors`` leave this module; callers get decoded JSON, never an ``httpx.Response``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
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
)
from dialer.voipbin.settings import VoipbinSettings

NAME = "voipbin"
MAX_PAGE_SIZE = 100
IDEMPOTENT = frozenset({"GET", "PUT", "DELETE"})

Sleep = Callable[[float], Awaitable[None]]
Finder = Callable[[], Awaitable[Any]]
"""Looks for what a POST would have created; None when there is nothing."""
Clock = Callable[[], float]


class NotFound(DialerRejected):
    """A 404 for anything but a campaign, so callers can name what is missing."""


class RateLimiter:
    """Spaces requests evenly at ``rate`` per second, shared by every caller of one client."""

    def __init__(
        self, rate: float, *, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep
    ) -> None:
        self._interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._next_slot = 0.0
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            now = self._clock()
            slot = max(now, self._next_slot)
            self._next_slot = slot + self._interval
        if slot > now:
            await self._sleep(slot - now)


class VoipbinClient:
    def __init__(
        self,
        settings: VoipbinSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._settings = settings
        self._sleep = sleep  # for backoff; the limiter paces with its own
        self._limiter = limiter or RateLimiter(settings.requests_per_second)
        self._http = httpx.AsyncClient(
            base_url=settings.api_url.rstrip("/") + "/",
            timeout=settings.timeout_seconds,
            transport=transport,
        )
        self._token: str | None = None
        self._login_lock = asyncio.Lock()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        params: dict[str, str | int] | None = None,
        find_existing: Finder | None = None,
    ) -> Any:
        """Send one API request, paced and retried; return its decoded JSON body.

        GET, PUT and DELETE are retried on timeouts, connection errors, 429 and 5xx. A POST may
        have created its resource even when the answer was a timeout or a 5xx (VoIPBIN's
        handlers create first and can fail after), so it is resent only when it surely never
        arrived (a connection error, or a 429 from the rate limiter in front of the handlers),
        or when ``find_existing`` looked and found nothing; what it finds is the answer.
        Without ``find_existing`` such a POST is not resent.
        """
        renewed = False
        attempt = 0
        while True:
            await self._limiter.acquire()
            try:
                response = await self._send(method, path, json, params)
            except httpx.TransportError as exc:
                if attempt >= self._settings.max_retries:
                    raise _unreachable(exc, method) from exc
                if not _may_resend(method, exc):
                    if find_existing is None:
                        raise _unreachable(exc, method) from exc
                    await self._sleep(self._backoff(attempt))
                    attempt += 1
                    if (found := await find_existing()) is not None:
                        return found
                    continue
                await self._sleep(self._backoff(attempt))
                attempt += 1
                continue
            if response.status_code == 401 and self._uses_jwt() and not renewed:
                self._token = None  # expired or revoked: log in again, once per request
                renewed = True
                continue
            if _retryable(response) and attempt < self._settings.max_retries:
                if method not in IDEMPOTENT and response.status_code != 429:
                    if find_existing is None:
                        return _decode(response, method, path)
                    await self._sleep(_retry_after(response) or self._backoff(attempt))
                    attempt += 1
                    if (found := await find_existing()) is not None:
                        return found
                    continue
                await self._sleep(_retry_after(response) or self._backoff(attempt))
                attempt += 1
                continue
            return _decode(response, method, path)

    async def paginate(
        self, path: str, params: dict[str, str | int] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a listing, page by page until VoIPBIN returns an empty page."""
        query: dict[str, str | int] = {**(params or {}), "page_size": MAX_PAGE_SIZE}
        seen_tokens: set[str] = set()
        while True:
            page = await self.request("GET", path, params=query)
            items = (page.get("result") or []) if isinstance(page, dict) else []
            if not items:
                return
            for item in items:
                yield item
            token = page.get("next_page_token") or ""
            if not token or token in seen_tokens:  # a repeated cursor would loop forever
                return
            seen_tokens.add(token)
            query["page_token"] = token

    async def _send(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None,
        params: dict[str, str | int] | None,
    ) -> httpx.Response:
        query = dict(params or {})
        headers: dict[str, str] = {}
        if self._settings.accesskey is not None:
            query["accesskey"] = self._settings.accesskey.get_secret_value()
        else:
            headers["Authorization"] = f"Bearer {await self._jwt()}"
        return await self._http.request(
            method, path.lstrip("/"), json=body, params=query, headers=headers
        )

    def _uses_jwt(self) -> bool:
        return self._settings.accesskey is None

    async def _jwt(self) -> str:
        async with self._login_lock:
            if self._token is None:
                self._token = await self._login()
            return self._token

    async def _login(self) -> str:
        settings = self._settings
        assert settings.username and settings.password  # guaranteed by VoipbinSettings
        credentials = {
            "username": settings.username,
            "password": settings.password.get_secret_value(),
        }
        await self._limiter.acquire()
        try:
            response = await self._http.post(settings.resolved_login_url(), json=credentials)
        except httpx.TransportError as exc:
            raise _unreachable(exc) from exc
        if response.status_code in (400, 401, 403):
            raise DialerAuthError(
                "VoIPBIN refused the login: check VOIPBIN_USERNAME and VOIPBIN_PASSWORD.",
                dialer=NAME,
            )
        body = _decode(response, "POST", "/auth/login")
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise DialerProtocolError("VoIPBIN's login answer carried no token.", dialer=NAME)
        return token

    def _backoff(self, attempt: int) -> float:
        delay = self._settings.backoff_seconds * (2**attempt)
        return float(min(delay, self._settings.backoff_max_seconds))


def _may_resend(method: str, exc: httpx.TransportError) -> bool:
    """A POST that may have reached VoIPBIN is not sent twice (it would create a duplicate)."""
    return method in IDEMPOTENT or isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)


def _retryable(response: httpx.Response) -> bool:
    return response.status_code == 429 or response.status_code >= 500


def _retry_after(response: httpx.Response) -> float | None:
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


def _unreachable(exc: httpx.TransportError, method: str = "GET") -> DialerUnavailable:
    what = "did not answer in time" if isinstance(exc, httpx.TimeoutException) else "is unreachable"
    outcome = (
        "nothing was changed"
        if method in IDEMPOTENT or _may_resend(method, exc)
        else "it may or may not have been made"
    )
    return DialerUnavailable(
        f"VoIPBIN {what} ({type(exc).__name__}); {outcome}, try again shortly.",
        dialer=NAME,
    )


def _decode(response: httpx.Response, method: str, path: str) -> Any:
    if response.is_success:
        if not response.content:
            return {}
        try:
            return response.json()
        except ValueError as exc:
            raise DialerProtocolError(
                f"VoIPBIN answered {method} {path} with something that is not JSON.", dialer=NAME
            ) from exc
    raise error_from_response(response, path)


def error_from_response(response: httpx.Response, path: str) -> DialerError:
    """VoIPBIN's ``{"error": {"status", "reason", "message"}}`` as one of the bot's errors."""
    status, reason, message = _error_fields(response)
    code = response.status_code
    detail = f"{message} ({reason})" if message else reason or f"HTTP {code}"
    if code == 429:
        return DialerRateLimited(
            f"VoIPBIN is pacing our requests ({detail}); the bot slows down and retries.",
            dialer=NAME,
            retry_after=_retry_after(response),
        )
    if code >= 500:
        return DialerUnavailable(
            f"VoIPBIN is having trouble ({detail}); try again in a few minutes.", dialer=NAME
        )
    if code == 401:
        return DialerAuthError(
            f"VoIPBIN did not accept the bot's credentials ({detail}): check VOIPBIN_ACCESSKEY "
            "(or VOIPBIN_USERNAME and VOIPBIN_PASSWORD) and whether the key has expired.",
            dialer=NAME,
        )
    if code == 403:
        return DialerAuthError(
            f"The VoIPBIN account the bot uses may not do this ({detail}): ask a VoIPBIN admin "
            "to give it campaign manager permission.",
            dialer=NAME,
        )
    if code == 402:
        return DialerRejected(
            f"VoIPBIN needs the account topped up before it dials ({detail}).", dialer=NAME
        )
    if code == 404 and path.startswith("/campaigns/"):
        return CampaignNotFound(
            f"VoIPBIN has no such campaign ({detail}); it may have been deleted in VoIPBIN.",
            dialer=NAME,
        )
    if code == 409 or status in ("FAILED_PRECONDITION", "ALREADY_EXISTS"):
        return CampaignConflict(
            f"VoIPBIN says the campaign is not in a state that allows this ({detail}).",
            dialer=NAME,
        )
    if code == 404:
        return NotFound(f"VoIPBIN has nothing at {path} ({detail}).", dialer=NAME)
    return DialerRejected(f"VoIPBIN refused {path}: {detail}.", dialer=NAME)


def _error_fields(response: httpx.Response) -> tuple[str, str, str]:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return "", "", ""
    if not isinstance(error, dict):
        return "", "", ""
    return (
        str(error.get("status") or ""),
        str(error.get("reason") or ""),
        str(error.get("message") or ""),
    )
