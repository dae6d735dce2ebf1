"""How an upload tells a person how it is going: the reporter port and the text it shows.

Text here is plain; the Slack side escapes it like any other text before posting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from commands.leads.scan import ValidationReport
from commands.leads.store import UploadState
from commands.limits import listed

BAR_WIDTH = 20
MAX_ERROR_SHOWN = 1_000


@dataclass(frozen=True)
class UploadProgress:
    campaign_ref: str
    total: int
    sent: int
    """Contacts the dialer acknowledged, in this run and any interrupted one before it."""
    sent_this_run: int
    elapsed_seconds: float

    @property
    def rate(self) -> float:
        """Contacts a second in this run."""
        return self.sent_this_run / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0


@dataclass(frozen=True)
class UploadSummary:
    campaign_ref: str
    state: UploadState
    total: int
    sent: int
    sent_this_run: int
    elapsed_seconds: float
    error: str | None = None
    withheld: int = 0
    """Contacts of this run not sent because every number was on the do-not-call list (they
    count in ``sent``: their batches are done)."""


class ProgressReporter(Protocol):
    """Implemented by the Slack side with ``chat.update``. ``report`` comes at most once per
    LEADS_PROGRESS_INTERVAL_SECONDS; ``finish`` once, when the upload completes or stops."""

    async def report(self, progress: UploadProgress) -> None: ...

    async def finish(self, summary: UploadSummary) -> None: ...


def progress_bar(done: int, total: int, width: int = BAR_WIDTH) -> str:
    fraction = 1.0 if total <= 0 else min(1.0, done / total)
    filled = int(fraction * width)
    return "█" * filled + "░" * (width - filled)


def render_progress(progress: UploadProgress) -> str:
    total, sent = progress.total, progress.sent
    percent = 100 if total <= 0 else sent * 100 // total
    lines = [
        f"Uploading leads for {progress.campaign_ref}",
        f"`{progress_bar(sent, total)}` {percent}%",
        f"{sent:,} of {total:,} contacts · {progress.rate:,.0f}/s{_eta(progress)}",
    ]
    if sent > progress.sent_this_run:
        lines.append(f"Resumed: {sent - progress.sent_this_run:,} were already on the dialer.")
    return "\n".join(lines)


def _eta(progress: UploadProgress) -> str:
    left = progress.total - progress.sent
    if left <= 0 or progress.rate <= 0:
        return ""
    return f" · about {_duration(left / progress.rate)} left"


def render_summary(summary: UploadSummary) -> str:
    ref, total, sent = summary.campaign_ref, summary.total, summary.sent
    took = _duration(summary.elapsed_seconds)
    if summary.state is UploadState.COMPLETED:
        left_out = ""
        if summary.withheld:
            sent -= summary.withheld
            left_out = f" ({summary.withheld:,} left out: on the do-not-call list)"
        return (
            f"Leads for {ref} uploaded: {sent:,} contacts in {took}{left_out}. "
            "The campaign can start."
        )
    lines = [
        f"The upload for {ref} stopped: {sent:,} of {total:,} contacts are on the dialer.",
        f"`{progress_bar(sent, total)}`",
    ]
    if summary.error:
        lines.append(_first_lines(summary.error))
    lines.append("Resume the upload once the cause is fixed, or start with the contacts sent.")
    return "\n".join(lines)


def _first_lines(text: str, limit: int = MAX_ERROR_SHOWN) -> str:
    """``text`` if it fits in ``limit`` characters, else its first lines that do and how many
    more there were (a dialer's error can be thousands of lines; Slack refuses a message over
    40,000 characters and a section over 3,000)."""
    if len(text) <= limit:
        return text
    lines = text.splitlines()
    kept: list[str] = []
    size = 0
    for line in lines:
        size += len(line) + 1
        if size > limit:
            break
        kept.append(line)
    if not kept:
        return f"{text[:limit]} … and {len(text) - limit:,} more characters"
    return "\n".join(kept) + f"\n… and {len(lines) - len(kept):,} more lines"


def render_validation(report: ValidationReport) -> str:
    lines = [
        f"{report.rows:,} rows read: {report.accepted:,} accepted, "
        f"{report.rejected_total:,} rejected.",
    ]
    for reason, count in sorted(report.rejected.items(), key=lambda item: -item[1]):
        lines.append(f"• {reason.label}: {count:,}")
    for example in report.examples[:3]:
        lines.append(f"  line {example.line}: {example.detail}")
    if report.invalid_numbers_left_out:
        lines.append(
            f"{report.invalid_numbers_left_out:,} invalid numbers were left out of rows that "
            "had other, valid numbers."
        )
    if report.dnc_numbers_left_out:
        lines.append(
            f"{report.dnc_numbers_left_out:,} numbers on the do-not-call list were left out of "
            "rows that had other numbers."
        )
    lines.append(f"Phone columns: {listed(report.phone_columns)}.")
    if report.ignored_columns:
        lines.append(f"Columns not sent to the dialer: {listed(report.ignored_columns)}.")
    if report.encoding_note:
        lines.append(report.encoding_note)
    if not report.can_upload:
        lines.append("No row can be uploaded: fix the file and upload it again.")
    elif report.needs_confirmation:
        lines.append(f"Upload the {report.accepted:,} good rows and leave the rest out?")
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
