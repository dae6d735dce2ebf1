"""The HTTP side of the VoIPBIN adapter: auth, VoIPBIN's error body, and pagination.

Pacing, retries and the status → error table are the dialer HTTP kit's (``dialer.http``). Only
``dialer.errors`` leave this module; callers get decoded JSON, never an ``httpx.Response``.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import httpx

from dialer.errors import (
    CampaignConflict,
    CampaignNotFound,
    DialerAuthError,
    DialerProtocolError,
    DialerRejected,
    NotFound,
)
from dialer.http import (
    DialerHttp,
    Finder,
    RateLimiter,
    RetryPolicy,
    Sleep,
    Vendor,
    VendorSaid,
    decoded,
    error_for,
)
from dialer.limits import Pacer, busy
from dialer.voipbin.settings import VoipbinSettings

__all__ = ["MAX_PAGE_SIZE", "NAME", "NotFound", "RateLimiter", "Sleep", "VoipbinClient"]

NAME = "voipbin"
MAX_PAGE_SIZE = 100


def _error_body(response: httpx.Response) -> VendorSaid:
    """VoIPBIN's ``{"error": {"status", "reason", "message"}}``."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return VendorSaid()
    if not isinstance(error, dict):
        return VendorSaid()
    status, reason, message = (str(error.get(k) or "") for k in ("status", "reason", "message"))
    detail = f"{message} ({reason})" if message else reason or None
    conflict = status in ("FAILED_PRECONDITION", "ALREADY_EXISTS")
    return VendorSaid(detail, CampaignConflict if conflict else None)


VENDOR = Vendor(
    name=NAME,
    label="VoIPBIN",
    credentials="check VOIPBIN_ACCESSKEY (or VOIPBIN_USERNAME and VOIPBIN_PASSWORD), whether "
    "the key has expired",
    url_setting="VOIPBIN_API_URL",
    read_error=_error_body,
)


def _not_found(path: str) -> type[DialerRejected]:
    return CampaignNotFound if path.startswith("/campaigns/") else NotFound


class _VoipbinAuth(httpx.Auth):
    """``?accesskey=``, or a JWT from ``POST /auth/login`` renewed once when it is refused."""

    def __init__(self, settings: VoipbinSettings, login: Callable[[], Any]) -> None:
        self._settings = settings
        self._login = login
        self._token: str | None = None
        self._login_turn = asyncio.Lock()

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        if self._settings.accesskey is not None:
            key = self._settings.accesskey.get_secret_value()
            request.url = request.url.copy_merge_params({"accesskey": key})
            yield request
            return
        token = await self._jwt(None)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:  # expired or revoked: log in again, once
            request.headers["Authorization"] = f"Bearer {await self._jwt(token)}"
            yield request

    async def _jwt(self, expired: str | None) -> str:
        async with self._login_turn:
            if self._token is None or self._token == expired:
                self._token = await self._login()
            return self._token


class VoipbinClient:
    def __init__(
        self,
        settings: VoipbinSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        limiter: Pacer | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._settings = settings
        # One pace for the whole account: the adapter passes the limit every replica shares.
        self._limiter = limiter or RateLimiter(
            settings.requests_per_second, burst=settings.request_burst
        )
        self._http = httpx.AsyncClient(
            base_url=settings.api_url.rstrip("/") + "/",
            timeout=settings.timeout_seconds,
            transport=transport,
        )
        self._api = DialerHttp(
            self._http,
            VENDOR,
            policy=RetryPolicy(
                retries=settings.max_retries,
                backoff_seconds=settings.backoff_seconds,
                backoff_max_seconds=settings.backoff_max_seconds,
                retry_after_max_seconds=settings.retry_after_max_seconds,
            ),
            pacer=self._limiter,
            auth=_VoipbinAuth(settings, self._login),
            sleep=sleep,
            rng=rng,
        )

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
        """Send one API request through the kit; return its decoded JSON body ({} if empty).

        A POST may have created its resource even when the answer was a timeout or a 5xx
        (VoIPBIN's handlers create first and can fail after), so it is resent only when it
        surely never arrived (a connection error, or a 429 from the rate limiter in front of the
        handlers), or when ``find_existing`` looked and found nothing; what it finds is the
        answer. Without ``find_existing`` such a POST is not resent.
        """
        answer = await self._api.request(
            method,
            path.lstrip("/"),
            action=f"{method} {path}",
            json=json,
            params=params,
            find_existing=find_existing,
            not_found=_not_found(path),
        )
        return {} if answer is None else answer

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

    async def _login(self) -> str:
        settings = self._settings
        assert settings.username and settings.password  # guaranteed by VoipbinSettings
        credentials = {
            "username": settings.username,
            "password": settings.password.get_secret_value(),
        }
        try:
            await self._limiter.acquire()
        except TimeoutError as exc:  # the shared pace is booked too far ahead
            raise busy(exc, dialer=NAME, label=VENDOR.label) from exc
        response = await self._http.post(settings.resolved_login_url(), json=credentials)
        if response.status_code in (400, 401, 403):
            raise DialerAuthError(
                "VoIPBIN refused the login: check VOIPBIN_USERNAME and VOIPBIN_PASSWORD.",
                dialer=NAME,
            )
        if not response.is_success:
            raise error_for(VENDOR, response, "log in")
        body = decoded(VENDOR, response, "log in")
        token = body.get("token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise DialerProtocolError("VoIPBIN's login answer carried no token.", dialer=NAME)
        return token
