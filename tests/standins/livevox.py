"""A local LiveVox: a real HTTP server that behaves like LiveVox's Campaign API, for tests.

Sources, read for this stand-in rather than the adapter (the same as ``dialer/livevox/vendor.py``
cites, row by row, in its ``SOURCES``):

    LiveVox.NET   github.com/Spire-Recovery-Solutions/LiveVox.NET, ``LiveVox.NET/Models``:
                  Session/SessionLoginRequest.cs and SessionLoginResponse.cs (login),
                  Campaign/Requests/CreateCampaignRequest.cs with Common/CampaignFIle.cs and
                  Common/CampaignConfiguration.cs (upload), SearchCampaignRequest.cs with
                  Common/DateRange.cs and Responses/SearchCampaignResponse.cs (search),
                  ReadCampaignRequest.cs and Responses/ReadCampaignResponse.cs (read),
                  UpdateCampaignRequest.cs (update), UpdateCampaignStateRequest.cs with
                  Enumerations/CampaignState.cs (PLAY, PAUSE, STOP, BUILD),
                  AppendCampaignRequest.cs with Common/CampaignTransaction.cs (append),
                  Common/CampaignEntry.cs and Enumerations/CampaignStatus.cs (``status``)
    info sheet    docs.livevox.com "Adding/Appending Records to Active Campaigns": appends only
                  to today's campaigns with Allow Append, in Built, Pause or Play status, not
                  more than 5 calls per rolling minute, up to 30 phone numbers per record
    LiveVoxClient LiveVox.NET/LiveVoxClient.cs: LV-Access, LV-Session, sessions lapse after 2 h

It refuses what those sources do not show: a search without ``dateRange`` or with a single
``service``/``type``, a ``state`` where a campaign has ``status``, a file sent as a bare string,
``service``/``type``/``dialingStrategy`` in a configuration, a PUT to ``.../configuration``,
unknown record fields. Assumed, as in the vendor table: the 10,000-record cap per append, the
statuses a STOP is taken from, that STOP leaves a campaign STOPPED, and the JSON of an error.

It keeps LiveVox's rules rather than echoing requests: a session per login that lapses when idle,
statuses that change a moment *after* the request (so only a poll sees them), the rolling limit on
appends, and a dialling engine that finishes a campaign (DONE) when its records run out, unless
the service's "Report at End of Day" setting keeps it playing.

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
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dialer.livevox import LiveVoxSettings
from tests.standins.server import serve_locally

SEARCHABLE = {
    "LOADING",
    "SCHEDULED_UNBUILT",
    "READY_UNBUILT",
    "SCHEDULED",
    "READY",
    "REPORTED",
    "DONE",
    "PLAYING",
    "PAUSED",
}
APPENDABLE = {"READY", "SCHEDULED", "PAUSED", "PLAYING"}
PHONE2_MAX = 29
RECORDS_MAX = 10_000
PAGE_MAX = 1000
SEARCH_KEYS = {"state", "dateRange", "service", "type"}
FILE_KEYS = {"FileName", "Data", "ContentType"}  # LiveVox.NET's spelling
FILE_KEYS_LOWER = {"fileName", "data", "contentType"}  # the spelling: taken as well
CONFIGURATION_KEYS = {
    "serviceId",
    "operatorPhone",
    "voiceId",
    "answeringMachineOption",
    "callerId",
    "callbackPhone",
    "dialingStrategyId",
    "appendable",
    "typeId",
    "scheduleTime",
}
CONFIGURATION_REQUIRED = {
    "serviceId",
    "voiceId",
    "answeringMachineOption",
    "dialingStrategyId",
    "typeId",
}
UPDATE_KEYS = CONFIGURATION_KEYS - {"appendable"}
ANSWERING_MACHINE = {"LEAVE_MESSAGES", "NO_MESSAGES", "TRANSFER"}
RECORD_KEYS = {
    "account",
    "firstName",
    "lastName",
    "phone1",
    "phone2",
    "dob",
    "email",
    "ssn",
    "lastPaymentDate",
    "minimumPaymentAmount",
    "accountToSpeak",
    "amountToSpeak",
    "originalAccountNumber",
    *(f"extra{n}" for n in range(1, 21)),
}
STATE_TARGETS = {"PLAY": "PLAYING", "PAUSE": "PAUSED", "STOP": "STOPPED", "BUILD": "built"}
ALLOWED_FROM = {
    "PLAY": {"READY", "SCHEDULED", "PAUSED", "PLAYING"},
    "PAUSE": {"PLAYING", "PAUSED"},
    "STOP": {"READY_UNBUILT", "SCHEDULED_UNBUILT", "READY", "SCHEDULED", "PAUSED", "PLAYING"}
    | {"DONE", "REPORTED", "STOPPED"},
    "BUILD": {"READY_UNBUILT", "SCHEDULED_UNBUILT", "READY", "SCHEDULED"},
}


@dataclass
class LiveVoxKnobs:
    access_token: str = "lv-access-token"
    client_name: str = "ACME"
    user_name: str = "bot"
    password: str = "s3cret"
    client_id: int = 1
    service_id: int = 1234
    session_idle_seconds: float = 7200.0
    build_delay: float = 0.0  # LOADING -> READY after this long (0: ready at upload)
    built_on_load: bool = True  # False: LOADING -> READY_UNBUILT, built only by a BUILD
    transition_delay: float = 0.05  # PLAY/PAUSE/STOP/BUILD take effect after this long
    dial_tick: float = 0.05
    records_per_tick: int = 1
    report_at_end_of_day: bool = False  # the service setting: an empty campaign keeps playing
    append_calls_per_window: int = 5
    append_window_seconds: float = 60.0


@dataclass
class StandinCampaign:
    id: int
    name: str
    service: int
    state: str
    allow_append: bool
    dialing_strategy_id: int
    caller_id: str
    upload_ms: int
    records: list[dict[str, Any]] = field(default_factory=list)
    completed: int = 0

    def entry(self) -> dict[str, Any]:
        """As Find Matching Campaigns lists it (CampaignEntry.cs)."""
        return {
            "id": self.id,
            "name": self.name,
            "typeId": 1,
            "serviceId": self.service,
            "status": self.state,
            "uploadDate": str(self.upload_ms),
        }

    def read(self) -> dict[str, Any]:
        """As Read Campaign answers (ReadCampaignResponse.cs): no id, no counters."""
        return {
            "name": self.name,
            "typeId": 1,
            "serviceId": self.service,
            "callerId": self.caller_id,
            "dialingStrategyId": self.dialing_strategy_id,
            "status": self.state,
            "uploadDate": str(self.upload_ms),
            "onDemand": True,
        }


class LiveVoxStandin:
    def __init__(self, knobs: LiveVoxKnobs | None = None) -> None:
        self.knobs = knobs or LiveVoxKnobs()
        self.campaigns: dict[int, StandinCampaign] = {}
        self.sessions: dict[str, float] = {}  # session id -> last used (monotonic)
        self.logins = 0
        self.calls: list[tuple[str, str, str | None]] = []  # method, path, session
        self.bodies: list[tuple[str, str, Any]] = []  # method, path, JSON body
        self.append_times: list[float] = []
        self.append_refusals: list[float] = []  # monotonic times of appends answered 429
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
            Route(
                "/api/campaign/campaigns/{id:int}",
                self._guarded(self._read_or_update),
                methods=["GET", "PUT"],
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
        return JSONResponse({"sessionId": session, "userId": 7, "clientId": self.knobs.client_id})

    def _guarded(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def guarded(request: Request) -> Response:
            session = request.headers.get("LV-Session")
            self.calls.append((request.method, request.url.path, session))
            if request.method in ("POST", "PUT"):
                self.bodies.append((request.method, request.url.path, await _json(request)))
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
        if not isinstance(body, dict) or set(body) != {"campaignFile", "campaignConfiguration"}:
            return _error(400, "Expected campaignFile and campaignConfiguration")
        file = _campaign_file(body["campaignFile"])
        if isinstance(file, str):
            return _error(400, file)
        name, header = file
        if "PHONE1" not in header.upper():
            return _error(400, "The campaign file must have a PHONE1 column")
        config = body["campaignConfiguration"]
        refusal = _configuration_refusal(config, CONFIGURATION_REQUIRED, CONFIGURATION_KEYS)
        if refusal:
            return _error(400, refusal)
        if config["serviceId"] != self.knobs.service_id:
            return _error(400, f"Unknown service {config['serviceId']}")
        if config["typeId"] != 1:
            return _error(400, "Only Outbound (typeId 1) campaigns here")
        loaded = "READY" if self.knobs.built_on_load else "READY_UNBUILT"
        campaign = StandinCampaign(
            id=next(self._ids),
            name=name,
            service=config["serviceId"],
            state="LOADING" if self.knobs.build_delay > 0 else loaded,
            allow_append=bool(config.get("appendable", False)),
            dialing_strategy_id=config["dialingStrategyId"],
            caller_id=str(config.get("callerId") or ""),
            upload_ms=int(time.time() * 1000),
        )
        self.campaigns[campaign.id] = campaign
        if campaign.state == "LOADING":
            self._later(self.knobs.build_delay, campaign, loaded)
        return JSONResponse({"id": campaign.id})

    async def _search(self, request: Request) -> Response:
        body = await _json(request)
        try:
            count = int(request.query_params.get("count", PAGE_MAX))
            offset = int(request.query_params.get("offset", 0))
        except ValueError:
            return _error(400, "count and offset are numbers")
        if count > PAGE_MAX:
            return _error(400, f"A search returns at most {PAGE_MAX} campaigns at a time")
        if not isinstance(body, dict) or not set(body) <= SEARCH_KEYS:
            unknown = sorted(set(body) - SEARCH_KEYS) if isinstance(body, dict) else []
            return _error(400, f"Unknown search fields {unknown}")
        window = _date_range(body.get("dateRange"))
        if window is None:
            return _error(400, "dateRange {from, to} (milliseconds) is required")
        services = body.get("service")
        types = body.get("type")
        states = body.get("state")
        if services is not None and not _int_list(services):
            return _error(400, "service is a list of service ids")
        if types is not None and not _int_list(types):
            return _error(400, "type is a list of campaign type ids")
        if states is not None and (
            not isinstance(states, list) or not all(s in SEARCHABLE for s in states)
        ):
            return _error(400, f"state is a list of {sorted(SEARCHABLE)}")
        found = [
            c
            for c in self.campaigns.values()
            if (services is None or c.service in services)
            and (types is None or 1 in types)
            and (states is None or c.state in states)
            and window[0] <= c.upload_ms <= window[1]
        ]
        page = found[offset : offset + count]
        answer: dict[str, Any] = {"campaign": [c.entry() for c in page]}
        if offset + count < len(found):
            answer["next"] = f"{request.url.path}?count={count}&offset={offset + count}"
        return JSONResponse(answer)

    async def _read_or_update(self, request: Request) -> Response:
        campaign = self.campaigns.get(request.path_params["id"])
        if campaign is None:
            return _error(404, "Campaign not found")
        if request.method == "GET":
            return JSONResponse(campaign.read())
        body = await _json(request)
        refusal = _configuration_refusal(body, set(), UPDATE_KEYS)
        if refusal:
            return _error(400, refusal)
        assert isinstance(body, dict)
        if "dialingStrategyId" in body:
            campaign.dialing_strategy_id = body["dialingStrategyId"]
        return Response(status_code=204)

    async def _set_state(self, request: Request) -> Response:
        campaign = self.campaigns.get(request.path_params["id"])
        body = await _json(request)
        if campaign is None:
            return _error(404, "Campaign not found")
        if not isinstance(body, dict) or set(body) != {"state"}:
            return _error(400, "Expected {state: PLAY|PAUSE|STOP|BUILD}")
        wanted = body["state"]
        if wanted not in STATE_TARGETS:
            return _error(400, "state must be PLAY, PAUSE, STOP or BUILD")
        if campaign.state not in ALLOWED_FROM[wanted]:
            return _error(409, f"Cannot {wanted} a campaign in status {campaign.state}")
        target = STATE_TARGETS[wanted]
        if wanted == "BUILD":
            target = campaign.state.removesuffix("_UNBUILT")
        self._later(self.knobs.transition_delay, campaign, target)
        return Response(status_code=204)

    async def _append(self, request: Request) -> Response:
        campaign = self.campaigns.get(request.path_params["id"])
        if campaign is None:
            return _error(404, "Campaign not found")
        if (wait := self._append_wait()) > 0:
            self.append_refusals.append(time.monotonic())
            return _error(429, "Append called more than allowed per minute", retry_after=wait)
        body = await _json(request)
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(body, dict) or set(body) != {"records"}:
            return _error(400, "Expected {records: [...]}")
        if not isinstance(records, list) or not records:
            return _error(400, "records must be a non-empty list")
        if len(records) > RECORDS_MAX:
            return _error(400, f"At most {RECORDS_MAX} records per call")
        if not campaign.allow_append:
            return _error(409, "Campaign does not allow append")
        if campaign.state not in APPENDABLE:
            return _error(409, f"Cannot append to a campaign in status {campaign.state}")
        if _day(campaign.upload_ms) != _day(int(time.time() * 1000)):
            return _error(409, "Records can only be appended to today's campaigns")
        for record in records:
            refusal = _record_refusal(record)
            if refusal:
                return _error(400, refusal)
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
        if campaign.completed >= loaded and not self.knobs.report_at_end_of_day:
            campaign.state = "DONE"

    def _spawn(self, coroutine: Any) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task


def _campaign_file(value: object) -> tuple[str, str] | str:
    """(file name, decoded header) from a campaignFile object, or why it is refused."""
    if not isinstance(value, dict):
        return "campaignFile is an object {FileName, Data, ContentType}"
    keys = set(value)
    if keys not in (FILE_KEYS, FILE_KEYS_LOWER):
        return "campaignFile is an object {FileName, Data, ContentType}"
    name = value.get("FileName", value.get("fileName"))
    data = value.get("Data", value.get("data"))
    if not isinstance(name, str) or not name:
        return "campaignFile needs a FileName"
    if not isinstance(data, str):
        return "campaignFile Data is base64"
    try:
        return name, base64.b64decode(data, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "campaignFile Data is base64"


def _configuration_refusal(config: object, required: set[str], allowed: set[str]) -> str | None:
    if not isinstance(config, dict):
        return "Expected a configuration object"
    if unknown := sorted(set(config) - allowed):
        return f"Unknown configuration fields {unknown}"
    if missing := sorted(required - set(config)):
        return f"Missing configuration fields {missing}"
    for key in ("serviceId", "voiceId", "dialingStrategyId", "typeId"):
        if key in config and not _is_int(config[key]):
            return f"{key} is a number"
    if "appendable" in config and not isinstance(config["appendable"], bool):
        return "appendable is true or false"
    option = config.get("answeringMachineOption")
    if option is not None and option not in ANSWERING_MACHINE:
        return f"answeringMachineOption is one of {sorted(ANSWERING_MACHINE)}"
    return None


def _record_refusal(record: object) -> str | None:
    if not isinstance(record, dict) or not isinstance(record.get("phone1"), str):
        return "Each record needs phone1"
    if unknown := sorted(set(record) - RECORD_KEYS):
        return f"Unknown record fields {unknown}"
    more = record.get("phone2", [])
    if not isinstance(more, list) or len(more) > PHONE2_MAX:
        return f"phone2 is a list of at most {PHONE2_MAX} numbers"
    for key, value in record.items():
        if key.startswith("extra") and (not isinstance(value, str) or len(value) > 50):
            return f"{key} is text of at most 50 characters"
    return None


def _date_range(value: object) -> tuple[int, int] | None:
    if not isinstance(value, dict) or set(value) != {"from", "to"}:
        return None
    try:
        return int(value["from"]), int(value["to"])
    except (TypeError, ValueError):
        return None


def _int_list(value: object) -> bool:
    return isinstance(value, list) and all(_is_int(v) for v in value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).date().isoformat()


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
        "service_id": knobs.service_id,
        "dialing_strategy_id": 11,
        "dialing_strategies": {1: 11, 50: 12, 80: 13},
        "voice_id": 3,
        "caller_id": "4155550100",
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
