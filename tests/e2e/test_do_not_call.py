"""The do-not-call list through the real server and the Slack stand-in: listed numbers are
rejected from a leads file (a lead keeps its other numbers), an uploaded list withdraws a live
campaign's contacts and tells its channel, and someone not a lead changes nothing."""

from __future__ import annotations

import csv
import io

from redis.asyncio import Redis

from bot.slack.leads import UPLOAD_GOOD_ROWS
from commands.views.dnc import FILE, UPLOAD_MODAL
from state.dnc import DoNotCallList
from tests.e2e.forms import LEADS_CSV, new_campaign_values
from tests.e2e.harness import ANA, EVE, running_bot

LEADS_WITH_LISTED = (
    b"name,phone1,phone2\n"
    b"Ann,+14155550001,\n"  # listed: the row is rejected
    b"Ben,+14155550002,+14155550009\n"  # the second number is listed: Ben keeps the first
    b"Cat,+14155550003,\n"
)


def dnc_file_values(file_id: str) -> dict[str, object]:
    return {FILE: {FILE: {"type": "file_input", "files": [{"id": file_id, "name": "d.csv"}]}}}


async def test_listed_numbers_are_rejected_from_a_leads_file(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        _, url = await bot.command(ANA, "dnc add +14155550001 +14155550009")
        assert "Added to the do-not-call list: +14155550001, +14155550009." in (
            await bot.reply_to(url)
        )
        await bot.command(ANA, "new")
        view = await bot.opened_view()
        file_id = bot.slack.add_file(LEADS_WITH_LISTED)
        await bot.submit(ANA, view, new_campaign_values("Listed", file_id))
        question = await bot.channel_message("rows rejected")
        assert "on the do-not-call list: 1" in str(question.blocks)
        (shared,) = bot.slack.calls("files.completeUploadExternal")
        rows = list(
            csv.reader(io.StringIO(bot.slack.uploaded_file(shared.args["files"][0]["id"]).decode()))
        )
        assert rows[1][:4] == [
            "2",
            "on the do-not-call list",
            "'+14155550001 is on the do-not-call list",
            "Ann",
        ]

        campaign = await bot.campaign_where(lambda c: c.name == "Listed")
        await bot.click(ANA, UPLOAD_GOOD_ROWS, f"{campaign.ref} {file_id}")
        await bot.channel_message(f"Leads for {campaign.ref} uploaded: 2 contacts")
        on_dialer = await bot.server.services.dialer.get_campaign(campaign.ref)
        assert on_dialer.counters["uploaded"] == 2


async def test_an_uploaded_list_withdraws_live_contacts_and_tells_the_channel(
    fake_redis: Redis,
) -> None:
    async with running_bot(fake_redis) as bot:
        ref = await bot.create_campaign(ANA, "Renewals", LEADS_CSV)
        listed_number = LEADS_CSV.splitlines()[1].split(b",")[-1].decode().strip()
        opened = len(bot.slack.calls("views.open"))
        await bot.command(ANA, "dnc upload")
        view = await bot.opened_view(opened + 1)
        assert view["callback_id"] == UPLOAD_MODAL
        file_id = bot.slack.add_file(f"phone\n{listed_number}\nnot a number\n".encode())
        answer = await bot.submit(ANA, view, dnc_file_values(file_id))
        assert answer.status == 200

        notice = await bot.channel_message("put numbers on the do-not-call list")
        assert f"`{ref}` (Renewals, simulator): 1 contact withdrawn." in notice.text
        told = await bot.slack.wait_for(
            lambda: [t for t in bot.ephemeral_texts(ANA) if "Do-not-call upload" in t]
        )
        assert "1 number added, 0 were on the list already." in told[0]
        assert "1 row had no valid number" in told[0]
        [report] = [c for c in bot.slack.calls("files.completeUploadExternal")]
        rejected = bot.slack.uploaded_file(report.args["files"][0]["id"]).decode()
        assert "no valid phone number" in rejected and "not a number" in rejected
        store = bot.server.services.store
        assert await DoNotCallList(store.redis, store.keys).contains(listed_number)


async def test_someone_not_a_lead_cannot_change_the_list(fake_redis: Redis) -> None:
    async with running_bot(fake_redis) as bot:
        _, url = await bot.command(EVE, "dnc add +14155550001")
        assert "Only campaign leads can change the do-not-call list" in await bot.reply_to(url)
        _, url = await bot.command(EVE, "dnc check +14155550001")
        assert "is not on the do-not-call list" in await bot.reply_to(url)
        _, url = await bot.command(ANA, "dnc add 12")
        await bot.reply_to(url)
        assert "Not a valid phone number" in str(bot.slack.responses(url)[-1].body)
