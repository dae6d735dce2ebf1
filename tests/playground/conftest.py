"""A playground on a free loopback port, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import fakeredis
import pytest

from bot.playground.app import Playground, WatchedSimulator
from bot.settings import Settings
from commands.leads.settings import LeadsSettings
from dialer.models import Contact
from dialer.simulator import SimulatorKnobs

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).exists()
needs_chromium = pytest.mark.skipif(
    not HAVE_CHROMIUM, reason="Chromium is not installed (.ci/run installs Debian's chromium)"
)
# Quick, but slow enough to see "starting" before "running" and an upload's progress.
KNOBS = SimulatorKnobs(start_delay=0.8, call_duration=0.6, tick=0.05, notify_delay=0.02)


class SlowUploads(WatchedSimulator):
    """The simulator taking its time over each batch of leads, so progress shows."""

    batch_size = 2

    async def add_contacts(self, ref: str, contacts: Sequence[Contact]) -> None:
        await asyncio.sleep(0.12)
        await super().add_contacts(ref, contacts)


def playground_settings() -> Settings:
    return Settings(
        port=1,  # replaced by a free port
        redis_url=None,
        redis_key_prefix="playground-test:",
        log_level="WARNING",
        campaign_leads=(),
    )


@pytest.fixture
async def playground() -> AsyncIterator[Playground]:
    dialer = SlowUploads(KNOBS)
    running = Playground(
        playground_settings(),
        port=0,
        dialer=dialer,
        redis=fakeredis.FakeAsyncRedis(),
        leads_settings=LeadsSettings(progress_interval_seconds=0.05),
        alert_pace=0.0,
    )
    async with running:
        yield running
    await dialer.aclose()
