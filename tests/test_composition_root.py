"""``bot.bootstrap`` builds every part from the settings; the server and the Bolt app module
build nothing themselves."""

from __future__ import annotations

import ast
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import fakeredis
import pytest
from pydantic import SecretStr

from bot.bootstrap import Bot, build_bot, build_services
from bot.server import BotServer
from bot.settings import Settings
from commands.leads.settings import LeadsSettings
from dialer.simulator import SimulatorDialer, SimulatorKnobs

ROOT = Path(__file__).resolve().parent.parent
PARTS = {
    "AsyncWebClient",
    "CampaignStore",
    "ChannelAlerts",
    "Deps",
    "Engine",
    "HomeTabs",
    "LeadUploads",
    "LeadsIntake",
    "NotificationInbox",
    "Once",
    "SlackEdge",
    "SlackFiles",
    "UploadStore",
    "WindowScheduler",
    "build_services",
    "build_slack",
    "create_http_app",
}


def _parts_built_in(path: Path) -> list[str]:
    calls = (node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Call))
    names = (getattr(call.func, "id", None) or getattr(call.func, "attr", None) for call in calls)
    return sorted({name for name in names if name in PARTS})


@pytest.mark.parametrize("module", ["bot/server.py", "bot/slack/app.py"])
def test_only_the_composition_root_builds_the_parts(module: str) -> None:
    assert _parts_built_in(ROOT / module) == []


def test_the_check_sees_a_part_being_built() -> None:
    assert _parts_built_in(ROOT / "bot" / "bootstrap.py") != []


@pytest.fixture
async def simulator() -> AsyncIterator[SimulatorDialer]:
    dialer = SimulatorDialer(SimulatorKnobs.model_construct())
    yield dialer
    await dialer.aclose()


async def test_with_slack_configured_every_part_is_built_and_wired(
    simulator: SimulatorDialer,
) -> None:
    services = build_services(
        Settings(
            slack_bot_token=SecretStr("xoxb-1"),
            slack_signing_secret=SecretStr("s"),
            slack_api_url="http://127.0.0.1:9/api/",
            redis_key_prefix="root-test:",
        ),
        redis=fakeredis.FakeAsyncRedis(),
        dialer=simulator,
    )
    leads = LeadsSettings(default_region="GB", max_file_bytes=1234)
    bot = build_bot(services, leads_settings=leads, sweep_interval=timedelta(seconds=7))
    try:
        assert isinstance(bot, Bot)
        assert bot.alerts is not None and bot.slack is not None
        edge = bot.slack.edge
        assert edge.deps.store is services.store and edge.deps.dialer is services.dialer
        assert edge.deps.default_region == "GB"
        assert edge.leads.settings is leads
        assert bot.engine.sweep_interval == timedelta(seconds=7)
        assert bot.engine.on_removal_expired is not None
        assert bot.windows is not None and bot.app is not None
    finally:
        if bot.slack is not None:
            await bot.slack.aclose()
        await services.redis.aclose()


async def test_without_slack_only_the_engine_and_the_http_app_run(
    simulator: SimulatorDialer,
) -> None:
    services = build_services(
        Settings(redis_key_prefix="root-test:"), redis=fakeredis.FakeAsyncRedis(), dialer=simulator
    )
    server = BotServer(services)
    assert server.alerts is None and server.slack is None
    assert server.engine.services is services and server.app is not None
    await services.redis.aclose()
