"""The calling window as people meet it: the typed subcommand (and who may use it), the card's
line, the campaign view's and the New campaign form's field, and the view's Apply."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import fakeredis
import pytest

from commands.authz import NOT_ALLOWED, Authorizer
from commands.errors import CommandError
from commands.handlers.context import Deps, Requester
from commands.handlers.control import apply_campaign_edit
from commands.handlers.create import create_campaign
from commands.handlers.dispatch import handle
from commands.handlers.window import WINDOW_USAGE, SetCallingWindow, parse_window_command
from commands.parse import parse_command
from commands.views import ids
from commands.views.campaign import render_card
from commands.views.forms import FormErrors, read_campaign_edit, read_new_campaign
from commands.views.modals import campaign_modal, new_campaign_modal
from dialer.simulator import SimulatorDialer
from state.calling_window import parse_window
from state.campaign import Armed, Campaign
from state.keys import Keys
from state.store import CampaignStore
from tests.state_builders import campaign as build_campaign

REF = "c-20261201-abcd"
NINE_TO_EIGHT = parse_window(["09:00-20:00", "America/New_York", "mon-fri"])
TUESDAY_7AM = datetime(2026, 12, 1, 12, tzinfo=UTC)  # 07:00 in New York
TUESDAY_10AM = datetime(2026, 12, 1, 15, tzinfo=UTC)


def typed(value: str) -> dict[str, Any]:
    return {ids.CALLING_WINDOW: {ids.CALLING_WINDOW: {"type": "plain_text_input", "value": value}}}


def window_field(view: dict[str, Any]) -> dict[str, Any]:
    (block,) = [b for b in view["blocks"] if b.get("block_id") == ids.CALLING_WINDOW]
    assert isinstance(block, dict)
    return block


# -- the subcommand ----------------------------------------------------------------------------


def test_the_subcommand_reads_a_window_or_off() -> None:
    command = parse_window_command("window", [REF, "9:00-20:00", "America/New_York", "mon-fri"])
    assert command == SetCallingWindow(ref=REF, window=NINE_TO_EIGHT)
    assert parse_window_command("window", [REF, "OFF"]) == SetCallingWindow(ref=REF, window=None)


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ([REF], "`window` needs the hours and time zone"),
        ([REF, "25:00-20:00", "America/New_York"], "25:00 is not a time of day"),
        ([REF, "09:00-20:00", "Mars/Base"], "Mars/Base is not an IANA time zone"),
        ([REF, "09:00-09:00", "UTC"], "opens and closes at the same time"),
        ([REF, "09:00-20:00", "UTC", "someday"], "someday is not a list of days"),
        ([REF, "09:00-20:00", "<!channel>"], "&lt;!channel&gt; is not an IANA time zone"),
        (["nope", "off"], "is not a campaign reference"),
    ],
)
def test_a_mistake_in_the_subcommand_names_the_problem(args: list[str], named: str) -> None:
    with pytest.raises(CommandError) as raised:
        parse_window_command("window", args)
    assert named in raised.value.problem


# -- the card and the views --------------------------------------------------------------------


def test_the_card_shows_the_window_its_next_opening_and_who_armed_it() -> None:
    armed = build_campaign(REF, window=NINE_TO_EIGHT, armed=Armed(by="U0ANA", at=TUESDAY_7AM))

    _, blocks = render_card(armed, TUESDAY_7AM)

    summary = blocks[0]["text"]["text"]
    assert "calling window 09:00-20:00 America/New_York, mon-fri · closed, opens " in summary
    assert f"<!date^{int(datetime(2026, 12, 1, 14, tzinfo=UTC).timestamp())}^" in summary
    assert "|Tue 1 Dec 09:00 America/New_York>" in summary
    assert "*armed* by <@U0ANA>" in summary


def test_the_card_of_an_open_window_shows_its_closing_and_no_armed_without_a_start() -> None:
    unarmed = build_campaign(REF, window=NINE_TO_EIGHT)

    _, blocks = render_card(unarmed, TUESDAY_10AM)

    summary = blocks[0]["text"]["text"]
    assert "open, closes " in summary and "|Tue 1 Dec 20:00 America/New_York>" in summary
    assert "armed" not in summary


def test_a_campaign_without_a_window_shows_none() -> None:
    _, blocks = render_card(build_campaign(REF), TUESDAY_10AM)
    assert "calling window" not in blocks[0]["text"]["text"]


def test_the_campaign_view_holds_the_window_as_typed_and_the_new_form_an_empty_field() -> None:
    view = campaign_modal(build_campaign(REF, window=NINE_TO_EIGHT), {}, TUESDAY_10AM)
    assert window_field(view)["element"]["initial_value"] == "09:00-20:00 America/New_York mon-fri"
    assert window_field(view)["optional"] is True
    assert "initial_value" not in window_field(new_campaign_modal("C1"))["element"]


def test_the_forms_read_the_window_field() -> None:
    edit = read_campaign_edit(typed(" 09:00-20:00  america/new_york mon-fri "))
    assert edit.window_given and edit.window == NINE_TO_EIGHT
    emptied = read_campaign_edit(typed(""))
    assert emptied.window_given and emptied.window is None
    assert not read_campaign_edit({}).window_given
    named = {ids.NAME: {ids.NAME: {"type": "plain_text_input", "value": "Spring"}}}
    new = read_new_campaign(named | typed("09:00-20:00 America/New_York mon-fri"), file_id="F1")
    assert new.window == NINE_TO_EIGHT


def test_a_bad_window_in_a_form_is_shown_under_its_field() -> None:
    with pytest.raises(FormErrors) as raised:
        read_campaign_edit(typed("09:00-25:00 America/New_York"))
    assert "25:00 is not a time of day" in raised.value.errors[ids.CALLING_WINDOW]


# -- the campaign view's Apply -----------------------------------------------------------------


async def no_groups(group_id: str) -> frozenset[str]:
    return frozenset()


@pytest.fixture
async def deps() -> AsyncIterator[Deps]:
    redis = fakeredis.FakeAsyncRedis()
    store = CampaignStore(redis, Keys("test:views:"))
    dialer = SimulatorDialer()
    yield Deps(store, dialer, Authorizer(("U0ANA",), no_groups), lambda: TUESDAY_10AM)
    await dialer.aclose()
    await redis.aclose()


async def stored(deps: Deps) -> Campaign:
    ref = await deps.store.issue_ref()
    await deps.store.create(build_campaign(ref))
    return await deps.store.require(ref)


async def test_apply_sets_and_then_removes_the_window(deps: Deps) -> None:
    campaign = await stored(deps)

    reply = await apply_campaign_edit(
        deps, Requester("U0ANA"), campaign.ref, read_campaign_edit(typed(NINE_TO_EIGHT.as_typed()))
    )

    assert reply.text is not None and "Calling window of" in reply.text
    assert (await deps.store.require(campaign.ref)).window == NINE_TO_EIGHT
    await apply_campaign_edit(deps, Requester("U0ANA"), campaign.ref, read_campaign_edit(typed("")))
    assert (await deps.store.require(campaign.ref)).window is None


async def test_a_campaign_created_with_a_window_has_it_and_nothing_armed(deps: Deps) -> None:
    named = {ids.NAME: {ids.NAME: {"type": "plain_text_input", "value": "Spring"}}}
    form = read_new_campaign(named | typed(NINE_TO_EIGHT.as_typed()), file_id="F1")

    reply = await create_campaign(deps, Requester("U0ANA", "C1"), form, "C1")

    assert reply.campaign is not None
    created = await deps.store.require(reply.campaign.ref)
    assert created.window == NINE_TO_EIGHT and created.armed is None


async def test_apply_without_a_change_of_window_sends_nothing(deps: Deps) -> None:
    campaign = await stored(deps)

    reply = await apply_campaign_edit(
        deps, Requester("U0ANA"), campaign.ref, read_campaign_edit(typed(""))
    )

    assert reply.text is not None and reply.text.startswith("Nothing changed")


# -- the subcommand through dispatch -----------------------------------------------------------


async def test_only_a_lead_may_change_a_window(deps: Deps) -> None:
    campaign = await stored(deps)
    command = parse_command(f"window {campaign.ref} 09:00-20:00 America/New_York")

    refused = await handle(command, deps, Requester("U0EVE", "C1"))

    assert refused.text == NOT_ALLOWED
    assert (await deps.store.require(campaign.ref)).window is None
    await handle(command, deps, Requester("U0ANA", "C1"))
    assert (await deps.store.require(campaign.ref)).window is not None


def test_a_mistake_typed_is_answered_with_the_windows_form() -> None:
    with pytest.raises(CommandError) as raised:
        parse_command(f"window {REF} 09:00-20:00 EST")
    assert raised.value.usage == WINDOW_USAGE
    assert "EST is an abbreviation" in raised.value.problem


async def test_an_unknown_campaign_is_named_with_the_windows_form(deps: Deps) -> None:
    reply = await handle(parse_command(f"window {REF} off"), deps, Requester("U0ANA"))

    shown = str(reply.blocks)
    assert f"There is no campaign `{REF}`" in shown
    assert "/campaign window &lt;ref&gt;" in shown
