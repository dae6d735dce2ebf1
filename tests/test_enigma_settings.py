"""Building the Enigma adapter from its ``ENIGMA_*`` section, as the registry does."""

from __future__ import annotations

import fakeredis
import pytest

from bot.settings import SettingsError, dialer_section
from dialer.base import Dialer
from dialer.enigma import EnigmaSettings, build
from dialer.registry import AdapterContext


@pytest.fixture
def context() -> AdapterContext:
    return AdapterContext(redis=fakeredis.FakeAsyncRedis())


async def test_the_factory_builds_an_unconnected_dialer_from_its_section(
    monkeypatch: pytest.MonkeyPatch, context: AdapterContext
) -> None:
    monkeypatch.setenv("ENIGMA_API_URL", "http://enigma.example:8080")
    dialer = build(context, EnigmaSettings())
    try:
        assert isinstance(dialer, Dialer)
        assert (dialer.name, dialer.batch_size) == ("enigma", 100)
        assert not dialer.listening
    finally:
        await dialer.aclose()


def test_without_an_api_url_the_section_says_which_setting_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ENIGMA_API_URL", raising=False)
    with pytest.raises(SettingsError) as refused:
        dialer_section("enigma")
    assert refused.value.lines == ["campaign-bot: ENIGMA_API_URL: required, and not set"]


def test_defaults_point_at_enigmas_own_redis_and_channels(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ENIGMA_API_URL", "http://enigma.example:8080")
    for name in ("ENIGMA_REDIS_URL", "ENIGMA_CHANNEL_PREFIX", "ENIGMA_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings = EnigmaSettings()
    assert settings.redis_url == "redis://127.0.0.1:8001"
    assert settings.channel_prefix == "enigma:notifications:"
    assert settings.api_key is None


def test_the_api_key_is_kept_out_of_reprs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENIGMA_API_URL", "http://enigma.example:8080")
    monkeypatch.setenv("ENIGMA_API_KEY", "s3cret")
    assert "s3cret" not in repr(EnigmaSettings())
