"""The durable side of an upload: its record, which batches the dialer has, and who runs it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError
from redis.typing import EncodableT, FieldT

from commands.leads.validation import ValidationRules
from state.keys import UploadKeys


class UploadState(StrEnum):
    UPLOADING = "uploading"  # running, or interrupted by a crash (no live lease)
    COMPLETED = "completed"  # every accepted contact is on the dialer
    FAILED = "failed"  # stopped by the dialer; resumable once the cause is fixed


@dataclass(frozen=True)
class UploadRecord:
    campaign_ref: str
    source_id: str
    dialer: str
    rules: ValidationRules
    batch_size: int
    total: int
    state: UploadState
    error: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def batches(self) -> int:
        return -(-self.total // self.batch_size)

    def sent(self, acked: bytes) -> int:
        """Contacts on the dialer, from the acknowledged batches (the last may be short)."""
        count = bit_count(acked) * self.batch_size
        last = self.batches - 1
        if bit_is_set(acked, last):
            count -= self.batch_size * self.batches - self.total
        return count


def bit_is_set(bitmap: bytes, index: int) -> bool:
    """Redis bit order: bit 0 is the high bit of the first byte."""
    byte = index >> 3
    return byte < len(bitmap) and bool(bitmap[byte] & (0x80 >> (index & 7)))


def bit_count(bitmap: bytes) -> int:
    return sum(byte.bit_count() for byte in bitmap)


def _now() -> datetime:
    return datetime.now(UTC)


class UploadStore:
    def __init__(self, redis: Redis, keys: UploadKeys | None = None) -> None:
        self.redis = redis
        self.keys = keys or UploadKeys()

    async def create(self, record: UploadRecord) -> bool:
        """Store a new record; False if the campaign already has one (leads are set once)."""
        key = self.keys.upload(record.campaign_ref)
        async with self.redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(key)
                if await pipe.hlen(key):  # (on a Redis Cluster a watched EXISTS is split by slot)
                    await pipe.reset()  # type: ignore[no-untyped-call]
                    return False
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.hset(key, mapping=_to_hash(record))
                await pipe.execute()
                return True
            except WatchError:
                return False

    async def get(self, ref: str) -> UploadRecord | None:
        raw: dict[Any, Any] = await self.redis.hgetall(self.keys.upload(ref))
        return _from_hash(ref, raw) if raw else None

    async def acked(self, ref: str) -> bytes:
        return await self._bitmap(self.keys.acked(ref))

    async def attempted(self, ref: str) -> bytes:
        return await self._bitmap(self.keys.attempted(ref))

    async def mark_attempted(self, ref: str, batch: int) -> None:
        await self.redis.setbit(self.keys.attempted(ref), batch, 1)

    async def acknowledge(self, ref: str, batch: int) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.setbit(self.keys.acked(ref), batch, 1)
            pipe.hset(self.keys.upload(ref), "updated_at", _now().isoformat())
            await pipe.execute()

    async def set_state(self, ref: str, state: UploadState, error: str | None = None) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            fields: dict[FieldT, EncodableT] = {
                "state": str(state),
                "error": error or "",
                "updated_at": _now().isoformat(),
            }
            pipe.hset(self.keys.upload(ref), mapping=fields)
            if state is UploadState.UPLOADING:
                pipe.sadd(self.keys.uploading, ref)
            else:
                pipe.srem(self.keys.uploading, ref)
            await pipe.execute()

    async def uploading_refs(self) -> list[str]:
        members = await self.redis.smembers(self.keys.uploading)
        return sorted(_text(member) for member in members)

    async def forget(self, ref: str) -> None:
        """Drop every trace of the upload; the removal workflow calls it with the campaign's."""
        async with self.redis.pipeline(transaction=True) as pipe:
            for key in (self.keys.upload, self.keys.acked, self.keys.attempted, self.keys.lease):
                pipe.delete(key(ref))
            pipe.srem(self.keys.uploading, ref)
            await pipe.execute()

    # -- the lease: one process runs an upload at a time ------------------------------------

    async def take_lease(self, ref: str, token: str, seconds: float) -> bool:
        return bool(await self.redis.set(self.keys.lease(ref), token, nx=True, px=_ms(seconds)))

    async def renew_lease(self, ref: str, token: str, seconds: float) -> bool:
        return await self._if_lease_owner(
            ref, token, lambda pipe, key: pipe.pexpire(key, _ms(seconds))
        )

    async def release_lease(self, ref: str, token: str) -> None:
        await self._if_lease_owner(ref, token, lambda pipe, key: pipe.delete(key))

    async def lease_held(self, ref: str) -> bool:
        return bool(await self.redis.exists(self.keys.lease(ref)))

    async def _if_lease_owner(self, ref: str, token: str, action: Any) -> bool:
        key = self.keys.lease(ref)
        async with self.redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(key)
                if _text(await pipe.get(key) or b"") != token:
                    await pipe.reset()  # type: ignore[no-untyped-call]
                    return False
                pipe.multi()  # type: ignore[no-untyped-call]
                action(pipe, key)
                await pipe.execute()
                return True
            except WatchError:
                return False

    async def _bitmap(self, key: str) -> bytes:
        value = await self.redis.get(key)
        return b"" if value is None else value if isinstance(value, bytes) else value.encode()


def _to_hash(record: UploadRecord) -> dict[FieldT, EncodableT]:
    return {
        "source_id": record.source_id,
        "dialer": record.dialer,
        "rules": json.dumps(asdict(record.rules)),
        "batch_size": str(record.batch_size),
        "total": str(record.total),
        "state": str(record.state),
        "error": record.error or "",
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
    }


def _from_hash(ref: str, raw: dict[Any, Any]) -> UploadRecord:
    data = {_text(k): _text(v) for k, v in raw.items()}
    return UploadRecord(
        campaign_ref=ref,
        source_id=data["source_id"],
        dialer=data["dialer"],
        rules=ValidationRules(**json.loads(data["rules"])),
        batch_size=int(data["batch_size"]),
        total=int(data["total"]),
        state=UploadState(data["state"]),
        error=data["error"] or None,
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
    )


def _ms(seconds: float) -> int:
    return max(1, round(seconds * 1000))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
