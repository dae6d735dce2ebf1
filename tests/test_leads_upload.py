"""The leads upload against the simulator dialer with scripted faults, on fakeredis and Redis."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import pytest
from redis.asyncio import Redis

from commands.leads.progress import UploadProgress, UploadSummary, render_summary
from commands.leads.scan import ValidationReport, validate_leads
from commands.leads.settings import LeadsSettings
from commands.leads.source import FileSource
from commands.leads.store import UploadState, UploadStore
from commands.leads.upload import LeadsAlreadySet, LeadUploads, UploadBusy, upload_status
from dialer.errors import (
    DialerError,
    DialerRateLimited,
    DialerRejected,
    DialerUnavailable,
    DuplicateContact,
)
from dialer.models import Contact, NewCampaign
from dialer.simulator import SimulatorDialer, SimulatorKnobs
from state.keys import Keys, UploadKeys

REF = "c-20261123-up7k"
FAST = LeadsSettings(
    upload_backoff_seconds=0.001,
    upload_backoff_max_seconds=0.01,
    upload_max_attempts=5,
    upload_lease_seconds=5,
    progress_interval_seconds=0.05,
)


@dataclass
class Fault:
    error: DialerError | None = None
    after: bool = False  # the dialer stored the batch, then the answer was lost
    hang: bool = False  # the dialer stored the batch; the bot dies before the answer


@dataclass
class ScriptedDialer:
    """The simulator, with a fault script keyed by call number (1-based)."""

    sim: SimulatorDialer
    faults: dict[int, Fault] = field(default_factory=dict)
    max_calls_per_second: float = 500.0
    calls: int = 0
    call_times: list[float] = field(default_factory=list)
    offered: list[str] = field(default_factory=list)
    stored: list[str] = field(default_factory=list)
    duplicates: int = 0
    hung: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def name(self) -> str:
        return self.sim.name

    @property
    def batch_size(self) -> int:
        return self.sim.batch_size

    async def add_contacts(self, ref: str, contacts: Sequence[Contact]) -> None:
        self.calls += 1
        self.call_times.append(time.monotonic())
        self.offered.extend(c.ref for c in contacts)
        fault = self.faults.get(self.calls, Fault())
        if fault.error is not None and not fault.after:
            raise fault.error
        try:
            await self.sim.add_contacts(ref, contacts)
        except DuplicateContact:
            self.duplicates += 1
            raise
        self.stored.extend(c.ref for c in contacts)
        if fault.hang:
            self.hung.set()
            await asyncio.Event().wait()
        if fault.error is not None:
            raise fault.error


@dataclass
class RecordingReporter:
    reports: list[tuple[float, UploadProgress]] = field(default_factory=list)
    summaries: list[UploadSummary] = field(default_factory=list)

    async def report(self, progress: UploadProgress) -> None:
        self.reports.append((time.monotonic(), progress))

    async def finish(self, summary: UploadSummary) -> None:
        self.summaries.append(summary)


@pytest.fixture
def upload_keys(keys: Keys) -> UploadKeys:
    return UploadKeys(keys.prefix)  # the conftest prefix: unique per test, removed afterwards


@pytest.fixture
async def sim() -> SimulatorDialer:
    dialer = SimulatorDialer(SimulatorKnobs(seed=1))
    await dialer.create_campaign(NewCampaign(ref=REF, name="Leads upload"))
    return dialer


def expected_refs(count: int) -> list[str]:
    return [f"{REF}-{n}" for n in range(1, count + 1)]


async def leads(tmp_path: Path, rows: int, name: str = "leads.csv") -> ValidationReport:
    path = tmp_path / name
    with path.open("w") as file:
        file.write("name,phone\n")
        for i in range(rows):
            file.write(f"Lead {i},+1212{200 + i // 10_000}{i % 10_000:04d}\n")
    return await validate_leads(FileSource(path), FAST)


def uploads_for(
    redis: Redis, dialer: ScriptedDialer, keys: UploadKeys, settings: LeadsSettings = FAST
) -> LeadUploads:
    return LeadUploads(redis, dialer, FileSource.open, settings, keys=keys, rng=lambda: 0.5)


def assert_exactly_once(dialer: ScriptedDialer, count: int) -> None:
    assert sorted(dialer.stored) == sorted(expected_refs(count))
    assert max(Counter(dialer.stored).values()) == 1


async def test_every_contact_reaches_the_dialer_once_in_batches_of_its_size(
    tmp_path: Path, redis: Redis, upload_keys: UploadKeys, sim: SimulatorDialer
) -> None:
    dialer = ScriptedDialer(sim)
    reporter = RecordingReporter()
    summary = await uploads_for(redis, dialer, upload_keys).start(
        REF, await leads(tmp_path, 1050), reporter
    )

    assert (summary.state, summary.sent, summary.total) == (UploadState.COMPLETED, 1050, 1050)
    assert_exactly_once(dialer, 1050)
    assert dialer.calls == 11
    status = await upload_status(UploadStore(redis, upload_keys), REF)
    assert status is not None and status.complete and not status.running
    assert (status.sent, status.total, status.source_id) == (
        1050,
        1050,
        f"file:{tmp_path}/leads.csv",
    )
    assert reporter.summaries == [summary]


async def test_timeouts_5xx_and_429_are_retried_and_nothing_is_lost_or_doubled(
    tmp_path: Path, redis: Redis, upload_keys: UploadKeys, sim: SimulatorDialer
) -> None:
    dialer = ScriptedDialer(
        sim,
        {
            1: Fault(DialerUnavailable("503 from the dialer")),
            2: Fault(DialerUnavailable("read timeout"), after=True),
            3: Fault(DialerRateLimited("429", retry_after=0.2)),
            6: Fault(DialerUnavailable("read timeout"), after=True),
        },
    )
    summary = await uploads_for(redis, dialer, upload_keys).start(
        REF, await leads(tmp_path, 800), RecordingReporter()
    )

    assert summary.state is UploadState.COMPLETED
    assert_exactly_once(dialer, 800)
    assert dialer.duplicates >= 2  # the two batches whose answers were lost, sent again
    pause_from = dialer.call_times[2]
    assert not [t for t in dialer.call_times if pause_from + 0.02 < t < pause_from + 0.19]
    assert dialer.call_times[-1] >= pause_from + 0.2


async def test_a_flaky_simulator_is_ridden_out(
    tmp_path: Path, redis: Redis, upload_keys: UploadKeys
) -> None:
    flaky = SimulatorDialer(SimulatorKnobs(failure_rate=0.3, seed=7))
    await flaky.create_campaign(NewCampaign(ref=REF, name="Flaky"))
    dialer = ScriptedDialer(flaky)
    settings = FAST.model_copy(update={"upload_max_attempts": 12})
    summary = await uploads_for(redis, dialer, upload_keys, settings).start(
        REF, await leads(tmp_path, 1000), RecordingReporter()
    )
    assert summary.state is UploadState.COMPLETED
    assert_exactly_once(dialer, 1000)
    assert dialer.calls > 10


async def test_a_refusal_for_good_stops_the_upload_and_says_why(
    tmp_path: Path, redis: Redis, upload_keys: UploadKeys, sim: SimulatorDialer
) -> None:
    dialer = ScriptedDialer(sim, {3: Fault(DialerRejected("The campaign is full."))})
    settings = FAST.model_copy(update={"upload_concurrency": 1})
    reporter = RecordingReporter()
    report = await leads(tmp_path, 500)
    summary = await uploads_for(redis, dialer, upload_keys, settings).start(REF, report, reporter)

    assert summary.state is UploadState.FAILED
    assert summary.error == (
        f"The dialer refused contacts {REF}-201 to {REF}-300: The campaign is full."
    )
    assert dialer.calls == 3
    assert sorted(dialer.stored) == sorted(expected_refs(200))
    status = await upload_status(UploadStore(redis, upload_keys), REF)
    assert status is not None
    assert (status.state, status.sent, status.error) == (UploadState.FAILED, 200, summary.error)
    assert reporter.summaries == [summary]
    assert "200 of 500 contacts are on the dialer" in render_summary(summary)

    resumed = await uploads_for(redis, dialer, upload_keys).resume(REF, RecordingReporter())
    assert resumed.state is UploadState.COMPLETED
    assert_exactly_once(dialer, 500)


async def test_retries_stop_after_the_configured_attempts(
    tmp_path: Path, redis: Redis, upload_keys: UploadKeys, sim: SimulatorDialer
) -> None:
    down = Fault(DialerUnavailable("The dialer did not answer."))
    dialer = ScriptedDialer(sim, dict.fromkeys(range(1, 20), down))
    settings = FAST.model_copy(update={"upload_concurrency": 1, "upload_max_attempts": 3})
    summary = await uploads_for(redis, dialer, upload_keys, settings).start(
        REF, await leads(tmp_path, 150), RecordingReporter()
    )
    assert summary.state is UploadState.FAILED
    assert summary.error == (
        f"The dialer kept failing (3 tries) on contacts {REF}-1 to {REF}-100: "
        "The dialer did not answer."
    )
    assert (dialer.calls, dialer.stored) == (3, [])


async def test_a_crash_mid_upload_then_a_resume_sends_every_contact_exactly_once(
    tmp_path: Path, redis: Redis, upload_keys: UploadKeys, sim: SimulatorDialer
) -> None:
    report = await leads(tmp_path, 1234)
    before = ScriptedDialer(sim, {5: Fault(hang=True)})
    running = asyncio.create_task(
        uploads_for(redis, before, upload_keys).start(REF, report, RecordingReporter())
    )
    await asyncio.wait_for(before.hung.wait(), 5)
    running.cancel()  # the bot dies while the dialer holds batch 5 without having answered
    with pytest.raises(asyncio.CancelledError):
        await running

    crashed = await upload_status(UploadStore(redis, upload_keys), REF)
    assert crashed is not None and crashed.interrupted
    assert 0 < crashed.sent < 1234
    after = ScriptedDialer(sim)
    uploads = uploads_for(redis, after, upload_keys)  # a new process: nothing shared but Redis
    assert await uploads.interrupted() == [REF]
    summary = await uploads.resume(REF, RecordingReporter())

    assert (summary.state, summary.sent, summary.sent_this_run) == (
        UploadState.COMPLETED,
        1234,
        1234 - crashed.sent,
    )
    assert max(Counter(before.stored + after.stored).values()) == 1
    assert sorted(before.stored + after.stored) == sorted(expected_refs(1234))
    assert len(set(after.offered)) == 1234 - crashed.sent  # acknowledged batches skipped
    assert after.duplicates >= 1  # batch 5 was there already, and was recognised as such
    assert await uploads.interrupted() == []


async def test_a_lease_left_by_a_dead_process_holds_off_a_resume_until_it_expires(
    tmp_path: Path, redis: Redis, upload_keys: UploadKeys, sim: SimulatorDialer
) -> None:
    dialer = ScriptedDialer(sim)
    uploads = uploads_for(redis, dialer, upload_keys)
    assert await uploads.store.take_lease(REF, "a-process-that-died", 0.3)
    with pytest.raises(UploadBusy, match="being uploaded already"):
        await uploads.start(REF, await leads(tmp_path, 10), RecordingReporter())
    assert dialer.calls == 0

    await asyncio.sleep(0.35)
    summary = await uploads.resume(REF, RecordingReporter())
    assert summary.state is UploadState.COMPLETED
    assert_exactly_once(dialer, 10)


async def test_leads_are_set_once_per_campaign(
    tmp_path: Path, redis: Redis, upload_keys: UploadKeys, sim: SimulatorDialer
) -> None:
    assert await upload_status(UploadStore(redis, upload_keys), REF) is None
    dialer = ScriptedDialer(sim)
    uploads = uploads_for(redis, dialer, upload_keys)
    report = await leads(tmp_path, 120)
    await uploads.start(REF, report, RecordingReporter())

    again = await uploads.start(REF, report, RecordingReporter())
    assert (again.state, again.sent, dialer.calls) == (UploadState.COMPLETED, 120, 2)
    with pytest.raises(LeadsAlreadySet, match="never changed"):
        await uploads.start(REF, await leads(tmp_path, 5, "other.csv"), RecordingReporter())


async def test_progress_is_reported_at_most_once_per_interval(
    tmp_path: Path, redis: Redis, upload_keys: UploadKeys, sim: SimulatorDialer
) -> None:
    dialer = ScriptedDialer(sim, max_calls_per_second=40)
    settings = FAST.model_copy(update={"progress_interval_seconds": 0.1})
    reporter = RecordingReporter()
    started = time.monotonic()
    await uploads_for(redis, dialer, upload_keys, settings).start(
        REF, await leads(tmp_path, 2000), reporter
    )
    elapsed = time.monotonic() - started

    times = [at for at, _ in reporter.reports]
    assert 3 <= len(times) <= elapsed / 0.1 + 1
    assert all(later - earlier >= 0.095 for earlier, later in pairwise(times))
    sent = [progress.sent for _, progress in reporter.reports]
    assert sent == sorted(sent) and sent[-1] < 2000
    assert len(reporter.summaries) == 1


async def test_calls_stay_under_the_dialers_rate(
    tmp_path: Path, redis: Redis, upload_keys: UploadKeys, sim: SimulatorDialer
) -> None:
    dialer = ScriptedDialer(sim, max_calls_per_second=50)
    await uploads_for(redis, dialer, upload_keys).start(
        REF, await leads(tmp_path, 1200), RecordingReporter()
    )
    gaps = [b - a for a, b in pairwise(dialer.call_times)]
    assert len(gaps) == 11
    # 1/50 s, less slack: the timer's, and on Redis the shared pace's round trip between its go
    # and the call (a few ms on a loaded machine)
    assert min(gaps) >= 0.015
