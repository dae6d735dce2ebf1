"""The do-not-call stage of the leads check, and the screen of each batch before it is sent."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

from redis.asyncio import Redis

from commands.leads.dnc_screen import Checked, DoNotCallScreen, screen_contacts
from commands.leads.progress import (
    UploadProgress,
    UploadSummary,
    render_summary,
    render_validation,
)
from commands.leads.scan import ValidationReport, validate_leads
from commands.leads.settings import LeadsSettings
from commands.leads.source import FileSource
from commands.leads.store import UploadState
from commands.leads.upload import LeadUploads
from commands.leads.validation import AcceptedRow, RejectedRow, RejectReason
from dialer.models import Contact
from state.dnc import DoNotCallList
from state.keys import Keys, UploadKeys
from tests.test_leads_parallel import ONE_PROCESS, ROWS, TWO_WORKERS, messy_leads
from tests.test_leads_parallel import number as parallel_number

SETTINGS = LeadsSettings(default_region="US")


class Listed:
    """A lookup over a fixed set that counts its round trips."""

    def __init__(self, *numbers: str) -> None:
        self.numbers = set(numbers)
        self.lookups: list[int] = []

    async def listed(self, numbers: Sequence[str]) -> list[bool]:
        self.lookups.append(len(numbers))
        return [n in self.numbers for n in numbers]


def number(i: int) -> str:
    return f"+1415{555 + i // 10_000}{i % 10_000:04d}"


async def check(tmp_path: Path, data: str, dnc: Listed) -> tuple[ValidationReport, list[list[str]]]:
    path = tmp_path / "leads.csv"
    path.write_text(data)
    out = io.StringIO()
    report = await validate_leads(
        FileSource(path, chunk_bytes=11), SETTINGS, rejected_out=out, dnc=dnc
    )
    return report, list(csv.reader(io.StringIO(out.getvalue())))


async def test_a_row_whose_only_number_is_listed_is_rejected_with_the_reason(
    tmp_path: Path,
) -> None:
    data = "name,phone\nAna,+14155550100\nBo,(415) 555-0101\nCy,+14155550102\n"
    report, rejected = await check(tmp_path, data, Listed("+14155550101"))
    assert report.accepted == 2
    assert report.rejected == {RejectReason.ON_DO_NOT_CALL_LIST: 1}
    assert rejected[1] == [
        "3",
        "on the do-not-call list",
        "'+14155550101 is on the do-not-call list",  # made inert for spreadsheets
        "Bo",
        "(415) 555-0101",
    ]
    assert "on the do-not-call list: 1" in render_validation(report)


async def test_a_lead_with_two_numbers_one_listed_keeps_the_other(tmp_path: Path) -> None:
    data = "name,phone1,phone2\nAna,+14155550100,+14155550101\n"
    report, rejected = await check(tmp_path, data, Listed("+14155550100"))
    assert report.accepted == 1
    assert report.rejected_total == 0
    assert report.dnc_numbers_left_out == 1
    assert rejected == []
    assert "1 numbers on the do-not-call list were left out" in render_validation(report)


async def test_rows_are_looked_up_in_batches_and_come_out_in_file_order(tmp_path: Path) -> None:
    rows = [f"L{i},{number(i)}" for i in range(12_000)]
    listed = Listed(*(number(i) for i in range(0, 12_000, 1000)))
    report, rejected = await check(tmp_path, "name,phone\n" + "\n".join(rows) + "\n", listed)
    assert report.rejected == {RejectReason.ON_DO_NOT_CALL_LIST: 12}
    assert [int(row[0]) for row in rejected[1:]] == [i + 2 for i in range(0, 12_000, 1000)]
    assert len(listed.lookups) == 3  # 5,000 + 5,000 + 2,000, not one trip a row
    assert sum(listed.lookups) == 12_000


async def test_the_numbers_checked_without_a_list_are_all_accepted(tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("name,phone\nAna,+14155550100\n")
    report = await validate_leads(FileSource(path), SETTINGS)
    assert report.accepted == 1
    assert report.numbered == 1


async def test_a_batch_loses_listed_numbers_and_contacts_left_with_none(tmp_path: Path) -> None:
    contacts = [
        Contact(ref="c-1", phone_numbers=("+14155550100", "+14155550101")),
        Contact(ref="c-2", phone_numbers=("+14155550102",)),
        Contact(ref="c-3", phone_numbers=("+14155550103",)),
    ]
    kept, dropped = await screen_contacts(contacts, Listed("+14155550100", "+14155550102"))
    assert [(c.ref, c.phone_numbers) for c in kept] == [
        ("c-1", ("+14155550101",)),
        ("c-3", ("+14155550103",)),
    ]
    assert dropped == 1


class RecordingSink:
    name = "recording"
    batch_size = 2
    max_calls_per_second = 1000.0

    def __init__(self) -> None:
        self.sent: list[Contact] = []

    async def add_contacts(self, ref: str, contacts: Sequence[Contact]) -> None:
        self.sent.extend(contacts)


class NoProgress:
    async def report(self, progress: UploadProgress) -> None:
        pass

    async def finish(self, summary: UploadSummary) -> None:
        pass


async def test_a_number_listed_after_the_check_is_not_sent_and_numbering_is_kept(
    tmp_path: Path, redis: Redis, keys: Keys
) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(
        "name,phone1,phone2\nAna,+14155550100,\nBo,+14155550101,+14155550111\nCy,+14155550102,\n"
    )
    dnc = DoNotCallList(redis, keys)
    await dnc.add(["+14155550100"], "U1")
    report = await validate_leads(FileSource(path), SETTINGS, dnc=dnc)
    assert (report.accepted, report.numbered) == (2, 3)
    await dnc.add(["+14155550101"], "U1")  # while the lead was deciding to upload
    sink = RecordingSink()
    uploads = LeadUploads(
        redis, sink, FileSource.open, SETTINGS, keys=UploadKeys(keys.prefix), dnc=dnc
    )
    summary = await uploads.start("c-20261130-dnc1", report, NoProgress())
    assert summary.state is UploadState.COMPLETED
    assert summary.withheld == 1
    assert "uploaded: 2 contacts" in render_summary(summary)
    assert "(1 left out: on the do-not-call list)" in render_summary(summary)
    assert [(c.ref, c.phone_numbers) for c in sink.sent] == [
        ("c-20261130-dnc1-2", ("+14155550111",)),
        ("c-20261130-dnc1-3", ("+14155550102",)),
    ]


async def test_the_screen_holds_at_most_one_batch_of_rows_not_the_file() -> None:
    pulled = 0

    async def checked() -> AsyncIterator[Checked]:
        nonlocal pulled
        for i in range(10_000):
            pulled += 1
            yield (), AcceptedRow(i + 2, (number(i),), {}, 0)

    screen = DoNotCallScreen(Listed(number(5)), batch_numbers=100)
    out = most_held = rejected = 0
    async for row in screen.rows(checked()):
        out += 1
        rejected += isinstance(row, RejectedRow)
        most_held = max(most_held, pulled - out)
    assert (out, rejected) == (10_000, 1)
    assert most_held < 100  # a batch of 100 numbers, one number a row


async def test_listed_numbers_are_rejected_alike_when_workers_check_the_rows(
    tmp_path: Path,
) -> None:
    path = messy_leads(tmp_path / "messy.csv")
    # Listed: numbers of usual rows (counted, not sent back by the workers) and of others.
    listed = {parallel_number(i) for i in range(0, ROWS, 37)}
    reports, rejects = [], []
    for settings in (ONE_PROCESS, TWO_WORKERS):
        out = io.StringIO()
        lookup = Listed(*listed)
        reports.append(
            await validate_leads(FileSource(path), settings, rejected_out=out, dnc=lookup)
        )
        rejects.append(out.getvalue())
    assert reports[0] == reports[1] and rejects[0] == rejects[1]
    assert reports[0].rejected[RejectReason.ON_DO_NOT_CALL_LIST] > 0
