"""Enigma's HTTP API through the dialer HTTP kit (``dialer.http``).

Pacing, retries and the status → error table are the kit's; what is Enigma's is the error body
(``{"error": {"code", "message"}}``, see ``wire.py``), whose duplicate-contact code makes a 409 a
``DuplicateContact``. A 429 and a request that never reached Enigma are always retried, waiting
out ``Retry-After`` in full; 5xx and read timeouts only for idempotent calls, since another may
already have been applied.
"""

from __future__ import annotations

from typing import Any

import httpx

from dialer.enigma.packets import DIALER_NAME
from dialer.enigma.wire import WIRE, Route, error_from_json
from dialer.errors import DialerError, DialerUnavailable, DuplicateContact
from dialer.http import DialerHttp, RetryPolicy, Vendor, VendorSaid, error_for, transport_error

__all__ = ["EnigmaHttp", "RetryPolicy", "error_for_response", "error_for_transport"]


def _error_body(response: httpx.Response) -> VendorSaid:
    try:
        data: Any = response.json()
    except ValueError:
        data = None
    code, message = error_from_json(data)
    duplicate = response.status_code == 409 and code == WIRE.duplicate_contact_code
    return VendorSaid(message, DuplicateContact if duplicate else None)


VENDOR = Vendor(
    name=DIALER_NAME,
    label="Enigma",
    credentials="check ENIGMA_API_KEY",
    url_setting="ENIGMA_API_URL",
    read_error=_error_body,
)


def error_for_response(response: httpx.Response, action: str) -> DialerError:
    """The error a non-2xx answer stands for, with a message a team lead can act on."""
    return error_for(VENDOR, response, action)


def error_for_transport(exc: httpx.TransportError, action: str) -> DialerUnavailable:
    return transport_error(VENDOR, exc, action)


class EnigmaHttp:
    def __init__(self, client: httpx.AsyncClient, retry: RetryPolicy) -> None:
        self._http = DialerHttp(client, VENDOR, policy=retry)

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
        return await self._http.request(
            route.method,
            route.url(ref),
            action=action,
            json=body,
            safe=idempotent,
            gone_is_done=gone_is_done,
        )
