"""Everything this adapter assumes about Genesys OCS, in one table, and the pure functions on it.

Sources: OCS "Campaign Group Status Reporting" (seed 004) for the ``GSW_*`` attributes, and
``seeds/README.md`` for the enum numbering, which comes from secondary sources. The HTTP paths,
the ``GET`` of a group's state, the request parameters, the calling-list record fields and the
statistics attributes of the periodic activity message are not in either: they are *assumed*
from OCS's HTTP interface as we read it. Correct any of them here and nowhere else.

How a campaign group's state (CM_GrpCampState) becomes the bot's status::

    -1 Unknown            (nothing: ignored)
     0 NotLoaded          stopped   (deleted, once the bot asked to remove the campaign)
     1 WaitingUnload      stopping  (unload requested; calls in progress finish first)
     2 UnloadInProgress   stopping
     3 InActive           stopped   (loaded, not dialling)
     4 Active             running
     5 Running            running

OCS has no "completed": a group whose calling list is exhausted stays Running until it is stopped,
by the bot or by its schedule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from types import MappingProxyType
from typing import Any, TypeVar

from dialer.models import AGGRESSION_MAX, AGGRESSION_MIN, CampaignStatus, Contact

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

    # -- the periodic activity message (assumed names), attribute -> bot counter ----------
    statistics: Mapping[str, str] = field(
        default_factory=lambda: MappingProxyType(
            {
                "GSW_BUSY_FACTOR": "busy_factor_pct",
                "GSW_HIT_RATIO": "hit_ratio_pct",
                "GSW_OVERDIAL_RATE": "overdial_rate_pct",
                "GSW_TIME_TO_COMPLETE": "time_to_complete_s",
            }
        )
    )

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
        return bool(self.counters)

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
    raw_state = _integer(body, OCS.state, required=not counters)
    state = GroupState.UNKNOWN if raw_state is None else _enum(GroupState, raw_state, "state")
    raw_action = _integer(body, OCS.action, required=not counters)
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
    for attribute, ours in OCS.statistics.items():
        value = body.get(attribute)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise Garbage(f"{attribute} is not a number")
        try:
            counters[ours] = round(float(value))
        except ValueError:
            raise Garbage(f"{attribute} is not a number") from None
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
