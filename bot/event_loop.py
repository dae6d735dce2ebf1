"""The event loop every ``campaign-bot`` command runs on: uvloop (libuv), which does the loop's own
work (timers, callbacks, socket reads and writes) in C. Measured on notification ingest it takes
about a fifth off the bot's CPU per webhook (``python -m benchmarks``)."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

T = TypeVar("T")


def run(main: Coroutine[Any, Any, T]) -> T:
    return uvloop.run(main)
