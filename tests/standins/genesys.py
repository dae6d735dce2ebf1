"""A local Genesys OCS: a real HTTP server with OCS's control interface, for tests.

Sources, read for this stand-in rather than the adapter:

    docs.genesys.com "Campaign Group Status Reporting" (OU/Dep/AutoCGStatus): the ``GSW_*``
        attributes of the state messages OCS POSTs, once and never retried; the periodic
        messages; the statistics ``GSW_STAT_BUSY_FACTOR``, ``GSW_STAT_HIT_RATIO`` and
        ``GSW_STAT_OVERDIAL_RATE`` as fractions (0.85 = 85 %) and ``GSW_STAT_TIME_TO_COMPLETE``
        in seconds, each null when OCS has no value, in state and periodic messages alike
    docs.genesys.com "Campaign Group Auto Completion" (OU/Dep/AutoCompletion):
        ``GSW_AUTO_COMPLETION`` = 1 on LoadCampaign, StartDialing or SetDialingMode makes OCS
        stop and unload the group by itself once every retrieved record is finalised; the
        attribute is refused on other requests here

Assumed, as in ``dialer/genesys/vendor.py``: the control paths and parameters
(``POST /campaigngroups/<DBID>?req=...``, ``GET`` for the state, ``POST /lists/<name>?req=add``),
since no public page shows OCS's own HTTP control interface.

Control requests change a campaign group's state a moment later and POST the state message to
``notify_url``. Running groups send periodic messages when ``activity_interval`` is set, and dial
their calling list's records when ``dial_tick`` is set. The other end, for tests, is
``tests.standins.server.webhook_receiver_app``: it hands each delivery to an adapter's
``receive_webhook`` and the notifications to a sink, as the bot's HTTP edge does.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.standins.server import serve_locally

NOT_LOADED, WAITING_UNLOAD, UNLOAD_IN_PROGRESS, INACTIVE, ACTIVE, RUNNING = 0, 1, 2, 3, 4, 5
LOAD, UNLOAD, START, STOP, SET_MODE = 7, 8, 9, 10, 11
OCS_CLIENT, SELF, SCHEDULE = 1, 3, 4


AUTO_COMPLETION = "GSW_AUTO_COMPLETION"
AUTO_COMPLETION_REQUESTS = {"load", "startdialing", "setdialingmode"}
# What a running group reports, as OCS sends it: fractions, seconds.
RUNNING_STATISTICS: dict[str, float | None] = {
    "GSW_STAT_BUSY_FACTOR": 0.825,
    "GSW_STAT_HIT_RATIO": 0.31,
    "GSW_STAT_OVERDIAL_RATE": 0.024,
    "GSW_STAT_TIME_TO_COMPLETE": 5400,
}
IDLE_STATISTICS: dict[str, float | None] = dict.fromkeys(RUNNING_STATISTICS)


@dataclass
class GenesysKnobs:
    transition_delay: float = 0.02
    activity_interval: float = 0.0  # 0: no periodic activity messages
    dial_tick: float = 0.0  # 0: running groups do not work through their calling lists
    records_per_tick: int = 1


@dataclass
class StandinGroup:
    dbid: int
    name: str
    guid: str
    calling_list: str
    state: int = NOT_LOADED
    dial_mode: int | None = None
    optimize_by: int | None = None
    optimize_goal: int | None = None
    auto_completion: int = 0  # GSW_AUTO_COMPLETION of the last load/start/set-mode request
    finalized: int = 0  # records of its calling list dialled to the end
    completing: bool = False  # OCS is stopping and unloading it by auto-completion


@dataclass
class OcsStandin:
    groups: dict[int, StandinGroup]
    knobs: GenesysKnobs = field(default_factory=GenesysKnobs)
    notify_url: str | None = None
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    delivered: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app = Starlette(
            routes=[
                Route("/campaigngroups/{dbid:int}", self._group, methods=["GET", "POST"]),
                Route("/lists/{name}", self._list, methods=["POST"]),
            ]
        )
        self._outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[str]:
        tasks = [asyncio.create_task(self._deliver_forever())]
        if self.knobs.activity_interval > 0:
            tasks.append(asyncio.create_task(self._report_activity()))
        if self.knobs.dial_tick > 0:
            tasks.append(asyncio.create_task(self._dial_forever()))
        try:
            async with serve_locally(self.app) as url:
                yield url
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- test controls ------------------------------------------------------------------------

    def act(self, dbid: int, state: int, action: int, actor: int) -> None:
        """Change a group as OCS would on its own (its schedule, its own logic)."""
        group = self.groups[dbid]
        group.state = state
        self._announce(group, action, actor)

    def exhaust(self, dbid: int) -> None:
        """Finalise every record of the group's calling list, as if all were dialled."""
        group = self.groups[dbid]
        group.finalized = len(self.records.get(group.calling_list, []))
        self._maybe_complete(group)

    # -- the HTTP interface -------------------------------------------------------------------

    async def _group(self, request: Request) -> Response:
        group = self.groups.get(request.path_params["dbid"])
        if group is None:
            return JSONResponse({"message": "No such campaign group"}, status_code=404)
        if request.method == "GET":
            return JSONResponse(self._attributes(group))
        wanted = request.query_params.get("req", "")
        self.requests.append(f"{group.dbid}:{wanted}")
        if AUTO_COMPLETION in request.query_params:
            if wanted not in AUTO_COMPLETION_REQUESTS:
                message = f"{AUTO_COMPLETION} is taken only by load, startdialing, setdialingmode"
                return JSONResponse({"message": message}, status_code=400)
            if request.query_params[AUTO_COMPLETION] not in ("0", "1"):
                return JSONResponse({"message": f"{AUTO_COMPLETION} is 0 or 1"}, status_code=400)
            group.auto_completion = int(request.query_params[AUTO_COMPLETION])
        handler = {
            "load": self._load,
            "startdialing": self._start,
            "stopdialing": self._stop,
            "unload": self._unload,
            "setdialingmode": self._set_mode,
        }.get(wanted)
        if handler is None:
            return JSONResponse({"message": f"Unknown request {wanted!r}"}, status_code=400)
        refusal = handler(group, request.query_params)
        if refusal:
            return JSONResponse({"message": refusal}, status_code=409)
        return JSONResponse({"result": "accepted"})

    async def _list(self, request: Request) -> Response:
        if request.query_params.get("req") != "add":
            return JSONResponse({"message": "Unknown request"}, status_code=400)
        body = await request.json()
        records = body.get("records") if isinstance(body, dict) else None
        if not isinstance(records, list) or not all(
            isinstance(r, dict) and r.get("contact_info") for r in records
        ):
            return JSONResponse({"message": "Each record needs contact_info"}, status_code=400)
        self.records.setdefault(request.path_params["name"], []).extend(records)
        return JSONResponse({"added": len(records)})

    # -- behaviour ----------------------------------------------------------------------------

    def _load(self, group: StandinGroup, query: Any) -> str | None:
        if group.state != NOT_LOADED:
            return None  # loading a loaded group changes nothing
        group.completing = False
        self._later(group, [(INACTIVE, LOAD)])
        return None

    def _start(self, group: StandinGroup, query: Any) -> str | None:
        if group.state == NOT_LOADED:
            return "Campaign group is not loaded"
        if group.state in (ACTIVE, RUNNING):
            return None
        self._pace(group, query)
        self._later(group, [(RUNNING, START)])
        return None

    def _stop(self, group: StandinGroup, query: Any) -> str | None:
        if group.state in (ACTIVE, RUNNING):
            self._later(group, [(INACTIVE, STOP)])
        return None

    def _unload(self, group: StandinGroup, query: Any) -> str | None:
        if group.state in (ACTIVE, RUNNING):  # OCS lets the calls finish, then unloads
            self._later(group, [(WAITING_UNLOAD, UNLOAD), (NOT_LOADED, UNLOAD)])
        else:
            self._later(group, [(UNLOAD_IN_PROGRESS, UNLOAD), (NOT_LOADED, UNLOAD)])
        return None

    def _set_mode(self, group: StandinGroup, query: Any) -> str | None:
        if group.state not in (ACTIVE, RUNNING):
            return "Dialing mode is set only on a running campaign group"
        self._pace(group, query)
        self._later(group, [(group.state, SET_MODE)])
        return None

    def _pace(self, group: StandinGroup, query: Any) -> None:
        group.dial_mode = int(query.get("mode", 1))
        group.optimize_by = int(query.get("optmethod", 1))
        group.optimize_goal = int(query.get("optgoal", 80))

    def _later(
        self, group: StandinGroup, steps: list[tuple[int, int]], actor: int = OCS_CLIENT
    ) -> None:
        async def change() -> None:
            for state, action in steps:
                await asyncio.sleep(self.knobs.transition_delay)
                group.state = state
                self._announce(group, action, actor)

        asyncio.get_running_loop().create_task(change())

    def _announce(self, group: StandinGroup, action: int, actor: int) -> None:
        message = self._attributes(group) | {
            "GSW_CAMPAIGN_GROUP_ACTION": action,
            "GSW_CAMPAIGN_GROUP_ACTOR": actor,
        }
        self._outbox.put_nowait(message)

    def _attributes(self, group: StandinGroup) -> dict[str, Any]:
        message: dict[str, Any] = {
            "GSW_TENANT_NAME": "Environment",
            "GSW_TENANT_CCID": "ccid-1",
            "GSW_CAMPAIGN_GROUP_NAME": group.name,
            "GSW_CAMPAIGN_GROUP_GUID": group.guid,
            "GSW_GROUP_NAME": "Outbound Agents",
            "GSW_CAMPAIGN_NAME": group.name.split("@")[0],
            "GSW_QUEUE_NAME": "7001",
            "GSW_CAMPAIGN_GROUP_STATE": group.state,
            "GSW_DATE_TIME": f"{time.time():.3f}",
        }
        if group.state in (ACTIVE, RUNNING):
            message |= {
                "GSW_DIAL_MODE": group.dial_mode,
                "GSW_OPTIMIZE_BY": group.optimize_by,
                "GSW_OPTIMIZE_GOAL": group.optimize_goal,
            } | RUNNING_STATISTICS
        else:
            message |= IDLE_STATISTICS
        return message

    async def _report_activity(self) -> None:
        while True:
            await asyncio.sleep(self.knobs.activity_interval)
            for group in self.groups.values():
                if group.state in (ACTIVE, RUNNING):
                    self._outbox.put_nowait(self._attributes(group))  # no action: periodic

    async def _dial_forever(self) -> None:
        while True:
            await asyncio.sleep(self.knobs.dial_tick)
            for group in self.groups.values():
                if group.state in (ACTIVE, RUNNING):
                    loaded = len(self.records.get(group.calling_list, []))
                    group.finalized = min(loaded, group.finalized + self.knobs.records_per_tick)
                    self._maybe_complete(group)

    def _maybe_complete(self, group: StandinGroup) -> None:
        """Auto-completion: every record finalised, so OCS stops and unloads the group itself."""
        loaded = len(self.records.get(group.calling_list, []))
        dialling = group.state in (ACTIVE, RUNNING) and not group.completing
        if group.auto_completion == 1 and dialling and group.finalized >= loaded:
            group.completing = True
            self._later(group, [(INACTIVE, STOP), (NOT_LOADED, UNLOAD)], actor=SELF)

    async def _deliver_forever(self) -> None:
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                message = await self._outbox.get()
                if self.notify_url is None:
                    continue
                with contextlib.suppress(httpx.HTTPError):  # OCS never retries
                    await http.post(self.notify_url, json=message)
                    self.delivered.append(message)


def standard_groups(count: int = 3) -> dict[int, StandinGroup]:
    return {
        100 + n: StandinGroup(
            dbid=100 + n,
            name=f"Outbound {n}@Sales",
            guid=f"0b7e1c2a-0000-4000-8000-00000000010{n}",
            calling_list=f"list-{n}",
        )
        for n in range(count)
    }


def group_settings(groups: dict[int, StandinGroup]) -> list[dict[str, Any]]:
    """``GENESYS_CAMPAIGN_GROUPS`` for these groups."""
    return [
        {"name": g.name, "dbid": g.dbid, "calling_list": g.calling_list, "guid": g.guid}
        for g in groups.values()
    ]
