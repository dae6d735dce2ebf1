"""The environment variables the bot reads, for the tests that keep deployment files honest."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

from pydantic_settings import BaseSettings

import bot.settings
import commands.leads.settings
from dialer.registry import ADAPTERS


def _subclasses(cls: type[BaseSettings]) -> Iterator[type[BaseSettings]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def known_settings() -> set[str]:
    """Every variable name a settings class of the bot, the lead upload or a dialer reads."""
    for target in ADAPTERS.values():
        importlib.import_module(target.partition(":")[0])
    assert bot.settings and commands.leads.settings
    names = set()
    for cls in _subclasses(BaseSettings):
        if not cls.__module__.startswith(("bot.", "commands.", "dialer.", "state.")):
            continue
        prefix = str(cls.model_config.get("env_prefix") or "")
        names |= {f"{prefix}{field}".upper() for field in cls.model_fields}
    return names
