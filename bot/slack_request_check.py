"""Checks on a ``POST /slack/events`` request before Bolt sees it.

Bolt answers 500 with a traceback to a non-numeric ``X-Slack-Request-Timestamp``, a body that is
not UTF-8, or a non-JSON body sent as ``application/json``, and logs every refused body whole.
Here the signature is checked on the raw bytes first (Slack's scheme: HMAC-SHA256 of
``v0:<timestamp>:<body>``), so anything not from Slack is a 401 with one log line, and anything
from Slack that Bolt could not read is a 400. Bolt checks the signature again; that costs one HMAC.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping

from starlette.requests import Request
from starlette.types import Message

from bot.request_body import BodyRefused

FRESH_FOR_SECONDS = 300  # Slack's own rule: older requests may be replays


def check_slack_request(
    headers: Mapping[str, str], body: bytes, signing_secret: str, *, now: float | None = None
) -> None:
    """Raise ``BodyRefused`` (401 or 400) unless this is a fresh, signed, readable Slack request."""
    timestamp = headers.get("x-slack-request-timestamp", "")
    signature = headers.get("x-slack-signature", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise BodyRefused(401, "missing or malformed X-Slack-Request-Timestamp")
    if abs((time.time() if now is None else now) - int(timestamp)) > FRESH_FOR_SECONDS:
        raise BodyRefused(401, "stale X-Slack-Request-Timestamp")
    expected = (
        "v0="
        + hmac.new(
            signing_secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256
        ).hexdigest()
    )
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise BodyRefused(401, "invalid Slack signature")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BodyRefused(400, "request body is not UTF-8") from None
    if headers.get("content-type", "").lower().startswith("application/json"):
        try:
            parsed = json.loads(text)
        except ValueError:
            raise BodyRefused(400, "request body is not JSON") from None
        if not isinstance(parsed, dict):
            raise BodyRefused(400, "request body is not a JSON object")


def with_body(request: Request, body: bytes) -> Request:
    """The same request with its body, already read, delivered again to whoever reads it next."""
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if delivered:
            return await request.receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(request.scope, receive)
