"""A local LiveVox: a real HTTP server that behaves like LiveVox's Campaign API, for tests.

It keeps LiveVox's rules rather than echoing requests: a session per login that lapses when idle,
``LV-Access`` and ``LV-Session`` on every call, states that change a moment *after* the request
(so only a poll sees them), the rolling limit on appends, the 10,000-record cap, appends only to
Built/Paused/Playing campaigns with Allow Append, and a dialling engine that moves the real-time
counters and finishes a campaign when its records run out.

``tests.standins.server.serve_locally`` serves it on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dialer.livevox import LiveVoxSettings
from tests.standins.server import serve_locally

APPENDABLE = {"BUILT", "PAUSED", "PLAYING"}
PHONE2_MAX = 29
RECORDS_MAX = 10_000
PAGE_MAX = 10


@dataclass
class LiveVoxKnobs:
    access_token: str = "lv-access-token"
    client_name: str = "ACME"
    user_name: str = "bot"
    password: str = "s3cret"
    session_idle_seconds: float = 7200.0
    build_delay: float = 0.0  # BUILDING -> BUILT after this long (0: built at upload)
    transition_delay: float = 0.05  # PLAY/PAUSE/STOP take effect after this long
    dial_tick: float = 0.05
    records_per_tick: int = 1
    append_calls_per_window: int = 5
    append_window_seconds: float = 60.0


@dataclass
class StandinCampaign:
    id: int
    name: str
    service: str
    state: str
    allow_append: bool
    strategy: dict[str, Any]
    created_ms: int
    records: list[dict[str, Any]] = field(default_factory=list)
    completed: int = 0

    def statistics(self) -> dict[str, int]:
        loaded = len(self.records)
        return {
            "uploaded": loaded,
            "loaded": loaded,
            "completed": self.completed,
            "remaining": loaded - self.completed,
            "percentDone": self.completed * 100 // loaded if loaded else 0,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "allowAppend": self.allow_append,
            "dialingStrategy": self.strategy,
            "statistics": self.statistics(),
        }


class LiveVoxStandin:
    def __init__(self, knobs: LiveVoxKnobs | None = None) -> None:
        self.knobs = knobs or LiveVoxKnobs()
        self.campaigns: dict[int, StandinCampaign] = {}
        self.sessions: dict[str, float] = {}  # session id -> last used (monotonic)
        self.logins = 0
        self.calls: list[tuple[str, str, str | None]] = []  # method, path, session
        self.append_times: list[float] = []
        self._ids = itertools.count(9001)
        self._tasks: set[asyncio.Task[None]] = set()
        self.app = Starlette(routes=self._routes())

    # -- test controls ------------------------------------------------------------------------

    def expire_sessions(self) -> None:
        """As if LiveVox dropped every session (a restart, an admin logout)."""
        self.sessions.clear()

    def campaign_named(self, ref: str) -> StandinCampaign:
        return next(c for c in self.campaigns.values() if c.name.startswith(f"{ref} "))

    def searches_by_session(self) -> dict[str | None, int]:
        counted: dict[str | None, int] = {}
        for _method, path, session in self.calls:
            if path.endswith("/search"):
                counted[session] = counted.get(session, 0) + 1
        return counted

    @asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        """Serve on a free loopback port and dial; yield the API base URL."""
        engine = self._spawn(self._dial_forever())
        try:
            async with serve_locally(self.app) as url:
                yield f"{url}/api/"
        finally:
            engine.cancel()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- routes -------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        return [
            Route("/api/session/login", self._login, methods=["POST"]),
            Route("/api/campaign/campaigns", self._guarded(self._upload), methods=["POST"]),
            Route("/api/campaign/campaigns/search", self._guarded(self._search), methods=["POST"]),
            Route("/api/campaign/campaigns/{id:int}", self._guarded(self._read), methods=["GET"]),
            Route(
                "/api/campaign/campaigns/{id:int}/configuration",
                self._guarded(self._configure),
                methods=["PUT"],
            ),
            Route(
                "/api/campaign/campaigns/{id:int}/state",
                self._guarded(self._set_state),
                methods=["PUT"],
            ),
            Route(
                "/api/campaign/campaigns/{id:int}/transactions",
                self._guarded(self._append),
                methods=["PUT"],
            ),
        ]

    async def _login(self, request: Request) -> Response:
        self.calls.append(("POST", request.url.path, None))
        body = await _json(request)
        expected = {
            "clientName": self.knobs.client_name,
            "userName": self.knobs.user_name,
            "password": self.knobs.password,
        }
        if request.headers.get("LV-Access") != self.knobs.access_token:
            return _error(401, "Invalid access token")
        if not isinstance(body, dict) or any(body.get(k) != v for k, v in expected.items()):
            return _error(401, "Invalid credentials")
        self.logins += 1
        session = uuid.uuid4().hex
        self.sessions[session] = time.monotonic()
        return JSONResponse({"sessionId": session, "userId": 7, "clientId": 1})

    def _guarded(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            session = request.headers.get("LV-Session")
            self.calls.append((request.method, request.url.path, session))
            if request.headers.get("LV-Access") != self.knobs.access_token:
                return _error(401, "Invalid access token")
            last_used = self.sessions.get(session or "")
            now = time.monotonic()
            if last_used is None or now - last_used >= self.knobs.session_idle_seconds:
                self.sessions.pop(session or "", None)
                return _error(401, "Session expired or invalid")
            self.sessions[session or ""] = now
            return await handler(request)

        return guarded

    async def _upload(self, request: Request) -> Response:
        body = await _json(request)
        if not isinstance(body, dict):
            return _error(400, "Expected a JSON object")
        config = body.get("campaignConfiguration")
        header = _decoded_file(body.get("campaignFile"))
        if header is None or "PHONE1" not in header.upper():
            return _error(400, "campaignFile must be a base64 CSV with a PHONE1 column")
        if not isinstance(config, dict) or not config.get("name") or not config.get("service"):
            return _error(400, "campaignConfiguration needs a name and a service")
        if not isinstance(config.get("appendable"), bool):
            return _error(400, "campaignConfiguration.appendable must be true or false")
        campaign = StandinCampaign(
            id=next(self._ids),
            name=str(config["name"]),
            service=str(config["service"]),
            state="BUILDING" if self.knobs.build_delay > 0 else "BUILT",
            allow_append=config["appendable"],
            strategy=dict(config.get("dialingStrategy") or {}),
            created_ms=int(time.time() * 1000),
        )
        self.campaigns[campaign.id] = campaign
        if campaign.state == "BUILDING":
            self._later(self.knobs.build_delay, campaign, "BUILT")
        return JSONResponse({"id": campaign.id})

    async def _search(self, request: Request) -> Response:
        body = await _json(request)
        count = int(request.query_params.get("count", PAGE_MAX))
        offset = int(request.query_params.get("offset", 0))
        if not isinstance(body, dict) or count > PAGE_MAX:
            return _error(400, f"A search returns at most {PAGE_MAX} campaigns at a time")
        states = set(body.get("state") or [])
        found = [
            c
            for c in self.campaigns.values()
            if c.service == str(body.get("service"))
            and (not states or c.state in states)
            and int(body.get("from", 0)) <= c.created_ms <= int(body.get("to", 2**62))
        ]
        page = found[offset : offset + count]
        return JSONResponse({"campaign": [c.as_json() for c in page]})

    async def _read(self, request: Request) -> Response:
        campaign = self.campaigns.get(request.path_params["id"])
        if campaign is None:
            return _error(404, "Campaign not found")
        return JSONResponse(campaign.as_json())

    async def _configure(self, request: Request) -> Response:
        campaign = self.campaigns.get(request.path_params["id"])
        body = await _json(request)
        if campaign is None:
            return _error(404, "Campaign not found")
        if not isinstance(body, dict) or not isinstance(body.get("dialingStrategy"), dict):
            return _error(400, "Expected a dialingStrategy object")
        campaign.strategy.update(body["dialingStrategy"])
        return Response(status_code=204)

    async def _set_state(self, request: Request) -> Response:
        campaign = self.campaigns.get(request.path_params["id"])
        body = await _json(request)
        if campaign is None:
            return _error(404, "Campaign not found")
        wanted = body.get("state") if isinstance(body, dict) else None
        target = {"PLAY": "PLAYING", "PAUSE": "PAUSED", "STOP": "STOPPED", "BUILD": "BUILT"}
        if wanted not in target:
            return _error(400, "state must be PLAY, PAUSE, STOP or BUILD")
        allowed_from = {
            "PLAY": {"BUILT", "PAUSED", "PLAYING"},
            "PAUSE": {"PLAYING", "PAUSED"},
            "STOP": {"BUILT", "PAUSED", "PLAYING", "DONE", "REPORTED", "STOPPED"},
            "BUILD": {"BUILDING", "BUILT"},
        }
        if campaign.state not in allowed_from[wanted]:
            return _error(409, f"Cannot {wanted} a campaign in state {campaign.state}")
        self._later(self.knobs.transition_delay, campaign, target[wanted])
        return Response(status_code=204)

    async def _append(self, request: Request) -> Response:
        campaign = self.campaigns.get(request.path_params["id"])
        if campaign is None:
            return _error(404, "Campaign not found")
        if (wait := self._append_wait()) > 0:
            return _error(429, "Append called more than allowed per minute", retry_after=wait)
        body = await _json(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not records:
            return _error(400, "records must be a non-empty list")
        if len(records) > RECORDS_MAX:
            return _error(400, f"At most {RECORDS_MAX} records per call")
        if not campaign.allow_append:
            return _error(409, "Campaign does not allow append")
        if campaign.state not in APPENDABLE:
            return _error(409, f"Cannot append to a campaign in state {campaign.state}")
        if any(not _valid_record(r) for r in records):
            return _error(400, f"Each record needs phone1 and at most {PHONE2_MAX} phone2")
        self.append_times.append(time.monotonic())
        campaign.records.extend(records)
        return Response(status_code=204)

    # -- behaviour ----------------------------------------------------------------------------

    def _append_wait(self) -> float:
        now = time.monotonic()
        window = self.knobs.append_window_seconds
        recent = [t for t in self.append_times if now - t < window]
        if len(recent) < self.knobs.append_calls_per_window:
            return 0.0
        return min(recent) + window - now

    def _later(self, delay: float, campaign: StandinCampaign, state: str) -> None:
        async def change() -> None:
            await asyncio.sleep(delay)
            campaign.state = state

        self._spawn(change())

    async def _dial_forever(self) -> None:
        while True:
            await asyncio.sleep(self.knobs.dial_tick)
            for campaign in self.campaigns.values():
                if campaign.state == "PLAYING":
                    self._dial(campaign)

    def _dial(self, campaign: StandinCampaign) -> None:
        loaded = len(campaign.records)
        campaign.completed = min(loaded, campaign.completed + self.knobs.records_per_tick)
        open_all_day = bool(campaign.strategy.get("reportAtEndOfDay"))
        if campaign.completed >= loaded and not open_all_day:
            campaign.state = "DONE"

    def _spawn(self, coroutine: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _valid_record(record: object) -> bool:
    if not isinstance(record, dict) or not record.get("phone1"):
        return False
    more = record.get("phone2", [])
    return isinstance(more, list) and len(more) <= PHONE2_MAX


def _decoded_file(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None


def _error(status: int, message: str, retry_after: float | None = None) -> JSONResponse:
    headers = {"Retry-After": f"{retry_after:.3f}"} if retry_after is not None else None
    return JSONResponse({"code": status, "message": message}, status_code=status, headers=headers)


def adapter_settings(base_url: str, knobs: LiveVoxKnobs, **overrides: Any) -> LiveVoxSettings:
    """Settings that point the LiveVox adapter at this stand-in, paced for tests."""
    values: dict[str, Any] = {
        "api_url": base_url,
        "access_token": knobs.access_token,
        "client_name": knobs.client_name,
        "user_name": knobs.user_name,
        "password": knobs.password,
        "service_id": "1234",
        "caller_id": "+14155550100",
        "poll_interval_seconds": 0.05,
        "poll_jitter_seconds": 0.01,
        "poller_lock_seconds": 1.0,
        "append_calls_per_window": knobs.append_calls_per_window,
        "append_window_seconds": knobs.append_window_seconds,
        "timeout_seconds": 5.0,
    }
    values.update(overrides)
    return LiveVoxSettings.model_validate(values)


@asynccontextmanager
async def scratch_redis() -> AsyncIterator[tuple[Redis, str]]:
    """The real Redis (``REDIS_URL`` or 127.0.0.1:6379) under a prefix of its own, cleaned after."""
    redis = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    prefix = f"test:{uuid.uuid4().hex[:12]}:"
    try:
        yield redis, prefix
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
