"""Noticing a cancellation that a client library swallowed.

redis-py can turn a cancellation that lands mid-command into a connection error and then retry
the command, so the ``CancelledError`` never reaches the caller. The task still records that it
was asked to stop (``Task.cancelling()``); loops check it so that they end anyway.
"""

from __future__ import annotations

import asyncio


def cancellation_requested() -> bool:
    """The running task was asked to stop, even if the CancelledError was swallowed."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def raise_if_cancelled() -> None:
    if cancellation_requested():
        raise asyncio.CancelledError
