"""``/campaign dnc``: the one do-not-call list (``state.dnc``), shared by every campaign and dialer.

``check`` is open to anyone; ``add``, ``remove`` and ``upload`` are for campaign leads
(``commands.authz``). Numbers are read as leads' are (``commands.leads.validation.to_e164``, the
``LEADS_DEFAULT_REGION`` for numbers without a country code), and a command with one bad number
changes nothing. Once numbers are listed, every live campaign of the configured dialer is asked
to withdraw its contacts at listed numbers (``dialer.withdrawal``), and each campaign's channel is
told how many were withdrawn, or why the dialer cannot.
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from collections.abc import Iterable
from contextlib import aclosing
from datetime import datetime
from typing import ClassVar

from commands.errors import CommandError, CommandRefused
from commands.handlers.context import Deps, Requester
from commands.leads.errors import LeadsFileError
from commands.leads.rejects import RejectedRowsWriter
from commands.leads.scan import LeadsScan, rules_from
from commands.leads.settings import LeadsSettings
from commands.leads.source import LeadSource
from commands.leads.validation import AcceptedRow, to_e164
from commands.replies import ChannelPost, FileShare, Reply, say
from commands.requests import Command
from commands.text import escape
from commands.views.dnc import (
    CampaignOutcome,
    changed_reply,
    channel_notice,
    check_reply,
    upload_modal,
    upload_reply,
    upload_withdrawal_notice,
)
from dialer.errors import DialerError
from dialer.withdrawal import withdraw_listed
from state.campaign import Campaign
from state.dnc import CHUNK, DoNotCallList
from state.domain import CampaignStatus

ACTIONS = ("add", "remove", "check", "upload")
UPLOAD_ACTOR = "campaign-bot"
_SEPARATORS = re.compile(r"[,;\n]+")
NOT_A_LEAD = (
    ":no_entry: Only campaign leads can change the do-not-call list, and you are not one. "
    "Nothing changed. Anyone can look a number up: `/campaign dnc check <number>`."
)


class DoNotCall(Command):
    changes_campaigns: ClassVar[bool] = False
    """``check`` is open to anyone; the handler asks for a lead before any change."""
    action: str = ""
    words: tuple[str, ...] = ()


def parse_dnc(verb: str, args: list[str]) -> DoNotCall:
    """Everything after ``dnc``; the handler raises ``CommandError`` naming any mistake."""
    return DoNotCall(action=args[0].lower() if args else "", words=tuple(args[1:]))


async def run_dnc(
    deps: Deps, who: Requester, command: DoNotCall, *, region: str | None = None
) -> Reply:
    action = command.action
    if action not in ACTIONS:
        if not action:
            raise CommandError("`dnc` needs what to do: `add`, `remove`, `check` or `upload`.")
        raise CommandError(f"`{escape(action)}` is not something `dnc` does.")
    if action != "check" and not await deps.authz.may_change(who.user_id):
        raise CommandRefused(NOT_A_LEAD)
    if action == "upload":
        if command.words:
            raise CommandError("`dnc upload` takes nothing after it: the file is chosen in a form.")
        return Reply(modal=upload_modal(who.channel_id))
    numbers = read_numbers(command.words, region or deps.default_region)
    dnc = deps.do_not_call
    if action == "check":
        if len(numbers) != 1:
            raise CommandError("`dnc check` takes one number.")
        text, blocks = check_reply(numbers[0], await dnc.contains(numbers[0]), await dnc.count())
        return Reply(text=text, blocks=blocks)
    if action == "remove":
        removed = await dnc.remove(numbers, who.user_id)
        unchanged = len(numbers) - len(removed)
        text, blocks = changed_reply("Taken off", removed, unchanged, await dnc.count())
        return Reply(text=text, blocks=blocks)
    added = await dnc.add(numbers, who.user_id)
    outcomes, posts = await withdraw_everywhere(deps, dnc, who.user_id)
    unchanged = len(numbers) - len(added)
    text, blocks = changed_reply("Added to", added, unchanged, await dnc.count(), outcomes)
    return Reply(text=text, blocks=blocks, posts=posts)


def read_numbers(words: Iterable[str], region: str) -> list[str]:
    """The E.164 numbers typed, in order and once each; ``CommandError`` names a bad one.

    Numbers are separated by commas, semicolons or spaces; a part between commas that is one
    number with spaces in it (``(415) 555-0101``) counts as one.
    """
    parts = [p.strip() for p in _SEPARATORS.split(" ".join(words)) if p.strip()]
    if not parts:
        raise CommandError("No number given.")
    numbers: dict[str, None] = {}
    invalid: list[str] = []
    for part in parts:
        whole = to_e164(part, region)
        pieces = [(part, whole)] if whole else [(p, to_e164(p, region)) for p in part.split()]
        for piece, e164 in pieces:
            if e164 is None:
                invalid.append(piece)
            else:
                numbers[e164] = None
    if invalid:
        shown = ", ".join(f"`{escape(text[:40])}`" for text in invalid[:5])
        raise CommandError(
            f"Not a valid phone number for region {region}: {shown}. Write numbers in E.164 "
            "(`+14155550100`) or as dialled in that region. Nothing changed."
        )
    return list(numbers)


async def withdraw_everywhere(
    deps: Deps, dnc: DoNotCallList, actor: str
) -> tuple[list[CampaignOutcome], tuple[ChannelPost, ...]]:
    """Ask the dialer to withdraw listed numbers from each live campaign; a notice per channel."""
    outcomes: list[CampaignOutcome] = []
    by_channel: dict[str, list[CampaignOutcome]] = defaultdict(list)
    for campaign in await deps.store.list_live():
        if not _withdrawable(deps, campaign):
            continue
        outcome = await _withdraw(deps, dnc, campaign)
        outcomes.append(outcome)
        if outcome.contacts or outcome.why_not or outcome.failed:
            await _record(deps, campaign, outcome, actor)
            if campaign.channel_id is not None:
                by_channel[campaign.channel_id].append(outcome)
    posts = []
    for channel, told in by_channel.items():
        text, blocks = channel_notice(actor, told)
        posts.append(ChannelPost(channel=channel, text=text, blocks=blocks))
    return outcomes, tuple(posts)


async def withdraw_after_upload(
    deps: Deps, ref: str, started_at: datetime
) -> tuple[ChannelPost, ...]:
    """Numbers listed while an upload ran: sweep its campaign again.

    A batch is looked up just before it is sent, so a number listed while the batch was on its
    way, after ``dnc add`` swept the live campaigns, can still reach the dialer. The upload's end
    asks again for its campaign alone, and only when a number was listed since it started.
    """
    dnc = deps.do_not_call
    if not await dnc.added_since(started_at):
        return ()
    campaign = await deps.store.get(ref)
    if campaign is None or not _withdrawable(deps, campaign):
        return ()
    outcome = await _withdraw(deps, dnc, campaign)
    if not (outcome.contacts or outcome.failed):
        return ()  # nothing there, or a dialer that cannot: its channel was told at the add
    await _record(deps, campaign, outcome, UPLOAD_ACTOR)
    if campaign.channel_id is None:
        return ()
    text, blocks = upload_withdrawal_notice(outcome)
    return (ChannelPost(channel=campaign.channel_id, text=text, blocks=blocks),)


def _withdrawable(deps: Deps, campaign: Campaign) -> bool:
    """Live on the configured dialer (the only one the bot reaches), and not completed."""
    return campaign.dialer == deps.dialer.name and campaign.status not in (
        CampaignStatus.COMPLETED,
        CampaignStatus.DELETED,
    )


async def _record(deps: Deps, campaign: Campaign, outcome: CampaignOutcome, actor: str) -> None:
    details = {"contacts": outcome.contacts, "why_not": outcome.why_not, "error": outcome.failed}
    await deps.store.note(campaign.ref, "dnc:withdrawn", actor, details)


async def _withdraw(deps: Deps, dnc: DoNotCallList, campaign: Campaign) -> CampaignOutcome:
    about = (campaign.ref, campaign.name, campaign.dialer)
    try:
        answer = await withdraw_listed(deps.dialer, campaign.ref, dnc)
    except DialerError as error:
        return CampaignOutcome(*about, failed=str(error))
    return CampaignOutcome(*about, contacts=answer.contacts, why_not=answer.why_not)


async def import_file(
    deps: Deps, who: Requester, source: LeadSource, settings: LeadsSettings
) -> Reply:
    """``dnc upload``: every valid number of the file goes on the list, CHUNK at a time; rows
    without one are reported in a CSV, as a leads file's are."""
    if not await deps.authz.may_change(who.user_id):
        return say(NOT_A_LEAD)
    dnc = deps.do_not_call
    scan = LeadsScan(source.chunks(), rules_from(settings))
    rejected_out = io.StringIO()
    writer: RejectedRowsWriter | None = None
    pending: list[str] = []
    added = already = rejected = 0
    try:
        async with aclosing(scan.rows()) as rows:
            async for row in rows:
                if isinstance(row, AcceptedRow):
                    pending += row.numbers
                    if len(pending) >= CHUNK:
                        added, already = await _add(dnc, pending, who.user_id, added, already)
                        pending = []
                    continue
                rejected += 1
                if scan.columns is not None:
                    writer = writer or RejectedRowsWriter(rejected_out, scan.columns.header)
                    writer.write(row)
    except LeadsFileError as error:
        return say(
            f":warning: The file cannot be used: {escape(str(error))}\n"
            f"{'Nothing' if not added else f'{added:,} numbers read before the problem were'} "
            "added to the do-not-call list."
        )
    if pending:
        added, already = await _add(dnc, pending, who.user_id, added, already)
    outcomes, posts = await withdraw_everywhere(deps, dnc, who.user_id)
    files: tuple[FileShare, ...] = ()
    if rejected:
        files = (
            FileShare(
                filename="do-not-call-rejected-rows.csv",
                title="Rows left out of the do-not-call upload",
                content=rejected_out.getvalue().encode(),
                comment="Rows of your do-not-call file that had no valid number, each with its "
                "line and reason.",
            ),
        )
    text = upload_reply(added, already, rejected, await dnc.count(), outcomes)
    return Reply(text=text, posts=posts, files=files)


async def _add(
    dnc: DoNotCallList, numbers: list[str], actor: str, added: int, already: int
) -> tuple[int, int]:
    """List ``numbers``; the running counts of numbers added and of those already listed."""
    done = await dnc.add(numbers, actor)
    return added + len(done), already + len(numbers) - len(done)
