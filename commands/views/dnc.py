"""What ``/campaign dnc`` shows: replies to the lead, the notice in a campaign's channel, the
upload modal. Numbers shown are E.164 the bot made itself; names go through ``escape``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from commands.limits import MAX_MESSAGE_TEXT, MAX_SECTION_TEXT, clip
from commands.text import code, escape, user
from commands.views.blocks import Block, context, input_block, modal, section

USAGE = (
    "/campaign dnc add <number…>  or  /campaign dnc remove <number…>  or  "
    "/campaign dnc check <number>  or  /campaign dnc upload"
)
HELP = (
    "the do-not-call list shared by every campaign and dialer: `add` or `remove` numbers "
    "(leads), `check` one, `upload` a CSV of them; listed numbers are left out of uploads and "
    "taken off live campaigns where the dialer allows"
)
UPLOAD_MODAL = "dnc_upload"
FILE = "dnc_file"
FILE_TYPES = ["csv", "tsv", "txt"]
_SHOWN = 10


@dataclass(frozen=True)
class CampaignOutcome:
    """What one live campaign's dialer did after numbers were listed."""

    ref: str
    name: str
    dialer: str
    contacts: int = 0
    why_not: str = ""
    """Why the dialer cannot withdraw a contact; empty when it can."""
    failed: str = ""
    """The dialer's error when it could but failed."""


def _count(count: int, thing: str) -> str:
    return f"{count:,} {thing}{'' if count == 1 else 's'}"


def listed_numbers(numbers: Sequence[str]) -> str:
    shown = ", ".join(numbers[:_SHOWN])
    return shown + (f" and {len(numbers) - _SHOWN:,} more" if len(numbers) > _SHOWN else "")


def count_line(total: int) -> str:
    return f"The do-not-call list holds {total:,} number{'' if total == 1 else 's'}."


def count_block(total: int) -> Block:
    """Under ``/campaign help``."""
    return context(count_line(total))


def changed_reply(
    verb: str,
    changed: Sequence[str],
    unchanged: int,
    total: int,
    outcomes: Sequence[CampaignOutcome] | None = None,
) -> tuple[str, list[Block]]:
    """``verb``: "Added to" or "Taken off"; ``outcomes``: the live campaigns, after an add."""
    if changed:
        text = f"{verb} the do-not-call list: {listed_numbers(changed)}."
    else:
        text = "Nothing changed on the do-not-call list."
    if unchanged:
        already = "on it already" if verb.startswith("Added") else "not on it"
        text += f" {unchanged:,} number{' was' if unchanged == 1 else 's were'} {already}."
    blocks = [section(clip(text, MAX_SECTION_TEXT))]
    if outcomes is not None:
        summary = withdrawal_summary(outcomes)
        text += f"\n{summary}"
        blocks.append(section(clip(summary, MAX_SECTION_TEXT)))
    return clip(text, MAX_MESSAGE_TEXT), [*blocks, context(count_line(total))]


def withdrawal_summary(outcomes: Sequence[CampaignOutcome]) -> str:
    """One line per live campaign that had something to say, for the lead's reply."""
    lines = [_outcome_line(o) for o in outcomes if o.contacts or o.why_not or o.failed]
    return "\n".join(lines) if lines else "No live campaign had a contact at those numbers."


def _outcome_line(outcome: CampaignOutcome) -> str:
    where = f"{code(outcome.ref)} ({escape(outcome.name)}, {escape(outcome.dialer)})"
    if outcome.failed:
        return (
            f"• {where}: the dialer failed ({escape(outcome.failed)}); run the same "
            "`/campaign dnc add` again to retry."
        )
    if outcome.why_not:
        return f"• {where}: not withdrawn, {escape(outcome.why_not)}."
    plural = "contact" if outcome.contacts == 1 else "contacts"
    return f"• {where}: {outcome.contacts:,} {plural} withdrawn."


def channel_notice(actor: str, outcomes: Sequence[CampaignOutcome]) -> tuple[str, list[Block]]:
    """The campaign channel's message: how many contacts were withdrawn where, or why not."""
    text = (
        f":no_entry: {user(actor)} put numbers on the do-not-call list.\n"
        f"{withdrawal_summary(outcomes)}"
    )
    notes = []
    if any(o.why_not for o in outcomes):
        notes.append(
            "Where the dialer cannot withdraw a contact, stop the campaign or remove the numbers "
            "in the dialer's own console; the bot never uploads them again."
        )
    blocks = [section(clip(text, MAX_SECTION_TEXT))]
    if notes:
        blocks.append(context(*notes))
    return clip(text, MAX_MESSAGE_TEXT), blocks


def upload_withdrawal_notice(outcome: CampaignOutcome) -> tuple[str, list[Block]]:
    """After an upload during which numbers were listed, and some had reached the dialer."""
    text = (
        f":no_entry: Numbers were put on the do-not-call list while the leads of "
        f"{code(outcome.ref)} were uploading.\n{withdrawal_summary([outcome])}"
    )
    return clip(text, MAX_MESSAGE_TEXT), [section(clip(text, MAX_SECTION_TEXT))]


def check_reply(number: str, listed: bool, total: int) -> tuple[str, list[Block]]:
    if listed:
        text = f":no_entry: {number} is on the do-not-call list: it is never dialled."
    else:
        text = f"{number} is not on the do-not-call list."
    return text, [section(text), context(count_line(total))]


def upload_modal(channel_id: str | None) -> Block:
    return modal(
        UPLOAD_MODAL,
        "Do-not-call numbers",
        [
            section(
                "Every number in the file goes on the do-not-call list shared by all campaigns "
                "and dialers. Rows are checked like leads: rows without a valid number are "
                "reported with their line and reason, and nothing of them is added."
            ),
            input_block(
                FILE,
                "Numbers (CSV)",
                {"type": "file_input", "filetypes": FILE_TYPES, "max_files": 1},
                hint="A header line with a phone column (phone, mobile, number…), one or more "
                "numbers a row.",
            ),
        ],
        submit="Add to the list",
        private_metadata=channel_id or "",
    )


def upload_reply(
    added: int, already: int, rejected: int, total: int, outcomes: Sequence[CampaignOutcome]
) -> str:
    lines = [
        f"Do-not-call upload: {_count(added, 'number')} added, {already:,} "
        f"{'was' if already == 1 else 'were'} on the list already.",
    ]
    if rejected:
        lines.append(
            f"{_count(rejected, 'row')} had no valid number and added nothing; their CSV, with "
            "each line and reason, is in a direct message."
        )
    lines.append(withdrawal_summary(outcomes))
    lines.append(count_line(total))
    return clip("\n".join(lines), MAX_MESSAGE_TEXT)
