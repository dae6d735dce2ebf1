"""Reading a submitted modal (``view.state.values``) into a typed form, or errors per field.

Errors are keyed by input block id, the shape Slack's ``response_action: errors`` takes, so the
person sees each problem under the field it belongs to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from commands.arguments import parse_agent_ids
from commands.errors import CommandError
from commands.settings_input import BadSetting, read_setting, rule
from commands.views import ids
from state.calling_window import CallingWindow, WindowError, parse_window
from state.domain import AgentAssignment, AgentDefaultState, CampaignSettings

StateValues = dict[str, dict[str, dict[str, Any]]]

SETTING_BLOCKS = (
    ids.AGGRESSION,
    ids.END_HANDLE,
    ids.DIAL_TIMEOUT,
    ids.MAX_ATTEMPTS,
    ids.RETRY_INTERVAL,
)


class FormErrors(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class NewCampaignForm:
    name: str
    detail: str
    settings: CampaignSettings
    agents: tuple[AgentAssignment, ...]
    leads_file_id: str | None
    window: CallingWindow | None = None


@dataclass(frozen=True)
class CampaignEditForm:
    settings_changes: dict[str, Any]
    """Only the settings fields present in the modal; the caller compares with the current."""
    add_agents: tuple[str, ...]
    default_state: AgentDefaultState | None
    window_given: bool = False
    """The modal had the calling-window field (``window``: what it held, None when empty)."""
    window: CallingWindow | None = None


def read_new_campaign(values: StateValues, *, file_id: str | None = None) -> NewCampaignForm:
    """``file_id``: the leads file chosen before the form opened (the message shortcut); the
    form then has no file field."""
    errors: dict[str, str] = {}
    name = (_text(values, ids.NAME) or "").strip()
    if not name:
        errors[ids.NAME] = "Give the campaign a name."
    elif len(name) > 80:
        errors[ids.NAME] = "At most 80 characters."
    detail = (_text(values, ids.DETAIL) or "").strip()
    if len(detail) > 500:
        errors[ids.DETAIL] = "At most 500 characters."
    changes = _settings(values, errors)
    agent_ids = _agents(values, errors)
    _, window = _window(values, errors)
    state = _default_state(values) or AgentDefaultState.OFFLINE
    files = [{"id": file_id}] if file_id else _files(values, ids.LEADS)
    if not files:
        errors[ids.LEADS] = "Attach the leads as a CSV file."
    elif len(files) > 1:
        errors[ids.LEADS] = "Attach one CSV file."
    if errors:
        raise FormErrors(errors)
    return NewCampaignForm(
        name=name,
        detail=detail,
        settings=CampaignSettings.model_validate(changes),
        agents=tuple(AgentAssignment(agent_id=a, default_state=state) for a in agent_ids),
        leads_file_id=str(files[0]["id"]),
        window=window,
    )


def read_campaign_edit(values: StateValues) -> CampaignEditForm:
    errors: dict[str, str] = {}
    changes = _settings(values, errors)
    agent_ids = _agents(values, errors)
    window_given, window = _window(values, errors)
    if errors:
        raise FormErrors(errors)
    return CampaignEditForm(
        settings_changes=changes,
        add_agents=agent_ids,
        default_state=_default_state(values),
        window_given=window_given,
        window=window,
    )


def _settings(values: StateValues, errors: dict[str, str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for block in SETTING_BLOCKS:
        raw = _text(values, block)
        if raw is None or block not in values:
            continue
        try:
            changes[block] = read_setting(block, raw)
        except BadSetting:
            errors[block] = f"Must be {rule(block)}."
    return changes


def _agents(values: StateValues, errors: dict[str, str]) -> tuple[str, ...]:
    try:
        return parse_agent_ids(_text(values, ids.AGENTS) or "")
    except CommandError:
        errors[ids.AGENTS] = "Agent ids are letters, digits and ._:@+- separated by spaces."
        return ()


def _window(values: StateValues, errors: dict[str, str]) -> tuple[bool, CallingWindow | None]:
    """Whether the form has the calling-window field, and the window it holds (None: empty)."""
    if ids.CALLING_WINDOW not in values:
        return False, None
    typed = (_text(values, ids.CALLING_WINDOW) or "").split()
    if not typed:
        return True, None
    try:
        return True, parse_window(typed)
    except WindowError as exc:
        errors[ids.CALLING_WINDOW] = str(exc)
        return True, None


def _default_state(values: StateValues) -> AgentDefaultState | None:
    raw = _text(values, ids.DEFAULT_STATE)
    return AgentDefaultState(raw) if raw in {s.value for s in AgentDefaultState} else None


def _element(values: StateValues, block: str) -> dict[str, Any]:
    return values.get(block, {}).get(block, {})


def _text(values: StateValues, block: str) -> str | None:
    element = _element(values, block)
    selected = element.get("selected_option")
    if isinstance(selected, dict):
        return str(selected.get("value"))
    value = element.get("value")
    return None if value is None else str(value)


def _files(values: StateValues, block: str) -> list[dict[str, Any]]:
    files = _element(values, block).get("files")
    return (
        [f for f in files if isinstance(f, dict) and "id" in f] if isinstance(files, list) else []
    )
