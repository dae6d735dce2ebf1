"""The Block Kit builders, tested as data: what each message and modal contains."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from commands.views import ids
from commands.views.alerts import render_alert
from commands.views.approval import approval_decided, approval_request
from commands.views.blocks import MESSAGE_BLOCK_LIMIT, Block
from commands.views.campaign import pending_text, render_card
from commands.views.forms import FormErrors, read_campaign_edit, read_new_campaign
from commands.views.modals import campaign_modal, new_campaign_modal
from commands.views.overview import PAGE_SIZE, OverviewPage, OverviewRow, overview_blocks
from dialer.models import DialerCampaign
from state.campaign import Campaign, PendingKind, PendingOperation, Removal, RemovalStage
from state.domain import (
    AgentAssignment,
    AgentDefaultState,
    CampaignSettings,
    CampaignStatus,
    EndHandle,
)
from state.effects import StatusAlert

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
REF = "c-20261123-abcd"


def campaign(**fields: Any) -> Campaign:
    values: dict[str, Any] = {
        "ref": REF,
        "name": "Winter renewals",
        "dialer": "simulator",
        "dialer_id": "sim-1",
        "channel_id": "C1",
        "created_by": "UANA",
        "created_at": NOW,
        "agents": (AgentAssignment(agent_id="1001"),),
    }
    return Campaign.model_validate({**values, **fields})


def action_ids(blocks: list[Block]) -> list[str]:
    found = []
    for block in blocks:
        elements = block.get("elements", []) if block["type"] == "actions" else []
        found += [e["action_id"] for e in elements]
        if "accessory" in block:
            found.append(block["accessory"]["action_id"])
    return found


def test_card_offers_start_stop_edit_remove() -> None:
    text, blocks = render_card(campaign(), NOW)
    assert text == f"Winter renewals ({REF}) is stopped"
    assert action_ids(blocks) == [ids.START, ids.STOP, ids.EDIT, ids.REMOVE]
    assert all(b["elements"][0]["value"] == REF for b in blocks if b["type"] == "actions")


def test_card_turns_its_buttons_off_while_a_removal_is_under_way() -> None:
    removal = Removal(requested_by="UANA", requested_at=NOW)
    _, blocks = render_card(campaign(removal=removal), NOW)
    assert action_ids(blocks) == []
    assert "removal requested by <@UANA>" in json.dumps(blocks)


def test_card_escapes_what_people_typed() -> None:
    text, blocks = render_card(campaign(name="<!channel> & co", detail="<https://x|y>"), NOW)
    shown = json.dumps(blocks) + text
    assert "<!channel>" not in shown and "<https://x|y>" not in shown
    assert "&lt;!channel&gt; &amp; co" in shown and "&lt;https://x|y&gt;" in shown


def test_pending_request_says_who_asked_and_how_long_ago() -> None:
    pending = PendingOperation(
        kind=PendingKind.STOP, requested_by="UANA", requested_at=NOW - timedelta(seconds=12)
    )
    assert pending_text(pending, NOW) == "stop requested by <@UANA> 12 s ago"
    _, blocks = render_card(campaign(status=CampaignStatus.RUNNING, pending=pending), NOW)
    assert "stop requested by <@UANA> 12 s ago" in json.dumps(blocks)


def overview(rows: list[OverviewRow], page: int = 0, error: str | None = None) -> list[Block]:
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    view = OverviewPage(
        rows=tuple(rows[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]),
        page=page,
        pages=pages,
        total=len(rows),
        dialer_name="simulator",
        dialer_error=error,
    )
    return overview_blocks(view, NOW)[1]


def on_dialer(ref: str | None, status: CampaignStatus = CampaignStatus.STOPPED) -> DialerCampaign:
    return DialerCampaign(ref=ref, dialer_id=f"d-{ref}", name=f"dialer {ref}", status=status)


def test_overview_flags_campaigns_only_one_side_knows() -> None:
    known = campaign()
    gone = campaign(ref="c-20261123-gone", name="Gone")
    rows = [
        OverviewRow(known, on_dialer(REF)),
        OverviewRow(gone, None),
        OverviewRow(None, on_dialer(None, CampaignStatus.RUNNING)),
    ]
    shown = json.dumps(overview(rows))
    assert "the dialer no longer has this campaign" in shown
    assert "not created by this bot" in shown
    assert action_ids(overview(rows)) == [ids.START, ids.STOP, ids.EDIT, ids.REMOVE, ids.NEW]


def test_overview_says_when_the_dialer_reports_another_status() -> None:
    shown = json.dumps(overview([OverviewRow(campaign(), on_dialer(REF, CampaignStatus.RUNNING))]))
    assert "the dialer reports" in shown and "*running*" in shown


def test_overview_without_the_dialer_keeps_the_buttons_and_says_why() -> None:
    blocks = overview([OverviewRow(campaign(), None)], error="timed out")
    assert "could not be asked (timed out)" in json.dumps(blocks)
    assert "no longer has" not in json.dumps(blocks)
    assert ids.START in action_ids(blocks)


def test_overview_pages_stay_within_slacks_block_limit() -> None:
    rows = [
        OverviewRow(campaign(ref=f"c-20261123-{n:04d}"), on_dialer(f"c-20261123-{n:04d}"))
        for n in range(PAGE_SIZE * 2 + 3)
    ]
    first, middle, last = overview(rows, 0), overview(rows, 1), overview(rows, 2)
    assert max(len(first), len(middle), len(last)) <= MESSAGE_BLOCK_LIMIT
    assert ids.PAGE_NEXT in action_ids(first) and ids.PAGE_PREVIOUS not in action_ids(first)
    assert {ids.PAGE_NEXT, ids.PAGE_PREVIOUS} <= set(action_ids(middle))
    assert ids.PAGE_NEXT not in action_ids(last)
    assert "page 3 of 3" in json.dumps(last)


def test_new_campaign_modal_explains_the_default_states_and_takes_a_csv() -> None:
    view = new_campaign_modal("C1")
    assert view["callback_id"] == ids.NEW_CAMPAIGN_MODAL and view["private_metadata"] == "C1"
    by_id = {b.get("block_id"): b for b in view["blocks"]}
    states = by_id[ids.DEFAULT_STATE]["element"]["options"]
    assert [o["value"] for o in states] == ["offline", "available"]
    assert all("description" in o for o in states)
    assert by_id[ids.LEADS]["element"]["type"] == "file_input"
    assert by_id[ids.LEADS]["element"]["filetypes"] == ["csv", "tsv", "txt"]
    assert "Create campaign from this file" in by_id[ids.LEADS]["hint"]["text"]
    assert set(by_id) >= {ids.NAME, ids.DETAIL, ids.AGGRESSION, ids.END_HANDLE, ids.AGENTS}


def test_campaign_modal_edits_settings_and_agents_but_not_leads() -> None:
    settings = CampaignSettings(aggression=70, end_handle=EndHandle.CONTINUE)
    view = campaign_modal(campaign(settings=settings), {"1001": {"c-20261123-othr"}}, NOW)
    assert view["submit"]["text"] == "Apply" and view["private_metadata"] == REF
    by_id = {b.get("block_id"): b for b in view["blocks"]}
    assert by_id[ids.AGGRESSION]["element"]["initial_value"] == "70"
    assert by_id[ids.END_HANDLE]["element"]["initial_option"]["value"] == "continue"
    shown = json.dumps(view)
    assert "also in running `c-20261123-othr`" in shown
    assert "Leads cannot be edited" in shown and "remove this campaign" in shown
    assert ids.REMOVE_AGENT in action_ids(view["blocks"])


def test_campaign_modal_is_read_only_during_a_removal() -> None:
    removal = Removal(requested_by="UANA", requested_at=NOW)
    view = campaign_modal(campaign(removal=removal), {}, NOW)
    assert "submit" not in view
    assert not [b for b in view["blocks"] if b["type"] == "input"]
    assert action_ids(view["blocks"]) == []


def values(**fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for block, value in fields.items():
        if block in {ids.END_HANDLE, ids.DEFAULT_STATE}:
            out[block] = {block: {"type": "radio_buttons", "selected_option": {"value": value}}}
        elif block == ids.LEADS:
            out[block] = {block: {"type": "file_input", "files": value}}
        else:
            out[block] = {block: {"type": "plain_text_input", "value": value}}
    return out


def test_a_complete_new_campaign_form_is_read_into_typed_values() -> None:
    form = read_new_campaign(
        values(
            name=" Spring ",
            detail="",
            aggression="35",
            end_handle="continue",
            agents="1001, 1002",
            default_state="available",
            leads=[{"id": "F1"}],
        )
    )
    assert form.name == "Spring" and form.leads_file_id == "F1"
    assert form.settings == CampaignSettings(aggression=35, end_handle=EndHandle.CONTINUE)
    assert [a.default_state for a in form.agents] == [AgentDefaultState.AVAILABLE] * 2


def test_form_mistakes_are_reported_per_field() -> None:
    try:
        read_new_campaign(values(name="", aggression="0", agents="<x>", leads=[]))
    except FormErrors as exc:
        assert set(exc.errors) == {ids.NAME, ids.AGGRESSION, ids.AGENTS, ids.LEADS}
        assert exc.errors[ids.AGGRESSION] == "Must be a whole number from 1 to 100."
    else:
        raise AssertionError("the form was accepted")


def test_campaign_edit_form_reads_only_the_fields_shown() -> None:
    form = read_campaign_edit(values(aggression="90", agents="1003", default_state="offline"))
    assert form.settings_changes == {"aggression": 90}
    assert form.add_agents == ("1003",) and form.default_state is AgentDefaultState.OFFLINE


def test_approval_message_has_approve_and_reject_until_decided() -> None:
    text, blocks = approval_request(campaign(), "UANA")
    assert text == f"Removal of {REF} requested; waiting for approval"
    assert action_ids(blocks) == [ids.APPROVE, ids.REJECT]
    _, decided = approval_decided(campaign(), "UANA", "UBOB", approved=True)
    assert action_ids(decided) == []
    assert "approved* by <@UBOB>" in json.dumps(decided)


def test_alerts_name_the_campaign_and_the_change() -> None:
    alert = StatusAlert(REF, CampaignStatus.RUNNING, CampaignStatus.STOPPING)
    text = render_alert(alert, campaign(name="<b>"))
    assert (
        text == f"*&lt;b&gt;* `{REF}` :large_yellow_circle: is *stopping*: active calls are "
        "finishing (was running)."
    )
    assert render_alert(alert, None).startswith(f"`{REF}` :large_yellow_circle:")


def test_removal_stages_read_differently_on_the_card() -> None:
    approved = Removal(
        requested_by="UANA", requested_at=NOW, stage=RemovalStage.STOPPING, approved_by="UBOB"
    )
    _, blocks = render_card(campaign(removal=approved), NOW)
    assert "approved by <@UBOB>: stopping, then deleting" in json.dumps(blocks)
