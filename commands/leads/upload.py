"""Upload the accepted contacts to the dialer: batched, paced, retried, resumable.

Progress is durable in Redis (``state.keys.UploadKeys``): before a batch is first handed to the
dialer its *attempted* bit is set, and once the dialer acknowledges it its *acked* bit is set.
Parsing and numbering are deterministic, so a resume re-reads the same source with the same
rules, regenerates the same batches and skips the acknowledged ones. A batch that was attempted
but not acknowledged may already be on the dialer (the answer was lost to a timeout or a crash);
it is sent again, and if the dialer says some of its refs are duplicates, its contacts are sent
one by one and each duplicate counts as already there. So no contact is lost, and none ends up
on the dialer twice, as long as the dialer refuses a contact ref it already has (the Dialer
contract's ``DuplicateContact``).

Batch retries are this module's alone: ``add_contacts`` runs inside
``dialer.http.retried_by_caller()``, so the adapters' HTTP kit tries each request once and
hands its error (with the dialer's ``retry_after``) back here, where the batch waits at least
that long and is sent again, at most ``LEADS_UPLOAD_MAX_ATTEMPTS`` times.

One process runs an upload at a time: it holds a lease in Redis, renewed while it works; a
crashed process's lease expires and any replica can resume.
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from redis.asyncio import Redis

from commands.leads.dnc_screen import screen_contacts
from commands.leads.pacing import retry_delay
from commands.leads.progress import ProgressReporter, UploadProgress, UploadSummary
from commands.leads.scan import ValidationReport, accepted_contacts
from commands.leads.settings import LeadsSettings
from commands.leads.source import SourceOpener
from commands.leads.store import UploadRecord, UploadState, UploadStore, bit_is_set
from dialer.base import NumberLookup
from dialer.errors import DialerError, DialerRateLimited, DialerUnavailable, DuplicateContact
from dialer.http import retried_by_caller
from dialer.limits import LocalLimits, busy
from dialer.models import Contact
from state.cancellation import cancellation_requested, raise_if_cancelled
from state.keys import Keys, UploadKeys
from state.limiter import shared_limits

logger = logging.getLogger(__name__)


class ContactSink(Protocol):
    """The part of ``dialer.base.Dialer`` an upload uses; every Dialer is one."""

    @property
    def name(self) -> str: ...

    @property
    def batch_size(self) -> int: ...

    @property
    def max_calls_per_second(self) -> float: ...

    async def add_contacts(self, ref: str, contacts: Sequence[Contact]) -> None: ...


class UploadNotFound(LookupError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"Campaign {ref} has no leads upload.")


class UploadBusy(RuntimeError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"The leads of {ref} are being uploaded already; wait for it to finish.")


class LeadsAlreadySet(ValueError):
    def __init__(self, ref: str) -> None:
        super().__init__(
            f"Campaign {ref} already has its leads; they are never changed. "
            "Remove the campaign and create a new one with the new file."
        )


class UploadStopped(Exception):
    """The dialer refused for good, or kept failing: the upload stops, resumable later."""


@dataclass(frozen=True)
class UploadStatus:
    campaign_ref: str
    source_id: str
    state: UploadState
    total: int
    sent: int
    error: str | None
    running: bool
    """A live process holds the upload; false with ``uploading`` means it was interrupted."""
    updated_at: datetime

    @property
    def complete(self) -> bool:
        """Every accepted contact is on the dialer: the campaign may start."""
        return self.state is UploadState.COMPLETED

    @property
    def interrupted(self) -> bool:
        return self.state is UploadState.UPLOADING and not self.running


async def upload_status(store: UploadStore, campaign_ref: str) -> UploadStatus | None:
    """Where the leads upload of a campaign stands; None if it never had one."""
    record = await store.get(campaign_ref)
    if record is None:
        return None
    return UploadStatus(
        campaign_ref=campaign_ref,
        source_id=record.source_id,
        state=record.state,
        total=record.total,
        sent=record.sent(await store.acked(campaign_ref)),
        error=record.error,
        running=await store.lease_held(campaign_ref),
        updated_at=record.updated_at,
    )


class LeadUploads:
    """Uploads to one dialer. Uploads running through the same instance share its pace."""

    def __init__(
        self,
        redis: Redis,
        dialer: ContactSink,
        sources: SourceOpener,
        settings: LeadsSettings,
        *,
        keys: UploadKeys | None = None,
        rng: Callable[[], float] = random.random,
        dnc: NumberLookup | None = None,
    ) -> None:
        self.store = UploadStore(redis, keys)
        self.dnc = dnc
        """Each batch is screened against it just before it is sent."""
        self.dialer = dialer
        self.sources = sources
        self.settings = settings
        # The dialer's pace for batches, one for the account: shared by every replica on Redis.
        limits = shared_limits(redis, Keys(self.store.keys.prefix)) or LocalLimits()
        # ``batch_burst``: batches the dialer takes back to back (an adapter that keeps its
        # vendor's limit itself lets a few start together, so a late start is made up, not lost).
        burst = max(1, int(getattr(dialer, "batch_burst", 1)))
        self.limiter = limits.rate(
            f"{dialer.name}:upload", dialer.max_calls_per_second, burst=burst
        )
        self.rng = rng
        self.on_finished: Callable[[UploadSummary], Awaitable[None]] | None = None
        """Told each run's outcome (the campaign's history records leads uploaded)."""

    async def start(
        self, campaign_ref: str, report: ValidationReport, reporter: ProgressReporter
    ) -> UploadSummary:
        """Upload the rows ``report`` accepted (the person confirmed, if any were rejected)."""
        if not report.can_upload:
            raise ValueError("The file has no row that can be uploaded.")
        now = datetime.now(UTC)
        record = UploadRecord(
            campaign_ref=campaign_ref,
            source_id=report.source_id,
            dialer=self.dialer.name,
            rules=report.rules,
            batch_size=self.dialer.batch_size,
            total=report.numbered,
            state=UploadState.UPLOADING,
            error=None,
            created_at=now,
            updated_at=now,
        )
        if not await self.store.create(record):
            existing = await self.store.get(campaign_ref)
            if existing is None or existing.source_id != report.source_id:
                raise LeadsAlreadySet(campaign_ref)
        return await self.resume(campaign_ref, reporter)

    async def resume(self, campaign_ref: str, reporter: ProgressReporter) -> UploadSummary:
        """Continue an interrupted or failed upload from its last acknowledged batch."""
        token = secrets.token_hex(8)
        lease = self.settings.upload_lease_seconds
        if not await self.store.take_lease(campaign_ref, token, lease):
            raise UploadBusy(campaign_ref)
        try:
            record = await self.store.get(campaign_ref)
            if record is None:
                raise UploadNotFound(campaign_ref)
            return await _UploadRun(self, record, reporter, token).execute()
        finally:
            await self.store.release_lease(campaign_ref, token)

    async def status(self, campaign_ref: str) -> UploadStatus | None:
        return await upload_status(self.store, campaign_ref)

    async def interrupted(self) -> list[str]:
        """Refs of uploads no live process holds: resume them after a restart."""
        refs = await self.store.uploading_refs()
        return [ref for ref in refs if not await self.store.lease_held(ref)]


@dataclass(frozen=True)
class _Batch:
    index: int
    contacts: tuple[Contact, ...]
    attempted: bool


class _LeaseLost(Exception):
    pass


class _UploadRun:
    """One run of one upload, from wherever the last run stopped."""

    def __init__(
        self, uploads: LeadUploads, record: UploadRecord, reporter: ProgressReporter, token: str
    ) -> None:
        self._uploads = uploads
        self._store = uploads.store
        self._settings = uploads.settings
        self._record = record
        self._ref = record.campaign_ref
        self._reporter = reporter
        self._token = token
        self._sent = self._sent_before = 0
        self._produced = 0
        self._withheld = 0  # on the do-not-call list when their batch went out (this run)
        self._started = time.monotonic()

    async def execute(self) -> UploadSummary:
        acked = await self._store.acked(self._ref)
        self._sent = self._sent_before = self._record.sent(acked)
        if self._record.state is UploadState.COMPLETED:
            return await self._finish(UploadState.COMPLETED)
        await self._store.set_state(self._ref, UploadState.UPLOADING)
        error = await self._send_or_stop(acked, await self._store.attempted(self._ref))
        if error is None and self._produced != self._record.total:
            error = self._changed_message()
        return await self._finish(UploadState.FAILED if error else UploadState.COMPLETED, error)

    async def _send_or_stop(self, acked: bytes, attempted: bytes) -> str | None:
        """None when every batch is on the dialer, else why the upload stopped."""
        stopped: list[str] = []
        try:
            await self._send_all(acked, attempted)
        except* UploadStopped as group:
            stopped.extend(str(error) for error in group.exceptions)
        except* _LeaseLost:
            raise UploadBusy(self._ref) from None
        return stopped[0] if stopped else None

    async def _send_all(self, acked: bytes, attempted: bytes) -> None:
        workers_count = self._settings.upload_concurrency
        queue: asyncio.Queue[_Batch | None] = asyncio.Queue(maxsize=workers_count)
        async with asyncio.TaskGroup() as group:
            keeper = group.create_task(self._keep_lease())
            ticker = group.create_task(self._report_periodically())
            workers = [group.create_task(self._work(queue)) for _ in range(workers_count)]
            await self._produce(queue, acked, attempted)
            for _ in workers:
                await queue.put(None)
            await asyncio.wait(workers)
            keeper.cancel()
            ticker.cancel()

    async def _produce(
        self, queue: asyncio.Queue[_Batch | None], acked: bytes, attempted: bytes
    ) -> None:
        size = self._record.batch_size
        batch: list[Contact] = []
        index = 0
        source = self._uploads.sources(self._record.source_id)
        async with aclosing(accepted_contacts(source, self._ref, self._record.rules)) as found:
            async for contact in found:
                self._produced += 1
                if self._produced > self._record.total:
                    return  # the file changed: send nothing it did not have when checked
                batch.append(contact)
                if len(batch) == size:
                    raise_if_cancelled()
                    await self._offer(queue, index, batch, acked, attempted)
                    index, batch = index + 1, []
        if batch:
            await self._offer(queue, index, batch, acked, attempted)

    @staticmethod
    async def _offer(
        queue: asyncio.Queue[_Batch | None],
        index: int,
        contacts: list[Contact],
        acked: bytes,
        attempted: bytes,
    ) -> None:
        if not bit_is_set(acked, index):
            await queue.put(_Batch(index, tuple(contacts), bit_is_set(attempted, index)))

    async def _work(self, queue: asyncio.Queue[_Batch | None]) -> None:
        # A cancellation redis-py swallowed mid-command must still end the worker, else the
        # upload (and a shutdown waiting for it) hangs on a queue nobody fills any more.
        while not cancellation_requested() and (batch := await queue.get()) is not None:
            if not batch.attempted:
                await self._store.mark_attempted(self._ref, batch.index)
            contacts: Sequence[Contact] = batch.contacts
            if self._uploads.dnc is not None:  # numbers listed since the file was checked
                contacts, withheld = await screen_contacts(contacts, self._uploads.dnc)
                self._withheld += withheld
            if contacts:
                await self._deliver(contacts, uncertain=batch.attempted)
            await self._store.acknowledge(self._ref, batch.index)
            self._sent += len(batch.contacts)

    async def _deliver(self, contacts: Sequence[Contact], *, uncertain: bool) -> None:
        """Send until the dialer has them; ``uncertain``: they may be there already."""
        dialer, settings = self._uploads.dialer, self._settings
        attempt = 0
        while True:
            try:
                try:
                    await self._uploads.limiter.acquire()
                except TimeoutError as exc:  # the shared pace is booked too far ahead
                    raise busy(exc, dialer=dialer.name, label=dialer.name) from exc
                with retried_by_caller():  # this loop owns the batch's retries, not the kit
                    await dialer.add_contacts(self._ref, contacts)
                return
            except DuplicateContact as error:
                if not uncertain:
                    raise UploadStopped(_refused(error, contacts)) from error
                if len(contacts) > 1:  # find out which ones arrived
                    for contact in contacts:
                        await self._deliver([contact], uncertain=True)
                return  # a single duplicate: it arrived on an earlier try
            except DialerError as error:
                if not error.retryable:
                    raise UploadStopped(_refused(error, contacts)) from error
                attempt += 1
                if attempt >= settings.upload_max_attempts:
                    raise UploadStopped(_kept_failing(error, contacts, attempt)) from error
                if isinstance(error, DialerUnavailable) and error.retry_after is not None:
                    await self._uploads.limiter.pause(error.retry_after)  # for every worker
                if not isinstance(error, DialerRateLimited):
                    uncertain = True  # a timeout or a 5xx may hide a success
                await asyncio.sleep(
                    retry_delay(
                        error,
                        attempt,
                        base=settings.upload_backoff_seconds,
                        cap=settings.upload_backoff_max_seconds,
                        rng=self._uploads.rng,
                    )
                )

    async def _keep_lease(self) -> None:
        seconds = self._settings.upload_lease_seconds
        while True:
            await asyncio.sleep(seconds / 3)
            if not await self._store.renew_lease(self._ref, self._token, seconds):
                raise _LeaseLost()

    async def _report_periodically(self) -> None:
        while True:
            try:
                await self._reporter.report(self._progress())
            except Exception:  # a Slack hiccup must not stop the upload
                logger.exception("progress report for %s failed", self._ref)
            await asyncio.sleep(self._settings.progress_interval_seconds)

    def _progress(self) -> UploadProgress:
        return UploadProgress(
            campaign_ref=self._ref,
            total=self._record.total,
            sent=self._sent,
            sent_this_run=self._sent - self._sent_before,
            elapsed_seconds=time.monotonic() - self._started,
        )

    async def _finish(self, state: UploadState, error: str | None = None) -> UploadSummary:
        await self._store.set_state(self._ref, state, error)
        progress = self._progress()
        summary = UploadSummary(
            campaign_ref=self._ref,
            state=state,
            total=progress.total,
            sent=progress.sent,
            sent_this_run=progress.sent_this_run,
            elapsed_seconds=progress.elapsed_seconds,
            withheld=self._withheld,
            error=error,
        )
        try:
            await self._reporter.finish(summary)
        except Exception:
            logger.exception("final upload report for %s failed", self._ref)
        if self._uploads.on_finished is not None:
            try:
                await self._uploads.on_finished(summary)
            except Exception:
                logger.exception("the upload of %s was not recorded in its history", self._ref)
        return summary

    def _changed_message(self) -> str:
        return (
            f"The file gives {self._produced:,} contacts now, not the {self._record.total:,} "
            "checked before: it changed since. Remove the campaign and create it again."
        )


def _refused(error: DialerError, contacts: Sequence[Contact]) -> str:
    return f"The dialer refused contacts {_span(contacts)}: {error}"


def _kept_failing(error: DialerError, contacts: Sequence[Contact], attempts: int) -> str:
    return f"The dialer kept failing ({attempts} tries) on contacts {_span(contacts)}: {error}"


def _span(contacts: Sequence[Contact]) -> str:
    first, last = contacts[0].ref, contacts[-1].ref
    return first if first == last else f"{first} to {last}"
