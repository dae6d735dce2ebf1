"""Reading campaign settings typed by a person (``key=value`` or a modal field), one at a time.

The rules come from ``CampaignSettings`` itself, so the message for a bad value always states the
range the model really enforces.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import annotated_types
from pydantic import ValidationError

from commands.text import code
from state.domain import CampaignSettings

SETTING_NAMES: tuple[str, ...] = tuple(CampaignSettings.model_fields)


class BadSetting(ValueError):
    """``str(error)`` names the setting and what it accepts (mrkdwn, already escaped)."""


def rule(name: str) -> str:
    """What ``name`` accepts, in words: ``a whole number from 1 to 100``, ``stop or continue``."""
    field = CampaignSettings.model_fields[name]
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " or ".join(str(member.value) for member in annotation)
    low, high = bounds(name)
    return f"a whole number from {low} to {high}"


def bounds(name: str) -> tuple[int, int]:
    """The inclusive range of a whole-number setting, as ``CampaignSettings`` enforces it."""
    metadata = CampaignSettings.model_fields[name].metadata
    low = next(m.ge for m in metadata if isinstance(m, annotated_types.Ge))
    high = next(m.le for m in metadata if isinstance(m, annotated_types.Le))
    assert isinstance(low, int) and isinstance(high, int)
    return low, high


def read_setting(name: str, raw: str) -> Any:
    """The typed value of one setting, or ``BadSetting`` naming the field and its range."""
    if name not in CampaignSettings.model_fields:
        known = ", ".join(SETTING_NAMES)
        raise BadSetting(f"{code(name)} is not a campaign setting; the settings are: {known}.")
    try:
        parsed = CampaignSettings.model_validate({name: raw.strip()}, strict=False)
    except ValidationError:
        raise BadSetting(f"{code(name)} must be {rule(name)} (got {code(raw)}).") from None
    return getattr(parsed, name)


def merged(current: CampaignSettings, changes: dict[str, Any]) -> CampaignSettings:
    return CampaignSettings.model_validate({**current.model_dump(), **changes})
