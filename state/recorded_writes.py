"""Writes recorded with the signatures of a pipeline's commands, to be sent as one command.

A transaction of many small writes costs the client more than the server: each command is packed
and each reply (``QUEUED``, then the result) parsed. Recorded here instead, they go to Redis as one
``EVAL`` of ``WRITE_ALL`` whose single argument is the writes as JSON (``json.dumps`` in C), and
Redis runs them one after the other, as the MULTI would have. The keys they name are passed as
``KEYS``, as scripts must. Also the form of a follow-up in the cluster layout (``state.followups``),
whose script reads the same JSON.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import orjson
from redis.asyncio.client import Pipeline


def run_writes(argument: str) -> str:
    """Lua that runs the writes JSON-encoded in ``argument`` (an ``ARGV[i]``): each is
    ``[command, key index, args...]``, its key ``KEYS[key index]``."""
    return f"""
for _, write in ipairs(cjson.decode({argument})) do
  local command = {{write[1], KEYS[write[2]]}}
  for i = 3, #write do
    command[#command + 1] = write[i]
  end
  redis.call(unpack(command))
end
"""


# KEYS: the keys the writes name. ARGV[1]: the writes.
WRITE_ALL = run_writes("ARGV[1]") + "return 1\n"


class RecordedWrites:
    """``first_key``: the ``KEYS`` index of the first key the writes name (a script may take
    keys of its own before them)."""

    def __init__(self, first_key: int = 1) -> None:
        self.keys: list[str] = []
        self.writes: list[list[str | int]] = []
        self._first_key = first_key
        self._index: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self.writes)

    def _add(self, command: str, key: str, *args: object) -> None:
        index = self._index.get(key)
        if index is None:
            index = self._index[key] = len(self.keys) + self._first_key
            self.keys.append(key)
        self.writes.append([command, index, *(a if type(a) is str else str(a) for a in args)])

    def xadd(
        self,
        name: str,
        fields: Mapping[Any, Any],
        *,
        maxlen: int | None = None,
        approximate: bool = True,
    ) -> None:
        trim: list[object] = []
        if maxlen is not None:
            trim = ["MAXLEN", "~" if approximate else "=", maxlen]
        pairs = [part for item in fields.items() for part in item]
        self._add("XADD", name, *trim, "*", *pairs)

    def sadd(self, name: str, *values: str) -> None:
        self._add("SADD", name, *values)

    def srem(self, name: str, *values: str) -> None:
        self._add("SREM", name, *values)

    def zadd(self, name: str, mapping: Mapping[str, float]) -> None:
        self._add("ZADD", name, *(part for m, s in mapping.items() for part in (s, m)))

    def zrem(self, name: str, *values: str) -> None:
        self._add("ZREM", name, *values)

    def set(self, name: str, value: str, *, ex: timedelta | int | None = None) -> None:
        expiry = [] if ex is None else ["EX", _seconds(ex)]
        self._add("SET", name, value, *expiry)

    def expire(self, name: str, time: timedelta | int) -> None:
        self._add("EXPIRE", name, _seconds(time))

    def writes_json(self) -> bytes:
        # UTF-8, not ASCII-escaped: Lua's cjson passes it through as the bytes redis-py would
        # send. orjson: a batch's writes carry whole campaign documents, escaped once more here.
        return orjson.dumps(self.writes)

    def queue(self, pipe: Pipeline, *, one_command: bool = True) -> None:
        """Queue every write in ``pipe`` (inside its MULTI, under its WATCH): as one command, or
        (``one_command=False``, for a Redis that runs no scripts) each as itself."""
        if not one_command:
            for command, index, *args in self.writes:
                pipe.execute_command(command, self.keys[int(index) - self._first_key], *args)
        elif self.writes:
            pipe.eval(WRITE_ALL, len(self.keys), *self.keys, self.writes_json())


def _seconds(value: timedelta | int) -> int:
    return int(value.total_seconds()) if isinstance(value, timedelta) else int(value)
