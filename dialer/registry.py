"""The dialers the bot knows, by name. A new dialer is one module plus one line here.

Entries are import paths so that choosing ``simulator`` never imports another vendor's client.
Each factory reads its own settings from the environment and returns a ready ``Dialer``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import cast

from dialer.base import Dialer

ADAPTERS: dict[str, str] = {
    "simulator": "dialer.simulator:from_environment",
}


class UnknownDialer(ValueError):
    pass


def adapter_names() -> list[str]:
    return sorted(ADAPTERS)


def build_dialer(name: str) -> Dialer:
    try:
        target = ADAPTERS[name]
    except KeyError:
        known = ", ".join(adapter_names())
        raise UnknownDialer(f"DIALER={name!r} is not a known dialer; use one of: {known}") from None
    module_name, _, factory_name = target.partition(":")
    factory = cast(
        Callable[[], Dialer], getattr(importlib.import_module(module_name), factory_name)
    )
    return factory()
