"""Leads upload pace: ``LeadUploads`` against a local dialer stand-in that answers each batch in
20 ms and, when it has a rate limit, answers 429 to calls over it in any rolling second.

Three runs side by side: with the limit R (the dialer declares R calls/s, as adapters do), one
batch at a time without a limit, and the upload's concurrent batches without a limit.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from redis.asyncio import Redis

from benchmarks.common import Figure, figure, missed, rate, redis_space
from benchmarks.leads_file import write_leads
from commands.leads.progress import UploadProgress, UploadSummary
from commands.leads.scan import validate_leads
from commands.leads.settings import LeadsSettings
from commands.leads.source import FileSource
from commands.leads.upload import LeadUploads
from dialer.errors import DialerRateLimited
from dialer.models import Contact
from state.keys import UploadKeys

TARGET_SHARE_OF_LIMIT = 0.9
TARGET_SPEED_UP = 10.0
UNLIMITED = 1_000_000.0  # calls/s a dialer without a limit declares
CONCURRENT_BATCHES = 16  # LEADS_UPLOAD_CONCURRENCY for the run without a limit


@dataclass(frozen=True)
class Size:
    limit: float = 25.0  # R, calls/s
    batch_size: int = 16  # contacts per call, as the VoIPBIN adapter sends
    latency: float = 0.02
    limited_calls: int = 150
    serial_calls: int = 100
    concurrent_calls: int = 1_000


FULL = Size()
TOY = Size(limit=50.0, limited_calls=20, serial_calls=10, concurrent_calls=60)


class DialerStandIn:
    """The part of a dialer an upload talks to, with its latency and its rate limit."""

    name = "standin"

    def __init__(self, batch_size: int, latency: float, limit: float | None) -> None:
        self.batch_size = batch_size
        self.max_calls_per_second = limit or UNLIMITED
        self.latency = latency
        self.limit = limit
        self.calls: list[float] = []  # time.monotonic() of each accepted call
        self.too_many = 0  # calls answered 429
        self.contacts: Counter[str] = Counter()
        self._last_second: deque[float] = deque()

    async def add_contacts(self, ref: str, contacts: Sequence[Contact]) -> None:
        now = time.monotonic()
        while self._last_second and self._last_second[0] <= now - 1.0:
            self._last_second.popleft()
        if self.limit is not None and len(self._last_second) >= self.limit:
            self.too_many += 1
            raise DialerRateLimited("429 Too Many Requests", dialer=self.name, retry_after=1.0)
        self._last_second.append(now)
        self.calls.append(now)
        await asyncio.sleep(self.latency)
        self.contacts.update(contact.ref for contact in contacts)

    def calls_per_second(self) -> float:
        return rate(len(self.calls) - 1, self.calls[-1] - self.calls[0])


class _Quiet:
    async def report(self, progress: UploadProgress) -> None:
        return None

    async def finish(self, summary: UploadSummary) -> None:
        return None


@dataclass(frozen=True)
class Run:
    calls_per_second: float
    contacts_per_second: float
    calls: int
    too_many: int
    contacts_sent: int
    contacts_twice: int
    expected: int

    def correct(self) -> bool:
        return self.contacts_sent == self.expected and self.contacts_twice == 0

    def as_json(self) -> dict[str, float | int]:
        return {
            "calls_per_second": round(self.calls_per_second, 1),
            "contacts_per_second": round(self.contacts_per_second),
            "calls": self.calls,
            "answered_429": self.too_many,
            "contacts_on_dialer": self.contacts_sent,
            "contacts_sent_twice": self.contacts_twice,
        }


async def upload(
    redis: Redis, prefix: str, size: Size, calls: int, *, limit: float | None, concurrency: int
) -> Run:
    dialer = DialerStandIn(size.batch_size, size.latency, limit)
    settings = LeadsSettings(upload_concurrency=concurrency, progress_interval_seconds=3600)
    uploads = LeadUploads(redis, dialer, FileSource.open, settings, keys=UploadKeys(prefix))
    with tempfile.TemporaryDirectory() as folder:
        rows = calls * size.batch_size
        path = write_leads(Path(folder) / "leads.csv", rows)
        report = await validate_leads(FileSource(path), settings)
        started = time.perf_counter()
        await uploads.start(f"bench-{concurrency}-{limit}", report, _Quiet())
        seconds = time.perf_counter() - started
    return Run(
        calls_per_second=dialer.calls_per_second(),
        contacts_per_second=rate(rows, seconds),
        calls=len(dialer.calls),
        too_many=dialer.too_many,
        contacts_sent=len(dialer.contacts),
        contacts_twice=sum(1 for count in dialer.contacts.values() if count > 1),
        expected=rows,
    )


async def run(size: Size = FULL) -> Figure:
    async with redis_space("upload") as (redis, prefix):
        default = LeadsSettings().upload_concurrency
        limited = await upload(
            redis, prefix, size, size.limited_calls, limit=size.limit, concurrency=default
        )
        serial = await upload(redis, prefix, size, size.serial_calls, limit=None, concurrency=1)
        at_default = await upload(
            redis, prefix, size, size.concurrent_calls, limit=None, concurrency=default
        )
        concurrent = await upload(
            redis, prefix, size, size.concurrent_calls, limit=None, concurrency=CONCURRENT_BATCHES
        )
    share = limited.calls_per_second / size.limit
    speed_up = concurrent.calls_per_second / serial.calls_per_second
    runs = (limited, serial, at_default, concurrent)
    result = figure(
        share,
        "share of the rate limit",
        f">= {TARGET_SHARE_OF_LIMIT} R with no 429s; without a limit >= {TARGET_SPEED_UP:g}x "
        "one batch at a time",
        share >= TARGET_SHARE_OF_LIMIT
        and limited.too_many == 0
        and speed_up >= TARGET_SPEED_UP
        and all(run.correct() for run in runs),
        rate_limit_calls_per_second=size.limit,
        batch_size=size.batch_size,
        dialer_latency_ms=size.latency * 1000,
        with_limit=limited.as_json(),
        one_batch_at_a_time=serial.as_json(),
        without_limit={**concurrent.as_json(), "upload_concurrency": CONCURRENT_BATCHES},
        speed_up_over_one_batch_at_a_time=round(speed_up, 2),
        without_limit_default_concurrency={**at_default.as_json(), "upload_concurrency": default},
        speed_up_at_default_concurrency=round(
            at_default.calls_per_second / serial.calls_per_second, 2
        ),
    )
    return missed(result, "see the runs side by side")
