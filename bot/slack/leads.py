"""The new campaign's leads, between Slack and the leads pipeline (``commands.leads``).

Check the file before anything is created (a file that cannot be used creates nothing); once the
campaign exists, upload the accepted rows, or first ask in the channel when some rows were
rejected. Progress is one channel message, updated in place.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.delivery import SLACK_FAILURES
from commands.leads.errors import LeadsFileError
from commands.leads.progress import (
    UploadProgress,
    UploadSummary,
    render_progress,
    render_summary,
    render_validation,
)
from commands.leads.scan import ValidationReport, validate_leads
from commands.leads.settings import LeadsSettings
from commands.leads.slack_file import SlackFiles
from commands.leads.store import UploadState
from commands.leads.upload import LeadUploads, UploadBusy
from commands.limits import MAX_MESSAGE_TEXT, MAX_SECTION_TEXT, clip
from commands.text import code, escape
from commands.views.blocks import Block, actions, button, context, section

log = logging.getLogger(__name__)

UPLOAD_GOOD_ROWS = "leads_upload"
SKIP_UPLOAD = "leads_skip"
RESUME_UPLOAD = "leads_resume"  # ``value`` is the campaign ref


class ChannelProgress:
    """The ``ProgressReporter`` of one upload: one message in the campaign's channel."""

    def __init__(self, client: AsyncWebClient, channel: str, ref: str) -> None:
        self.client = client
        self.channel = channel
        self.ref = ref
        self.ts: str | None = None

    async def report(self, progress: UploadProgress) -> None:
        await self._show(render_progress(progress))

    async def finish(self, summary: UploadSummary) -> None:
        text = render_summary(summary)
        if summary.state is not UploadState.FAILED:
            await self._show(text)
            return
        resume = button("Resume upload", RESUME_UPLOAD, self.ref, style="primary")
        await self._show(text, [section(clip(escape(text), MAX_SECTION_TEXT)), actions(resume)])

    async def _show(self, text: str, blocks: list[Block] | None = None) -> None:
        body: dict[str, Any] = {
            "channel": self.channel,
            "text": clip(escape(text), MAX_MESSAGE_TEXT),
        }
        if blocks is not None:
            body["blocks"] = blocks
        try:
            if self.ts is None:
                answer = await self.client.chat_postMessage(**body)
                self.ts = str(answer["ts"])
            else:
                await self.client.chat_update(ts=self.ts, **body)
        except SLACK_FAILURES as exc:
            log.warning("upload progress of %s not shown: %s", self.ref, exc)


@dataclass(frozen=True)
class CheckedLeads:
    report: ValidationReport
    rejected_csv: Path | None
    """Every row the check refused, with its line and reason; None when none was."""

    def discard(self) -> None:
        if self.rejected_csv is not None:
            self.rejected_csv.unlink(missing_ok=True)


class LeadsIntake:
    def __init__(
        self,
        client: AsyncWebClient,
        files: SlackFiles,
        uploads: LeadUploads,
        settings: LeadsSettings,
    ) -> None:
        self.client = client
        self.files = files
        self.uploads = uploads
        self.settings = settings
        self._running: set[asyncio.Task[Any]] = set()

    async def check(self, file_id: str) -> CheckedLeads:
        """Read the whole file once; ``LeadsFileError`` when it cannot be used at all.

        The rejected rows go to a temporary CSV (they may be many), shown with the question.
        """
        descriptor, name = tempfile.mkstemp(prefix="rejected-", suffix=".csv")
        path = Path(name)
        with open(descriptor, "w", encoding="utf-8", newline="") as out:
            try:
                report = await validate_leads(
                    self.files.source(file_id),
                    self.settings,
                    rejected_out=out,
                    dnc=self.uploads.dnc,
                )
            except BaseException:
                path.unlink(missing_ok=True)
                raise
        if not report.rejected_total:
            path.unlink(missing_ok=True)
            return CheckedLeads(report, None)
        return CheckedLeads(report, path)

    async def follow_up(self, ref: str, checked: CheckedLeads, channel: str) -> None:
        """Upload at once when every row is good; otherwise show the rejected rows and ask."""
        report = checked.report
        try:
            await self._share_rejected_rows(ref, checked, channel)
        finally:
            checked.discard()
        if report.needs_confirmation:
            text, blocks = confirmation_message(ref, report)
            try:
                await self.client.chat_postMessage(channel=channel, text=text, blocks=blocks)
            except SLACK_FAILURES as exc:
                log.error("the question about the leads of %s was not posted: %s", ref, exc)
            return
        self.upload_in_background(ref, report, channel)

    async def _share_rejected_rows(self, ref: str, checked: CheckedLeads, channel: str) -> None:
        if checked.rejected_csv is None:
            return
        try:
            await self.client.files_upload_v2(
                file=str(checked.rejected_csv),
                filename=f"{ref}-rejected-rows.csv",
                title=f"Rows left out of {ref}",
                channel=channel,
                initial_comment=f"The {checked.report.rejected_total:,} rows of the leads file for "
                f"{code(ref)} that cannot be dialled, each with its line and reason.",
            )
        except SLACK_FAILURES as exc:
            log.warning("rejected rows of %s not shared: %s", ref, exc)

    async def answer(self, ref: str, file_id: str, channel: str, *, upload: bool) -> str:
        """The lead's answer to "upload the good rows?"; returns what to show instead."""
        if not upload:
            return (
                f"No leads uploaded to {code(ref)}. "
                "To use other leads, remove it and create a new one."
            )
        try:
            checked = await self.check(file_id)  # the same rules give the same rows again
        except LeadsFileError as exc:
            return f":warning: The leads file cannot be read any more: {escape(str(exc))}"
        checked.discard()  # the rejected rows were shared with the question
        self.upload_in_background(ref, checked.report, channel)
        return f"Uploading the {checked.report.accepted:,} good rows to {code(ref)}."

    async def resume(self, ref: str, channel: str) -> str:
        """Continue a stopped upload from its last acknowledged batch; returns what to show."""
        status = await self.uploads.status(ref)
        if status is None:
            return f"{code(ref)} has no leads upload to resume."
        if status.complete:
            return f"The leads of {code(ref)} are all on the dialer already."
        if status.running:
            return f"The upload of {code(ref)} is running already."
        self._spawn(self._resume(ref, channel))
        return f"Resuming the upload of {code(ref)}: {status.sent:,} of {status.total:,} are sent."

    async def _resume(self, ref: str, channel: str) -> None:
        try:
            await self.uploads.resume(ref, ChannelProgress(self.client, channel, ref))
        except UploadBusy:
            log.info("upload of %s is being resumed by another process", ref)
        except Exception:
            log.exception("resumed leads upload of %s failed", ref)

    def upload_in_background(self, ref: str, report: ValidationReport, channel: str) -> None:
        self._spawn(self._upload(ref, report, channel))

    async def _upload(self, ref: str, report: ValidationReport, channel: str) -> None:
        try:
            await self.uploads.start(ref, report, ChannelProgress(self.client, channel, ref))
        except Exception:
            log.exception("leads upload of %s failed", ref)

    async def resume_interrupted(self, channel_of: dict[str, str]) -> None:
        """After a restart: continue every upload no process holds, in its campaign's channel."""
        for ref in await self.uploads.interrupted():
            channel = channel_of.get(ref)
            if channel is not None:
                self._spawn(self._resume(ref, channel))

    async def aclose(self) -> None:
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._running.add(task)
        task.add_done_callback(self._running.discard)


def confirmation_message(ref: str, report: ValidationReport) -> tuple[str, list[Block]]:
    value = f"{ref} {report.source_id}"
    text = f"Leads for {ref}: {report.rejected_total} rows rejected"
    return text, [
        section(
            clip(f"*Leads for* {code(ref)}\n{escape(render_validation(report))}", MAX_SECTION_TEXT)
        ),
        actions(
            button(
                f"Upload {report.accepted:,} good rows", UPLOAD_GOOD_ROWS, value, style="primary"
            ),
            button("Don't upload", SKIP_UPLOAD, value),
            block_id=f"leads:{ref}",
        ),
        context(
            "Leads cannot be changed later: to use a fixed file, remove the campaign and "
            "create a new one."
        ),
    ]
