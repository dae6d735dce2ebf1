"""``/campaign history <ref>``: a campaign's audit as a person reads it, newest first, and as CSV.

Each audit entry becomes one event: who asked for what and when, approvals and rejections (with
the requester and the approver named apart), every status change with where it came from (the
dialer's notification, a confirmation read after a stop, a reconciliation, a request the dialer
accepted and publishes nothing about), settings before → after, agents added and removed, leads
uploaded. Bookkeeping entries (the card posted, the approval message's ts) and duplicate or late
notifications are left out.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from commands.text import code, escape, user
from commands.views.blocks import Block, actions, button, context, header, section

HISTORY_PAGE_SIZE = 25
OLDER = "history_older"
"""**Older** under a page of history; ``value`` is ``<ref> <entry id of the page's last>``."""
CSV_EXPORT = "history_csv"
"""**Download CSV**; ``value`` is the ref."""

SOURCE_TEXT = {
    "notification": "the dialer's notification",
    "confirmation": "a confirmation read of the dialer",
    "reconciliation": "reconciliation with the dialer",
    "accepted": "the dialer accepting the request (it publishes nothing)",
}
SKIPPED = frozenset({"card_posted", "removal:approval-posted"})
CSV_COLUMNS = (
    "at",
    "event",
    "actor",
    "requested_by",
    "approved_by",
    "status_before",
    "status_after",
    "source",
    "change",
)


@dataclass(frozen=True)
class HistoryEvent:
    entry_id: str
    at: str
    kind: str
    actor: str = ""
    requested_by: str = ""
    approved_by: str = ""
    status_before: str = ""
    status_after: str = ""
    source: str = ""
    change: str = ""

    def line(self) -> str:
        """One line of mrkdwn: the time, then what happened."""
        return f"`{escape(self.at)}`  {self._what()}"

    def _what(self) -> str:
        who = user(self.actor) if _is_person(self.actor) else escape(self.actor)
        change = f": {escape(self.change)}" if self.change else ""
        match self.kind:
            case "created":
                return f":sparkles: created by {who}{change}"
            case "status":
                before = f"{escape(self.status_before)} → " if self.status_before else ""
                return (
                    f":arrows_counterclockwise: status {before}*{escape(self.status_after)}*, "
                    f"from {escape(SOURCE_TEXT.get(self.source, self.source))}"
                )
            case "reported":
                source = escape(SOURCE_TEXT.get(self.source, self.source))
                return f":satellite: reported by {source}{change}"
            case "removal requested":
                return f":warning: removal requested by {who}"
            case "removal approved":
                return (
                    f":white_check_mark: removal approved by {user(self.approved_by)} "
                    f"(requested by {user(self.requested_by)})"
                )
            case "removal rejected":
                return f":x: removal rejected by {who} (requested by {user(self.requested_by)})"
            case "removal cancelled":
                return f":x: removal request cancelled by {who}, who had asked for it"
            case "removal expired":
                return (
                    f":hourglass_flowing_sand: removal request of {user(self.requested_by)} "
                    "expired without an approval"
                )
            case "removal withdrawn":
                return (
                    f":leftwards_arrow_with_hook: removal request of {user(self.requested_by)} "
                    "withdrawn: its approval message could not be posted"
                )
            case "stop sent":
                return ":octagonal_sign: removal: the dialer accepted the stop"
            case "leads uploaded" | "leads upload stopped":
                return f":inbox_tray: {escape(self.kind)}{change}"
        return f"{escape(self.kind)} by {who}{change}"


def _is_person(actor: str) -> bool:
    return actor[:1] in {"U", "W"} and actor.isalnum()


def history_event(entry_id: str, fields: dict[str, str]) -> HistoryEvent | None:
    """The event an audit entry records, or None for bookkeeping and for notifications that
    changed nothing a person follows (duplicates, late ones, statistics only)."""
    action = fields.get("action", "")
    if action in SKIPPED:
        return None
    actor = fields.get("actor", "")
    at = _when(fields.get("at", ""))
    try:
        data: dict[str, Any] = json.loads(fields.get("data") or "{}")
    except ValueError:
        data = {}
    base = {"entry_id": entry_id, "at": at, "actor": actor}
    kind, _, outcome = action.partition(":")
    if kind in SOURCE_TEXT and outcome:
        if outcome != "applied":
            return None
        return _reported(base, kind, data)
    removal = data.get("removal") or {}
    requested_by = str(removal.get("requested_by") or "")
    match action:
        case "created":
            return HistoryEvent(kind="created", change=_created(data), **base)
        case "request:settings":
            change = _settings(data) or _pending_detail(data)
            return HistoryEvent(kind="settings changed", change=change, **base)
        case "request:agents":
            change = _agents(data) or _pending_detail(data)
            return HistoryEvent(kind="agents changed", change=change, **base)
        case "request:start" | "request:stop":
            return HistoryEvent(kind=f"{outcome} requested", **base)
        case "removal:request":
            return HistoryEvent(kind="removal requested", requested_by=actor, **base)
        case "removal:approve":
            return HistoryEvent(
                kind="removal approved", requested_by=requested_by, approved_by=actor, **base
            )
        case "removal:reject":
            kind_text = "removal cancelled" if actor == requested_by else "removal rejected"
            return HistoryEvent(kind=kind_text, requested_by=requested_by, **base)
        case "removal:expired":
            return HistoryEvent(kind="removal expired", requested_by=requested_by, **base)
        case "removal:withdrawn":
            return HistoryEvent(kind="removal withdrawn", requested_by=requested_by, **base)
        case "removal:stop-sent":
            return HistoryEvent(kind="stop sent", **base)
        case "leads:completed":
            change = f"{int(data.get('sent') or 0):,} of {int(data.get('total') or 0):,} contacts"
            return HistoryEvent(kind="leads uploaded", change=change, **base)
        case "leads:failed":
            change = (
                f"{int(data.get('sent') or 0):,} of {int(data.get('total') or 0):,} contacts "
                f"({data.get('error') or 'the dialer refused'})"
            )
            return HistoryEvent(kind="leads upload stopped", change=change, **base)
    return HistoryEvent(kind=action, change=_settings(data) or _agents(data), **base)


def _reported(base: dict[str, str], source: str, data: dict[str, Any]) -> HistoryEvent | None:
    event = data.get("event") or {}
    status = event.get("status")
    if status:
        return HistoryEvent(
            kind="status",
            status_before=str(data.get("previous_status") or ""),
            status_after=str(status),
            source=source,
            **base,
        )
    parts = []
    if event.get("settings"):
        before = data.get("previous_settings") or {}
        changed = {k: v for k, v in event["settings"].items() if before.get(k) != v}
        if changed:
            parts.append(
                "settings "
                + ", ".join(
                    f"{k} {before[k]} → {v}" if k in before else f"{k} {v}"
                    for k, v in sorted(changed.items())
                )
            )
    if event.get("agents") is not None:
        parts.append("agents " + (", ".join(a["agent_id"] for a in event["agents"]) or "none"))
    if not parts:
        return None  # statistics only
    return HistoryEvent(kind="reported", source=source, change="; ".join(parts), **base)


def _pending_detail(data: dict[str, Any]) -> str:
    """What a request asked for, as the bot recorded it (``aggression 40 → 85``)."""
    return str((data.get("pending") or {}).get("detail") or "")


def _created(data: dict[str, Any]) -> str:
    parts = []
    if data.get("channel"):
        parts.append(f"in #{data['channel']}")
    settings = data.get("settings") or {}
    if settings:
        parts.append(", ".join(f"{k} {v}" for k, v in sorted(settings.items())))
    if data.get("agents"):
        parts.append(f"agents {', '.join(data['agents'])}")
    return "; ".join(parts)


def _settings(data: dict[str, Any]) -> str:
    changed = data.get("settings") or {}
    return ", ".join(f"{k} {old} → {new}" for k, (old, new) in sorted(changed.items()))


def _agents(data: dict[str, Any]) -> str:
    parts = []
    if data.get("agents_added"):
        parts.append(f"added {', '.join(data['agents_added'])}")
    if data.get("agents_removed"):
        parts.append(f"removed {', '.join(data['agents_removed'])}")
    return "; ".join(parts)


def _when(raw: str) -> str:
    try:
        return datetime.fromisoformat(raw).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return raw


@dataclass(frozen=True)
class HistoryPage:
    ref: str
    name: str
    events: tuple[HistoryEvent, ...]
    first_page: bool
    older: str | None  # the entry id to page on from, when there is more
    deleted: bool = False


def history_blocks(page: HistoryPage) -> tuple[str, list[Block]]:
    title = f"History of {page.name}"
    blocks: list[Block] = [header(title if len(title) <= 150 else title[:149] + "…")]
    note = f"{code(page.ref)} · newest first"
    if page.deleted:
        note += " · deleted; its history is kept for the retention period"
    if not page.first_page:
        note += " · older entries"
    blocks.append(context(note))
    if not page.events:
        blocks.append(section("Nothing recorded."))
    chunk: list[str] = []
    for event in page.events:
        line = event.line()
        if chunk and len("\n".join([*chunk, line])) > 2900:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(line)
    if chunk:
        blocks.append(section("\n".join(chunk)))
    buttons = [button("Download CSV", CSV_EXPORT, page.ref)]
    if page.older is not None:
        buttons.insert(0, button("Older", OLDER, f"{page.ref} {page.older}"))
    blocks.append(actions(*buttons, block_id="history_footer"))
    return escape(f"History of {page.ref}: {len(page.events)} events"), blocks


def history_csv(events: list[HistoryEvent]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for event in events:
        writer.writerow(
            _safe(str(getattr(event, column) if column != "event" else event.kind))
            for column in CSV_COLUMNS
        )
    return out.getvalue().encode()


def _safe(cell: str) -> str:
    """A cell a spreadsheet never runs as a formula."""
    return "'" + cell if cell[:1] in {"=", "+", "-", "@", "\t", "\r"} else cell
