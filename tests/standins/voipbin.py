"""A local stand-in for VoIPBIN's API, checked against VoIPBIN's own OpenAPI spec.

It is a real HTTP server (Starlette + uvicorn on 127.0.0.1, a free port) that behaves like VoIPBIN
where the bot can tell: status changes happen later and arrive as signed webhook POSTs
(``stopping`` before ``stop``), a running campaign dials its targets at the pace its service
level allows and stops by itself when they run out (end handle ``stop``), a delete of a campaign
that is not stopped is ignored, lists page with ``page_size``/``page_token``, requests over the
rate limit get 429 with ``Retry-After``, and 5xx answers can be injected.

**Every request is validated against ``voipbin-openapi.json``** (path, method, query parameters,
request body); a request the spec does not allow is answered 400 and recorded in ``violations``,
and ``assert_clean()`` (called by the fixtures on teardown) fails the test with the list. Request
bodies are held to the properties the spec declares, which is stricter than the spec's open
objects and catches misspelt fields. The stand-in's own 2xx answers are validated against the
spec's response schemas the same way, so the fake cannot drift from the real contract.
Two things are outside the spec and accepted deliberately: the ``accesskey`` query parameter
and ``POST /auth/login`` (both from VoIPBIN's authentication guide).

Simplification: the dialler treats a campaign as having at least one available agent, so tests
dial without logging agents in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
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
NOT_DELETED = "9999-01-01 00:00:00.000000"
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
            for e in self._errors(pointer, body)
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
    start_delay: float = 0.05
    tick: float = 0.02
    call_duration: float = 0.2
    webhook_retry_delay: float = 0.02
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


@dataclass
class _Call:
    campaigncall: dict[str, Any]
    ends_at: float


@dataclass
class _Engine:
    task: asyncio.Task[None]
    calls: list[_Call] = field(default_factory=list)


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
        self.tokens: set[str] = set()
        self.logins = 0
        self.store: dict[str, dict[str, dict[str, Any]]] = {
            name: {}
            for name in ("campaigns", "outdials", "targets", "outplans", "queues", "tags", "agents")
        }
        for agent_id in agents:
            self.store["agents"][agent_id] = _agent(agent_id)
        self._failures: dict[str, list[int]] = {}
        self._recent: list[float] = []
        self._last_stamp = datetime.now(UTC)
        self._engines: dict[str, _Engine] = {}
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
        for engine in self._engines.values():
            engine.task.cancel()
        for task in [*self._tasks, *(e.task for e in self._engines.values())]:
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

    async def quiesce(self) -> None:
        """Freeze the dialler and wait until every webhook queued so far is delivered."""
        engines = [self._engines.pop(cid).task for cid in list(self._engines)]
        for task in engines:
            task.cancel()
        await asyncio.gather(*engines, return_exceptions=True)
        await self._outbox.join()

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
        operation = self.contract.operation(request.method, api_path)
        assert operation is not None  # check_request found it
        for key in (f"{request.method} {operation.template}", "*"):
            if self._failures.get(key):
                status = self._failures[key].pop(0)
                return _error(status, "INJECTED_FAILURE", "injected by the test")
        return self._answer(operation, dict(query), _json_or_none(body))

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
            ("POST", "/outdials"): lambda p, q, b: self._create("outdials", b),
            ("GET", "/outdials/{id}"): lambda p, q, b: self._get("outdials", p["id"]),
            ("DELETE", "/outdials/{id}"): lambda p, q, b: self._delete("outdials", p["id"]),
            ("PUT", "/outdials/{id}/campaign_id"): lambda p, q, b: self._patch(
                "outdials", p["id"], b
            ),
            ("POST", "/outdials/{id}/targets"): lambda p, q, b: self._add_target(p["id"], b),
            ("GET", "/outdials/{id}/targets"): lambda p, q, b: self._list(
                "targets", q, lambda t: t["outdial_id"] == p["id"]
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
        """VoIPBIN's timestamp format, strictly increasing so events order by it."""
        now = max(datetime.now(UTC), self._last_stamp + timedelta(microseconds=1))
        self._last_stamp = now
        return now.strftime("%Y-%m-%d %H:%M:%S.%f")

    def _new(self, fields: dict[str, Any]) -> dict[str, Any]:
        stamp = self._stamp()
        return {
            "id": str(uuid.uuid4()),
            "customer_id": NIL_ID,
            **fields,
            "tm_create": stamp,
            "tm_update": stamp,
            "tm_delete": NOT_DELETED,
        }

    def _create(self, kind: str, body: dict[str, Any]) -> tuple[int, Any]:
        resource = self._new(body)
        self.store[kind][resource["id"]] = resource
        return 200, resource

    def _get(self, kind: str, resource_id: str) -> tuple[int, Any]:
        resource = self.store[kind].get(resource_id)
        if resource is None or resource["tm_delete"] != NOT_DELETED:
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
        resource["tm_delete"] = self._stamp()
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
        live = [r for r in self.store[kind].values() if r["tm_delete"] == NOT_DELETED and keep(r)]
        live.sort(key=lambda r: r["tm_create"], reverse=True)
        if token:
            live = [r for r in live if r["tm_create"] < token]
        page = live[:size]
        return 200, {"result": page, "next_page_token": page[-1]["tm_create"] if page else ""}

    # -- campaigns --

    def _create_campaign(self, body: dict[str, Any]) -> tuple[int, Any]:
        for kind, key in (("outdials", "outdial_id"), ("outplans", "outplan_id")):
            if body[key] not in self.store[kind]:
                return 400, f"{key.upper()}_INVALID"
        campaign = self._new({**body, "status": "stop"})
        self.store["campaigns"][campaign["id"]] = campaign
        self._emit("campaign_created", campaign)
        return 200, campaign

    def _update_campaign(self, campaign_id: str, body: dict[str, Any]) -> tuple[int, Any]:
        status, campaign = self._patch("campaigns", campaign_id, body)
        if status == 200:
            self._emit("campaign_updated", campaign)
        return status, campaign

    def _delete_campaign(self, campaign_id: str) -> tuple[int, Any]:
        status, campaign = self._get("campaigns", campaign_id)
        if status != 200 or campaign["status"] != "stop":
            return status, campaign  # VoIPBIN ignores a delete of a campaign that runs
        self._delete("campaigns", campaign_id)
        self._emit("campaign_deleted", campaign)
        return 200, campaign

    def _set_status(self, campaign_id: str, body: dict[str, Any]) -> tuple[int, Any]:
        status, campaign = self._get("campaigns", campaign_id)
        if status != 200:
            return status, campaign
        wanted = body["status"]
        if wanted == "run" and campaign["status"] == "stop" and campaign_id not in self._engines:
            task = asyncio.get_running_loop().create_task(self._run(campaign_id))
            self._engines[campaign_id] = _Engine(task)
        elif wanted == "stop" and campaign["status"] == "run":
            self._change_status(campaign, "stopping")
        elif wanted == "stop" and campaign_id in self._engines:
            self._engines.pop(campaign_id).task.cancel()  # stopped before it started
        return 200, campaign

    def _change_status(self, campaign: dict[str, Any], status: str) -> None:
        campaign.update(status=status, tm_update=self._stamp())
        self._emit(f"campaign_status_{status}", campaign)

    def _add_target(self, outdial_id: str, body: dict[str, Any]) -> tuple[int, Any]:
        status, outdial = self._get("outdials", outdial_id)
        if status != 200:
            return status, outdial
        target = self._new({**body, "outdial_id": outdial_id, "status": "idle"})
        target.update({f"try_count_{i}": 0 for i in range(5)})
        self.store["targets"][target["id"]] = target
        return 200, target

    # -- the dialler --

    async def _run(self, campaign_id: str) -> None:
        await asyncio.sleep(self.knobs.start_delay)
        campaign = self.campaign(campaign_id)
        self._change_status(campaign, "run")
        engine = self._engines[campaign_id]
        try:
            while not await self._dial_once(campaign, engine):
                await asyncio.sleep(self.knobs.tick)
        finally:
            self._engines.pop(campaign_id, None)

    async def _dial_once(self, campaign: dict[str, Any], engine: _Engine) -> bool:
        """One tick of a campaign; True once it has stopped."""
        self._finish_calls(engine)
        if campaign["status"] == "stopping":
            if not engine.calls:
                self._change_status(campaign, "stop")
            return not engine.calls
        idle = [t for t in self.targets_of(campaign["outdial_id"]) if t["status"] == "idle"]
        if not idle and not engine.calls and campaign["end_handle"] == "stop":
            self._change_status(campaign, "stopping")
            self._change_status(campaign, "stop")
            return True
        while idle and self._may_dial(campaign, len(engine.calls)):
            engine.calls.append(self._place_call(campaign, idle.pop(0)))
        return False

    def _may_dial(self, campaign: dict[str, Any], dialing: int) -> bool:
        """VoIPBIN's rule: available agents > dialing calls * service_level / 100."""
        queue = self.store["queues"].get(campaign["queue_id"], {"tag_ids": []})
        available = sum(
            1
            for a in self.store["agents"].values()
            if a["status"] == "available" and set(queue["tag_ids"]) <= set(a["tag_ids"])
        )
        return bool(max(1, available) > dialing * campaign["service_level"] / 100)

    def _place_call(self, campaign: dict[str, Any], target: dict[str, Any]) -> _Call:
        target.update(status="progressing", try_count_0=target["try_count_0"] + 1)
        call = self._new(
            {
                "campaign_id": campaign["id"],
                "outplan_id": campaign["outplan_id"],
                "outdial_id": campaign["outdial_id"],
                "outdial_target_id": target["id"],
                "queue_id": campaign["queue_id"],
                "reference_type": "call",
                "status": "dialing",
                "result": "",
                "destination": target["destination_0"],
                "destination_index": 0,
                "try_count": target["try_count_0"],
            }
        )
        self._emit("campaigncall_created", call)
        return _Call(call, time.monotonic() + self.knobs.call_duration)

    def _finish_calls(self, engine: _Engine) -> None:
        now = time.monotonic()
        for call in [c for c in engine.calls if c.ends_at <= now]:
            engine.calls.remove(call)
            call.campaigncall.update(status="done", result="success", tm_update=self._stamp())
            self._emit("campaigncall_updated", call.campaigncall)
            target = self.store["targets"][call.campaigncall["outdial_target_id"]]
            target.update(status="done", tm_update=self._stamp())
            self._emit("outdialtarget_updated", target)

    # -- webhooks --

    def _emit(self, event_type: str, data: dict[str, Any]) -> None:
        self._outbox.put_nowait((event_type, json.loads(json.dumps(data))))

    async def _deliver_webhooks(self) -> None:
        async with httpx.AsyncClient(timeout=2.0) as client:
            while True:
                event_type, data = await self._outbox.get()
                try:
                    await self._deliver(client, event_type, data)
                finally:
                    self._outbox.task_done()

    async def _deliver(self, client: httpx.AsyncClient, event_type: str, data: Any) -> None:
        """Like VoIPBIN: up to three deliveries on 5xx or connection errors."""
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
        "customer_id": NIL_ID,
        "username": f"{agent_id}@example.com",
        "name": agent_id,
        "detail": "",
        "ring_method": "ringall",
        "status": "offline",
        "permission": 16,
        "tag_ids": [],
        "addresses": [],
        "tm_create": "2026-01-01 00:00:00.000000",
        "tm_update": "2026-01-01 00:00:00.000000",
        "tm_delete": NOT_DELETED,
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
