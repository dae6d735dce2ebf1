"""How one campaign reads in Slack: its status line, pending request, buttons and card.

The one place that formats a campaign; the overview, the campaign modal, the approval message and
the channel card all build on these.
"""

from __future__ import annotations

from datetime import UTC, datetime

from commands.text import ago, code, escape, user
from commands.views import ids
from commands.views.blocks import Block, actions, button, confirm_dialog, context, section
from dialer.registry import capabilities_of, pace_note
from state.calling_window import CallingWindow
from state.campaign import Campaign, PendingKind, PendingOperation, RemovalStage
from state.domain import AgentDefaultState, CampaignStatus

STATUS_ICON: dict[CampaignStatus, str] = {
    CampaignStatus.STOPPED: ":white_circle:",
    CampaignStatus.RUNNING: ":large_green_circle:",
    CampaignStatus.STOPPING: ":large_yellow_circle:",
    CampaignStatus.COMPLETED: ":checkered_flag:",
    CampaignStatus.DELETED: ":wastebasket:",
}

PENDING_VERB: dict[PendingKind, str] = {
    PendingKind.START: "start requested",
    PendingKind.STOP: "stop requested",
    PendingKind.SETTINGS: "settings change sent",
    PendingKind.AGENTS: "agents change sent",
}

# Each fits a radio option's description (Slack: at most 75 characters).
DEFAULT_STATE_EXPLAINED: dict[AgentDefaultState, str] = {
    AgentDefaultState.OFFLINE: "Agents join by themselves: they make themselves available.",
    AgentDefaultState.AVAILABLE: "Agents are called in automatically when the campaign starts.",
}

LEADS_ARE_FIXED = (
    "Leads cannot be edited once uploaded. To use other leads, remove this campaign and create a "
    "new one with the new CSV."
)


def status_text(status: CampaignStatus) -> str:
    return f"{STATUS_ICON[status]} *{status.value}*"


def pending_text(pending: PendingOperation, now: datetime) -> str:
    """``stop requested by @ana 12 s ago``."""
    return (
        f"{PENDING_VERB[pending.kind]} by {user(pending.requested_by)} "
        f"{ago(pending.requested_at, now)}"
    )


def removal_text(campaign: Campaign) -> str | None:
    removal = campaign.removal
    if removal is None:
        return None
    if removal.stage is RemovalStage.AWAITING_APPROVAL:
        return (
            f":hourglass: removal requested by {user(removal.requested_by)}, waiting for another "
            "campaign lead to approve; its other buttons are off until then"
        )
    approver = user(removal.approved_by or "")
    if removal.stage is RemovalStage.STOPPING:
        return f":hourglass: removal approved by {approver}: stopping, then deleting"
    return f":hourglass: removal approved by {approver}: stopped, deleting"


def title_line(campaign: Campaign) -> str:
    return f"*{escape(campaign.name)}*  {code(campaign.ref)}"


def summary_lines(campaign: Campaign, now: datetime) -> list[str]:
    """Status, pending request and removal, one line each; the detail if there is one."""
    lines = [f"{title_line(campaign)}  {status_text(campaign.status)}"]
    if campaign.detail:
        lines.append(escape(campaign.detail))
    if campaign.pending is not None:
        lines.append(f"_{pending_text(campaign.pending, now)}_")
    removal = removal_text(campaign)
    if removal is not None:
        lines.append(removal)
    window = window_text(campaign, now)
    if window is not None:
        lines.append(window)
    return lines


def window_text(campaign: Campaign, now: datetime) -> str | None:
    """``calling window 09:00-20:00 America/New_York, mon-fri · closed, opens … · armed``."""
    window = campaign.window
    if window is None:
        return None
    if window.is_open(now):
        state = f"open, closes {slack_date(window.next_closing(now), window)}"
    else:
        state = f"closed, opens {slack_date(window.next_opening(now), window)}"
    text = f":clock3: calling window {escape(window.describe())} · {state}"
    if campaign.armed is not None:
        text += (
            f" · *armed* by {user(campaign.armed.by)}: started at each opening, stopped at "
            "each closing"
        )
    return text


def slack_date(at: datetime, window: CallingWindow) -> str:
    """A time Slack shows in each reader's own time zone; the fallback is in the window's."""
    there = at.astimezone(window.tz)
    fallback = escape(f"{there:%a} {there.day} {there:%b %H:%M} {window.zone}")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def facts(campaign: Campaign) -> str:
    settings = campaign.settings
    parts = [
        f"aggression *{settings.aggression}*",
        *filter(None, [pace_note(campaign.dialer, settings.aggression)]),
        f"at the end: {settings.end_handle.value}",
        agents_text(campaign),
    ]
    statistics = statistics_text(campaign)
    if statistics:
        parts.append(statistics)
    return " · ".join(parts)


def agents_text(campaign: Campaign) -> str:
    """``2 agents (offline)``, or where agents are managed when the dialer takes none."""
    capabilities = capabilities_of(campaign.dialer)
    if not capabilities.agents_managed_here:
        return f"agents are assigned in {escape(capabilities.agents_managed_where)}"
    agents = campaign.agents
    states = sorted({a.default_state.value for a in agents})
    text = f"{len(agents)} agent{'s' if len(agents) != 1 else ''}"
    if states:
        text += f" ({'/'.join(states)})"
    return text


def statistics_text(campaign: Campaign) -> str | None:
    """The dialer's statistics, as far as it reports them: calls dialled of the leads uploaded,
    connected, remaining, active calls; OCS's busy factor, hit ratio, overdial rate and time to
    complete. A dialer whose API reports none says so (``statistics_note``) instead of zeros."""
    counters = campaign.counters
    parts: list[str] = []
    dialled, uploaded = counters.get("dialled"), counters.get("uploaded")
    if dialled is not None and uploaded is not None:
        parts.append(f"dialled {dialled:,} of {uploaded:,}")
    elif dialled is not None:
        parts.append(f"dialled {dialled:,}")
    elif uploaded is not None:
        parts.append(f"{uploaded:,} leads")
    if "answered" in counters:
        parts.append(f"{counters['answered']:,} connected")
    remaining = counters.get("remaining")
    if remaining is None and dialled is not None and uploaded is not None:
        remaining = max(0, uploaded - dialled)
    if remaining is not None:
        parts.append(f"{remaining:,} remaining")
    if "active" in counters:
        parts.append(f"{counters['active']:,} active calls")
    for key, label in PERCENTAGES.items():
        if key in counters:
            parts.append(f"{label} {counters[key]} %")
    if "time_to_complete_s" in counters:
        parts.append(f"done in about {_duration(counters['time_to_complete_s'])}")
    if parts:
        return ", ".join(parts)
    note = capabilities_of(campaign.dialer).statistics_note
    return f"_{escape(note)}_" if note else None


PERCENTAGES = {
    "busy_factor_pct": "busy factor",
    "hit_ratio_pct": "hit ratio",
    "overdial_rate_pct": "overdial rate",
    "percent_done": "done",
}


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{max(seconds, 0)} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def is_locked(campaign: Campaign) -> bool:
    """A removal is under way (or done): the buttons that change the campaign are off."""
    return campaign.removal is not None or campaign.status is CampaignStatus.DELETED


def control_buttons(campaign: Campaign) -> Block | None:
    """Start / Stop / Edit / Remove, or None while a removal is under way."""
    if is_locked(campaign):
        return None
    ref = campaign.ref
    remove_confirm = confirm_dialog(
        "Remove this campaign?",
        f"This asks another campaign lead to approve removing {code(ref)}. Once approved, it is "
        "stopped and then deleted from the dialer.",
        "Ask for approval",
    )
    return actions(
        button("Start", ids.START, ref, style="primary"),
        button("Stop", ids.STOP, ref),
        button("Edit", ids.EDIT, ref),
        button("Remove", ids.REMOVE, ref, style="danger", confirm=remove_confirm),
        block_id=f"controls:{ref}",
    )


def render_card(campaign: Campaign, now: datetime | None = None) -> tuple[str, list[Block]]:
    """The campaign's message in its channel, updated in place as the campaign changes."""
    now = now or datetime.now(UTC)
    text = f"{campaign.name} ({campaign.ref}) is {campaign.status.value}"
    blocks = [section("\n".join(summary_lines(campaign, now))), context(facts(campaign))]
    controls = control_buttons(campaign)
    if controls is not None:
        blocks.append(controls)
    return escape(text), blocks
