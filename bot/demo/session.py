"""The scripted session the demo plays: one campaign's life, through signed Slack requests.

Each step is what a person does in Slack and the state the bot must then reach; a step that does
not reach it within its time ends the session with ``StepFailed``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.demo.driver import SlackDriver, StepFailed, expect
from commands.views import ids
from state.domain import CampaignStatus

ANA, BOB = "UANA", "UBOB"
PEOPLE = {ANA: "ana", BOB: "bob"}
CAMPAIGN_NAME = "Spring renewals"
LEADS = (
    b"name,phone,city\n"
    b"Ann Example,+14155550101,San Francisco\n"
    b"Ben Example,(415) 555-0102,Oakland\n"
    b"Cy Example,+1 415 555 0103,Berkeley\n"
    b"Di Example,4155550104,Palo Alto\n"
)

Narrate = Callable[[str], None]


@dataclass
class Session:
    driver: SlackDriver
    narrate: Narrate
    ref: str = ""

    async def play(self) -> None:
        for step in (
            self.create,
            self.start,
            self.raise_aggression,
            self.stop,
            self.request_removal,
            self.approve_removal,
        ):
            try:
                await step()
            except (StepFailed, TimeoutError) as exc:
                raise StepFailed(f"{step.__name__.replace('_', ' ')}: {exc}") from exc

    async def create(self) -> None:
        self.narrate("@ana: /campaign new — fills in the form and attaches a CSV of 4 leads")
        self.ref = await self.driver.create_campaign(ANA, CAMPAIGN_NAME, LEADS)
        campaign = await self.driver.status_of(self.ref, CampaignStatus.STOPPED)
        expect(campaign.dialer_id, "the campaign exists on the dialer")
        await self.driver.channel_message(f"{CAMPAIGN_NAME} ({self.ref}) is stopped")

    async def start(self) -> None:
        self.narrate(f"@ana: clicks Start on {self.ref}")
        _, url = await self.driver.click(ANA, ids.START, self.ref)
        await self._reply_says(url, "Start of")
        await self.driver.status_of(self.ref, CampaignStatus.RUNNING)
        await self.driver.channel_message("is *running* (was stopped)")

    async def raise_aggression(self) -> None:
        self.narrate(f"@bob: /campaign set {self.ref} aggression=85 (while it runs)")
        _, url = await self.driver.command(BOB, f"set {self.ref} aggression=85")
        await self._reply_says(url, "aggression 40 → 85")
        adjusted = await self.driver.campaign_where(
            lambda c: c.ref == self.ref and c.settings.aggression == 85
        )
        expect(adjusted.status is CampaignStatus.RUNNING, "it keeps running while adjusted")

    async def stop(self) -> None:
        self.narrate(f"@ana: /campaign stop {self.ref}")
        _, url = await self.driver.command(ANA, f"stop {self.ref}")
        await self._reply_says(url, "Stop of")
        await self.driver.status_of(self.ref, CampaignStatus.STOPPED)
        await self.driver.channel_message("has *stopped*")

    async def request_removal(self) -> None:
        self.narrate(f"@ana: /campaign remove {self.ref}")
        _, url = await self.driver.command(ANA, f"remove {self.ref}")
        await self._reply_says(url, "Asked for approval")
        approval = await self.driver.channel_message(f"Removal of {self.ref} requested")
        expect(ids.APPROVE in str(approval.blocks), "the request shows an Approve button")

    async def approve_removal(self) -> None:
        self.narrate(f"@bob: clicks Approve on the removal of {self.ref}")
        _, url = await self.driver.click(BOB, ids.APPROVE, self.ref)
        await self._reply_says(url, "Approved")
        deleted = await self.driver.status_of(self.ref, CampaignStatus.DELETED)
        expect(deleted.removal is None, "the removal is finished")
        await self.driver.channel_message("was *deleted*")

    async def _reply_says(self, response_url: str, needle: str) -> None:
        reply = await self.driver.reply_to(response_url)
        if needle not in reply:
            raise StepFailed(f"expected a reply with {needle!r}, got {reply!r}")
