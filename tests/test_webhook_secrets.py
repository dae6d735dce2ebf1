"""Secure by default: a dialer that POSTs its notifications to the bot does not start without the
secret that tells its webhooks from forgeries, unless ``DIALER_WEBHOOKS_UNSIGNED=true`` says so
explicitly, which is then loud in the log and visible on ``/healthz``."""

from __future__ import annotations

import asyncio
import logging
import sys

import fakeredis
import httpx
import pytest

from bot.bootstrap import build_services
from bot.http import create_http_app
from bot.settings import Settings
from bot.webhook_buffer import NotificationBuffer
from tests.faults.processes import serve_environment
from tests.standins.slack_api import SlackStandIn

SERVE = (sys.executable, "-m", "bot.cli", "serve")
DIALER_ENV = {
    "voipbin": {"VOIPBIN_API_URL": "http://127.0.0.1:9/v1.0", "VOIPBIN_ACCESSKEY": "k-1"},
    "genesys": {"GENESYS_OCS_URL": "http://127.0.0.1:9"},
}
SECRET_OF = {"voipbin": "VOIPBIN_WEBHOOK_SECRET", "genesys": "GENESYS_WEBHOOK_TOKEN"}


def _environment(monkeypatch: pytest.MonkeyPatch, dialer: str, **extra: str) -> None:
    for name in (*SECRET_OF.values(), "DIALER_WEBHOOKS_UNSIGNED"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {**DIALER_ENV[dialer], **extra}.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("dialer", ["voipbin", "genesys"])
async def test_start_up_refuses_a_webhook_dialer_without_its_secret(dialer: str) -> None:
    async with SlackStandIn() as slack:
        env = serve_environment(slack.api_url, "unused:", DIALER=dialer, **DIALER_ENV[dialer])
        for name in (*SECRET_OF.values(), "DIALER_WEBHOOKS_UNSIGNED"):
            env.pop(name, None)
        process = await asyncio.create_subprocess_exec(
            *SERVE, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        _, err = await asyncio.wait_for(process.communicate(), 30)
    lines = [line for line in err.decode().splitlines() if line.startswith("campaign-bot")]
    assert process.returncode == 2, err.decode()
    assert lines == [
        f"campaign-bot: {SECRET_OF[dialer]}: required with DIALER={dialer}, so that forged "
        "webhooks are refused; to accept unsigned webhooks anyway set DIALER_WEBHOOKS_UNSIGNED=true"
    ]
    assert "Traceback" not in err.decode()


@pytest.mark.parametrize("dialer", ["voipbin", "genesys"])
async def test_the_explicit_opt_out_starts_warns_loudly_and_shows_on_healthz(
    dialer: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _environment(monkeypatch, dialer, DIALER_WEBHOOKS_UNSIGNED="true")
    caplog.set_level(logging.WARNING, logger="bot.bootstrap")
    services = build_services(Settings(dialer=dialer), redis=fakeredis.FakeAsyncRedis())
    try:
        assert services.webhooks_unsigned is True
        assert any("WEBHOOKS ARE ACCEPTED WITHOUT A SECRET" in r.message for r in caplog.records)
        buffer = NotificationBuffer(services.inbox, services.metrics)
        app = create_http_app(services, None, None, buffer)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as http:
            health = (await http.get("/healthz")).json()
        assert health["webhooks_unsigned"] is True
    finally:
        await services.aclose()


@pytest.mark.parametrize("dialer", ["voipbin", "genesys"])
async def test_with_its_secret_a_webhook_dialer_starts_signed(
    dialer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _environment(monkeypatch, dialer, **{SECRET_OF[dialer]: "whsec-0123456789"})
    services = build_services(Settings(dialer=dialer), redis=fakeredis.FakeAsyncRedis())
    try:
        assert services.webhooks_unsigned is False
    finally:
        await services.aclose()


def test_an_empty_secret_counts_as_none(monkeypatch: pytest.MonkeyPatch) -> None:
    _environment(monkeypatch, "voipbin", VOIPBIN_WEBHOOK_SECRET="")
    with pytest.raises(ValueError, match=r"^VOIPBIN_WEBHOOK_SECRET: required"):
        build_services(Settings(dialer="voipbin"), redis=fakeredis.FakeAsyncRedis())
