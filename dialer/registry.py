"""The dialers the bot knows, by name. A new dialer is one module plus one line here.

Entries are import paths so that choosing ``simulator`` never imports another vendor's client.
Each entry names a factory ``build(context: AdapterContext, settings) -> Dialer`` that returns a
ready, unconnected adapter, and the settings class of its section (``VOIPBIN_*``, ``ENIGMA_*``…),
which the bot reads from the environment with all its other settings at start-up
(``bot.settings.load_settings_tree``); no adapter reads the environment itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from pydantic_settings import BaseSettings
from redis.asyncio import Redis

from dialer.base import Dialer
from dialer.limits import Limits, LocalLimits
from dialer.models import DialerCapabilities

ADAPTERS: dict[str, str] = {
    "simulator": "dialer.simulator:build",
    "enigma": "dialer.enigma:build",
    "voipbin": "dialer.voipbin:build",
    "livevox": "dialer.livevox:build",
    "genesys": "dialer.genesys:build",
}

SETTINGS: dict[str, str] = {
    "simulator": "dialer.simulator:SimulatorKnobs",
    "enigma": "dialer.enigma:EnigmaSettings",
    "voipbin": "dialer.voipbin.settings:VoipbinSettings",
    "livevox": "dialer.livevox:LiveVoxSettings",
    "genesys": "dialer.genesys:GenesysSettings",
}
"""Each dialer's settings section, by name: read from its own prefixed variables."""


# What aggression means on a dialer, for the campaign's card: ``describe(aggression) -> str``.
PACE_NOTES: dict[str, str] = {
    "voipbin": "dialer.voipbin.mapping:pace_note",
}


# What a dialer's API does not allow, declared by its adapter (every other dialer: everything).
CAPABILITIES: dict[str, str] = {
    "livevox": "dialer.livevox.vendor:CAPABILITIES",
    "genesys": "dialer.genesys.vendor:CAPABILITIES",
}


@dataclass(frozen=True)
class AdapterContext:
    """What the bot lends an adapter: its own Redis (for locks shared between replicas), and the
    vendor's limits, shared by every replica when the bot runs on a real Redis."""

    redis: Redis
    key_prefix: str = "cb:"
    limits: Limits = field(default_factory=LocalLimits)


class UnknownDialer(ValueError):
    pass


def adapter_names() -> list[str]:
    return sorted(ADAPTERS)


def build_dialer(name: str, context: AdapterContext, settings: BaseSettings) -> Dialer:
    """Dialer ``name`` built from its settings section (an instance of ``settings_class(name)``)."""
    factory = cast(Callable[[AdapterContext, BaseSettings], Dialer], _load(ADAPTERS, name))
    return factory(context, settings)


def settings_class(name: str) -> type[BaseSettings]:
    """The class of dialer ``name``'s settings section."""
    section = _load(SETTINGS, name)
    assert isinstance(section, type) and issubclass(section, BaseSettings)
    return section


def _load(table: dict[str, str], name: str) -> object:
    try:
        target = table[name]
    except KeyError:
        known = ", ".join(adapter_names())
        raise UnknownDialer(f"DIALER={name!r} is not a known dialer; use one of: {known}") from None
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def pace_note(name: str, aggression: int) -> str | None:
    """What ``aggression`` means on dialer ``name`` (e.g. calls per agent), or None."""
    target = PACE_NOTES.get(name)
    if target is None:
        return None
    module_name, _, function_name = target.partition(":")
    describe = getattr(importlib.import_module(module_name), function_name)
    return str(describe(aggression))


def capabilities_of(name: str) -> DialerCapabilities:
    """What dialer ``name`` lets the bot do through its API (agents, statistics)."""
    target = CAPABILITIES.get(name)
    if target is None:
        return DialerCapabilities()
    module_name, _, attribute = target.partition(":")
    declared = getattr(importlib.import_module(module_name), attribute)
    assert isinstance(declared, DialerCapabilities)
    return declared
