"""LiveVox's HTTP API behind a session: login, ``LV-Session`` on every call, renewal.

A session is renewed before use once it has been idle for LiveVox's two hours, and once more when
LiveVox answers 401 anyway (it was revoked, or the clocks disagree). Pacing, retries and the
status → error table are the dialer HTTP kit's (``dialer.http``); LiveVox's part is reading its
error body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

import httpx

from dialer.errors import DialerAuthError, DialerError, DialerProtocolError
from dialer.http import DialerHttp, RetryPolicy, Vendor, VendorSaid, decoded
from dialer.http import error_for as kit_error_for
from dialer.livevox.vendor import VENDOR, error_message, login_body

NAME = "livevox"


def _error_body(response: httpx.Response) -> VendorSaid:
    try:
        return VendorSaid(error_message(response.json()))
    except ValueError:
        return VendorSaid(response.text[:200] or None)


LIVEVOX = Vendor(
    name=NAME,
    label="LiveVox",
    credentials="check the LiveVox user's role (Manager, Superuser or Sysadmin)",
    url_setting="LIVEVOX_API_URL",
    read_error=_error_body,
)


def error_for(response: httpx.Response, action: str = "do this") -> DialerError:
    return kit_error_for(LIVEVOX, response, action)


class _SessionAuth(httpx.Auth):
    def __init__(self, session: LiveVoxSession) -> None:
        self._session = session

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        session = self._session
        session_id = await session.current_session()
        request.headers[VENDOR.access_header] = session.access_token
        request.headers[VENDOR.session_header] = session_id
        response = yield request
        if response.status_code == httpx.codes.UNAUTHORIZED:
            session_id = await session.current_session(expired=session_id)
            request.headers[VENDOR.session_header] = session_id
            yield request
        session.used()


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
        policy: RetryPolicy | None = None,
    ) -> None:
        self._http = http
        self.access_token = access_token
        self._credentials = login_body(client_name, user_name, password)
        self._idle_seconds = idle_seconds
        self._clock = clock
        self._session_id: str | None = None
        self.client_id: int | None = None  # LiveVox's id of the client, from the login answer
        self._last_used = 0.0
        self._login_turn = asyncio.Lock()
        self._api = DialerHttp(http, LIVEVOX, policy=policy, auth=_SessionAuth(self))

    async def call(
        self,
        method: str,
        path: str,
        *,
        json: object = None,
        params: Mapping[str, int | str] | None = None,
        safe: bool | None = None,
    ) -> Any:
        """Send one request in a live session; return its JSON body (None when empty).

        ``safe``: whether repeating it changes nothing more (default: GET, PUT and DELETE are);
        the kit retries only such calls.
        """
        return await self._api.request(method, path, json=json, params=params, safe=safe)

    def used(self) -> None:
        self._last_used = self._clock()

    async def current_session(self, expired: str | None = None) -> str:
        async with self._login_turn:
            idle = self._clock() - self._last_used
            stale = self._session_id is None or idle >= self._idle_seconds
            if stale or self._session_id == expired:
                self._session_id = await self._login()
                self._last_used = self._clock()
            assert self._session_id is not None
            return self._session_id

    async def _login(self) -> str:
        response = await self._http.request(
            "POST",
            VENDOR.login_path,
            headers={VENDOR.access_header: self.access_token},
            json=self._credentials,
        )
        if response.status_code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
            raise DialerAuthError(
                "LiveVox refused the login: check LIVEVOX_ACCESS_TOKEN, LIVEVOX_CLIENT_NAME, "
                "LIVEVOX_USER_NAME and LIVEVOX_PASSWORD (a Manager, Superuser or Sysadmin user).",
                dialer=NAME,
            )
        if not response.is_success:
            raise error_for(response, "log in")
        body = decoded(LIVEVOX, response, "log in")
        session_id = body.get(VENDOR.session_id_field) if isinstance(body, dict) else None
        if not isinstance(session_id, str) or not session_id:
            raise DialerProtocolError("LiveVox's login answer carried no session id.", dialer=NAME)
        client_id = body.get(VENDOR.client_id_field)
        if isinstance(client_id, int) and not isinstance(client_id, bool):
            self.client_id = client_id
        return session_id
