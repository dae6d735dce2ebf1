"""The removal workflow's human steps as handlers: what each one changes, posts, edits and says,
and what it refuses (with the reason, never an exception)."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import fakeredis
import pytest

from bot.slack.client import with_retries
from bot.slack.delivery import Delivery, Where
from commands.authz import Authorizer
from commands.errors import CampaignNotFound
from commands.handlers.context import Deps, Requester
from commands.handlers.dispatch import handle
from commands.handlers.removal import (
    _refuse_expired,
    ask_to_remove,
    decide_removal,
    expire_if_due,
    expired_approval_edit,
    remember_approval_message,
    withdraw_removal,
)
from commands.replies import ChannelPost, Reply
from commands.requests import ApproveRemoval, RemoveCampaign
from commands.views.approval import approval_request
from dialer.simulator import SimulatorDialer, SimulatorKnobs
from state.campaign import Campaign, Removal, RemovalStage
from state.domain import CampaignStatus
from state.effects import RefreshCard, RemovalRejected, RemovalRequested, SendStop
from state.keys import Keys
from state.store import CampaignStore
from tests.standins.slack_api import SlackStandIn
from tests.state_builders import campaign

ANA, BOB, CAT = "UANA", "UBOB", "UCAT"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def no_groups(group_id: str) -> frozenset[str]:
    return frozenset()


@pytest.fixture
async def deps() -> AsyncIterator[Deps]:
    redis = fakeredis.FakeAsyncRedis()
    dialer = SimulatorDialer(SimulatorKnobs(start_delay=0.05, tick=0.02, notify_delay=0.01))
    store = CampaignStore(redis, Keys(f"test:{uuid.uuid4().hex[:8]}:"), clock=lambda: NOW)
    yield Deps(
        store=store,
        dialer=dialer,
        authz=Authorizer((ANA, BOB, CAT), no_groups),
        clock=lambda: NOW,
        removal_approval_ttl=timedelta(hours=1),
    )
    await dialer.aclose()
    await redis.aclose()


async def stored(deps: Deps, **fields: object) -> str:
    ref = await deps.store.issue_ref()
    await deps.store.create(campaign(ref, **fields))
    return ref


async def test_asking_posts_the_approval_message_in_the_campaigns_channel(deps: Deps) -> None:
    ref = await stored(deps, channel_id="C0HOME")
    reply = await ask_to_remove(deps, Requester(ANA, "C0ELSEWHERE"), ref)
    assert reply.effects == (RemovalRequested(ref, ANA),)
    (post,) = reply.posts
    assert (post.channel, post.approval_for) == ("C0HOME", ref)
    assert "<#C0HOME>" in (reply.text or "") and "Another campaign lead" in (reply.text or "")
    stored_removal = (await deps.store.require(ref)).removal
    assert stored_removal is not None and stored_removal.requested_by == ANA
    assert stored_removal.expires_at == NOW + timedelta(hours=1)


async def test_a_campaign_without_a_channel_is_asked_about_where_the_lead_typed(
    deps: Deps,
) -> None:
    ref = await stored(deps, channel_id=None)
    reply = await ask_to_remove(deps, Requester(ANA, "C0TYPED"), ref)
    assert reply.posts[0].channel == "C0TYPED"
    nowhere = await stored(deps, channel_id=None)
    refused = await ask_to_remove(deps, Requester(ANA), nowhere)
    assert refused.text == "This campaign has no channel to ask for approval in."
    assert (await deps.store.require(nowhere)).removal is None


async def test_a_second_request_is_refused_with_the_reason(deps: Deps) -> None:
    ref = await stored(deps)
    await ask_to_remove(deps, Requester(ANA, "C1"), ref)
    again = await ask_to_remove(deps, Requester(BOB, "C1"), ref)
    assert (again.text or "").startswith(":no_entry: Removal of")
    assert "already under way" in (again.text or "") and not again.posts


async def test_asking_about_an_unknown_campaign_says_so(deps: Deps) -> None:
    with pytest.raises(CampaignNotFound):
        await ask_to_remove(deps, Requester(ANA, "C1"), "c-20261123-nope")
    reply = await handle(RemoveCampaign(ref="c-20261123-nope"), deps, Requester(ANA, "C1"))
    assert "c-20261123-nope" in str(reply.blocks) and not reply.posts
    assert "/campaign remove &lt;ref&gt; [cancel]" in str(reply.blocks)


@pytest.mark.parametrize("approve", [True, False])
async def test_deciding_when_no_removal_is_waiting_is_refused_with_the_reason(
    deps: Deps, approve: bool
) -> None:
    ref = await stored(deps)
    reply = await decide_removal(deps, Requester(BOB, "C1"), ref, approve=approve)
    assert reply.text == f":no_entry: There is no removal of `{ref}` waiting for approval."
    assert not reply.effects and not reply.edits


async def test_rejecting_an_approved_removal_under_way_is_refused(deps: Deps) -> None:
    ref = await stored(deps, status=CampaignStatus.RUNNING)
    await ask_to_remove(deps, Requester(ANA, "C1"), ref)
    await decide_removal(deps, Requester(BOB, "C1"), ref, approve=True)
    reply = await decide_removal(deps, Requester(CAT, "C1"), ref, approve=False)
    assert "already approved and is under way" in (reply.text or "")
    held = await deps.store.require(ref)
    assert held.removal is not None and held.removal.stage is RemovalStage.STOPPING


async def test_approval_sends_the_stop_and_updates_the_approval_message(deps: Deps) -> None:
    ref = await stored(deps, status=CampaignStatus.RUNNING, channel_id="C0HOME")
    await ask_to_remove(deps, Requester(ANA, "C1"), ref)
    await remember_approval_message(deps, ref, "1700000000.000100")
    reply = await decide_removal(deps, Requester(BOB, "C9"), ref, approve=True)
    assert reply.effects == (SendStop(ref), RefreshCard(ref))
    (edit,) = reply.edits
    assert (edit.channel, edit.ts) == ("C0HOME", "1700000000.000100")
    assert (reply.text or "").startswith("Approved.")
    assert "once the dialer confirms it has stopped" in (reply.text or "")
    assert reply.campaign is not None and reply.campaign.removal is not None
    assert reply.campaign.removal.approved_by == BOB


async def test_without_a_posted_approval_message_nothing_is_edited(deps: Deps) -> None:
    ref = await stored(deps)
    await ask_to_remove(deps, Requester(ANA, "C1"), ref)
    reply = await decide_removal(deps, Requester(BOB, "C1"), ref, approve=False)
    assert reply.edits == ()
    assert reply.effects == (RemovalRejected(ref, BOB), RefreshCard(ref))
    assert (reply.text or "").startswith("Rejected.")


async def test_the_requester_rejecting_is_told_the_request_is_cancelled(deps: Deps) -> None:
    ref = await stored(deps)
    await ask_to_remove(deps, Requester(ANA, "C1"), ref)
    reply = await decide_removal(deps, Requester(ANA, "C1"), ref, approve=False)
    assert (reply.text or "").startswith("Removal request cancelled.")
    assert (await deps.store.require(ref)).removal is None


async def test_the_approval_message_ts_is_kept_only_on_a_removal(deps: Deps) -> None:
    ref = await stored(deps)
    # No removal (cancelled while its message was posted): nothing to keep it on.
    assert not await remember_approval_message(deps, ref, "1.2")
    assert (await deps.store.require(ref)).removal is None
    await ask_to_remove(deps, Requester(ANA, "C1"), ref)
    assert await remember_approval_message(deps, ref, "1.3")
    removal = (await deps.store.require(ref)).removal
    assert removal is not None and removal.approval_message_ts == "1.3"


async def test_a_request_whose_message_could_not_be_posted_is_withdrawn(deps: Deps) -> None:
    ref = await stored(deps)
    await ask_to_remove(deps, Requester(ANA, "C1"), ref)
    await withdraw_removal(deps, ref, ANA)
    assert (await deps.store.require(ref)).removal is None


async def test_withdrawing_leaves_someone_elses_or_a_decided_request_alone(
    deps: Deps, caplog: pytest.LogCaptureFixture
) -> None:
    ref = await stored(deps, status=CampaignStatus.RUNNING)
    await ask_to_remove(deps, Requester(ANA, "C1"), ref)
    await withdraw_removal(deps, ref, BOB)  # not BOB's request
    assert (await deps.store.require(ref)).removal is not None
    await decide_removal(deps, Requester(BOB, "C1"), ref, approve=True)
    await withdraw_removal(deps, ref, ANA)  # approved meanwhile
    held = await deps.store.require(ref)
    assert held.removal is not None and held.removal.stage is RemovalStage.STOPPING
    await withdraw_removal(deps, await stored(deps), ANA)  # nothing to withdraw: harmless
    assert "could not be withdrawn" not in caplog.text  # left alone, not failed


async def test_a_failed_withdrawal_is_logged_not_raised(
    deps: Deps, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR):
        await withdraw_removal(deps, "c-20261123-nope", ANA)
    assert "could not be withdrawn" in caplog.text


async def test_a_button_for_an_earlier_request_changes_nothing(deps: Deps) -> None:
    ref = await stored(deps)
    await ask_to_remove(deps, Requester(ANA, "C1"), ref)
    held = await deps.store.require(ref)
    assert held.removal is not None and held.removal.request_id
    stale = await decide_removal(
        deps, Requester(BOB, "C1"), ref, approve=True, request_id="not-this-one"
    )
    assert "earlier removal request" in (stale.text or "") and not stale.effects
    current = await decide_removal(
        deps, Requester(BOB, "C1"), ref, approve=False, request_id=held.removal.request_id
    )
    assert (current.text or "").startswith("Rejected.")
    after_decision = await decide_removal(
        deps, Requester(BOB, "C1"), ref, approve=True, request_id=held.removal.request_id
    )
    assert "already decided" in (after_decision.text or "")


async def test_an_approval_after_the_deadline_is_refused_and_expires_the_request(
    deps: Deps,
) -> None:
    ref = await stored(deps, status=CampaignStatus.RUNNING)
    await ask_to_remove(deps, Requester(ANA, "C1"), ref)
    await remember_approval_message(deps, ref, "1.5")
    request_id = (await deps.store.require(ref)).removal.request_id  # type: ignore[union-attr]
    late = Deps(
        store=deps.store,
        dialer=deps.dialer,
        authz=deps.authz,
        clock=lambda: NOW + timedelta(hours=1),
        removal_approval_ttl=timedelta(hours=1),
    )
    reply = await decide_removal(late, Requester(BOB, "C1"), ref, approve=True)
    assert "expired at 2026-11-23 10:00 UTC" in (reply.text or "")
    assert SendStop(ref) not in reply.effects
    assert reply.effects == (RefreshCard(ref),)
    assert len(reply.edits) == 1
    held: Campaign = await deps.store.require(ref)
    assert held.removal is None and held.status is CampaignStatus.RUNNING
    again = await decide_removal(
        late, Requester(BOB, "C1"), ref, approve=True, request_id=request_id
    )
    assert "expired without an approval" in (again.text or "")


async def test_deciding_about_an_unknown_campaign_says_so(deps: Deps) -> None:
    with pytest.raises(CampaignNotFound):
        await decide_removal(deps, Requester(BOB, "C1"), "c-20261123-nope", approve=True)
    approve = ApproveRemoval(ref="c-20261123-nope", request_id="r1")
    reply = await handle(approve, deps, Requester(BOB, "C1"))
    assert "c-20261123-nope" in str(reply.blocks) and not reply.effects


async def test_an_expired_request_is_expired_once_and_remembered_for_its_buttons(
    deps: Deps,
) -> None:
    ref = await stored(deps)
    await ask_to_remove(deps, Requester(ANA, "C1"), ref)
    request_id = (await deps.store.require(ref)).removal.request_id  # type: ignore[union-attr]
    later = NOW + timedelta(hours=2)
    assert await expire_if_due(deps.store, ref, NOW, timedelta(hours=1)) is None  # not yet
    expired = await expire_if_due(deps.store, ref, later, timedelta(hours=1))
    assert expired is not None and expired.removal is not None  # as it was
    assert (await deps.store.require(ref)).removal is None
    assert await expire_if_due(deps.store, ref, later, timedelta(hours=1)) is None  # once
    remembered = f"{deps.store.keys.prefix}removal-expired:{request_id}"
    assert await deps.store.redis.get(remembered) == ref.encode()
    ttl = await deps.store.redis.ttl(remembered)
    assert timedelta(days=29) < timedelta(seconds=ttl) <= timedelta(days=30)


def test_the_expired_approval_message_is_edited_only_when_it_was_posted() -> None:
    waiting = Removal(requested_by=ANA, requested_at=NOW, approval_message_ts="1.7")
    edit = expired_approval_edit(campaign(channel_id="C0HOME", removal=waiting))
    assert edit is not None and (edit.channel, edit.ts) == ("C0HOME", "1.7")
    assert "expired" in edit.text
    unposted = waiting.model_copy(update={"approval_message_ts": None})
    assert expired_approval_edit(campaign(channel_id="C0HOME", removal=unposted)) is None
    assert expired_approval_edit(campaign(channel_id=None, removal=waiting)) is None
    assert expired_approval_edit(campaign(channel_id="C0HOME")) is None


async def test_a_late_approval_of_a_request_the_sweeper_already_expired_is_told_why(
    deps: Deps,
) -> None:
    ref = await stored(deps)
    await ask_to_remove(deps, Requester(ANA, "C1"), ref)
    seen_by_the_click = await deps.store.require(ref)  # read just before the sweeper ran
    later = NOW + timedelta(hours=2)
    assert await expire_if_due(deps.store, ref, later, timedelta(hours=1)) is not None
    reply = await _refuse_expired(deps, Requester(BOB, "C1"), seen_by_the_click, later)
    assert "expired at 2026-11-23 10:00 UTC" in (reply.text or "")
    assert not reply.effects and not reply.edits


async def test_an_approval_refused_as_expired_inside_the_update_is_told_why(deps: Deps) -> None:
    # A request stored before requests carried their deadline: the approval itself finds it
    # expired (a day after it was made) although the configured ttl is longer.
    old = Removal(requested_by=ANA, requested_at=NOW - timedelta(hours=36))
    ref = await stored(deps, removal=old)
    patient = Deps(
        store=deps.store,
        dialer=deps.dialer,
        authz=deps.authz,
        clock=lambda: NOW,
        removal_approval_ttl=timedelta(days=2),
    )
    reply = await decide_removal(patient, Requester(BOB, "C1"), ref, approve=True)
    assert "without an approval" in (reply.text or "")
    assert SendStop(ref) not in reply.effects


async def test_rejecting_an_expired_request_is_refused_as_expired(deps: Deps) -> None:
    ref = await stored(deps)
    await ask_to_remove(deps, Requester(ANA, "C1"), ref)
    late = Deps(
        store=deps.store,
        dialer=deps.dialer,
        authz=deps.authz,
        clock=lambda: NOW + timedelta(hours=1),
        removal_approval_ttl=timedelta(hours=1),
    )
    reply = await decide_removal(late, Requester(BOB, "C1"), ref, approve=False)
    assert "expired at 2026-11-23 10:00 UTC" in (reply.text or "")
    assert not any(isinstance(e, RemovalRejected) for e in reply.effects)


async def test_an_expired_request_without_an_id_is_not_remembered(deps: Deps) -> None:
    old = Removal(requested_by=ANA, requested_at=NOW - timedelta(days=2))  # from before ids
    ref = await stored(deps, removal=old)
    assert await expire_if_due(deps.store, ref, NOW, timedelta(hours=1)) is not None
    prefix = f"{deps.store.keys.prefix}removal-expired:"
    assert [key async for key in deps.store.redis.scan_iter(match=f"{prefix}*")] == []


async def test_an_approval_message_whose_request_was_cancelled_while_posting_loses_its_buttons(
    deps: Deps,
) -> None:
    ref = await stored(deps)  # its removal already cancelled: none is pending
    async with SlackStandIn(member_of={"C1"}) as slack:
        delivery = Delivery(with_retries(slack.client()), deps, _no_dispatch)
        text, blocks = approval_request(await deps.store.require(ref), ANA)
        assert "actions" in json.dumps(blocks)
        approval = ChannelPost("C1", text, blocks, approval_for=ref)
        await delivery.deliver(Reply(posts=(approval,)), Where(ANA, "C1"))
        (message,) = slack.messages_in("C1")
    assert message.text == f"Removal of {ref} no longer pending"
    assert "actions" not in json.dumps(message.blocks)


async def _no_dispatch(*_: object) -> None:
    return None
