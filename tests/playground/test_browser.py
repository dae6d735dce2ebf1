"""The playground in a real browser: a person runs a campaign's whole life through the page, as
Slack's people would, and every step is written as a screenshot under the test's folder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from bot.playground.app import Playground
from state.domain import CampaignStatus
from tests.playground.conftest import CHROMIUM, needs_chromium

pytestmark = [needs_chromium, pytest.mark.timeout(120)]
expect.set_options(timeout=10_000)  # a busy CI machine shares its cores

ROWS = 20
LEADS = "name,phone\n" + "".join(f"Lead {n},+1415555{n:04d}\n" for n in range(1, ROWS + 1))
NAME = 'Spring <b>renewals</b> <img src=x onerror="window.__xss=1">'
# Records every text a channel message showed, by its ts: an update in place keeps the ts.
RECORD_TEXTS = """() => {
  window.__texts = [];
  const note = () => document.querySelectorAll('#timeline li[data-kind="message"]').forEach(
    (li) => window.__texts.push([li.dataset.ts, li.textContent]));
  new MutationObserver(note).observe(document.getElementById('timeline'),
    {subtree: true, childList: true, characterData: true});
}"""
# Notes what the page showed the first time a message said running: the simulator's
# notification in the dialer panel, and the dialer's own status.
WATCH_FOR_RUNNING = """(ref) => {
  window.__firstRunning = null;
  const look = () => {
    if (window.__firstRunning) return;
    const running = [...document.querySelectorAll("#timeline strong")].some(
      (s) => s.textContent === "running");
    if (!running) return;
    const cell = document.querySelector(`#dialer tr[data-ref="${ref}"] td:nth-child(3)`);
    window.__firstRunning = {
      notified: document.querySelector("#dialer .notifications").textContent.includes(
        `${ref}  status → running`),
      dialer: cell ? cell.textContent : null,
    };
  };
  new MutationObserver(look).observe(document.body,
    {subtree: true, childList: true, characterData: true});
}"""


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as driver:
        launched = await driver.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield launched
        finally:
            await launched.close()


class Steps:
    def __init__(self, page: Page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.count = 0

    async def shot(self, name: str) -> None:
        self.count += 1
        await self.page.screenshot(path=self.folder / f"{self.count:02d}-{name}.png")

    async def act_as(self, name: str) -> None:
        await self.page.get_by_label("Acting as").select_option(value=f"U{name.upper()}")

    async def type(self, text: str) -> None:
        box = self.page.get_by_label("Message #outbound-campaigns")
        await box.fill(text)
        await box.press("Enter")

    def message(self, needle: str) -> object:
        return self.page.locator("#timeline li", has_text=needle).last


async def test_a_campaigns_life_through_the_page(
    playground: Playground, browser: Browser, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.set_default_timeout(15_000)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    steps = Steps(page, tmp_path)
    await page.goto(playground.url + "/")
    await expect(page.locator("body[data-ready]")).to_be_attached()
    await page.evaluate(RECORD_TEXTS)
    await steps.act_as("ana")

    # /campaign new: the modal, with a mistake first.
    await steps.type("/campaign new")
    dialog = page.locator("dialog#modal[open]")
    await expect(dialog.get_by_role("heading", name="New campaign")).to_be_visible()
    await steps.shot("new-campaign-modal")
    await dialog.get_by_label("Name").fill(NAME)
    await dialog.get_by_label("Agents", exact=False).first.fill("bad agent!")
    leads = dialog.get_by_label("Leads (CSV)")
    await leads.set_input_files(
        files=[{"name": "leads.csv", "mimeType": "text/csv", "buffer": LEADS.encode()}]
    )
    await expect(dialog.get_by_text("Uploaded leads.csv")).to_be_visible()
    await dialog.get_by_role("button", name="Create").click()
    agents_error = dialog.locator('.field[data-block-id="agents"] .error')
    await expect(agents_error).to_contain_text("Agent ids are")
    await expect(dialog.locator("#field-agents")).to_have_attribute("aria-invalid", "true")
    await steps.shot("validation-error-next-to-its-field")

    await dialog.get_by_label("Agents", exact=False).first.fill("1001 1002")
    await dialog.get_by_role("button", name="Create").click()
    await expect(page.locator("dialog#modal[open]")).to_have_count(0)
    uploaded = steps.message(f"uploaded: {ROWS} contacts")
    await expect(uploaded).to_be_visible(timeout=15_000)
    await steps.shot("leads-uploaded")
    campaign = next(c for c in await playground.services.store.list_live() if c.name == NAME)
    ref = campaign.ref
    # The upload has one message, its progress updated in place into the summary. (Slack's
    # pace of one message a second per channel holds the first progress post behind the card
    # just posted; an upload this small may be done by then, and its one message is the summary.)
    texts: list[list[str]] = await page.evaluate("window.__texts")
    summary_ts = next(ts for ts, text in texts if f"uploaded: {ROWS} contacts" in text)
    upload_messages = {
        ts for ts, text in texts if "Uploading leads" in text or "contacts in" in text
    }
    assert upload_messages == {summary_ts}, texts
    if any("Uploading leads" in text for _, text in texts):
        assert await uploaded.get_attribute("data-edits") != "0"

    # The campaign's name is shown as text, never run as HTML.
    card = page.locator("#timeline li", has=page.locator('button[data-action-id="campaign_start"]'))
    await expect(card.first).to_contain_text(NAME)
    assert await page.evaluate("window.__xss") is None
    assert await page.locator("#timeline img").count() == 0

    # Start: "starting" first; "running" only once the simulator's notification has arrived.
    await page.evaluate(WATCH_FOR_RUNNING, ref)
    await card.first.get_by_role("button", name="Start").click()
    await expect(page.locator("#timeline li.ephemeral", has_text="Start of").last).to_be_visible()
    await expect(page.locator("#timeline strong", has_text="running").first).to_be_visible()
    # When a message first said running, the simulator had already reported it.
    assert await page.evaluate("window.__firstRunning") == {"notified": True, "dialer": "running"}
    await steps.shot("running-after-the-dialers-notification")

    # Change aggression in the campaign's modal.
    await card.first.get_by_role("button", name="Edit").click()
    dialog = page.locator("dialog#modal[open]")
    await expect(dialog.get_by_role("heading", name="Campaign")).to_be_visible()
    await dialog.get_by_label("Aggression").fill("85")
    await steps.shot("aggression-in-the-modal")
    await dialog.get_by_role("button", name="Apply").click()
    row = page.locator(f'#dialer tr[data-ref="{ref}"]')
    await expect(row.locator("td").nth(3)).to_have_text("85", timeout=10_000)
    await steps.shot("aggression-changed")

    # Stop.
    await steps.type(f"/campaign stop {ref}")
    await expect(row.locator("td").nth(2)).to_have_text("stopped", timeout=10_000)
    await expect(page.locator("#timeline strong", has_text="stopped").first).to_be_visible()
    await steps.shot("stopped")

    # Removal: asked by ana, refused to eve (not a lead), approved by bob.
    await card.first.get_by_role("button", name="Remove").click()
    confirm = page.locator("dialog#confirm[open]")
    await expect(confirm).to_be_visible()
    await steps.shot("remove-confirm-dialog")
    await confirm.locator("button[value=confirm]").click()
    approval = page.locator(
        "#timeline li", has=page.locator('button[data-action-id="removal_approve"]')
    )
    await expect(approval.first).to_be_visible(timeout=10_000)
    await steps.shot("removal-requested")

    await steps.act_as("eve")
    await approval.first.get_by_role("button", name="Approve").click()
    await page.locator("dialog#confirm[open] button[value=confirm]").click()
    refused = page.locator("#timeline li.ephemeral", has_text="Only campaign leads")
    await expect(refused).to_be_visible(timeout=10_000)
    await expect(refused).to_contain_text("Only visible to you")
    await steps.shot("non-lead-refused")
    assert (await playground.services.store.get(ref)).status is not CampaignStatus.DELETED

    await steps.act_as("bob")
    await expect(refused).to_have_count(0)  # eve's ephemeral reply is hers alone
    await approval.first.get_by_role("button", name="Approve").click()
    await page.locator("dialog#confirm[open] button[value=confirm]").click()
    await expect(page.locator("#timeline strong", has_text="deleted").first).to_be_visible(
        timeout=10_000
    )
    await steps.shot("deleted")

    assert (await playground.services.store.get(ref)).status is CampaignStatus.DELETED
    assert playground.slack.refused_payloads() == []
    assert await page.locator("#banners .banner").count() == 0

    # What Slack refuses is refused here too, and said in a banner with Slack's reason.
    playground.slack.fail("views.open", "invalid_arguments")
    await steps.type("/campaign new")
    refusal = page.locator("#banners .banner", has_text="Slack refused views.open")
    await expect(refusal).to_contain_text("invalid_arguments")
    await steps.shot("refused-payload-banner")
    await refusal.get_by_role("button", name="Dismiss").click()
    await expect(refusal).to_have_count(0)
    assert errors == []
    assert len(list(tmp_path.glob("*.png"))) == steps.count >= 10


async def test_a_campaign_from_a_file_posted_in_the_channel(
    playground: Playground, browser: Browser, tmp_path: Path
) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    steps = Steps(page, tmp_path)
    await page.goto(playground.url + "/")
    await expect(page.locator("body[data-ready]")).to_be_attached()
    await steps.act_as("bob")

    await page.get_by_label("Attach a file").set_input_files(
        files=[{"name": "big-leads.csv", "mimeType": "text/csv", "buffer": LEADS.encode()}]
    )
    await steps.type("This week's leads")
    posted = page.locator("#timeline li", has_text="big-leads.csv")
    await expect(posted).to_contain_text("This week's leads")
    await posted.get_by_label("More actions").click()
    await posted.get_by_role("button", name="Create campaign from this file").click()
    dialog = page.locator("dialog#modal[open]")
    await expect(dialog).to_contain_text("big-leads.csv (from the message)")
    assert await dialog.locator('input[type="file"]').count() == 0
    await steps.shot("new-campaign-from-a-posted-file")
    await dialog.get_by_label("Name").fill("From the channel")
    await dialog.get_by_role("button", name="Create").click()
    await expect(steps.message(f"uploaded: {ROWS} contacts")).to_be_visible(timeout=15_000)
    await steps.shot("created-from-the-file")

    # The app's Home tab: opening it sends app_home_opened; the bot publishes bob's Home.
    await page.get_by_role("tab", name="campaign-bot · Home").click()
    await expect(page.locator("#home")).to_contain_text("From the channel")
    await steps.shot("home-tab")
    await page.get_by_role("tab", name="# outbound-campaigns").click()
    await expect(page.get_by_label("Message #outbound-campaigns")).to_be_visible()
    assert playground.slack.refused_payloads() == []
    assert errors == []
