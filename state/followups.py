"""The deployment-wide writes of a campaign's transaction, in the cluster key layout
(``state.keys``: a campaign's keys and the deployment's keys live in different hash slots).

The transaction writes them as one follow-up entry to the campaign's own stream, inside its MULTI,
so they are recorded exactly when the change is. They are applied right after by ``APPLY``, a Lua
script in the deployment's slot that remembers the id of the last follow-up applied per campaign
(``Keys.followup_mark``): applying one again, or an older one after a newer, does nothing, so
several replicas may apply the same entries at once and each write lands once, in order. An entry
is deleted once applied. One a crash left behind is applied by the campaign's next transaction
(which drains older entries first) or by ``sweep`` (from ``Keys.followups_pending``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from state.connection import text
from state.keys import FOLLOWUP_MARK_TTL, Keys
from state.recorded_writes import RecordedWrites, run_writes

log = logging.getLogger(__name__)

SWEEP_GRACE = timedelta(seconds=60)
"""How old a pending mark must be before the sweeper takes over: far longer than a transaction
takes between marking its campaign and committing (Redis commands time out after seconds)."""
DRAIN_BATCH = 100

# KEYS[1]: the campaign's mark; KEYS[2..]: the keys the writes name. ARGV: the follow-up's
# stream id, the mark's lifetime in seconds, the writes as JSON [[command, key index, args...]].
APPLY = """
local function parts(id)
  local ms, seq = string.match(id, "^(%d+)-(%d+)$")
  return tonumber(ms), tonumber(seq)
end
local last = redis.call('GET', KEYS[1])
if last then
  local lms, lseq = parts(last)
  local ms, seq = parts(ARGV[1])
  if ms < lms or (ms == lms and seq <= lseq) then
    return 0
  end
end
""" + run_writes("ARGV[3]") + """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""

# KEYS[1]: the pending set. ARGV: the ref, the score it was read with. Removes the ref only if
# no transaction marked it again since.
FORGET_PENDING = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then
  return redis.call('ZREM', KEYS[1], ARGV[1])
end
return 0
"""


class GlobalWrites(RecordedWrites):
    """Deployment-wide writes, recorded with the signatures of the pipeline's commands so that
    the store writes them the same way in either layout (``KEYS[1]`` of ``APPLY`` is the mark)."""

    def __init__(self) -> None:
        super().__init__(first_key=2)

    def dump(self) -> str:
        return json.dumps({"keys": self.keys, "writes": self.writes})


class Followups:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._apply = redis.register_script(APPLY)
        self._forget = redis.register_script(FORGET_PENDING)

    async def mark_pending(self, ref: str) -> None:
        """Call before committing a transaction with follow-ups, so the sweeper finds them."""
        await self.redis.zadd(self.keys.followups_pending, {ref: _now_ms()})

    def stage(self, pipe: Pipeline, ref: str, writes: GlobalWrites) -> None:
        """Add the follow-up to ``pipe`` (in its MULTI): two results, see ``settle``."""
        stream = self.keys.followups(ref)
        pipe.xlen(stream)
        pipe.xadd(stream, {"writes": writes.dump()})

    async def settle(self, ref: str, writes: GlobalWrites, results: Sequence[Any]) -> None:
        """Apply the follow-up ``stage`` committed (``results``: the transaction's results, the
        last two from ``stage``); older entries first if a crash left any. A failure is logged:
        the entry stays for the sweeper, and the transaction itself did commit."""
        older, entry_id = results[-2:]
        try:
            if older:
                await self.drain(ref)
            else:
                await self._apply_entry(ref, text(entry_id), writes.dump())
                await self.redis.xdel(self.keys.followups(ref), entry_id)
        except RedisError as exc:
            log.warning("follow-up of %s left for the sweeper: %s", ref, exc)

    async def drain(self, ref: str) -> int:
        """Apply every follow-up waiting in ``ref``'s stream, oldest first; returns how many."""
        stream = self.keys.followups(ref)
        applied = 0
        while True:
            entries: Any = await self.redis.xrange(stream, count=DRAIN_BATCH)
            for entry_id, fields in entries:
                dumped = fields.get(b"writes") or fields.get("writes") or '{"keys":[],"writes":[]}'
                await self._apply_entry(ref, text(entry_id), dumped)
            if entries:
                await self.redis.xdel(stream, *(entry_id for entry_id, _ in entries))
                applied += len(entries)
            if len(entries) < DRAIN_BATCH:
                return applied

    async def sweep(self, grace: timedelta = SWEEP_GRACE) -> int:
        """Apply follow-ups left behind by transactions marked longer than ``grace`` ago."""
        pending = self.keys.followups_pending
        cutoff = _now_ms() - int(grace.total_seconds() * 1000)
        stale: Any = await self.redis.zrangebyscore(pending, "-inf", cutoff, withscores=True)
        applied = 0
        for raw_ref, score in stale:
            ref = text(raw_ref)
            applied += await self.drain(ref)
            if not await self.redis.xlen(self.keys.followups(ref)):
                await self._forget(keys=[pending], args=[ref, int(score)])
        return applied

    async def _apply_entry(self, ref: str, entry_id: str, dumped: bytes | str) -> None:
        record = json.loads(dumped)
        await self._apply(
            keys=[self.keys.followup_mark(ref), *record["keys"]],
            args=[entry_id, int(FOLLOWUP_MARK_TTL.total_seconds()), json.dumps(record["writes"])],
        )


def _now_ms() -> int:
    return int(time.time() * 1000)
