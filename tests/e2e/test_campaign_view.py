"""The single-campaign view (Edit -> modal -> Apply) and the leads questions of a new campaign,
through the real HTTP server."""

from __future__ import annotations

import json
from collections.abc import Sequence

from redis.asyncio import Redis

from bot.slack.leads import RESUME_UPLOAD, SKIP_UPLOAD, UPLOAD_GOOD_ROWS
from commands.leads.settings import LeadsSettings
from commands.views import ids
from dialer.errors import DialerUnavailable
from dialer.models import Contact
from dialer.simulator import SimulatorDialer
from state.domain import AgentDefaultState, CampaignStatus
from tests.e2e.forms import (
    LEADS_CSV,
    LEADS_CSV_WITH_A_BAD_ROW,
    NO_PHONE_COLUMN_CSV,
    choice,
    new_campaign_values,
    number,
    text,
)
from tests.e2e.harness import ANA, BOB, EVE, FAST, running_bot


async def test_edit_opens_the_campaign_and_apply_sends_settings_and_agents(
    fake_redis: Redis,
) -> None:
    async with running_bot(fake_redis) as bot:
        ref = await bot.create_campaign(ANA, "Editable")
        await bot.click(ANA, ids.START, ref)
        await bot.status_of(ref, CampaignStatus.RUNNING)

        await bot.click(BOB, ids.EDIT, ref)
        view = await bot.opened_view(2)
        assert view["callback_id"] == ids.CAMPAIGN_MODAL and view["private_metadata"] == ref
        assert "Leads cannot be edited" in json.dumps(view)
        values = {
            **number("aggression", "90"),
            **choice("end_handle", "continue"),
            **number("dial_timeout_seconds", "30"),
            **number("max_attempts", "3"),
            **number("retry_interval_minutes", "60"),
            **text("agents", "1003"),
            **choice("default_state", "offline"),
        }
        answer = await bot.submit(BOB, view, values)
        assert answer.status == 200 and answer.body == ""
        applied = await bot.campaign_where(
            lambda c: (
                c.settings.aggression == 90
                and {a.agent_id for a in c.agents} == {"1001", "1002", "1003"}
                and {a.default_state for a in c.agents} == {AgentDefaultState.OFFLINE}
            )
        )
        assert applied.status is CampaignStatus.RUNNING
        told = await bot.slack.wait_for(lambda: bot.ephemeral_texts(BOB))
        assert "aggression 40 → 90" in told[-1]


async def test_a_bad_apply_is_shown_under_its_field_and_sends_nothing(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        ref = await bot.create_campaign(ANA, "Careful")
        await bot.command(ANA, f"show {ref}")
        view = await bot.opened_view(2)
        answer = await bot.submit(ANA, view, {**number("aggression", "250")})
        assert answer.json() == {
            "response_action": "errors",
            "errors": {"aggression": "Must be a whole number from 1 to 100."},
        }
        assert (await bot.store.require(ref)).pending is None


async def test_an_agent_is_removed_from_inside_the_campaign_view(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        ref = await bot.create_campaign(ANA, "Agents")
        await bot.command(ANA, f"show {ref}")
        view = await bot.opened_view(2)
        payload = {
            "type": "block_actions",
            "team": {"id": "TSTANDIN"},
            "user": {"id": ANA},
            "container": {"type": "view", "view_id": view["id"]},
            "trigger_id": "t-agent",
            "view": view,
            "actions": [
                {"type": "button", "action_id": ids.REMOVE_AGENT, "block_id": "a",
                 "value": "1002", "action_ts": "1.5"}
            ],
        }  # fmt: skip
        assert (await bot.interact(payload)).status == 200
        await bot.campaign_where(lambda c: [a.agent_id for a in c.agents] == ["1001"])
        update = await bot.slack.wait_for(lambda: bot.slack.calls("views.update"))
        assert update[-1].args["view_id"] == view["id"]


async def test_rejected_rows_are_reported_and_the_good_ones_uploaded_on_confirmation(
    fake_redis: Redis,
) -> None:
    async with running_bot(fake_redis) as bot:
        await bot.command(ANA, "new")
        view = await bot.opened_view()
        file_id = bot.slack.add_file(LEADS_CSV_WITH_A_BAD_ROW)
        await bot.submit(ANA, view, new_campaign_values("Partly good", file_id))
        question = await bot.channel_message("rows rejected")
        campaign = await bot.campaign_where(lambda c: c.name == "Partly good")
        assert "1 rejected" in json.dumps(question.blocks)
        assert await bot.server.services.dialer.get_campaign(campaign.ref)
        (shared,) = bot.slack.calls("files.completeUploadExternal")
        assert shared.args["channel_id"] == "CCAMPAIGNS"
        rejected = bot.slack.uploaded_file(shared.args["files"][0]["id"]).decode()
        assert rejected.splitlines()[0].startswith("line,reason,detail,name,phone")
        assert "Dan" in rejected and len(rejected.splitlines()) == 2

        await bot.click(ANA, UPLOAD_GOOD_ROWS, f"{campaign.ref} {file_id}")
        await bot.channel_message(f"Leads for {campaign.ref} uploaded: 2 contacts")
        _, url = await bot.click(BOB, UPLOAD_GOOD_ROWS, f"{campaign.ref} {file_id}")
        assert "already decided" in await bot.reply_to(url)
        assert len(bot.slack.calls("files.completeUploadExternal")) == 1


async def test_a_leads_file_that_cannot_be_used_creates_nothing(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        await bot.command(ANA, "new")
        view = await bot.opened_view()
        file_id = bot.slack.add_file(NO_PHONE_COLUMN_CSV)
        await bot.submit(ANA, view, new_campaign_values("No phones", file_id))
        told = await bot.slack.wait_for(lambda: bot.ephemeral_texts(ANA))
        assert "The leads file cannot be used" in told[-1] and "Nothing was created" in told[-1]
        assert await bot.store.list_live() == []
        assert await bot.server.services.dialer.list_campaigns() == []


async def test_a_leads_file_without_a_single_good_row_creates_nothing(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        await bot.command(ANA, "new")
        view = await bot.opened_view()
        file_id = bot.slack.add_file(b"name,phone\nDan,12\nEve,not a number\n")
        await bot.submit(ANA, view, new_campaign_values("Hopeless", file_id))
        told = await bot.slack.wait_for(lambda: bot.ephemeral_texts(ANA))
        assert "No row of the leads file can be dialled" in told[-1]
        assert "2 rejected" in told[-1]
        assert await bot.store.list_live() == []


async def test_declining_the_good_rows_uploads_nothing(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        await bot.command(ANA, "new")
        view = await bot.opened_view()
        file_id = bot.slack.add_file(LEADS_CSV_WITH_A_BAD_ROW)
        await bot.submit(ANA, view, new_campaign_values("Declined", file_id))
        await bot.channel_message("rows rejected")
        campaign = await bot.campaign_where(lambda c: c.name == "Declined")
        _, url = await bot.click(ANA, SKIP_UPLOAD, f"{campaign.ref} {file_id}")
        assert "No leads uploaded" in await bot.reply_to(url)
        dialer = bot.server.services.dialer
        assert (await dialer.get_campaign(campaign.ref)).counters["uploaded"] == 0


class RefusingDialer(SimulatorDialer):
    """Takes no contacts while ``refusing`` is set, as if it were down."""

    refusing = True

    async def add_contacts(self, ref: str, contacts: Sequence[Contact]) -> None:
        if self.refusing:
            raise DialerUnavailable("The dialer did not answer; try again.")
        await super().add_contacts(ref, contacts)


async def test_a_stopped_upload_is_resumed_from_its_button(fake_redis: Redis) -> None:
    dialer = RefusingDialer(FAST)
    settings = LeadsSettings(upload_max_attempts=1, progress_interval_seconds=0.05)
    async with running_bot(fake_redis, dialer=dialer, leads_settings=settings) as bot:
        await bot.command(ANA, "new")
        view = await bot.opened_view()
        await bot.submit(ANA, view, new_campaign_values("Flaky", bot.slack.add_file(LEADS_CSV)))
        campaign = await bot.campaign_where(lambda c: c.name == "Flaky")
        stopped = await bot.channel_message(f"The upload for {campaign.ref} stopped")
        assert RESUME_UPLOAD in json.dumps(stopped.blocks)

        _, url = await bot.click(EVE, RESUME_UPLOAD, campaign.ref)
        assert "Only campaign leads" in await bot.reply_to(url)
        dialer.refusing = False
        _, url = await bot.click(ANA, RESUME_UPLOAD, campaign.ref)
        assert "Resuming the upload" in await bot.reply_to(url)
        await bot.channel_message(f"Leads for {campaign.ref} uploaded: 3 contacts")
        assert (await dialer.get_campaign(campaign.ref)).counters["uploaded"] == 3
    await dialer.aclose()
