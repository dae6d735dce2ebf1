"""A local stand-in of Teleforge Enigma: its HTTP API (as assumed in ``dialer.enigma.wire``) and
its notifications, published on a real Redis's Pub/Sub like the dialer's own Redis would.

It behaves like a dialer, not like a mock: requests are answered at once and state changes happen
later (``stopping`` before ``stopped``), a campaign is deleted only once stopped, a contact ref or
campaign ref is never accepted twice. Tests inject failures with ``fail_next`` / ``stall_next``
and read what was asked in ``requests``.

Sources: the notifications follow Teleforge's Enigma documentation space (EPD), page "Campaign
Status" — channel ``enigma:notifications:campaigns:<campaign_ref>``, packet ``{type: "status",
payload: {status, ref}}``, statuses started / stopping / stopped / completed, ``stopping`` while
callees are still on the line. Enigma's HTTP API is not public: its routes and bodies here are the
assumptions of the one ``WIRE`` table, marked ASSUMED there, to be corrected against a real
installation.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dialer.base import NotificationSink
from dialer.enigma import EnigmaDialer, EnigmaSettings
from dialer.enigma.wire import WIRE
from tests.standins.server import serve_locally

log = logging.getLogger(__name__)

Handler = Callable[[Request], Awaitable[Response]]

_CONTACT_REF = re.compile(r"^[A-Za-z0-9.\-_~:]{1,230}$")
_MAX_BATCH = 100
_DEFAULT_STATES = {"offline", "available"}


@dataclass
class _Campaign:
    ref: str
    name: str
    description: str
    settings: dict[str, Any]
    agents: list[str]
    agent_default_state: str
    status: str = WIRE.stopped
    contacts: list[dict[str, Any]] = field(default_factory=list)
    transitions: asyncio.Task[None] | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            WIRE.ref: self.ref,
            WIRE.name: self.name,
            WIRE.description: self.description,
            WIRE.status: self.status,
            WIRE.settings: self.settings,
            WIRE.agents: self.agents,
            WIRE.agent_default_state: self.agent_default_state,
            WIRE.counters: {"contacts": len(self.contacts)},
        }


@dataclass
class _Fault:
    count: int
    status: int = 503
    delay: float = 0.0


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {WIRE.error: {WIRE.error_code: code, WIRE.error_message: message}}, status_code=status
    )


class EnigmaStandIn:
    def __init__(
        self,
        redis_url: str,
        channel_prefix: str,
        *,
        api_key: str | None = None,
        transition_delay: float = 0.05,
    ) -> None:
        self.redis_url = redis_url
        self.channel_prefix = channel_prefix
        self.api_key = api_key
        self.transition_delay = transition_delay
        self.campaigns: dict[str, _Campaign] = {}
        self.requests: list[tuple[str, str, Any]] = []  # (method, path, JSON body)
        self._issued_refs: set[str] = set()
        self._contact_refs: set[str] = set()
        self._faults: list[_Fault] = []
        # No retries: while its Redis is down a packet is lost at once, as the real one's would be.
        self._redis = Redis.from_url(redis_url, retry=Retry(NoBackoff(), 0))
        self.url = ""
        self.app = Starlette(routes=self._routes())

    # --- test controls ------------------------------------------------------------------------

    def fail_next(self, count: int = 1, status: int = 503) -> None:
        """The next ``count`` requests answer ``status`` without doing anything."""
        self._faults.append(_Fault(count, status=status))

    def stall_next(self, count: int, seconds: float) -> None:
        """The next ``count`` requests are carried out at once but answered after ``seconds``."""
        self._faults.append(_Fault(count, status=0, delay=seconds))

    def status_of(self, ref: str) -> str | None:
        campaign = self.campaigns.get(ref)
        return None if campaign is None else campaign.status

    async def settle(self) -> None:
        """Wait until every scheduled state change has happened."""
        pending = [c.transitions for c in self.campaigns.values() if c.transitions is not None]
        await asyncio.gather(*pending, return_exceptions=True)

    async def complete(self, ref: str) -> None:
        """Enigma dialled every callee: the running campaign reports ``completed``."""
        await self._change(self.campaigns[ref], WIRE.completed)

    async def publish_agent(self, extension: str, campaign_ref: str, status: str) -> None:
        payload = {"status": status, WIRE.packet_campaign_ref: campaign_ref, "ref": extension}
        await self._publish(WIRE.agent_channels + extension, payload)

    async def aclose(self) -> None:
        for campaign in self.campaigns.values():
            if campaign.transitions is not None:
                campaign.transitions.cancel()
        await self.settle()
        await self._redis.aclose()

    # --- HTTP ---------------------------------------------------------------------------------

    def _routes(self) -> list[Route]:
        table: list[tuple[Any, Handler]] = [
            (WIRE.list_campaigns, self._list),
            (WIRE.create_campaign, self._create),
            (WIRE.get_campaign, self._get),
            (WIRE.modify_campaign, self._modify),
            (WIRE.delete_campaign, self._delete),
            (WIRE.add_contacts, self._add_contacts),
            (WIRE.add_agents, self._add_agents),
            (WIRE.remove_agents, self._remove_agents),
        ]
        return [
            Route(route.path, self._guarded(handler), methods=[route.method])
            for route, handler in table
        ]

    def _guarded(self, handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            self.requests.append((request.method, request.url.path, json.loads(body or "null")))
            if self.api_key is not None:
                expected = WIRE.auth_template.format(key=self.api_key)
                if request.headers.get(WIRE.auth_header) != expected:
                    return _error(401, "unauthorized", "missing or wrong API key")
            fault = self._take_fault()
            if fault is not None and not fault.delay:
                return _error(fault.status, "injected", "injected failure")
            response = await handler(request)
            if fault is not None:
                await asyncio.sleep(fault.delay)
            return response

        return endpoint

    def _take_fault(self) -> _Fault | None:
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.count -= 1
        if fault.count <= 0:
            self._faults.pop(0)
        return fault

    def _campaign(self, request: Request) -> _Campaign | Response:
        ref = request.path_params["ref"]
        campaign = self.campaigns.get(ref)
        if campaign is None:
            return _error(404, "campaign_not_found", f"no campaign {ref}")
        return campaign

    async def _list(self, request: Request) -> Response:
        campaigns = [c.as_json() for c in self.campaigns.values()]
        return JSONResponse({WIRE.campaigns_envelope: campaigns})

    async def _get(self, request: Request) -> Response:
        campaign = self._campaign(request)
        return campaign if isinstance(campaign, Response) else JSONResponse(campaign.as_json())

    async def _create(self, request: Request) -> Response:
        body = await request.json()
        ref = body.get(WIRE.ref)
        if not isinstance(ref, str) or not ref:
            return _error(400, "invalid_request", "a campaign needs a ref")
        if ref in self._issued_refs:
            return _error(409, "campaign_exists", f"campaign ref {ref} was used before")
        if body.get(WIRE.agent_default_state) not in _DEFAULT_STATES:
            return _error(400, "invalid_request", "agent_default_state is offline or available")
        problem = _settings_problem(body.get(WIRE.settings))
        if problem:
            return _error(400, "invalid_request", problem)
        self._issued_refs.add(ref)
        campaign = _Campaign(
            ref=ref,
            name=str(body.get(WIRE.name, "")),
            description=str(body.get(WIRE.description, "")),
            settings=body[WIRE.settings],
            agents=list(body.get(WIRE.agents, [])),
            agent_default_state=body[WIRE.agent_default_state],
        )
        self.campaigns[ref] = campaign
        return JSONResponse(campaign.as_json(), status_code=201)

    async def _modify(self, request: Request) -> Response:
        campaign = self._campaign(request)
        if isinstance(campaign, Response):
            return campaign
        body = await request.json()
        changes = set(body) - {WIRE.ref}
        if body.get(WIRE.ref) != campaign.ref or len(changes) != 1:
            return _error(400, "invalid_request", "a modify carries the ref and one change")
        if WIRE.settings in body:
            problem = _settings_problem(body[WIRE.settings])
            if problem:
                return _error(400, "invalid_request", problem)
            campaign.settings = body[WIRE.settings]
        elif body.get(WIRE.status) in (WIRE.started, WIRE.stopped):
            self._schedule(campaign, running=body[WIRE.status] == WIRE.started)
        elif body.get(WIRE.agent_default_state) in _DEFAULT_STATES:
            campaign.agent_default_state = body[WIRE.agent_default_state]
        else:
            return _error(400, "invalid_request", f"cannot modify {sorted(changes)}")
        return JSONResponse(campaign.as_json())

    async def _delete(self, request: Request) -> Response:
        campaign = self._campaign(request)
        if isinstance(campaign, Response):
            return campaign
        if campaign.status not in (WIRE.stopped, WIRE.completed):
            return _error(409, "campaign_not_stopped", f"campaign is {campaign.status}")
        del self.campaigns[campaign.ref]
        return Response(status_code=204)

    async def _add_contacts(self, request: Request) -> Response:
        campaign = self._campaign(request)
        if isinstance(campaign, Response):
            return campaign
        contacts = (await request.json()).get(WIRE.contacts)
        if not isinstance(contacts, list) or not 0 < len(contacts) <= _MAX_BATCH:
            return _error(400, "invalid_request", f"send 1 to {_MAX_BATCH} contacts")
        refs = [contact.get(WIRE.ref, "") for contact in contacts]
        if not all(isinstance(ref, str) and _CONTACT_REF.match(ref) for ref in refs):
            return _error(400, "invalid_request", "contact refs: letters, digits, .-_~: (230)")
        seen = self._contact_refs.intersection(refs)
        if seen or len(set(refs)) != len(refs):
            return _error(409, WIRE.duplicate_contact_code, f"contact refs used before: {seen}")
        self._contact_refs.update(refs)
        campaign.contacts.extend(contacts)
        return JSONResponse({WIRE.contacts: len(contacts)}, status_code=201)

    async def _add_agents(self, request: Request) -> Response:
        return await self._change_agents(request, add=True)

    async def _remove_agents(self, request: Request) -> Response:
        return await self._change_agents(request, add=False)

    async def _change_agents(self, request: Request, *, add: bool) -> Response:
        campaign = self._campaign(request)
        if isinstance(campaign, Response):
            return campaign
        agents = (await request.json()).get(WIRE.agents)
        if not isinstance(agents, list) or not all(isinstance(a, str) for a in agents):
            return _error(400, "invalid_request", "agents is a list of extensions")
        if add:
            campaign.agents += [a for a in dict.fromkeys(agents) if a not in campaign.agents]
        else:
            campaign.agents = [a for a in campaign.agents if a not in agents]
        return JSONResponse(campaign.as_json())

    # --- asynchronous state changes -----------------------------------------------------------

    def _schedule(self, campaign: _Campaign, *, running: bool) -> None:
        previous = campaign.transitions

        async def transition() -> None:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await asyncio.sleep(self.transition_delay)
            if self.campaigns.get(campaign.ref) is not campaign:
                return  # deleted meanwhile
            if running and campaign.status != WIRE.started:
                await self._change(campaign, WIRE.started)
                await self._call_in_agents(campaign)
            elif not running and campaign.status == WIRE.started:
                await self._change(campaign, WIRE.stopping)
                await asyncio.sleep(self.transition_delay)
                await self._change(campaign, WIRE.stopped)

        campaign.transitions = asyncio.create_task(transition())

    async def _change(self, campaign: _Campaign, status: str) -> None:
        campaign.status = status
        packet = {"status": status, "ref": campaign.ref}
        await self._publish(WIRE.campaign_channels + campaign.ref, packet)

    async def _call_in_agents(self, campaign: _Campaign) -> None:
        if campaign.agent_default_state == "available":
            for agent in campaign.agents:
                await self.publish_agent(agent, campaign.ref, "available")

    async def _publish(self, channel_suffix: str, payload: dict[str, Any]) -> None:
        packet = {WIRE.packet_type: WIRE.status_packet, WIRE.packet_payload: payload}
        try:
            await self._redis.publish(self.channel_prefix + channel_suffix, json.dumps(packet))
        except (RedisError, OSError) as exc:
            # Like the real dialer: the state changed, the packet is lost with its Redis.
            log.warning("Enigma stand-in could not publish %s: %s", payload, exc)


def _settings_problem(settings: object) -> str | None:
    if not isinstance(settings, dict):
        return "settings must be an object"
    aggression = settings.get(WIRE.aggression)
    low, high = WIRE.aggression_range
    if not isinstance(aggression, int) or not low <= aggression <= high:
        return f"aggression must be an integer from {low} to {high}"
    return None


@asynccontextmanager
async def running_enigma(
    redis_url: str, channel_prefix: str, **options: Any
) -> AsyncIterator[EnigmaStandIn]:
    """The stand-in served on 127.0.0.1 at a free port, for the duration of the block."""
    standin = EnigmaStandIn(redis_url, channel_prefix, **options)
    try:
        async with serve_locally(standin.app) as url:
            standin.url = url
            yield standin
    finally:
        await standin.aclose()


@asynccontextmanager
async def listening_adapter(
    standin: EnigmaStandIn,
    sink: NotificationSink,
    *,
    redis_url: str | None = None,
    **settings: Any,
) -> AsyncIterator[EnigmaDialer]:
    """An adapter pointed at ``standin``, its notifications running into ``sink``, subscribed.

    ``redis_url`` defaults to the stand-in's own Redis (the "dialer's Redis").
    """
    dialer = EnigmaDialer(
        EnigmaSettings(
            api_url=standin.url,
            redis_url=redis_url or standin.redis_url,
            channel_prefix=standin.channel_prefix,
            **settings,
        )
    )
    listener = asyncio.create_task(dialer.run_notifications(sink))
    try:
        await asyncio.wait_for(dialer.wait_listening(), 5)
        yield dialer
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
        await dialer.aclose()
