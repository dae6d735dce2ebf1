"""Every view the app renders, over a wide input matrix, is a payload Slack accepts.

Each payload is checked twice: against ``slack_sdk``'s own Block Kit models (``Block.parse`` /
``View`` and ``validate_json``) and against the Slack stand-in's checker
(``bot.demo.slack_limits``), which must find no violation. The matrix: 0, 1, 20, 21 and 500
campaigns; names of 1 and 200 characters full of mrkdwn, mentions, ``&<>`` and emoji; every
status, pending request and removal stage in every combination; 0 and 60 agents; validation
reports with thousands of reasons, examples and columns; errors thousands of lines long.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk.models.blocks import Block as SdkBlock
from slack_sdk.models.views import View

from bot.alerts import alert_text
from bot.demo.slack_limits import Violation, message_violations, view_violations
from bot.slack.leads import confirmation_message
from commands.leads.progress import (
    UploadProgress,
    UploadSummary,
    render_progress,
    render_summary,
    render_validation,
)
from commands.leads.scan import ValidationReport
from commands.leads.store import UploadState
from commands.leads.validation import RejectedRow, RejectReason, ValidationRules
from commands.registry import SUBCOMMANDS
from commands.text import escape
from commands.views.alerts import render_alert
from commands.views.approval import (
    approval_decided,
    approval_expired,
    approval_gone,
    approval_request,
)
from commands.views.blocks import Block, actions, button, section
from commands.views.campaign import render_card
from commands.views.dnc import (
    CampaignOutcome,
    changed_reply,
    channel_notice,
    check_reply,
    count_block,
    upload_modal,
    upload_reply,
    upload_withdrawal_notice,
)
from commands.views.help import help_blocks, mistake_blocks
from commands.views.history import HistoryEvent, HistoryPage, history_blocks
from commands.views.home import HomeModel, home_view, in_home_order, pages_of, waiting_for
from commands.views.modals import campaign_modal, new_campaign_modal
from commands.views.overview import PAGE_SIZE, OverviewPage, OverviewRow, overview_blocks
from dialer.models import DialerCampaign
from state.calling_window import parse_window
from state.campaign import (
    Armed,
    Campaign,
    PendingKind,
    PendingOperation,
    Removal,
    RemovalStage,
)
from state.domain import AgentAssignment, AgentDefaultState, CampaignStatus
from state.effects import StatusAlert
from tests.state_builders import T0
from tests.state_builders import campaign as build_campaign

NOW = T0 + timedelta(minutes=3)
NASTY = "*bold* _it_ ~st~ `code` <!channel> <!here> <@U0EVE> <#C0X> &amp; & < > :tada: 😀🎉 "
NAMES = {"short": "A", "long": (NASTY * 10)[:200]}
LONG_ERROR = "\n".join(f"line {n}: the dialer said no <!channel> & more" for n in range(5000))


def campaign(
    n: int = 0,
    *,
    name: str = NAMES["long"],
    status: CampaignStatus = CampaignStatus.RUNNING,
    pending: PendingKind | None = None,
    removal: RemovalStage | None = None,
    agents: int = 0,
) -> Campaign:
    return build_campaign(
        f"c-20261123-{n:04d}",
        name=name,
        detail=("detail " + NASTY) * 20,
        status=status,
        pending=None
        if pending is None
        else PendingOperation(kind=pending, requested_by="U0ANA", requested_at=T0, detail=NASTY),
        removal=None
        if removal is None
        else Removal(requested_by="U0ANA", requested_at=T0, stage=removal, approved_by="U0BOB"),
        agents=tuple(
            AgentAssignment(
                agent_id=f"agent-{i:03d}-" + "x" * 50,
                default_state=AgentDefaultState.AVAILABLE if i % 2 else AgentDefaultState.OFFLINE,
            )
            for i in range(agents)
        ),
        counters={"dialled": 10**9, "uploaded": 10**9, "active": 10**6},
    )


# No calling window; one across midnight with a long zone name and four days; the same, armed
# (the card then shows the window, its next opening or closing and who armed it).
NIGHTS = parse_window(["22:00-02:00", "America/Argentina/ComodRivadavia", "mon,tue,thu,sat"])
WINDOWS: list[dict[str, Any]] = [
    {},
    {"window": NIGHTS},
    {"window": NIGHTS, "armed": Armed(by="U0ANA", at=T0, partial=True)},
]


def every_campaign_state() -> Iterator[Campaign]:
    for n, (status, pending, removal) in enumerate(
        itertools.product(CampaignStatus, [None, *PendingKind], [None, *RemovalStage])
    ):
        state = campaign(n, status=status, pending=pending, removal=removal, agents=60 * (n % 2))
        yield state.model_copy(update=WINDOWS[n % len(WINDOWS)])


# -- the two checks ----------------------------------------------------------------------------


def sdk_message_problems(blocks: list[Block]) -> list[str]:
    problems = []
    for index, raw in enumerate(blocks):
        parsed = SdkBlock.parse(raw)
        if parsed is None:
            problems.append(f"block {index}: slack_sdk does not know {raw.get('type')}")
            continue
        try:
            parsed.validate_json()
        except Exception as exc:  # SlackObjectFormationError and friends
            problems.append(f"block {index}: {exc}")
    return problems


def sdk_view_problems(view: Block) -> list[str]:
    try:
        View(**view).validate_json()
    except Exception as exc:
        return [str(exc)]
    return []


def assert_message_accepted(text: str | None, blocks: list[Block] | None = None) -> None:
    payload: dict[str, Any] = {"text": text}
    if blocks is not None:
        payload["blocks"] = blocks
    violations: list[Violation] = message_violations(payload)
    assert [v.message() for v in violations] == []
    assert sdk_message_problems(blocks or []) == []


def assert_view_accepted(view: Block) -> None:
    assert [v.message() for v in view_violations(view)] == []
    assert sdk_view_problems(view) == []


# -- overview ----------------------------------------------------------------------------------


def overview_pages(count: int, name: str) -> Iterator[OverviewPage]:
    states = list(every_campaign_state())
    rows: list[OverviewRow] = []
    for n in range(count):
        stored = states[n % len(states)].model_copy(update={"name": name, "ref": f"c-1-{n:05d}"})
        kind = n % 4
        on_dialer = DialerCampaign(
            ref=None if kind == 3 else stored.ref,
            dialer_id=f"dialer-{n}-" + "y" * 60,
            name=name,
            status=CampaignStatus.STOPPED if kind == 2 else stored.status,
        )
        rows.append(
            OverviewRow(
                stored=None if kind == 3 else stored,
                on_dialer=None if kind == 1 else on_dialer,
            )
        )
    pages = max(1, math.ceil(count / PAGE_SIZE))
    for page in {0, pages // 2, pages - 1}:
        for dialer_error in (None, LONG_ERROR):
            for every_channel in (False, True):
                yield OverviewPage(
                    rows=tuple(rows[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]),
                    page=page,
                    pages=pages,
                    total=count,
                    dialer_name="Simulator " + NASTY * 20,
                    dialer_error=dialer_error,
                    every_channel=every_channel,
                )


@pytest.mark.parametrize("count", [0, 1, 20, 21, 500])
@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_the_overview(count: int, name: str) -> None:
    for page in overview_pages(count, name):
        text, blocks = overview_blocks(page, NOW)
        assert_message_accepted(text, blocks)


# -- one campaign ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_the_card_the_modal_and_the_approval_messages_in_every_state(name: str) -> None:
    for state in every_campaign_state():
        state = state.model_copy(update={"name": name})
        text, blocks = render_card(state, NOW)
        assert_message_accepted(text, blocks)
        conflicts = {a.agent_id: {"c-other-1", "c-other-2" + "z" * 200} for a in state.agents}
        assert_view_accepted(campaign_modal(state, conflicts, NOW))
        text, blocks = approval_request(state, "U0ANA")
        assert_message_accepted(text, blocks)
        for decided_by, approved in (("U0BOB", True), ("U0BOB", False), ("U0ANA", False)):
            text, blocks = approval_decided(state, "U0ANA", decided_by, approved)
            assert_message_accepted(text, blocks)
        assert_message_accepted(*approval_expired(state, "U0ANA"))
        assert_message_accepted(*approval_gone(state.ref))


@pytest.mark.parametrize("agents", [0, 60])
def test_the_campaign_modal_with_and_without_agents(agents: int) -> None:
    assert_view_accepted(campaign_modal(campaign(agents=agents), {}, NOW))
    for window in WINDOWS:
        with_window = campaign(agents=agents).model_copy(update=window)
        assert_view_accepted(campaign_modal(with_window, {}, NOW))


def test_the_new_campaign_modal() -> None:
    assert_view_accepted(new_campaign_modal("C0CAMPAIGN"))
    assert_view_accepted(new_campaign_modal(None))
    # From the message shortcut: a file already chosen, its name as the person gave it.
    assert_view_accepted(new_campaign_modal("C0CAMPAIGN", ("F0001", (NASTY * 20)[:255])))


def test_the_default_state_choices_fit_and_explain_both_states() -> None:
    view = new_campaign_modal("C0CAMPAIGN")
    [state_input] = [b for b in view["blocks"] if b.get("block_id") == "default_state"]
    options = state_input["element"]["options"]
    described = " ".join(o["description"]["text"] for o in options)
    assert all(len(o["description"]["text"]) <= 75 for o in options)
    assert "available" in described and "called in" in described


# -- alerts, help, replies -----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_every_alert(name: str) -> None:
    target = campaign(name=name)
    alerts = [
        StatusAlert(target.ref, previous, current, actor=NASTY * 3)
        for previous, current in itertools.permutations(CampaignStatus, 2)
    ]
    for alert in alerts:
        for known in (target, None):
            assert_message_accepted(render_alert(alert, known))


def test_a_long_burst_of_alerts_keeps_the_latest_changes() -> None:
    target = campaign()
    statuses = itertools.cycle(CampaignStatus)
    lines = [
        render_alert(StatusAlert(target.ref, next(statuses), next(statuses), NASTY), target)
        for _ in range(2000)
    ]
    text = alert_text(lines)
    assert_message_accepted(text)
    assert text.endswith(lines[-1]) and text.startswith("… and ")
    assert alert_text(lines[:3]) == "\n".join(lines[:3])


def test_help_and_mistakes() -> None:
    assert_message_accepted(*help_blocks(SUBCOMMANDS))
    enormous = escape("x<!channel>&" * 20_000)
    assert_message_accepted(*mistake_blocks(f"`{enormous}` is not a `/campaign` subcommand", "x"))


# -- the do-not-call list ----------------------------------------------------------------------


def outcomes(count: int, name: str) -> list[CampaignOutcome]:
    """Withdrawn, cannot, and failed with an enormous error, in turn."""
    return [
        CampaignOutcome(
            f"c-20261123-{n:04d}",
            name,
            "voipbin",
            contacts=n * 1000 if n % 3 == 0 else 0,
            why_not="LiveVox's API <!channel> cannot" if n % 3 == 1 else "",
            failed=LONG_ERROR if n % 3 == 2 else "",
        )
        for n in range(count)
    ]


@pytest.mark.parametrize("count", [0, 1, 3, 500])
@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
def test_the_do_not_call_replies_and_channel_notice(count: int, name: str) -> None:
    told = outcomes(count, name)
    numbers = [f"+1415555{n:04d}" for n in range(5000)]
    assert_message_accepted(*changed_reply("Added to", numbers, 5000, 1_000_000, told))
    assert_message_accepted(*changed_reply("Taken off", numbers[:1], 0, 0))
    assert_message_accepted(*changed_reply("Taken off", [], 1, 1))
    assert_message_accepted(*channel_notice("U0ANA", told))
    assert_message_accepted(upload_reply(10**6, 10**6, 10**6, 2 * 10**6, told))
    for outcome in told[:3]:
        assert_message_accepted(*upload_withdrawal_notice(outcome))


def test_the_do_not_call_check_help_count_and_upload_modal() -> None:
    for listed in (True, False):
        assert_message_accepted(*check_reply("+14155550100", listed, 1))
    assert_message_accepted("How to use /campaign", [count_block(1_000_000)])
    for channel in ("C0123", None):
        assert_view_accepted(upload_modal(channel))


# -- leads upload ------------------------------------------------------------------------------


def report(*, rejected: int, columns: int) -> ValidationReport:
    reasons = list(RejectReason)
    return ValidationReport(
        source_id="F0001",
        rules=ValidationRules(region="US", max_field_length=500, max_rows=10**6, max_bytes=10**8),
        encoding="cp1252",
        encoding_note="Read as cp1252 " + NASTY,
        delimiter=";",
        phone_columns=tuple(f"phone{i} {NASTY}" for i in range(columns)),
        field_columns=tuple(f"field{i}" for i in range(columns)),
        ignored_columns=tuple(f"ignored column {i} {NASTY}" for i in range(columns)),
        rows=rejected * 2 + 1,
        accepted=rejected + 1,
        rejected={reason: rejected for reason in reasons} if rejected else {},
        invalid_numbers_left_out=rejected,
        examples=tuple(
            RejectedRow(n + 2, reasons[n % len(reasons)], f"bad value {NASTY}" * 5, ("a",))
            for n in range(min(rejected, 5000))
        ),
    )


@pytest.mark.parametrize(("rejected", "columns"), [(0, 1), (1, 1), (5000, 3000)])
def test_the_rejected_rows_summary(rejected: int, columns: int) -> None:
    found = report(rejected=rejected, columns=columns)
    text, blocks = confirmation_message("c-20261123-0001", found)
    assert_message_accepted(text, blocks)
    summary = escape(render_validation(found))
    assert_message_accepted(summary, [section(summary)])


@pytest.mark.parametrize("sent", [0, 1, 10**6])
def test_upload_progress_and_its_end(sent: int) -> None:
    progress = UploadProgress("c-20261123-0001", 10**6, sent, sent // 2, 12.5)
    assert_message_accepted(escape(render_progress(progress)))
    for state in UploadState:
        for error in (None, LONG_ERROR):
            summary = UploadSummary("c-20261123-0001", state, 10**6, sent, sent, 3600.0, error)
            text = render_summary(summary)
            resume = button("Resume upload", "leads_resume", "c-20261123-0001", style="primary")
            assert_message_accepted(escape(text), [section(escape(text)), actions(resume)])


# -- the App Home tab --------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 25, 26, 200, 500])
@pytest.mark.parametrize("name", NAMES.values(), ids=NAMES.keys())
@pytest.mark.parametrize("lead", [True, False], ids=["lead", "not-a-lead"])
def test_the_home_tab(count: int, name: str, lead: bool) -> None:
    states = list(every_campaign_state())
    live = [
        states[n % len(states)].model_copy(
            update={"name": name, "ref": f"c-1-{n:05d}", "channel_id": f"C{n % 7:04d}"}
        )
        for n in range(count)
    ]
    waiting = tuple(waiting_for("U0BOB", live)) + tuple(
        campaign(9000 + n, name=name, removal=RemovalStage.AWAITING_APPROVAL) for n in range(20)
    )
    pages = pages_of(len(in_home_order(live)))
    for page in {0, pages // 2, pages - 1, pages + 3}:
        model = HomeModel("U0BOB", lead, tuple(live), waiting, page, "Simulator " + NASTY)
        view = home_view(model, NOW)
        assert_view_accepted(view)
        assert len(view["blocks"]) <= 100
        more = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
        shows_more = any(e["text"]["text"] == "Show more" for e in more)
        assert shows_more == (min(page, pages - 1) + 1 < pages)


# -- campaign history --------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 25])
def test_the_history_page(count: int) -> None:
    events = tuple(
        HistoryEvent(
            entry_id=f"{n}-0",
            at="2026-11-23 09:00:00 UTC",
            kind=kind,
            actor="U0ANA",
            requested_by="U0ANA",
            approved_by="U0BOB",
            status_before="stopped",
            status_after="running",
            source="notification",
            change=(NASTY * 40)[:2500],
        )
        for n, kind in zip(
            range(count),
            itertools.cycle(["created", "status", "removal approved", "settings changed"]),
            strict=False,
        )
    )
    for older in (None, "1-0"):
        page = HistoryPage("c-20261123-0001", NAMES["long"], events, older is None, older)
        assert_message_accepted(*history_blocks(page))
