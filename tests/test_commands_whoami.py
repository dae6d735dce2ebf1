"""``/campaign whoami``: whether you are a campaign lead, and why."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable

import fakeredis
import pytest

from commands.authz import Authorizer
from commands.errors import CommandError
from commands.handlers.context import Deps, Requester
from commands.handlers.dispatch import handle
from commands.parse import parse_command
from dialer.simulator import SimulatorDialer
from state.keys import Keys
from state.store import CampaignStore

ANA, BEN, CAT = "U0ANA", "U0BEN", "U0CAT"
GROUPS = {"S0LEADS": frozenset({BEN}), "S0NIGHT": frozenset()}


async def members(group_id: str) -> frozenset[str]:
    return GROUPS.get(group_id, frozenset())


@pytest.fixture
async def store() -> AsyncIterator[CampaignStore]:
    redis = fakeredis.FakeAsyncRedis()
    yield CampaignStore(redis, Keys(f"test:{uuid.uuid4().hex[:8]}:"))
    await redis.aclose()


async def whoami(store: CampaignStore, leads: Iterable[str], user: str) -> str:
    dialer = SimulatorDialer()
    try:
        deps = Deps(store=store, dialer=dialer, authz=Authorizer(leads, members))
        reply = await handle(parse_command("whoami"), deps, Requester(user, "C1"))
    finally:
        await dialer.aclose()
    assert reply.text is not None
    return reply.text


async def test_a_user_listed_by_id_is_told_so(store: CampaignStore) -> None:
    text = await whoami(store, [ANA, "S0LEADS"], ANA)
    assert text.startswith(":white_check_mark: You are a campaign lead")
    assert f"lists you, <@{ANA}>, by your id" in text


async def test_a_member_of_a_listed_group_is_told_which_group(store: CampaignStore) -> None:
    text = await whoami(store, [ANA, "S0LEADS"], BEN)
    assert "You are a campaign lead" in text
    assert "member of the lead user group <!subteam^S0LEADS>" in text
    several = await whoami(store, ["S0LEADS", "S0NIGHT"], BEN)
    assert "one of the lead user groups <!subteam^S0LEADS>, <!subteam^S0NIGHT>" in several


async def test_someone_else_is_told_they_are_not_a_lead_and_what_they_may_do(
    store: CampaignStore,
) -> None:
    text = await whoami(store, [ANA, "S0LEADS"], CAT)
    assert text.startswith("You are not a campaign lead")
    assert "nor a user group you are in (<!subteam^S0LEADS>)" in text
    assert "`/campaign list`" in text and "A Slack admin can add you" in text
    no_groups = await whoami(store, [ANA], CAT)
    assert "and it lists no user group" in no_groups


async def test_with_nobody_listed_everyone_is_told_the_list_is_empty(store: CampaignStore) -> None:
    text = await whoami(store, [], ANA)
    assert "`CAMPAIGN_LEADS` is empty, so nobody may change campaigns" in text


def test_whoami_takes_nothing_after_it() -> None:
    with pytest.raises(CommandError) as caught:
        parse_command("whoami ana")
    assert caught.value.problem == "`whoami` takes nothing after it."
    assert caught.value.usage == "/campaign whoami"
