"""``campaign-bot serve`` as a process: signed Slack requests in, metrics and health out, JSON logs
without a secret in them, a graceful stop on SIGTERM, start-up errors as one line; and an upload
cut short by a shutdown, resumed where it stopped at the next start."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from bot.demo.driver import SlackDriver
from bot.demo.forms import new_campaign_values
from commands.leads.settings import LeadsSettings
from commands.leads.store import UploadState, UploadStore
from commands.leads.upload import upload_status
from commands.views import ids
from dialer.models import Contact
from dialer.simulator import SimulatorDialer
from state.domain import CampaignStatus
from state.keys import Keys, UploadKeys
from state.store import CampaignStore
from tests.e2e.harness import ANA, CHANNEL, FAST, forget, running_bot
from tests.faults.processes import (
    BOT_TOKEN,
    REAL_REDIS_URL,
    SIGNING_SECRET,
    serve_environment,
    serving,
)
from tests.standins.slack_api import SlackStandIn

DIALER_KEY = "enigma-key-0a9b8c7d6e5f4a3b"
SERVE = (sys.executable, "-m", "bot.cli", "serve")


def metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    line = f"{name}{{{wanted}}} " if labels else f"{name} "
    found = [row for row in text.splitlines() if row.startswith(line)]
    return float(found[0].rsplit(" ", 1)[1]) if found else 0.0


async def test_serve_answers_slack_counts_what_it_does_and_stops_gracefully_on_sigterm() -> None:
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    redis = Redis.from_url(REAL_REDIS_URL)
    env_extra = {"LOG_JSON": "true", "LOG_LEVEL": "DEBUG", "ENIGMA_API_KEY": DIALER_KEY}
    try:
        async with SlackStandIn(token=BOT_TOKEN, member_of={CHANNEL}) as slack:
            env = serve_environment(slack.api_url, prefix, **env_extra)
            async with serving(env) as bot:
                store = CampaignStore(redis, Keys(prefix))
                driver = SlackDriver(
                    bot.url, slack, store, signing_secret=SIGNING_SECRET, channel=CHANNEL
                )
                try:
                    ref = await driver.create_campaign(ANA, "Served")
                    forged = await driver.post_signed("command=%2Fcampaign", secret_ok=False)
                    assert forged.status == 401
                    slack.rate_limit("chat.postMessage", retry_after=1, times=1)
                    await driver.click(ANA, ids.START, ref)
                    await driver.status_of(ref, CampaignStatus.RUNNING)
                    await driver.channel_message("is *running*", timeout=8)

                    health = (await driver.http.get("/healthz")).json()
                    assert health["status"] == "ok" and health["dialer_reachable"] is True
                    text = (await driver.http.get("/metrics")).text
                finally:
                    await driver.aclose()
                assert metric(text, "campaign_bot_leads_uploaded_total") == 3
                calls = "campaign_bot_dialer_calls_total"
                assert metric(text, calls, operation="create_campaign", outcome="ok") == 1
                assert metric(text, calls, operation="start", outcome="ok") == 1
                slack_calls = "campaign_bot_slack_calls_total"
                assert metric(text, slack_calls, method="chat.postMessage", result="ok") >= 2
                assert (
                    metric(text, slack_calls, method="chat.postMessage", result="ratelimited") == 1
                )
                assert metric(text, "campaign_bot_notifications_total", outcome="applied") >= 1

                assert await bot.stop() == 0
                output = bot.output()
        records = [json.loads(line) for line in output.splitlines() if line.strip()]
        assert any(r["message"] == "stopped" for r in records), output
        assert {"time", "level", "logger", "message"} <= set(records[0])
        for secret in (BOT_TOKEN, SIGNING_SECRET, DIALER_KEY):
            assert secret not in output
    finally:
        await forget(redis, prefix)
        await redis.aclose()


async def test_a_bad_setting_stops_start_up_with_one_line_naming_it_and_no_secret() -> None:
    async with SlackStandIn() as slack:
        env = serve_environment(
            slack.api_url, "unused:", DIALER="enigma", ENIGMA_API_KEY=DIALER_KEY
        )
        for broken, expected in (
            ({}, "campaign-bot: ENIGMA_API_URL: required, and not set"),
            ({"ENIGMA_API_URL": "http://127.0.0.1:9", "PORT": "eighty"}, "campaign-bot: PORT: "),
        ):
            process = await asyncio.create_subprocess_exec(
                *SERVE,
                env={**env, **broken},
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(process.communicate(), 30)
            lines = [line for line in err.decode().splitlines() if line.startswith("campaign-bot")]
            assert process.returncode == 2
            assert len(lines) == 1 and lines[0].startswith(expected), err.decode()
            assert "Traceback" not in err.decode()
            for secret in (BOT_TOKEN, SIGNING_SECRET, DIALER_KEY):
                assert secret not in out.decode() + err.decode()


class SlowSimulator(SimulatorDialer):
    """The simulator taking its time over each batch, and keeping every contact ref it took."""

    batch_size = 2

    def __init__(self) -> None:
        super().__init__(FAST)
        self.received: list[str] = []

    async def add_contacts(self, ref: str, contacts: Sequence[Contact]) -> None:
        await asyncio.sleep(0.1)
        await super().add_contacts(ref, contacts)
        self.received.extend(contact.ref for contact in contacts)


async def test_an_upload_cut_short_by_a_shutdown_resumes_at_the_next_start_sending_each_once(
    redis: Redis,
) -> None:
    dialer = SlowSimulator()
    prefix = f"test:{uuid.uuid4().hex[:10]}:"
    rows = "".join(f"Lead {n},+1415555{n:04d}\n" for n in range(1, 31))
    leads = f"name,phone\n{rows}".encode()
    one_at_a_time = LeadsSettings(upload_concurrency=1, progress_interval_seconds=0.05)
    slack = SlackStandIn(member_of={CHANNEL})
    await slack.start()
    try:
        async with running_bot(
            redis, dialer=dialer, prefix=prefix, leads_settings=one_at_a_time, slack=slack
        ) as bot:
            opened = await _open_new_campaign_form(bot)
            file_id = bot.slack.add_file(leads)
            await bot.submit(ANA, opened, new_campaign_values("Cut short", file_id))
            campaign = await bot.campaign_where(lambda c: c.name == "Cut short")
            while len(dialer.received) < 6:
                await asyncio.sleep(0.02)
        # The server has shut down as on SIGTERM: the upload stopped, its progress kept.
        keys = UploadKeys(prefix)
        left = await upload_status(UploadStore(redis, keys), campaign.ref)
        assert left is not None and left.state is UploadState.UPLOADING and not left.running
        assert 6 <= left.sent < 30 and left.sent == len(dialer.received)

        async with running_bot(
            redis, dialer=dialer, prefix=prefix, leads_settings=one_at_a_time, slack=slack
        ) as restarted:
            await restarted.channel_message(f"Leads for {campaign.ref} uploaded: 30", timeout=15)
        assert sorted(dialer.received) == sorted(set(dialer.received))
        assert len(dialer.received) == 30
    finally:
        await slack.stop()
        await dialer.aclose()
        await forget(redis, prefix)


async def _open_new_campaign_form(bot: SlackDriver) -> dict[str, Any]:
    opened_before = len(bot.slack.calls("views.open"))
    answer, _ = await bot.command(ANA, "new")
    assert answer.status == 200
    return await bot.opened_view(opened_before + 1)
