"""Everything this adapter assumes about Genesys OCS, in one table, and the pure functions on it.

Every entry of ``OcsVocabulary`` has a row in ``SOURCES`` (same name) saying where it comes from:
a Genesys documentation page by its title, or *assumed* with what would confirm it. Correct an
entry here and nowhere else. The pages cited:

    "Campaign Group Status Reporting" (docs.genesys.com, OU/Dep/AutoCGStatus): the ``GSW_*``
        attributes OCS POSTs on a state change and periodically, and since 8.1.517.04 the
        statistics ``GSW_STAT_*`` in the same JSON body (ratios as fractions, 0.85 = 85 %, the
        time to complete in seconds, any of them null)
    "Campaign Group Auto Completion" (docs.genesys.com, OU/Dep/AutoCompletion): the request
        attribute ``GSW_AUTO_COMPLETION`` (1 = OCS stops and unloads the group by itself once
        its records are finalised), accepted on LoadCampaign, StartDialing and SetDialingMode only

How a campaign group's state (CM_GrpCampState) becomes the bot's status::

    -1 Unknown            (nothing: ignored)
     0 NotLoaded          stopped   (deleted, once the bot asked to remove the campaign;
                                     completed, when OCS unloaded it by auto-completion)
     1 WaitingUnload      stopping  (unload requested; calls in progress finish first)
     2 UnloadInProgress   stopping
     3 InActive           stopped   (completed, when OCS stopped it by auto-completion)
     4 Active             running
     5 Running            running

OCS completes a group by itself only when asked to (``GSW_AUTO_COMPLETION`` = 1, which the bot
sends when the campaign's end handle is ``stop``): it then stops and unloads the group, and those
two messages name OCS itself as the actor. Without it a group whose calling list is exhausted
stays Running until it is stopped, by the bot or by its schedule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from types import MappingProxyType
from typing import Any, TypeVar

from dialer.models import Contact, DialerCapabilities
from state.domain import AGGRESSION_MAX, AGGRESSION_MIN, CampaignStatus

E = TypeVar("E", bound=IntEnum)


class GroupState(IntEnum):  # CM_GrpCampState
    UNKNOWN = -1
    NOT_LOADED = 0
    WAITING_UNLOAD = 1
    UNLOAD_IN_PROGRESS = 2
    INACTIVE = 3
    ACTIVE = 4
    RUNNING = 5


class Action(IntEnum):  # CMMessageType: the request that caused the message
    LOAD_CAMPAIGN = 7
    UNLOAD_CAMPAIGN = 8
    START_DIALING = 9
    STOP_DIALING = 10
    SET_DIALING_MODE = 11


class Actor(IntEnum):  # GSW_CAMPAIGN_GROUP_ACTOR
    UNKNOWN = 0
    OCS_CLIENT = 1
    COMM_CLIENT = 2
    SELF = 3
    SCHEDULE = 4
    SEQUENCE = 5


class DialMode(IntEnum):  # CfgDialMode
    PREDICT = 1
    PROGRESS = 2
    PREVIEW = 3
    PROGRESS_AND_SEIZE = 4
    PREDICT_AND_SEIZE = 5
    POWER = 6
    POWER_AND_SEIZE = 7
    PUSH_PREVIEW = 8
    PROGRESS_GVP = 9
    PREDICT_GVP = 10
    POWER_GVP = 11


class OptimizeBy(IntEnum):  # CfgOptimizationMethod
    BUSY_FACTOR = 1
    OVERDIAL_RATE = 2
    WAIT_TIME = 3


@dataclass(frozen=True)
class OcsVocabulary:
    # -- the notification (seed 004) ------------------------------------------------------
    tenant: str = "GSW_TENANT_NAME"
    group_name: str = "GSW_CAMPAIGN_GROUP_NAME"
    group_guid: str = "GSW_CAMPAIGN_GROUP_GUID"
    state: str = "GSW_CAMPAIGN_GROUP_STATE"
    action: str = "GSW_CAMPAIGN_GROUP_ACTION"
    actor: str = "GSW_CAMPAIGN_GROUP_ACTOR"
    dial_mode: str = "GSW_DIAL_MODE"
    optimize_by: str = "GSW_OPTIMIZE_BY"
    optimize_goal: str = "GSW_OPTIMIZE_GOAL"
    date_time: str = "GSW_DATE_TIME"  # UTC seconds with millisecond precision

    # -- statistics, in state messages and periodic ones: attribute -> (counter, scale) ------
    # The ratios arrive as fractions (0.85 = 85 %) and become whole percentages; the time to
    # complete arrives in seconds. null means OCS has no value yet: the counter is left out.
    statistics: Mapping[str, tuple[str, int]] = field(
        default_factory=lambda: MappingProxyType(
            {
                "GSW_STAT_BUSY_FACTOR": ("busy_factor_pct", 100),
                "GSW_STAT_HIT_RATIO": ("hit_ratio_pct", 100),
                "GSW_STAT_OVERDIAL_RATE": ("overdial_rate_pct", 100),
                "GSW_STAT_TIME_TO_COMPLETE": ("time_to_complete_s", 1),
            }
        )
    )

    # -- agents: the campaign group's configured Agent Group or Place Group ----------------
    agents_managed_in: str = (
        "Genesys Administrator: the campaign group's Agent Group or Place Group staffs it"
    )

    # -- auto-completion ------------------------------------------------------------------
    auto_completion: str = "GSW_AUTO_COMPLETION"  # 1: stop and unload once records run out
    auto_completion_requests: frozenset[str] = frozenset({"load", "startdialing", "setdialingmode"})

    # -- enums (README; secondary sources) ----------------------------------------------
    statuses: Mapping[GroupState, CampaignStatus | None] = field(
        default_factory=lambda: MappingProxyType(
            {
                GroupState.UNKNOWN: None,
                GroupState.NOT_LOADED: CampaignStatus.STOPPED,
                GroupState.WAITING_UNLOAD: CampaignStatus.STOPPING,
                GroupState.UNLOAD_IN_PROGRESS: CampaignStatus.STOPPING,
                GroupState.INACTIVE: CampaignStatus.STOPPED,
                GroupState.ACTIVE: CampaignStatus.RUNNING,
                GroupState.RUNNING: CampaignStatus.RUNNING,
            }
        )
    )
    actors: Mapping[Actor, str] = field(
        default_factory=lambda: MappingProxyType(  # completes "stopped by ..."
            {
                Actor.UNKNOWN: "an unknown actor",
                Actor.OCS_CLIENT: "an OCS client",
                Actor.COMM_CLIENT: "a Communication DN client",
                Actor.SELF: "OCS itself",
                Actor.SCHEDULE: "its schedule",
                Actor.SEQUENCE: "its sequence",
            }
        )
    )
    # Optimisation goal at aggression 1 and at 100 (a wait-time goal falls as pacing rises).
    goal_range: Mapping[OptimizeBy, tuple[int, int]] = field(
        default_factory=lambda: MappingProxyType(
            {
                OptimizeBy.BUSY_FACTOR: (30, 95),  # % of agent time on calls
                OptimizeBy.OVERDIAL_RATE: (1, 10),  # % of calls abandoned
                OptimizeBy.WAIT_TIME: (60, 2),  # seconds an agent waits between calls
            }
        )
    )

    # -- OCS's HTTP interface (paths and parameters assumed) ------------------------------
    group_path: str = "campaigngroups/{dbid}"  # GET: the state; POST ?req=<request>: control
    request_param: str = "req"
    load: str = "load"
    start_dialing: str = "startdialing"
    stop_dialing: str = "stopdialing"
    unload: str = "unload"
    set_dialing_mode: str = "setdialingmode"
    mode_param: str = "mode"
    optimize_by_param: str = "optmethod"
    optimize_goal_param: str = "optgoal"
    list_path: str = "lists/{calling_list}"  # POST ?req=add {"records": [...]}
    add_records: str = "add"

    # -- calling-list records (standard Genesys field names; the ref field is ours) -------
    phone_field: str = "contact_info"
    chain_field: str = "chain_n"  # one record per number, chained by the contact ref
    chain_id_field: str = "chain_id"
    contact_ref_field: str = "bot_contact_ref"  # a custom field of the calling list
    error_message_fields: tuple[str, ...] = ("message", "error", "description")


OCS = OcsVocabulary()

_STATUS_PAGE = 'docs.genesys.com "Campaign Group Status Reporting" (OU/Dep/AutoCGStatus)'
_AUTO_PAGE = 'docs.genesys.com "Campaign Group Auto Completion" (OU/Dep/AutoCompletion)'
_HTTP_ASSUMED = (
    "assumed: OCS's own HTTP control interface is not on a public page we found (the Auto "
    "Completion page shows only the GWS form, POST /ocs/v3/servers/<id>/load-campaign); "
    "confirm against your OCS HTTP Proxy / GWS version"
)

# Where each entry of ``OcsVocabulary`` comes from: a page, or "assumed" and what would confirm it.
SOURCES: Mapping[str, str] = MappingProxyType(
    {
        "tenant": _STATUS_PAGE,
        "group_name": _STATUS_PAGE,
        "group_guid": _STATUS_PAGE,
        "state": _STATUS_PAGE + "; the numbering of CM_GrpCampState is from secondary sources",
        "action": _STATUS_PAGE + "; CMMessageType numbers: the Auto Completion page's log shows "
        "7 = GSW_CM_ReqLoadCampaign, the others are from secondary sources",
        "actor": _STATUS_PAGE + "; the numbering is from secondary sources",
        "dial_mode": _STATUS_PAGE + " (CfgDialMode values, only while running)",
        "optimize_by": _STATUS_PAGE,
        "optimize_goal": _STATUS_PAGE,
        "date_time": _STATUS_PAGE,
        "statistics": _STATUS_PAGE + " (since 8.1.517.04: fractions, 0.85 = 85 %; "
        "GSW_STAT_TIME_TO_COMPLETE in seconds, 600 = 10 minutes; each may be null)",
        "agents_managed_in": 'docs.genesys.com "Campaign Group" (OU/Dep/CampaignGroup): a '
        "campaign group is assigned to an Agent Group or a Place Group in Genesys Administrator; "
        "OCS's control requests name no agents",
        "auto_completion": _AUTO_PAGE + " (the attribute, 0 or 1); how it travels on OCS's HTTP "
        "control request (a query parameter here) is assumed",
        "auto_completion_requests": _AUTO_PAGE + ": only CampaignLoad, StartDialing and "
        "SetDialingMode may carry it",
        "statuses": "the mapping is ours, over the states of " + _STATUS_PAGE,
        "actors": "ours: the wording of each GSW_CAMPAIGN_GROUP_ACTOR value",
        "goal_range": "assumed: our choice of gentle and fierce goals; OCS takes any goal",
        "group_path": _HTTP_ASSUMED,
        "request_param": _HTTP_ASSUMED,
        "load": _HTTP_ASSUMED,
        "start_dialing": _HTTP_ASSUMED,
        "stop_dialing": _HTTP_ASSUMED,
        "unload": _HTTP_ASSUMED,
        "set_dialing_mode": _HTTP_ASSUMED,
        "mode_param": _HTTP_ASSUMED,
        "optimize_by_param": _HTTP_ASSUMED,
        "optimize_goal_param": _HTTP_ASSUMED,
        "list_path": _HTTP_ASSUMED,
        "add_records": _HTTP_ASSUMED,
        "phone_field": "assumed: the standard Genesys calling-list field contact_info; confirm "
        "against the calling list's format",
        "chain_field": "assumed: the standard Genesys calling-list field chain_n",
        "chain_id_field": "assumed: the standard Genesys calling-list field chain_id",
        "contact_ref_field": "ours: a custom field the calling list's format must have",
        "error_message_fields": "assumed: no public page shows OCS's HTTP error body",
    }
)


@dataclass(frozen=True)
class GroupMessage:
    """One OCS notification read out of its JSON: a state change, or periodic activity."""

    group_key: str  # GUID when OCS sent one, else the campaign group's name
    group_name: str | None
    state: GroupState
    action: Action | None
    actor: Actor
    occurred_at: datetime
    dial_mode: int | None
    optimize_by: OptimizeBy | None
    optimize_goal: int | None
    counters: dict[str, int]

    @property
    def status(self) -> CampaignStatus | None:
        return OCS.statuses[self.state]

    @property
    def is_activity(self) -> bool:
        """A periodic message: no request caused it; it carries statistics (or nulls) only."""
        return self.action is None

    @property
    def by_ocs_itself(self) -> bool:
        return self.actor is Actor.SELF

    @property
    def actor_text(self) -> str:
        return OCS.actors[self.actor]


class Garbage(ValueError):
    """Not an OCS campaign-group message at all."""


class UnknownMessage(ValueError):
    """Well-formed, but with values this table does not know: nothing to apply."""


def parse_message(body: Mapping[str, Any]) -> GroupMessage:
    name = _text(body.get(OCS.group_name))
    guid = _text(body.get(OCS.group_guid))
    if name is None and guid is None:
        raise Garbage("no campaign group name or GUID")
    counters = _counters(body)
    periodic = any(attribute in body for attribute in OCS.statistics)
    raw_state = _integer(body, OCS.state, required=not periodic)
    state = GroupState.UNKNOWN if raw_state is None else _enum(GroupState, raw_state, "state")
    raw_action = _integer(body, OCS.action, required=not periodic)
    raw_actor = _integer(body, OCS.actor)
    raw_optimize = _integer(body, OCS.optimize_by)
    return GroupMessage(
        group_key=guid or name or "",
        group_name=name,
        state=state,
        action=_known(Action, raw_action),
        actor=_known(Actor, raw_actor) or Actor.UNKNOWN,
        occurred_at=_moment(body.get(OCS.date_time)),
        dial_mode=_integer(body, OCS.dial_mode),
        optimize_by=_known(OptimizeBy, raw_optimize),
        optimize_goal=_integer(body, OCS.optimize_goal),
        counters=counters,
    )


def goal_for(aggression: int, method: OptimizeBy) -> int:
    gentle, fierce = OCS.goal_range[method]
    share = (aggression - AGGRESSION_MIN) / (AGGRESSION_MAX - AGGRESSION_MIN)
    return round(gentle + (fierce - gentle) * share)


def aggression_for(goal: int, method: OptimizeBy) -> int:
    gentle, fierce = OCS.goal_range[method]
    share = (goal - gentle) / (fierce - gentle)
    aggression = round(AGGRESSION_MIN + share * (AGGRESSION_MAX - AGGRESSION_MIN))
    return min(AGGRESSION_MAX, max(AGGRESSION_MIN, aggression))


def control_params(request: str, **extra: int) -> dict[str, str | int]:
    return {OCS.request_param: request, **extra}


def auto_completion_params(request: str, *, complete: bool) -> dict[str, int]:
    """``GSW_AUTO_COMPLETION`` for the requests that may carry it, none for the others."""
    if request not in OCS.auto_completion_requests:
        return {}
    return {OCS.auto_completion: 1 if complete else 0}


def pacing_params(aggression: int, mode: DialMode, method: OptimizeBy) -> dict[str, int]:
    return {
        OCS.mode_param: int(mode),
        OCS.optimize_by_param: int(method),
        OCS.optimize_goal_param: goal_for(aggression, method),
    }


def records_for(contact: Contact) -> list[dict[str, Any]]:
    """One calling-list record per number, chained so OCS tries the next number in turn."""
    return [
        {
            OCS.phone_field: phone,
            OCS.chain_id_field: contact.ref,
            OCS.chain_field: position,
            OCS.contact_ref_field: contact.ref,
            **contact.fields,
        }
        for position, phone in enumerate(contact.phone_numbers)
    ]


def error_message(body: object) -> str | None:
    if isinstance(body, Mapping):
        for key in OCS.error_message_fields:
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
    return None


def _counters(body: Mapping[str, Any]) -> dict[str, int]:
    counters: dict[str, int] = {}
    for attribute, (ours, scale) in OCS.statistics.items():
        value = body.get(attribute)
        if value is None:
            continue  # null: OCS has no value for it yet
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Garbage(f"{attribute} is not a number")
        if not math.isfinite(value) or value < 0:
            raise Garbage(f"{attribute} is not a non-negative number")
        counters[ours] = round(value * scale)
    return counters


def _integer(body: Mapping[str, Any], key: str, *, required: bool = False) -> int | None:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise Garbage(f"{key} is missing")
        return None
    if isinstance(value, bool):
        raise Garbage(f"{key} is not an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise Garbage(f"{key} is not an integer") from None


def _enum(kind: type[E], value: int, what: str) -> E:
    try:
        return kind(value)
    except ValueError:
        raise UnknownMessage(f"unknown {what} {value}") from None


def _known(kind: type[E], value: int | None) -> E | None:
    if value is None:
        return None
    try:
        return kind(value)
    except ValueError:
        return None


def _text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int):
        raise Garbage("a campaign group name or GUID that is not text")
    return str(value) or None


def _moment(value: object) -> datetime:
    if value is None or value == "":
        return datetime.now(UTC)
    try:
        return datetime.fromtimestamp(float(value), UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError, OSError):
        raise Garbage(f"{OCS.date_time} is not a time") from None


CAPABILITIES = DialerCapabilities(
    agents_managed_here=False, agents_managed_where=OCS.agents_managed_in
)
"""What the Dialer port can do on OCS: agents are configured on the campaign group, not sent."""
