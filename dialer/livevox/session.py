"""LiveVox's HTTP API behind a session: login, ``LV-Session`` on every call, renewal, errors.

A session is renewed before use once it has been idle for LiveVox's two hours, and once more when
LiveVox answers 401 anyway (it was revoked, or the clocks disagree). Every failure leaves here as a
``dialer.errors`` exception::

    timeout, connection error, 5xx   -> DialerUnavailable
    429                              -> DialerRateLimited (retry_after from Retry-After)
    401 after a fresh login, 403     -> DialerAuthError
    404                              -> CampaignNotFound
    409                              -> CampaignConflict
    other 4xx                        -> DialerRejected
    a body that is not JSON          -> DialerProtocolError
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
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
from dialer.livevox.vendor import VENDOR, error_message, login_body

NAME = "livevox"


class LiveVoxSession:
    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        access_token: str,
        client_name: str,
        user_name: str,
        password: str,
        idle_seconds: float = VENDOR.session_idle_seconds,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._access_token = access_token
        self._credentials = login_body(client_name, user_name, password)
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._session_id: str | None = None
        self.client_id: int | None = None  # LiveVox's id of the client, from the login answer
        self._last_used = 0.0
        self._login_turn = asyncio.Lock()

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, int | str] | None = None,
    ) -> Any:
        """Send one request in a live session; return its JSON body (None when empty)."""
        session_id = await self._current_session()
        response = await self._send(method, path, session_id, json, params)
        if response.status_code == httpx.codes.UNAUTHORIZED:
            session_id = await self._current_session(expired=session_id)
            response = await self._send(method, path, session_id, json, params)
        self._last_used = self._clock()
        return _body_of(_checked(response))

    async def _current_session(self, expired: str | None = None) -> str:
        async with self._login_turn:
            idle = self._clock() - self._last_used
            stale = self._session_id is None or idle >= self._idle_seconds
            if stale or self._session_id == expired:
                self._session_id = await self._login()
                self._last_used = self._clock()
            assert self._session_id is not None
            return self._session_id

    async def _login(self) -> str:
        response = await self._request(
            "POST", VENDOR.login_path, {VENDOR.access_header: self._access_token}, self._credentials
        )
        if response.status_code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            raise DialerAuthError(
                "LiveVox refused the login: check LIVEVOX_ACCESS_TOKEN, LIVEVOX_CLIENT_NAME, "
                "LIVEVOX_USER_NAME and LIVEVOX_PASSWORD (a Manager, Superuser or Sysadmin user).",
                dialer=NAME,
            )
        body = _body_of(_checked(response))
        session_id = body.get(VENDOR.session_id_field) if isinstance(body, dict) else None
        if not isinstance(session_id, str) or not session_id:
            raise DialerProtocolError("LiveVox's login answer carried no session id.", dialer=NAME)
        client_id = body.get(VENDOR.client_id_field)
        if isinstance(client_id, int) and not isinstance(client_id, bool):
            self.client_id = client_id
        return session_id

    async def _send(
        self,
        method: str,
        path: str,
        session_id: str,
        json: object,
        params: Mapping[str, int | str] | None,
    ) -> httpx.Response:
        headers = {VENDOR.access_header: self._access_token, VENDOR.session_header: session_id}
        return await self._request(method, path, headers, json, params)

    async def _request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        json: object,
        params: Mapping[str, int | str] | None = None,
    ) -> httpx.Response:
        try:
            return await self._http.request(method, path, headers=headers, json=json, params=params)
        except httpx.TimeoutException as exc:
            raise DialerUnavailable(
                "LiveVox did not answer in time; try again.", dialer=NAME
            ) from exc
        except httpx.TransportError as exc:
            raise DialerUnavailable(
                f"LiveVox is unreachable ({exc}); try again.", dialer=NAME
            ) from exc


def _checked(response: httpx.Response) -> httpx.Response:
    if response.is_success:
        return response
    raise error_for(response)


def error_for(response: httpx.Response) -> DialerError:
    status = response.status_code
    detail = _vendor_message(response)
    said = f" LiveVox said: {detail}" if detail else ""
    if status == httpx.codes.TOO_MANY_REQUESTS:
        return DialerRateLimited(
            f"LiveVox asks us to slow down.{said}", dialer=NAME, retry_after=_retry_after(response)
        )
    if status >= 500:
        return DialerUnavailable(f"LiveVox failed ({status}); try again.{said}", dialer=NAME)
    if status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
        return DialerAuthError(
            f"LiveVox refused our session ({status}); check the LiveVox user's role.{said}",
            dialer=NAME,
        )
    kinds: dict[int, type[DialerRejected]] = {404: CampaignNotFound, 409: CampaignConflict}
    kind = kinds.get(status, DialerRejected)
    return kind(f"LiveVox refused the request ({status}).{said}", dialer=NAME)


def _vendor_message(response: httpx.Response) -> str | None:
    try:
        return error_message(response.json())
    except ValueError:
        return response.text[:200] or None


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers["Retry-After"])
    except (KeyError, ValueError):
        return None


def _body_of(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise DialerProtocolError(
            f"LiveVox answered {response.request.url.path} with something other than JSON.",
            dialer=NAME,
        ) from exc
