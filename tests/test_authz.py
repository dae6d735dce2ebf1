"""Who may change campaigns: listed users, and members of listed user groups (cached briefly)."""

from __future__ import annotations

import asyncio

import pytest

from commands.authz import GROUP_CACHE_SECONDS, Authorizer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Slack:
    """``usergroups.users.list``: counts the calls, fails when told to."""

    def __init__(self, members: dict[str, frozenset[str]]) -> None:
        self.members = members
        self.calls: list[str] = []
        self.down = False

    async def __call__(self, group: str) -> frozenset[str]:
        self.calls.append(group)
        await asyncio.sleep(0)
        if self.down:
            raise RuntimeError("slack is down")
        return self.members.get(group, frozenset())


def authorizer(leads: list[str], slack: Slack, clock: Clock | None = None) -> Authorizer:
    return Authorizer(leads, slack, ttl=60.0, clock=clock or Clock())


async def test_listed_users_may_change_and_others_may_not() -> None:
    slack = Slack({})
    allowed = authorizer(["U0ANA", "U0BEN"], slack)
    assert await allowed.may_change("U0ANA") is True
    assert await allowed.may_change("U0CAT") is False
    assert slack.calls == []  # no groups listed: Slack is never asked


async def test_ids_starting_with_s_are_user_groups_and_the_rest_users() -> None:
    allowed = Authorizer(["U0ANA", "S0LEADS", "W0ENTERPRISE"], Slack({}))
    assert allowed.users == frozenset({"U0ANA", "W0ENTERPRISE"})
    assert allowed.groups == ("S0LEADS",)


async def test_members_of_a_listed_group_may_change() -> None:
    slack = Slack({"S0LEADS": frozenset({"U0CAT"}), "S0MORE": frozenset({"U0DAN"})})
    allowed = authorizer(["U0ANA", "S0LEADS", "S0MORE"], slack)
    assert await allowed.may_change("U0CAT") is True
    assert await allowed.may_change("U0DAN") is True
    assert await allowed.may_change("U0EVE") is False


async def test_nobody_is_allowed_only_when_nothing_is_listed() -> None:
    assert Authorizer([], Slack({})).nobody_allowed is True
    assert Authorizer(["U0ANA"], Slack({})).nobody_allowed is False
    assert Authorizer(["S0LEADS"], Slack({})).nobody_allowed is False


async def test_group_members_are_cached_until_the_ttl_runs_out() -> None:
    clock = Clock()
    slack = Slack({"S0LEADS": frozenset({"U0CAT"})})
    allowed = authorizer(["S0LEADS"], slack, clock)
    assert await allowed.may_change("U0CAT")
    clock.now += 59.9
    slack.members["S0LEADS"] = frozenset()  # removed from the group
    assert await allowed.may_change("U0CAT")  # still cached
    assert slack.calls == ["S0LEADS"]
    clock.now += 0.1  # exactly the ttl since the read: read again
    assert not await allowed.may_change("U0CAT")
    assert slack.calls == ["S0LEADS", "S0LEADS"]


async def test_with_slack_down_the_last_known_members_are_kept() -> None:
    clock = Clock()
    slack = Slack({"S0LEADS": frozenset({"U0CAT"})})
    allowed = authorizer(["S0LEADS"], slack, clock)
    assert await allowed.may_change("U0CAT")
    clock.now += 61
    slack.down = True
    assert await allowed.may_change("U0CAT")  # stale, but nobody locked out
    slack.down = False
    slack.members["S0LEADS"] = frozenset()
    assert not await allowed.may_change("U0CAT")  # the failure cached nothing: asked again


async def test_with_slack_down_and_nothing_known_nobody_from_the_group_may_change() -> None:
    slack = Slack({"S0LEADS": frozenset({"U0CAT"})})
    slack.down = True
    allowed = authorizer(["U0ANA", "S0LEADS"], slack)
    assert await allowed.may_change("U0CAT") is False
    assert await allowed.may_change("U0ANA") is True


async def test_concurrent_checks_ask_slack_once() -> None:
    slack = Slack({"S0LEADS": frozenset({"U0CAT"})})
    allowed = authorizer(["S0LEADS"], slack)
    results = await asyncio.gather(*(allowed.may_change("U0CAT") for _ in range(5)))
    assert results == [True] * 5
    assert slack.calls == ["S0LEADS"]


def test_the_default_cache_is_a_minute() -> None:
    assert pytest.approx(60.0) == GROUP_CACHE_SECONDS
