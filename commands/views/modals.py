"""The two modals: New campaign, and the single-campaign view (settings + agents, Apply)."""

from __future__ import annotations

from datetime import UTC, datetime

from commands.settings_input import bounds
from commands.text import code, escape
from commands.views import ids
from commands.views.blocks import (
    Block,
    button,
    context,
    divider,
    input_block,
    modal,
    option,
    plain,
    section,
)
from commands.views.campaign import (
    DEFAULT_STATE_EXPLAINED,
    LEADS_ARE_FIXED,
    is_locked,
    summary_lines,
)
from dialer.registry import capabilities_of
from state.calling_window import EXAMPLE, CallingWindow
from state.campaign import Campaign
from state.domain import AgentDefaultState, CampaignSettings, EndHandle

MAX_LISTED_AGENTS = 40
"""Agents listed with their own Remove button; a modal holds at most 100 blocks."""

END_HANDLE_CHOICES: dict[EndHandle, tuple[str, str]] = {
    EndHandle.STOP: ("Finish", "When every lead has been dialled the campaign completes."),
    EndHandle.CONTINUE: (
        "Keep running",
        "When the leads run out the campaign stays running, waiting for more.",
    ),
}
DEFAULT_STATE_LABEL: dict[AgentDefaultState, str] = {
    AgentDefaultState.OFFLINE: "Offline",
    AgentDefaultState.AVAILABLE: "Available",
}


LEADS_FILE_TYPES = ["csv", "tsv", "txt"]
BIG_FILES = (
    "Slack takes files up to 10 MB here. For a bigger one, post it in the channel, then choose "
    '"Create campaign from this file" in the message\'s ⋯ menu.'
)


def new_campaign_modal(channel_id: str | None, leads_file: tuple[str, str] | None = None) -> Block:
    """``channel_id``: where the command was typed; the campaign's alerts go there.

    ``leads_file``: (file id, name) of a file chosen from a message (the message shortcut); the
    form then shows its name instead of a file field, and keeps its id in ``private_metadata``
    after the channel (``"<channel> <file id>"``).
    """
    defaults = CampaignSettings()
    leads: Block
    if leads_file is None:
        leads = input_block(
            ids.LEADS,
            "Leads (CSV)",
            {"type": "file_input", "filetypes": LEADS_FILE_TYPES, "max_files": 1},
            hint="One row per contact with a phone column. Every row is checked; rows that "
            f"cannot be used are reported with their reason. {BIG_FILES}",
        )
    else:
        leads = section(
            f"*Leads:* {escape(leads_file[1])} (from the message). Every row is checked; rows "
            "that cannot be used are reported with their reason."
        )
    blocks = [
        input_block(
            ids.NAME,
            "Name",
            {"type": "plain_text_input", "max_length": 80, "placeholder": plain("Spring renewals")},
            hint="How people will recognise it. The bot gives it a reference of its own.",
        ),
        input_block(
            ids.DETAIL,
            "Detail",
            {"type": "plain_text_input", "multiline": True, "max_length": 500},
            optional=True,
        ),
        *_settings_inputs(defaults, full=True),
        window_input(None),
        input_block(
            ids.AGENTS,
            "Agents",
            {"type": "plain_text_input", "placeholder": plain("1001 1002 1003")},
            optional=True,
            hint="Dialer agent ids, separated by spaces or commas.",
        ),
        _default_state_input(AgentDefaultState.OFFLINE),
        leads,
        context(LEADS_ARE_FIXED),
    ]
    return modal(
        ids.NEW_CAMPAIGN_MODAL,
        "New campaign",
        blocks,
        submit="Create",
        close="Cancel",
        private_metadata=" ".join(
            part for part in (channel_id, leads_file[0] if leads_file else None) if part
        ),
    )


def campaign_modal(
    campaign: Campaign, conflicts: dict[str, set[str]], now: datetime | None = None
) -> Block:
    """The single-campaign view; ``conflicts`` maps an agent to its other running campaigns."""
    now = now or datetime.now(UTC)
    blocks: list[Block] = [section("\n".join(summary_lines(campaign, now)))]
    locked = is_locked(campaign)
    if locked:
        blocks.append(context("Changes are off while the campaign is being removed."))
    else:
        blocks.append(
            context("Settings can be changed in any status; *Apply* sends them to the dialer.")
        )
        blocks.extend(_settings_inputs(campaign.settings, full=True))
        blocks.append(window_input(campaign.window))
    blocks.append(divider())
    blocks.extend(_agent_blocks(campaign, conflicts, locked))
    blocks.append(divider())
    blocks.append(context(f":lock: {LEADS_ARE_FIXED}"))
    return modal(
        ids.CAMPAIGN_MODAL,
        "Campaign",
        blocks,
        submit=None if locked else "Apply",
        private_metadata=campaign.ref,
    )


def _agent_blocks(campaign: Campaign, conflicts: dict[str, set[str]], locked: bool) -> list[Block]:
    capabilities = capabilities_of(campaign.dialer)
    if not capabilities.agents_managed_here:
        where = escape(capabilities.agents_managed_where)
        return [
            section("*Agents*"),
            context(f"Agents are assigned in {where}; the bot does not manage them."),
        ]
    agents = campaign.agents
    blocks: list[Block] = [section(f"*Agents* ({len(agents)})")]
    if not agents:
        blocks.append(context("No agents yet."))
    for agent in agents[:MAX_LISTED_AGENTS]:
        line = f"{code(agent.agent_id)} · {agent.default_state.value}"
        others = conflicts.get(agent.agent_id, set()) - {campaign.ref}
        if others:
            line += f"\n:warning: also in running {', '.join(code(r) for r in sorted(others))}"
        remove = None if locked else button("Remove", ids.REMOVE_AGENT, agent.agent_id)
        blocks.append(section(line, accessory=remove))
    hidden = agents[MAX_LISTED_AGENTS:]
    if hidden:
        rest = ", ".join(code(a.agent_id) for a in hidden)
        blocks.append(context(f"and {len(hidden)} more: {rest}"))
    if any(conflicts.get(a.agent_id, set()) - {campaign.ref} for a in agents):
        blocks.append(
            context(
                ":warning: An agent cannot be active in two running campaigns at once; "
                "the dialer gives them to one of them only."
            )
        )
    if not locked:
        blocks.append(
            input_block(
                ids.AGENTS,
                "Add agents",
                {"type": "plain_text_input", "placeholder": plain("1004 1005")},
                optional=True,
                hint="Dialer agent ids, separated by spaces or commas.",
            )
        )
        current = agents[0].default_state if agents else AgentDefaultState.OFFLINE
        blocks.append(_default_state_input(current))
    return blocks


def _settings_inputs(settings: CampaignSettings, *, full: bool) -> list[Block]:
    blocks = [
        input_block(
            ids.AGGRESSION,
            "Aggression",
            _number(settings.aggression, ids.AGGRESSION),
            hint="1 is the gentlest pace (about one line per agent, no abandoned calls); "
            "100 the most lines per agent the dialer allows. Changeable at any time.",
        ),
        input_block(
            ids.END_HANDLE,
            "When the leads run out",
            _radio(
                [option(label, e.value, why) for e, (label, why) in END_HANDLE_CHOICES.items()],
                settings.end_handle.value,
            ),
        ),
    ]
    if full:
        blocks += [
            input_block(
                ids.DIAL_TIMEOUT,
                "Ring time (s)",
                _number(settings.dial_timeout_seconds, ids.DIAL_TIMEOUT),
            ),
            input_block(
                ids.MAX_ATTEMPTS,
                "Attempts per lead",
                _number(settings.max_attempts, ids.MAX_ATTEMPTS),
            ),
            input_block(
                ids.RETRY_INTERVAL,
                "Minutes between attempts",
                _number(settings.retry_interval_minutes, ids.RETRY_INTERVAL),
            ),
        ]
    return blocks


def window_input(window: CallingWindow | None) -> Block:
    """The calling window as ``/campaign window`` takes it; empty: any time."""
    element: Block = {"type": "plain_text_input", "max_length": 80, "placeholder": plain(EXAMPLE)}
    if window is not None:
        element["initial_value"] = window.as_typed()
    return input_block(
        ids.CALLING_WINDOW,
        "Calling window",
        element,
        optional=True,
        hint="Local hours it may dial in: HH:MM-HH:MM, an IANA time zone, optionally days. A "
        "start outside them waits for the opening; it stops at each closing. Empty: any time.",
    )


def _default_state_input(current: AgentDefaultState) -> Block:
    return input_block(
        ids.DEFAULT_STATE,
        "Agents' default state",
        _radio(
            [
                option(DEFAULT_STATE_LABEL[state], state.value, DEFAULT_STATE_EXPLAINED[state])
                for state in AgentDefaultState
            ],
            current.value,
        ),
    )


def _number(value: int, name: str) -> Block:
    low, high = bounds(name)
    return {
        "type": "number_input",
        "is_decimal_allowed": False,
        "initial_value": str(value),
        "min_value": str(low),
        "max_value": str(high),
    }


def _radio(options: list[Block], selected: str) -> Block:
    initial = next(o for o in options if o["value"] == selected)
    return {"type": "radio_buttons", "options": options, "initial_option": initial}
