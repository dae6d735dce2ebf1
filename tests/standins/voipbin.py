"""A local stand-in for VoIPBIN, built from VoIPBIN's own code and checked against its OpenAPI spec.

Sources (repository voipbin/monorepo; the OpenAPI spec is tests/data/voipbin-openapi.json):

* bin-campaign-manager/pkg/campaignhandler/execute.go: the dialler. ``Execute`` takes the next
  available target, and ``isDialable`` places a call only while ``agentCapacity :=
  (len(agents) * serviceLevel) / 100`` (Go integers) exceeds the campaigncalls still
  ``dialing`` (at most 100 listed); a campaign without a queue dials freely. Out of targets with
  end handle ``stop``, execution stops (``updateExecuteStop``).
* .../campaignhandler/status_run.go: ``run`` is set and published at once; execution starts a
  moment later. status_stop.go: a stop is ``stop`` at once when execution has stopped and no
  campaigncall is up (``isStoppable``), else ``stopping``; a stop of a stopped (or stopping)
  campaign changes nothing and publishes nothing. eventhandle.go: each hangup stops a
  ``stopping`` campaign that has become stoppable.
* .../campaignhandler/campaign.go: ``campaign_created``, ``campaign_updated`` (update, service
  level, resource info), ``campaign_deleted``; a delete of a campaign not stopped does nothing;
  ``validateResources``: an outdial already used by another campaign is refused.
* .../campaigncallhandler/campaigncall.go, status.go, eventhandle.go: ``campaigncall_created``
  (``dialing``), ``campaigncall_updated`` when done (``success``/``fail``); a call-type
  campaigncall stays ``dialing`` until its call hangs up; the target goes ``done`` on success,
  back to ``idle`` on failure.
* .../dbhandler/campaign.go, campaigncall.go: created with ``tm_update`` and ``tm_delete`` nil
  (``null`` in JSON); a delete sets both. models/*/webhook.go: ``*time.Time`` fields, RFC 3339.
* bin-outdial-manager/models/outdialtarget/event.go defines ``outdialtarget_*`` events that no
  code publishes, so neither does the stand-in. dbhandler/outdialtarget.go: which targets are
  available, least recently updated first.
* bin-api-manager/server/outdials.go: an outdial needs a campaign id, name, detail and data; a
  target needs name, detail, data and one destination with a target.
* Outdial targets are listed (``GET /outdials/{id}/targets``, live ones only, newest first:
  outdialtargethandler/outdialtarget.go ``GetsByOutdialID`` filters ``deleted: false``), read and
  deleted by id (``GET``/``DELETE /outdials/{id}/targets/{target_id}``:
  bin-api-manager/pkg/servicehandler/outdialtargets.go checks the target belongs to the outdial;
  outdialtargethandler ``Delete`` and dbhandler/outdialtarget.go ``OutdialTargetDelete`` set
  ``tm_update`` and ``tm_delete`` and read the target back, deleted or not). A deleted target is
  never dialled: ``OutdialTargetGetAvailable`` takes live targets only.
* bin-api-manager/lib/middleware/customer_ratelimit.go with internal/config/main.go (16.7 requests
  a second, burst 33): per customer a GCRA of round(rate) with that burst; over it, 429 with
  ``Retry-After`` in whole seconds (``StandinKnobs.customer_rps``; off unless a test sets it).
* bin-webhook-manager/pkg/webhookhandler/message.go: ``X-VoIPBIN-Signature: sha256=<hex HMAC>``,
  three tries one second apart on a connection error or a 5xx; models/webhook/webhook.go: the
  ``{"type", "data"}`` envelope.

**Every request is validated against ``voipbin-openapi.json``** (path, method, query parameters,
request body); a request the spec does not allow is answered 400 and recorded in ``violations``,
and ``assert_clean()`` (called by the fixtures on teardown) fails the test with the list. Request
bodies are held to the properties the spec declares, which is stricter than the spec's open
objects and catches misspelt fields. The stand-in's own 2xx answers are validated against the
spec's response schemas the same way, except that ``null`` fields are allowed where the spec
says "string": VoIPBIN's Go models make them pointers (the code decides). Outside the spec and
accepted deliberately: the ``accesskey`` query parameter and ``POST /auth/login`` (VoIPBIN's
authentication guide).

Simplified: agents are only tag and status records (no calls reach them), every call ends after
``knobs.call_duration`` with ``knobs.hangup_result``, the try interval is not waited out, and
events go out in the order they happen (VoIPBIN publishes from goroutines, so its order is not
guaranteed: the adapter orders by timestamps).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dialer.voipbin.webhooks import sign
from tests.standins.server import LocalServer, serve_locally

# VoIPBIN's published OpenAPI spec, kept with the tests so they check against a fixed contract.
SPEC_PATH = Path(
    os.environ.get(
        "VOIPBIN_OPENAPI_SPEC",
        Path(__file__).resolve().parents[1] / "data" / "voipbin-openapi.json",
    )
)
SPEC_URI = "urn:voipbin:openapi"
API_PREFIX = "/v1.0"
NIL_ID = "00000000-0000-0000-0000-000000000000"
CUSTOMER_ID = "5e4a0680-804e-11ec-8477-2fea5968d85b"
NOT_DELETED = None  # ``tm_delete`` while a resource lives (a nil ``*time.Time``)
OUTSIDE_SPEC_QUERY = frozenset({"accesskey"})
LOGIN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
    "required": ["username", "password"],
    "additionalProperties": False,
}
ERROR_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    409: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    501: "INTERNAL",
    502: "UNAVAILABLE",
    503: "UNAVAILABLE",
}


# -- the spec check --------------------------------------------------------------------------


@cache
def load_spec() -> dict[str, Any]:
    if not SPEC_PATH.is_file():
        raise FileNotFoundError(f"VoIPBIN's OpenAPI spec is missing at {SPEC_PATH}")
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return spec


@dataclass(frozen=True)
class Operation:
    template: str
    method: str
    spec: dict[str, Any]
    path_params: dict[str, str]

    @property
    def pointer(self) -> str:
        return f"/paths/{_escape(self.template)}/{self.method}"


class OpenApiContract:
    """Checks requests (and the stand-in's answers) against VoIPBIN's OpenAPI document."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self._spec = spec
        resource = Resource.from_contents(spec, default_specification=DRAFT7)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        templates = sorted(spec["paths"], key=lambda t: (t.count("{"), t))  # literals first
        self._routes = [(re.compile(_template_regex(t)), t) for t in templates]

    def operation(self, method: str, path: str) -> Operation | None:
        for pattern, template in self._routes:
            match = pattern.fullmatch(path)
            if match is not None:
                operation = self._spec["paths"][template].get(method.lower())
                if operation is None:
                    return None
                return Operation(template, method.lower(), operation, match.groupdict())
        return None

    def check_request(
        self, method: str, path: str, query: list[tuple[str, str]], body: bytes
    ) -> list[str]:
        operation = self.operation(method, path)
        if operation is None:
            return [f"{method} {path}: no such operation in the spec"]
        problems = self._check_query(operation, query)
        problems += self._check_body(operation, body)
        return [f"{method} {path}: {problem}" for problem in problems]

    def check_response(self, operation: Operation, status: int, body: Any) -> list[str]:
        pointer = f"{operation.pointer}/responses/{status}/content/application~1json/schema"
        if not self._has(pointer):
            return []
        return [
            f"stand-in answer to {operation.method.upper()} {operation.template} ({status}): {e}"
            for e in self._errors(pointer, _without_nulls(body))
        ]

    def _check_query(self, operation: Operation, query: list[tuple[str, str]]) -> list[str]:
        declared = {
            p["name"]: p
            for p in map(self._deref, operation.spec.get("parameters", []))
            if p["in"] == "query"
        }
        problems = []
        for name, value in query:
            if name in OUTSIDE_SPEC_QUERY:
                continue
            if name not in declared:
                problems.append(f"query parameter {name!r} is not in the spec")
                continue
            problems += self._check_value(name, value, self._deref(declared[name]["schema"]))
        given = {name for name, _ in query}
        problems += [
            f"required query parameter {name!r} is missing"
            for name, p in declared.items()
            if p.get("required") and name not in given
        ]
        return problems

    def _check_value(self, name: str, value: str, schema: dict[str, Any]) -> list[str]:
        typed: Any = value
        if schema.get("type") == "integer":
            try:
                typed = int(value)
            except ValueError:
                return [f"query parameter {name!r}={value!r} is not an integer"]
        return [f"query parameter {name!r}: {e}" for e in _schema_errors(schema, typed, self)]

    def _check_body(self, operation: Operation, body: bytes) -> list[str]:
        request_body = operation.spec.get("requestBody")
        if request_body is None:
            return ["the spec allows no request body"] if body.strip() else []
        if not body.strip():
            return ["the request body is missing"] if request_body.get("required") else []
        try:
            document = json.loads(body)
        except ValueError:
            return ["the request body is not JSON"]
        pointer = f"{operation.pointer}/requestBody/content/application~1json/schema"
        problems = self._errors(pointer, document)
        return problems + _undeclared_properties(self._resolve(pointer), document)

    def _errors(self, pointer: str, document: Any) -> list[str]:
        validator = Draft7Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=self._registry)
        return [
            f"{'/'.join(map(str, error.absolute_path)) or 'body'}: {error.message}"
            for error in validator.iter_errors(document)
        ]

    def _has(self, pointer: str) -> bool:
        try:
            self._resolve(pointer)
        except (KeyError, IndexError):
            return False
        return True

    def _resolve(self, pointer: str) -> dict[str, Any]:
        node: Any = self._spec
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return self._deref(node)

    def _deref(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = self._resolve(node["$ref"].removeprefix("#"))
        return node

    def validator_for(self, schema: dict[str, Any]) -> Draft7Validator:
        return Draft7Validator(schema, registry=self._registry)


def _schema_errors(schema: dict[str, Any], value: Any, contract: OpenApiContract) -> list[str]:
    return [error.message for error in contract.validator_for(schema).iter_errors(value)]


def _without_nulls(value: Any) -> Any:
    """The document without its ``null`` fields. The spec types ``tm_update``, ``tm_delete``,
    ``source``… as plain strings or objects; VoIPBIN's Go models make them pointers, marshalled
    as ``null`` when nil (e.g. ``tm_update`` of a new campaigncall). The code decides."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


def _undeclared_properties(schema: dict[str, Any], document: Any) -> list[str]:
    declared = schema.get("properties")
    if not isinstance(document, dict) or declared is None:
        return []
    return [f"body property {key!r} is not in the spec" for key in document if key not in declared]


def _escape(template: str) -> str:
    return template.replace("~", "~0").replace("/", "~1")


def _template_regex(template: str) -> str:
    """``/campaigns/{id}`` -> ``/campaigns/(?P<id>[^/]+)`` (names made identifier-safe)."""
    parts = re.split(r"\{([^}]+)\}", template)
    literals, names = parts[0::2], parts[1::2]
    groups = ["(?P<" + re.sub(r"\W", "_", name) + ">[^/]+)" for name in names]
    return "".join(re.escape(lit) + grp for lit, grp in zip(literals, [*groups, ""], strict=True))


# -- the stand-in ----------------------------------------------------------------------------


Handler = Callable[[dict[str, str], dict[str, str], Any], tuple[int, Any]]


@dataclass
class StandinKnobs:
    rate_limit: float = 1000.0  # requests per rolling window before 429
    rate_window: float = 1.0  # seconds; tests shorten it with ``retry_after`` to match
    retry_after: str = "1"
    # VoIPBIN's per-customer limit, when set: a GCRA (redis_rate) of round(customer_rps) requests
    # a second, burst ``customer_burst``, checked after authentication on the v1.0 API; over it,
    # 429 with ``Retry-After`` the wait rounded up to whole seconds
    # (bin-api-manager/lib/middleware/customer_ratelimit.go; internal/config/main.go: 16.7, 33).
    customer_rps: float | None = None
    customer_burst: int = 33
    start_delay: float = 0.05  # VoIPBIN: the first execution 1 s after ``run`` (status_run.go)
    tick: float = 0.02  # VoIPBIN: 500 ms after a call, 5 s while it may not dial (execute.go)
    call_duration: float = 0.2  # from campaigncall_created to the call's hangup
    hangup_result: str = "success"  # ``success`` or ``fail`` (campaigncall.Result)
    webhook_retry_delay: float = 0.02  # VoIPBIN: 1 s (webhookhandler/message.go)
    default_page_size: int = 10


@dataclass
class Delivery:
    type: str
    status_code: int | None  # None: the receiver could not be reached
    attempt: int


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any


class VoipbinStandin:
    """Start with ``async with VoipbinStandin(...) as standin``; ``standin.api_url`` is the base."""

    def __init__(
        self,
        *,
        accesskey: str | None = "standin-accesskey",
        users: dict[str, str] | None = None,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        agents: tuple[str, ...] = ("agent-1", "agent-2", "agent-3"),
        knobs: StandinKnobs | None = None,
    ) -> None:
        self.accesskey = accesskey
        self.users = users or {}
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.knobs = knobs or StandinKnobs()
        self.contract = OpenApiContract(load_spec())
        self.violations: list[str] = []
        self.requests: list[Recorded] = []
        self.deliveries: list[Delivery] = []
        self.published: list[tuple[str, dict[str, Any]]] = []  # every event, in order
        self.tokens: set[str] = set()
        self.logins = 0
        self.store: dict[str, dict[str, dict[str, Any]]] = {
            name: {}
            for name in (
                "campaigns",
                "campaigncalls",
                "outdials",
                "targets",
                "outplans",
                "queues",
                "tags",
                "agents",
            )
        }
        for agent_id in agents:
            self.store["agents"][agent_id] = _agent(agent_id)
        self.execute: dict[str, str] = {}  # campaign id -> ``run``/``stop`` (Campaign.Execute)
        self._failures: dict[str, list[int]] = {}
        self._failures_after: dict[str, list[int]] = {}
        self._recent: list[float] = []
        self._customer_tat = 0.0
        self.admitted: list[tuple[float, str, str]] = []  # API requests let in: time, method, path
        self.refused_at: list[float] = []  # monotonic times of those the customer limit refused
        self._last_stamp = datetime.now(UTC)
        self._engines: dict[str, asyncio.Task[None]] = {}
        self._calls: set[asyncio.Task[None]] = set()
        self._outbox: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._server: LocalServer | None = None
        self.app = Starlette(
            routes=[
                Route(
                    "/{path:path}", self._entry, methods=["GET", "POST", "PUT", "PATCH", "DELETE"]
                )
            ]
        )

    @property
    def base_url(self) -> str:
        assert self._server is not None, "the stand-in is not started"
        return self._server.url

    @property
    def api_url(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    async def __aenter__(self) -> VoipbinStandin:
        self._server = await LocalServer.start(self.app)
        self._tasks.append(asyncio.create_task(self._deliver_webhooks()))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._halt()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                task.cancel()
                await task
        if self._server is not None:
            await self._server.stop()

    # -- knobs for tests --

    def fail_next(self, count: int, status: int = 503, operation: str = "*") -> None:
        """The next ``count`` API requests (or only those to ``"POST /campaigns"``-style
        ``operation``) are answered ``status``, after validation."""
        self._failures.setdefault(operation, []).extend([status] * count)

    def fail_after_next(self, count: int, status: int = 500, operation: str = "*") -> None:
        """Like ``fail_next``, but each request is carried out first: the answer is lost, not
        the change (a POST whose resource exists although its answer was an error)."""
        self._failures_after.setdefault(operation, []).extend([status] * count)

    def expire_tokens(self) -> None:
        self.tokens.clear()

    def assert_clean(self) -> None:
        if self.violations:
            raise AssertionError(
                "requests the VoIPBIN spec does not allow:\n  " + "\n  ".join(self.violations)
            )

    def campaign(self, campaign_id: str) -> dict[str, Any]:
        return self.store["campaigns"][campaign_id]

    def targets_of(self, outdial_id: str) -> list[dict[str, Any]]:
        return [t for t in self.store["targets"].values() if t["outdial_id"] == outdial_id]

    def calls_of(self, campaign_id: str, status: str | None = None) -> list[dict[str, Any]]:
        return [
            c
            for c in self.store["campaigncalls"].values()
            if c["campaign_id"] == campaign_id and status in (None, c["status"])
        ]

    def dialing(self, campaign_id: str) -> int:
        """Calls in progress as VoIPBIN's capacity check counts them: status ``dialing``."""
        return len(self.calls_of(campaign_id, "dialing"))

    def set_agents_available(self, *agent_ids: str) -> None:
        for agent_id in agent_ids:
            self.store["agents"][agent_id]["status"] = "available"

    async def quiesce(self) -> None:
        """Freeze the dialler and wait until every webhook queued so far is delivered."""
        await self._halt()
        await self._outbox.join()

    async def _halt(self) -> None:
        tasks = [*self._engines.values(), *self._calls]
        self._engines.clear()
        self._calls.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- the HTTP edge --

    async def _entry(self, request: Request) -> Response:
        body = await request.body()
        path = request.url.path
        query = list(request.query_params.multi_items())
        self.requests.append(Recorded(request.method, path, dict(query), _json_or_none(body)))
        if self._over_rate():
            return _error(429, "RATE_LIMIT_EXCEEDED", "too many requests", self.knobs.retry_after)
        if path == "/auth/login" and request.method == "POST":
            return self._login(body)
        if not path.startswith(f"{API_PREFIX}/"):
            return self._violation([f"{request.method} {path}: outside the API"])
        api_path = path.removeprefix(API_PREFIX)
        problems = self.contract.check_request(request.method, api_path, query, body)
        if problems:
            return self._violation(problems)
        if not self._authenticated(request):
            return _error(401, "UNAUTHENTICATED", "missing or invalid credentials")
        customer_wait = self._over_customer_rate(request.method, api_path)
        if customer_wait is not None:
            retry_after = str(math.ceil(customer_wait))
            return _error(429, "RATE_LIMIT_EXCEEDED", "Too many requests.", retry_after)
        operation = self.contract.operation(request.method, api_path)
        assert operation is not None  # check_request found it
        for key in (f"{request.method} {operation.template}", "*"):
            if self._failures.get(key):
                status = self._failures[key].pop(0)
                return _error(status, "INJECTED_FAILURE", "injected by the test")
        answer = self._answer(operation, dict(query), _json_or_none(body))
        for key in (f"{request.method} {operation.template}", "*"):
            if self._failures_after.get(key):
                status = self._failures_after[key].pop(0)
                return _error(status, "INJECTED_FAILURE", "done, then failed by the test")
        return answer

    def _answer(self, operation: Operation, query: dict[str, str], body: Any) -> Response:
        handler = self._handlers().get((operation.method.upper(), operation.template))
        if handler is None:
            return self._violation(
                [f"{operation.method.upper()} {operation.template}: not modelled by the stand-in"],
                status=501,
            )
        status, answer = handler(operation.path_params, query, body)
        if 200 <= status < 300:
            self.violations += self.contract.check_response(operation, status, answer)
        if status >= 400:
            return _error(status, str(answer), f"{operation.template}: {answer}")
        return JSONResponse(answer, status_code=status)

    def _violation(self, problems: list[str], status: int = 400) -> Response:
        self.violations += problems
        return _error(status, "REQUEST_NOT_IN_SPEC", "; ".join(problems))

    def _over_rate(self) -> bool:
        now = time.monotonic()
        self._recent = [t for t in self._recent if now - t < self.knobs.rate_window]
        if len(self._recent) >= self.knobs.rate_limit:
            return True
        self._recent.append(now)
        return False

    def _over_customer_rate(self, method: str, path: str) -> float | None:
        """Seconds until the request would be allowed, or None when it is (and is counted)."""
        now = time.monotonic()
        if self.knobs.customer_rps is None:
            self.admitted.append((now, method, path))
            return None
        interval = 1.0 / max(round(self.knobs.customer_rps), 1)
        tat = max(self._customer_tat, now) + interval
        allowed_at = tat - self.knobs.customer_burst * interval
        if now < allowed_at:
            self.refused_at.append(now)
            return allowed_at - now
        self._customer_tat = tat
        self.admitted.append((now, method, path))
        return None

    def admitted_requests(self, path_ending: str) -> list[float]:
        """When the API requests to paths ending so were let in (monotonic times)."""
        return [at for at, _, path in self.admitted if path.endswith(path_ending)]

    def _authenticated(self, request: Request) -> bool:
        if self.accesskey is not None and request.query_params.get("accesskey") == self.accesskey:
            return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return scheme == "Bearer" and token in self.tokens

    def _login(self, body: bytes) -> Response:
        document = _json_or_none(body)
        errors = _schema_errors(LOGIN_SCHEMA, document, self.contract)
        if errors:
            return self._violation([f"POST /auth/login: {e}" for e in errors])
        if self.users.get(document["username"]) != document["password"]:
            return _error(401, "UNAUTHENTICATED", "wrong username or password")
        self.logins += 1
        token = uuid.uuid4().hex
        self.tokens.add(token)
        return JSONResponse({"username": document["username"], "token": token})

    # -- resources --

    def _handlers(self) -> dict[tuple[str, str], Handler]:
        return {
            ("GET", "/campaigns"): lambda p, q, b: self._list("campaigns", q),
            ("POST", "/campaigns"): lambda p, q, b: self._create_campaign(b),
            ("GET", "/campaigns/{id}"): lambda p, q, b: self._get("campaigns", p["id"]),
            ("PUT", "/campaigns/{id}"): lambda p, q, b: self._update_campaign(p["id"], b),
            ("DELETE", "/campaigns/{id}"): lambda p, q, b: self._delete_campaign(p["id"]),
            ("PUT", "/campaigns/{id}/status"): lambda p, q, b: self._set_status(p["id"], b),
            ("PUT", "/campaigns/{id}/service_level"): lambda p, q, b: self._update_campaign(
                p["id"], b
            ),
            ("PUT", "/campaigns/{id}/resource_info"): lambda p, q, b: self._resource_info(
                p["id"], b
            ),
            ("POST", "/outdials"): lambda p, q, b: self._create_outdial(b),
            ("GET", "/outdials/{id}"): lambda p, q, b: self._get("outdials", p["id"]),
            ("DELETE", "/outdials/{id}"): lambda p, q, b: self._delete("outdials", p["id"]),
            ("PUT", "/outdials/{id}/campaign_id"): lambda p, q, b: self._patch(
                "outdials", p["id"], b
            ),
            ("POST", "/outdials/{id}/targets"): lambda p, q, b: self._add_target(p["id"], b),
            ("GET", "/outdials/{id}/targets"): lambda p, q, b: self._list(
                "targets", q, lambda t: t["outdial_id"] == p["id"]
            ),
            ("GET", "/outdials/{id}/targets/{target_id}"): lambda p, q, b: self._target(
                p["id"], p["target_id"]
            ),
            ("DELETE", "/outdials/{id}/targets/{target_id}"): lambda p, q, b: self._delete_target(
                p["id"], p["target_id"]
            ),
            ("POST", "/outplans"): lambda p, q, b: self._create("outplans", b),
            ("GET", "/outplans/{id}"): lambda p, q, b: self._get("outplans", p["id"]),
            ("DELETE", "/outplans/{id}"): lambda p, q, b: self._delete("outplans", p["id"]),
            ("PUT", "/outplans/{id}/dial_info"): lambda p, q, b: self._patch(
                "outplans", p["id"], b
            ),
            ("POST", "/queues"): lambda p, q, b: self._create("queues", b),
            ("GET", "/queues/{id}"): lambda p, q, b: self._get("queues", p["id"]),
            ("DELETE", "/queues/{id}"): lambda p, q, b: self._delete("queues", p["id"]),
            ("POST", "/tags"): lambda p, q, b: self._create("tags", b),
            ("DELETE", "/tags/{id}"): lambda p, q, b: self._delete("tags", p["id"]),
            ("GET", "/agents"): lambda p, q, b: self._list("agents", q, _agent_filter(q)),
            ("GET", "/agents/{id}"): lambda p, q, b: self._get("agents", p["id"]),
            ("PUT", "/agents/{id}/tag_ids"): lambda p, q, b: self._patch("agents", p["id"], b),
            ("PUT", "/agents/{id}/status"): lambda p, q, b: self._patch("agents", p["id"], b),
        }

    def _stamp(self) -> str:
        """Go's ``*time.Time`` in JSON (RFC 3339, UTC), strictly increasing so events order."""
        now = max(datetime.now(UTC), self._last_stamp + timedelta(microseconds=1))
        self._last_stamp = now
        return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _new(self, fields: dict[str, Any]) -> dict[str, Any]:
        """As VoIPBIN's ``dbhandler.*Create``: ``tm_update`` and ``tm_delete`` start out nil."""
        return {
            "id": str(uuid.uuid4()),
            "customer_id": CUSTOMER_ID,
            **fields,
            "tm_create": self._stamp(),
            "tm_update": None,
            "tm_delete": None,
        }

    def _create(self, kind: str, body: dict[str, Any]) -> tuple[int, Any]:
        resource = self._new(body)
        self.store[kind][resource["id"]] = resource
        return 200, resource

    def _get(self, kind: str, resource_id: str) -> tuple[int, Any]:
        resource = self.store[kind].get(resource_id)
        if resource is None or resource["tm_delete"] is not NOT_DELETED:
            return 404, f"{kind.rstrip('s').upper()}_NOT_FOUND"
        return 200, resource

    def _patch(self, kind: str, resource_id: str, body: dict[str, Any]) -> tuple[int, Any]:
        status, resource = self._get(kind, resource_id)
        if status != 200:
            return status, resource
        resource.update(body, tm_update=self._stamp())
        return 200, resource

    def _delete(self, kind: str, resource_id: str) -> tuple[int, Any]:
        status, resource = self._get(kind, resource_id)
        if status != 200:
            return status, resource
        stamp = self._stamp()
        resource.update(tm_update=stamp, tm_delete=stamp)  # dbhandler.CampaignDelete
        return 200, resource

    def _list(
        self,
        kind: str,
        query: dict[str, str],
        keep: Callable[[dict[str, Any]], bool] = lambda _: True,
    ) -> tuple[int, Any]:
        size = int(query.get("page_size", self.knobs.default_page_size))
        if not 0 < size <= 100:
            return 400, "INVALID_PAGE_SIZE"
        token = query.get("page_token")
        live = [r for r in self.store[kind].values() if r["tm_delete"] is None and keep(r)]
        live.sort(key=lambda r: r["tm_create"], reverse=True)
        if token:
            live = [r for r in live if r["tm_create"] < token]
        page = live[:size]
        return 200, {"result": page, "next_page_token": page[-1]["tm_create"] if page else ""}

    def _create_outdial(self, body: dict[str, Any]) -> tuple[int, Any]:
        # bin-api-manager/server/outdials.go PostOutdials: every field must be non-empty.
        if body["campaign_id"] in ("", NIL_ID):
            return 400, "INVALID_ARGUMENT: campaign_id is required"
        for key in ("name", "detail", "data"):
            if not body[key]:
                return 400, f"INVALID_ARGUMENT: {key} is required"
        return self._create("outdials", body)

    def _add_target(self, outdial_id: str, body: dict[str, Any]) -> tuple[int, Any]:
        # bin-api-manager/server/outdials.go PostOutdialsIdTargets.
        for key in ("name", "detail", "data"):
            if not body[key]:
                return 400, f"INVALID_ARGUMENT: {key} is required"
        if not any(body[f"destination_{i}"].get("target") for i in range(5)):
            return 400, "INVALID_ARGUMENT: at least one destination_N target is required"
        status, outdial = self._get("outdials", outdial_id)
        if status != 200:
            return status, outdial
        target = self._new({**body, "outdial_id": outdial_id, "status": "idle"})
        target.update({f"try_count_{i}": 0 for i in range(5)})
        self.store["targets"][target["id"]] = target
        return 200, target

    def _target(self, outdial_id: str, target_id: str) -> tuple[int, Any]:
        # bin-api-manager/pkg/servicehandler/outdialtargets.go OutdialtargetGet/Delete: the
        # outdial must exist, and the target must be one of its own (any other error is 400 in
        # bin-api-manager/server/outdials.go). The target is read by id alone
        # (dbhandler/outdialtarget.go), so a deleted one is still found.
        status, outdial = self._get("outdials", outdial_id)
        if status != 200:
            return status, outdial
        target = self.store["targets"].get(target_id)
        if target is None:
            return 404, "OUTDIAL_TARGET_NOT_FOUND"
        if target["outdial_id"] != outdial_id:
            return 400, "wrong outdial_id"
        return 200, target

    def _delete_target(self, outdial_id: str, target_id: str) -> tuple[int, Any]:
        # outdialtargethandler/outdialtarget.go Delete: dbhandler.OutdialTargetDelete sets
        # tm_update and tm_delete (again, for a target deleted before), then reads it back.
        status, target = self._target(outdial_id, target_id)
        if status != 200:
            return status, target
        stamp = self._stamp()
        target.update(tm_update=stamp, tm_delete=stamp)
        return 200, target

    # -- campaigns (bin-campaign-manager/pkg/campaignhandler) --

    def _resources_valid(self, campaign_id: str, body: dict[str, Any]) -> bool:
        """``validateResources``: each id is nil or a live resource; the outdial is free or
        already this campaign's."""
        for kind, key in (("outplans", "outplan_id"), ("outdials", "outdial_id")):
            if body[key] != NIL_ID and self._get(kind, body[key])[0] != 200:
                return False
        queue_id = body.get("queue_id", NIL_ID)
        if queue_id != NIL_ID and queue_id not in self.store["queues"]:
            return False
        outdial = self.store["outdials"].get(body["outdial_id"])
        return outdial is None or outdial["campaign_id"] in (NIL_ID, campaign_id)

    def _create_campaign(self, body: dict[str, Any]) -> tuple[int, Any]:
        campaign = self._new({**body, "status": "stop"})
        if not self._resources_valid(campaign["id"], body):
            return 400, "RESOURCE_INVALID"
        self.store["campaigns"][campaign["id"]] = campaign
        self.execute[campaign["id"]] = "stop"
        self._publish("campaign_created", campaign)
        self._point_outdial(campaign)
        return 200, campaign

    def _point_outdial(self, campaign: dict[str, Any]) -> None:
        """``updateReferencedResources``: the outdial learns its campaign (outdial_updated,
        which the stand-in does not publish: the bot has no use for it)."""
        outdial = self.store["outdials"].get(campaign["outdial_id"])
        if outdial is not None:
            outdial.update(campaign_id=campaign["id"], tm_update=self._stamp())

    def _update_campaign(self, campaign_id: str, body: dict[str, Any]) -> tuple[int, Any]:
        status, campaign = self._patch("campaigns", campaign_id, body)
        if status == 200:
            self._publish("campaign_updated", campaign)
        return status, campaign

    def _resource_info(self, campaign_id: str, body: dict[str, Any]) -> tuple[int, Any]:
        status, campaign = self._get("campaigns", campaign_id)
        if status != 200:
            return status, campaign
        if not self._resources_valid(campaign_id, body):
            return 400, "RESOURCE_INVALID"
        status, campaign = self._update_campaign(campaign_id, body)
        self._point_outdial(campaign)
        return status, campaign

    def _delete_campaign(self, campaign_id: str) -> tuple[int, Any]:
        status, campaign = self._get("campaigns", campaign_id)
        if status != 200 or campaign["status"] != "stop":
            return status, campaign  # campaign.go Delete: a campaign not stopped is left alone
        self._delete("campaigns", campaign_id)
        self._publish("campaign_deleted", campaign)
        return 200, campaign

    def _set_status(self, campaign_id: str, body: dict[str, Any]) -> tuple[int, Any]:
        status, campaign = self._get("campaigns", campaign_id)
        if status != 200:
            return status, campaign
        if body["status"] == "run":
            self._campaign_run(campaign)
        else:
            self._campaign_stop(campaign)
        return 200, campaign

    def _campaign_run(self, campaign: dict[str, Any]) -> None:
        """``campaignRun``: run at once (and say so); execution starts a moment later."""
        if campaign["status"] == "run":
            return
        was_executing = self.execute[campaign["id"]] == "run"
        self.execute[campaign["id"]] = "run"
        self._change_status(campaign, "run")
        if not was_executing:
            task = asyncio.get_running_loop().create_task(self._execute(campaign["id"]))
            self._engines[campaign["id"]] = task

    def _campaign_stop(self, campaign: dict[str, Any]) -> None:
        """``campaignStop``: stop now if nothing runs, else ``stopping``; a stop of a stopped
        campaign changes nothing and publishes nothing (status_stop.go)."""
        if self._stoppable(campaign):
            if campaign["status"] != "stop":
                self._change_status(campaign, "stop")
        elif campaign["status"] not in ("stop", "stopping"):
            self._change_status(campaign, "stopping")

    def _stoppable(self, campaign: dict[str, Any]) -> bool:
        """``isStoppable``: execution stopped and no campaigncall dialing or progressing."""
        ongoing = [c for c in self.calls_of(campaign["id"]) if c["status"] != "done"]
        return self.execute[campaign["id"]] == "stop" and not ongoing

    def _change_status(self, campaign: dict[str, Any], status: str) -> None:
        campaign.update(status=status, tm_update=self._stamp())
        self._publish(f"campaign_status_{status}", campaign)

    # -- the dialler (pkg/campaignhandler/execute.go) --

    async def _execute(self, campaign_id: str) -> None:
        await asyncio.sleep(self.knobs.start_delay)
        try:
            while self._execute_once(self.campaign(campaign_id)):
                await asyncio.sleep(self.knobs.tick)
        finally:
            self._engines.pop(campaign_id, None)

    def _execute_once(self, campaign: dict[str, Any]) -> bool:
        """One ``Execute``; False once execution has stopped."""
        if campaign["status"] != "run" or campaign["tm_delete"] is not None:
            return self._execute_stop(campaign)
        outplan = self.store["outplans"].get(campaign["outplan_id"])
        if outplan is None:
            return self._execute_stop(campaign)
        target = self._available_target(campaign["outdial_id"], outplan)
        if target is None:
            if campaign["end_handle"] == "stop":
                return self._execute_stop(campaign)
            return True
        if self._dialable(campaign):
            self._place_call(campaign, outplan, target)
        return True

    def _execute_stop(self, campaign: dict[str, Any]) -> bool:
        """``updateExecuteStop``: execution stops, then the campaign stops or goes stopping."""
        self.execute[campaign["id"]] = "stop"
        self._campaign_stop(campaign)
        return False

    def _available_target(self, outdial_id: str, outplan: dict[str, Any]) -> dict[str, Any] | None:
        """``OutdialTargetGetAvailable``: idle, with a destination tried fewer times than the
        plan allows; the least recently updated first."""
        available = [
            t
            for t in self.targets_of(outdial_id)
            if t["tm_delete"] is None
            and t["status"] == "idle"
            and self._next_destination(t, outplan) is not None
        ]
        available.sort(key=lambda t: t["tm_update"] or "")
        return available[0] if available else None

    @staticmethod
    def _next_destination(target: dict[str, Any], outplan: dict[str, Any]) -> int | None:
        """``getTargetDestination``: the first destination with tries left."""
        for index in range(5):
            if target.get(f"destination_{index}") is None:
                continue
            if target[f"try_count_{index}"] < outplan[f"max_try_count_{index}"]:
                return index
        return None

    def available_agents(self, campaign: dict[str, Any]) -> int:
        """``QueueV1QueueGetAgents`` with status available: agents carrying the queue's tags."""
        queue = self.store["queues"].get(campaign["queue_id"])
        if queue is None:
            return 0
        return sum(
            1
            for a in self.store["agents"].values()
            if a["status"] == "available" and set(queue["tag_ids"]) <= set(a["tag_ids"])
        )

    def _dialable(self, campaign: dict[str, Any]) -> bool:
        """``isDialable``: no queue dials freely; else ``agents * service_level / 100`` (Go
        integer division) must exceed the campaigncalls still ``dialing`` (at most 100 listed)."""
        if campaign["queue_id"] == NIL_ID:
            return True
        capacity = self.available_agents(campaign) * int(campaign["service_level"]) // 100
        return capacity > min(self.dialing(campaign["id"]), 100)

    def _place_call(
        self, campaign: dict[str, Any], outplan: dict[str, Any], target: dict[str, Any]
    ) -> None:
        """``executeCall``: a campaigncall, created ``dialing`` with ``tm_update`` nil; the
        target goes ``progressing`` in the outdial manager, which publishes nothing about it."""
        index = self._next_destination(target, outplan)
        assert index is not None
        tries = target[f"try_count_{index}"] + 1
        target.update(
            {"status": "progressing", f"try_count_{index}": tries, "tm_update": self._stamp()}
        )
        call = self._new(
            {
                "campaign_id": campaign["id"],
                "outplan_id": campaign["outplan_id"],
                "outdial_id": campaign["outdial_id"],
                "outdial_target_id": target["id"],
                "queue_id": campaign["queue_id"],
                "activeflow_id": str(uuid.uuid4()),
                "flow_id": str(uuid.uuid4()),
                "reference_type": "call",
                "reference_id": str(uuid.uuid4()),
                "status": "dialing",
                "result": "",
                "source": outplan.get("source"),
                "destination": target[f"destination_{index}"],
                "destination_index": index,
                "try_count": tries,
            }
        )
        self.store["campaigncalls"][call["id"]] = call
        self._publish("campaigncall_created", call)
        task = asyncio.get_running_loop().create_task(self._hang_up_later(call))
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def _hang_up_later(self, call: dict[str, Any]) -> None:
        """A call-type campaigncall stays ``dialing`` until its call hangs up; then ``Done``
        (campaigncallhandler/status.go) and the campaign's ``EventHandleReferenceCallHungup``."""
        await asyncio.sleep(self.knobs.call_duration)
        result = self.knobs.hangup_result
        call.update(status="done", result=result, tm_update=self._stamp())
        self._publish("campaigncall_updated", call)
        target = self.store["targets"][call["outdial_target_id"]]
        target.update(status="done" if result == "success" else "idle", tm_update=self._stamp())
        campaign = self.store["campaigns"][call["campaign_id"]]
        if self._stoppable(campaign) and campaign["status"] != "stop":
            self._change_status(campaign, "stop")

    # -- webhooks --

    def _publish(self, event_type: str, data: dict[str, Any]) -> None:
        """``PublishWebhookEvent`` with the resource's ``WebhookMessage`` as ``data``."""
        snapshot = json.loads(json.dumps(data))
        self.published.append((event_type, snapshot))
        self._outbox.put_nowait((event_type, snapshot))

    async def _deliver_webhooks(self) -> None:
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                event_type, data = await self._outbox.get()
                try:
                    await self._deliver(client, event_type, data)
                finally:
                    self._outbox.task_done()

    async def _deliver(self, client: httpx.AsyncClient, event_type: str, data: Any) -> None:
        """``sendMessage``: three tries, a pause after a connection error or a 5xx; any other
        answer ends it. ``{"type", "data"}`` (webhook.Data), signed when a secret is set."""
        if self.webhook_url is None:
            return
        body = json.dumps({"type": event_type, "data": data}).encode()
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret is not None:
            headers["X-VoIPBIN-Signature"] = sign(self.webhook_secret, body)
        for attempt in range(1, 4):
            try:
                response = await client.post(self.webhook_url, content=body, headers=headers)
            except httpx.TransportError:
                self.deliveries.append(Delivery(event_type, None, attempt))
            else:
                self.deliveries.append(Delivery(event_type, response.status_code, attempt))
                if response.status_code < 500:
                    return
            await asyncio.sleep(self.knobs.webhook_retry_delay)


def _agent(agent_id: str) -> dict[str, Any]:
    return {
        "id": agent_id,
        "customer_id": CUSTOMER_ID,
        "username": f"{agent_id}@example.com",
        "name": agent_id,
        "detail": "",
        "ring_method": "ringall",
        "status": "offline",
        "permission": 16,
        "tag_ids": [],
        "addresses": [],
        "tm_create": "2026-01-01T00:00:00.000000Z",
        "tm_update": "2026-01-01T00:00:00.000000Z",
        "tm_delete": None,
    }


def _agent_filter(query: dict[str, str]) -> Callable[[dict[str, Any]], bool]:
    wanted = {t for t in query.get("tag_ids", "").split(",") if t}
    status = query.get("status")
    return lambda a: wanted <= set(a["tag_ids"]) and status in (None, a["status"])


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body) if body.strip() else None
    except ValueError:
        return None


def _error(status: int, reason: str, message: str, retry_after: str | None = None) -> Response:
    body = {
        "error": {
            "status": ERROR_STATUS.get(status, "INVALID_ARGUMENT"),
            "reason": reason,
            "message": message,
            "request_id": f"req_{uuid.uuid4().hex[:16]}",
        }
    }
    headers = {"Retry-After": retry_after} if retry_after is not None else None
    return JSONResponse(body, status_code=status, headers=headers)


# -- serving ---------------------------------------------------------------------------------


serving = serve_locally
