"""Numbers put on the do-not-call list leave live campaigns: on VoIPBIN (its stand-in) and the
simulator; the dialers that cannot delete a single contact say so."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import fakeredis
import httpx
import pytest

from dialer.base import ContactWithdrawer, Dialer
from dialer.models import Contact
from dialer.simulator import SimulatorDialer, SimulatorKnobs
from dialer.voipbin import VoipbinDialer, VoipbinSettings
from dialer.withdrawal import CANNOT, Withdrawal, withdraw_listed
from tests.contract.dialer_contract import new_campaign
from tests.standins.voipbin import VoipbinStandin

LISTED = "+14155550101"


class Listed:
    """The do-not-call list's lookup over a fixed set; counts the numbers asked about."""

    def __init__(self, *numbers: str) -> None:
        self.numbers = set(numbers)
        self.asked: list[int] = []

    async def listed(self, numbers: Sequence[str]) -> list[bool]:
        self.asked.append(len(numbers))
        return [n in self.numbers for n in numbers]


@pytest.fixture
async def standin() -> AsyncIterator[VoipbinStandin]:
    async with VoipbinStandin() as running:
        yield running
        await running.quiesce()
    running.assert_clean()


@pytest.fixture
async def voipbin(standin: VoipbinStandin) -> AsyncIterator[VoipbinDialer]:
    settings = VoipbinSettings(
        api_url=standin.api_url,
        accesskey=standin.accesskey,
        requests_per_second=1000,
        backoff_seconds=0.01,
        caller_id="+14155550100",
    )
    made = VoipbinDialer(settings, fakeredis.FakeAsyncRedis())
    yield made
    await made.aclose()


def contact(ref: str, n: int, *numbers: str) -> Contact:
    return Contact(ref=f"{ref}-{n}", phone_numbers=numbers, fields={"name": f"Lead {n}"})


def live_targets(standin: VoipbinStandin, outdial_id: str) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in standin.targets_of(outdial_id) if t["tm_delete"] is None}


def numbers_of(target: dict[str, Any]) -> list[str]:
    return [d["target"] for i in range(5) if (d := target[f"destination_{i}"])["target"]]


def deleted_paths(standin: VoipbinStandin) -> set[str]:
    return {r.path for r in standin.requests if r.method == "DELETE" and "/targets/" in r.path}


async def uploaded(
    voipbin: VoipbinDialer, standin: VoipbinStandin, *contacts: tuple[str, ...]
) -> tuple[str, str]:
    spec = new_campaign()
    created = await voipbin.create_campaign(spec)
    outdial = standin.campaign(created.dialer_id)["outdial_id"]
    batch = [contact(spec.ref, n, *numbers) for n, numbers in enumerate(contacts, start=1)]
    await voipbin.add_contacts(spec.ref, batch)
    return spec.ref, outdial


async def test_voipbin_deletes_the_targets_of_a_listed_number_and_keeps_other_numbers(
    voipbin: VoipbinDialer, standin: VoipbinStandin
) -> None:
    ref, outdial = await uploaded(
        voipbin, standin, ("+14155550100",), (LISTED,), ("+14155550102", LISTED)
    )
    before = live_targets(standin, outdial)

    answer = await withdraw_listed(voipbin, ref, Listed(LISTED))

    assert answer == Withdrawal(contacts=2)
    after = live_targets(standin, outdial)
    assert sorted(after) == [f"{ref}-1", f"{ref}-3"]
    assert after[f"{ref}-1"] == before[f"{ref}-1"]
    assert numbers_of(after[f"{ref}-3"]) == ["+14155550102"]  # made again without it
    assert after[f"{ref}-3"]["data"] == before[f"{ref}-3"]["data"]
    assert deleted_paths(standin) == {
        f"/v1.0/outdials/{outdial}/targets/{before[f'{ref}-{n}']['id']}" for n in (2, 3)
    }


async def test_voipbin_never_remakes_a_target_that_is_being_dialled(
    voipbin: VoipbinDialer, standin: VoipbinStandin
) -> None:
    ref, outdial = await uploaded(voipbin, standin, ("+14155550102", LISTED))
    [target] = live_targets(standin, outdial).values()
    target["status"] = "progressing"  # a call to it is up (outdialtarget.StatusProgressing)

    assert await withdraw_listed(voipbin, ref, Listed(LISTED)) == Withdrawal(contacts=1)
    assert live_targets(standin, outdial) == {}


async def test_voipbin_with_no_target_holding_the_number_deletes_nothing(
    voipbin: VoipbinDialer, standin: VoipbinStandin
) -> None:
    ref, outdial = await uploaded(voipbin, standin, ("+14155550100",))
    assert await withdraw_listed(voipbin, ref, Listed(LISTED)) == Withdrawal(contacts=0)
    assert deleted_paths(standin) == set()
    assert len(live_targets(standin, outdial)) == 1


async def test_the_standin_deletes_only_a_target_of_the_outdial_named(
    voipbin: VoipbinDialer, standin: VoipbinStandin
) -> None:
    _, outdial = await uploaded(voipbin, standin, (LISTED,))
    other = await uploaded(voipbin, standin, ("+14155550100",))
    [target] = live_targets(standin, outdial).values()
    async with httpx.AsyncClient(base_url=standin.api_url) as http:
        query = {"accesskey": standin.accesskey}
        wrong = await http.delete(f"/outdials/{other[1]}/targets/{target['id']}", params=query)
        assert wrong.status_code == 400
        first = await http.delete(f"/outdials/{outdial}/targets/{target['id']}", params=query)
        again = await http.get(f"/outdials/{outdial}/targets/{target['id']}", params=query)
        listing = await http.get(f"/outdials/{outdial}/targets", params=query)
    assert first.status_code == 200 and first.json()["tm_delete"] is not None
    assert again.status_code == 200 and again.json()["tm_delete"] == first.json()["tm_delete"]
    assert listing.json()["result"] == []


async def test_the_simulator_drops_listed_numbers_from_contacts_not_dialled_yet() -> None:
    sim = SimulatorDialer(SimulatorKnobs(seed=1))
    spec = new_campaign()
    await sim.create_campaign(spec)
    await sim.add_contacts(
        spec.ref,
        [contact(spec.ref, 1, LISTED), contact(spec.ref, 2, "+14155550102", LISTED)],
    )
    assert await withdraw_listed(sim, spec.ref, Listed(LISTED)) == Withdrawal(contacts=2)
    counters = (await sim.get_campaign(spec.ref)).counters
    assert counters["remaining"] == 1


@pytest.mark.parametrize("name", sorted(CANNOT))
async def test_a_dialer_that_cannot_delete_one_contact_says_why(name: str) -> None:
    class NoWithdrawal:
        pass

    dialer = NoWithdrawal()
    dialer.name = name  # type: ignore[attr-defined]
    assert not isinstance(dialer, ContactWithdrawer)
    answer = await withdraw_listed(cast(Dialer, dialer), "c-20261130-x1", Listed(LISTED))
    assert answer == Withdrawal(contacts=0, supported=False, why_not=CANNOT[name])


async def test_voipbin_looks_targets_up_a_page_at_a_time(
    voipbin: VoipbinDialer, standin: VoipbinStandin
) -> None:
    numbers = [(f"+1415555{i:04d}",) for i in range(150)]
    ref, outdial = await uploaded(voipbin, standin, *numbers)
    listed = Listed("+14155550007", "+14155550149")
    assert await withdraw_listed(voipbin, ref, listed) == Withdrawal(contacts=2)
    assert listed.asked == [100, 50]  # one lookup per page of 100 targets, not one a target
    assert len(live_targets(standin, outdial)) == 148
