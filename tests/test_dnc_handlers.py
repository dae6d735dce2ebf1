"""``/campaign dnc``: who may change the list, what bad input is told, and what a listed number
does to live campaigns (the VoIPBIN stand-in's targets, the channel's notice, the history)."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import fakeredis
import pytest

from commands.authz import Authorizer
from commands.handlers.context import Deps, Requester
from commands.handlers.dispatch import handle
from commands.handlers.dnc import (
    NOT_A_LEAD,
    DoNotCall,
    import_file,
    parse_dnc,
    withdraw_after_upload,
)
from commands.leads.settings import LeadsSettings
from commands.leads.source import FileSource
from commands.parse import parse_command
from commands.replies import Reply
from commands.views.dnc import UPLOAD_MODAL, USAGE
from dialer.base import Dialer
from dialer.models import Contact, NewCampaign
from dialer.simulator import SimulatorDialer, SimulatorKnobs
from dialer.voipbin import VoipbinDialer, VoipbinSettings
from state.campaign import Campaign
from state.dnc import DoNotCallList
from state.keys import Keys
from state.store import CampaignStore
from tests.standins.voipbin import VoipbinStandin

ANA, EVE = "UANA", "UEVE"
NOW = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
LISTED = "+14155550101"
REGION = "US"


async def no_groups(group_id: str) -> frozenset[str]:
    return frozenset()


def deps_for(dialer: Dialer) -> Deps:
    store = CampaignStore(
        fakeredis.FakeAsyncRedis(), Keys(f"test:{uuid.uuid4().hex[:8]}:"), clock=lambda: NOW
    )
    authz = Authorizer((ANA,), no_groups)
    return Deps(store=store, dialer=dialer, authz=authz, clock=lambda: NOW, default_region=REGION)


@pytest.fixture
async def sim_deps() -> AsyncIterator[Deps]:
    dialer = SimulatorDialer(SimulatorKnobs(seed=1))
    yield deps_for(dialer)
    await dialer.aclose()


@pytest.fixture
async def standin() -> AsyncIterator[VoipbinStandin]:
    async with VoipbinStandin() as running:
        yield running
        await running.quiesce()
    running.assert_clean()


@pytest.fixture
async def voipbin_deps(standin: VoipbinStandin) -> AsyncIterator[Deps]:
    settings = VoipbinSettings(
        api_url=standin.api_url,
        accesskey=standin.accesskey,
        requests_per_second=1000,
        backoff_seconds=0.01,
        caller_id="+14155550100",
    )
    dialer = VoipbinDialer(settings, fakeredis.FakeAsyncRedis())
    yield deps_for(dialer)
    await dialer.aclose()


async def live_campaign(deps: Deps, *contacts: tuple[str, ...], channel: str = "C1") -> str:
    ref = await deps.store.issue_ref()
    created = await deps.dialer.create_campaign(NewCampaign(ref=ref, name="Renewals"))
    campaign = Campaign(
        ref=ref,
        name="Renewals",
        dialer=deps.dialer.name,
        dialer_id=created.dialer_id,
        channel_id=channel,
        created_by=ANA,
        created_at=NOW,
    )
    await deps.store.create(campaign)
    batch = [
        Contact(ref=f"{ref}-{n}", phone_numbers=numbers)
        for n, numbers in enumerate(contacts, start=1)
    ]
    await deps.dialer.add_contacts(ref, batch)
    return ref


async def dnc(deps: Deps, text: str, user: str = ANA) -> Reply:
    """``/campaign dnc <text>`` the way Slack's command reaches it: parse, registry, dispatch."""
    return await handle(parse_command(f"dnc {text}"), deps, Requester(user, "C1"))


def listed(deps: Deps) -> DoNotCallList:
    return DoNotCallList(deps.store.redis, deps.store.keys)


def rendered(reply: Reply) -> str:
    return (reply.text or "") + str(reply.blocks)


async def test_adding_a_number_uploaded_to_a_live_voipbin_campaign_deletes_its_target(
    voipbin_deps: Deps, standin: VoipbinStandin
) -> None:
    ref = await live_campaign(voipbin_deps, ("+14155550100",), (LISTED,), channel="CSALES")
    reply = await dnc(voipbin_deps, f"add {LISTED}")

    outdial = next(iter(standin.store["outdials"].values()))["id"]
    live = [t["name"] for t in standin.targets_of(outdial) if t["tm_delete"] is None]
    assert live == [f"{ref}-1"]
    assert any(r.method == "DELETE" and "/targets/" in r.path for r in standin.requests)
    assert f"Added to the do-not-call list: {LISTED}." in (reply.text or "")
    [post] = reply.posts
    assert post.channel == "CSALES"
    assert f"`{ref}` (Renewals, voipbin): 1 contact withdrawn." in post.text
    history = await voipbin_deps.store.campaign_audit(ref)
    assert history[0][1]["action"] == "dnc:withdrawn"


async def test_a_campaign_without_the_number_gets_no_notice(sim_deps: Deps) -> None:
    await live_campaign(sim_deps, ("+14155550100",))
    reply = await dnc(sim_deps, f"add {LISTED}")
    assert reply.posts == ()
    assert "No live campaign had a contact at those numbers." in (reply.text or "")


async def test_a_dialer_that_cannot_withdraw_tells_the_channel_so(sim_deps: Deps) -> None:
    class Enigmaish:
        """The simulator under another name and without the withdrawal method."""

        name = "enigma"

        def __init__(self, inner: SimulatorDialer) -> None:
            self._inner = inner

        def __getattr__(self, attr: str) -> Any:
            if attr == "withdraw_listed":
                raise AttributeError(attr)
            return getattr(self._inner, attr)

    deps = Deps(
        store=sim_deps.store,
        dialer=Enigmaish(sim_deps.dialer),  # type: ignore[arg-type]
        authz=sim_deps.authz,
        clock=sim_deps.clock,
    )
    ref = await live_campaign(deps, (LISTED,))
    reply = await dnc(deps, f"add {LISTED}")
    [post] = reply.posts
    assert f"`{ref}` (Renewals, enigma): not withdrawn, Enigma's API has no way" in post.text
    assert "dialer's own console" in str(post.blocks)


async def test_someone_not_a_lead_cannot_change_the_list_but_can_check(sim_deps: Deps) -> None:
    for text in (f"add {LISTED}", f"remove {LISTED}", "upload"):
        assert (await dnc(sim_deps, text, user=EVE)).text == NOT_A_LEAD
    assert await listed(sim_deps).count() == 0
    check = await dnc(sim_deps, f"check {LISTED}", user=EVE)
    assert f"{LISTED} is not on the do-not-call list." in (check.text or "")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("add", "No number given."),
        ("add 12345 +14155550100", "Not a valid phone number for region US: `12345`"),
        ("", "`dnc` needs what to do"),
        ("frob +14155550100", "`frob` is not something `dnc` does."),
        ("check +14155550100 +14155550102", "`dnc check` takes one number."),
        ("upload now", "`dnc upload` takes nothing after it"),
    ],
)
async def test_bad_input_names_the_problem_and_the_form_and_changes_nothing(
    sim_deps: Deps, text: str, problem: str
) -> None:
    reply = await dnc(sim_deps, text)
    shown = rendered(reply)
    assert problem in shown
    assert USAGE.split("  or  ")[0].replace("<", "&lt;").replace(">", "&gt;") in shown
    assert await listed(sim_deps).count() == 0


async def test_national_numbers_are_read_in_the_default_region_and_removed(
    sim_deps: Deps,
) -> None:
    await dnc(sim_deps, "add (415) 555-0101, +14155550102")
    assert await listed(sim_deps).listed([LISTED, "+14155550102"]) == [True, True]
    reply = await dnc(sim_deps, f"remove {LISTED} +14155550199")
    assert f"Taken off the do-not-call list: {LISTED}. 1 number was not on it." in (
        reply.text or ""
    )
    assert "holds 1 number." in str(reply.blocks)
    check = await dnc(sim_deps, "check +14155550102")
    assert "is on the do-not-call list: it is never dialled." in (check.text or "")


async def test_upload_opens_the_file_form(sim_deps: Deps) -> None:
    reply = await dnc(sim_deps, "upload")
    assert reply.modal is not None and reply.modal["callback_id"] == UPLOAD_MODAL
    assert reply.modal["private_metadata"] == "C1"


async def test_an_uploaded_file_lists_its_numbers_and_reports_rows_without_one(
    sim_deps: Deps, tmp_path: Path
) -> None:
    ref = await live_campaign(sim_deps, (LISTED,))
    path = tmp_path / "dnc.csv"
    path.write_text("name,phone\nAna,+14155550101\nBo,not a number\nCy,(415) 555-0102\n")
    who = Requester(ANA, "C1")
    reply = await import_file(sim_deps, who, FileSource(path), LeadsSettings(default_region="US"))

    assert await listed(sim_deps).listed([LISTED, "+14155550102"]) == [True, True]
    assert "2 numbers added, 0 were on the list already." in (reply.text or "")
    [share] = reply.files
    rows = list(csv.reader(io.StringIO(share.content.decode())))
    assert rows[1][:3] == [
        "3",
        "no valid phone number",
        'not a valid number for region US: "not a number"',
    ]
    [post] = reply.posts
    assert f"`{ref}` (Renewals, simulator): 1 contact withdrawn." in post.text


async def test_an_uploaded_file_from_someone_not_a_lead_adds_nothing(
    sim_deps: Deps, tmp_path: Path
) -> None:
    path = tmp_path / "dnc.csv"
    path.write_text("phone\n+14155550101\n")
    reply = await import_file(sim_deps, Requester(EVE), FileSource(path), LeadsSettings())
    assert reply.text == NOT_A_LEAD
    assert await listed(sim_deps).count() == 0


def test_the_words_after_dnc_become_the_command() -> None:
    assert parse_dnc("dnc", ["ADD", "+1", "+2"]) == DoNotCall(action="add", words=("+1", "+2"))
    assert parse_dnc("dnc", []) == DoNotCall()


async def test_help_lists_dnc_and_says_how_many_numbers_are_listed(sim_deps: Deps) -> None:
    await dnc(sim_deps, "add +14155550101 +14155550102")
    reply = await dnc_help(sim_deps)
    assert "/campaign dnc add &lt;number…&gt;" in str(reply.blocks)
    assert "The do-not-call list holds 2 numbers." in str(reply.blocks)


async def dnc_help(deps: Deps) -> Reply:
    return await handle(parse_command("help"), deps, Requester(EVE, "C1"))


async def test_an_upload_that_ran_while_a_number_was_listed_has_its_campaign_swept_again(
    sim_deps: Deps,
) -> None:
    ref = await live_campaign(sim_deps, (LISTED,), ("+14155550100",), channel="CSALES")
    before = NOW - timedelta(minutes=5)
    assert await withdraw_after_upload(sim_deps, ref, before) == ()  # nothing listed yet
    await sim_deps.do_not_call.add([LISTED], ANA)  # listed at NOW, during the upload

    assert await withdraw_after_upload(sim_deps, ref, NOW + timedelta(seconds=1)) == ()
    [post] = await withdraw_after_upload(sim_deps, ref, before)
    assert post.channel == "CSALES"
    assert "while the leads of" in post.text and "1 contact withdrawn." in post.text
    counters = (await sim_deps.dialer.get_campaign(ref)).counters
    assert counters["remaining"] == 1
    assert await withdraw_after_upload(sim_deps, ref, before) == ()  # already withdrawn
