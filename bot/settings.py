"""Every setting the bot reads, from environment variables. Read once, by ``bot.cli``.

Each adapter reads its own dialer's settings (``VOIPBIN_*``, ``ENIGMA_*``…) in its module.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_alert_channel: str | None = None
    campaign_leads: Annotated[tuple[str, ...], NoDecode] = ()
    """Slack user ids (U…/W…) and user-group ids (S…) allowed to change campaigns."""

    redis_url: str | None = None
    """None runs on an in-memory store that loses everything on exit."""
    redis_key_prefix: str = "cb:"

    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=1, le=65535)
    dialer: str = "simulator"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    log_json: bool = False
    healthz_dialer_cache_seconds: float = Field(default=10.0, ge=0)
    """How long ``GET /healthz`` reuses its last answer from the dialer."""
    shutdown_drain_seconds: float = Field(default=10.0, ge=0)
    """How long a stopping server keeps sending queued Slack alerts."""
    notification_claim_idle_seconds: float = Field(default=30.0, gt=0)
    """How long a notification stays with a consumer that took it and went silent (a crashed
    replica) before another replica claims it."""

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected redis://host:6379/0, rediss://… (TLS) or unix:///path")
        return value

    @field_validator("campaign_leads", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(
                part.strip() for part in value.replace(" ", ",").split(",") if part.strip()
            )
        return value

    @field_validator("campaign_leads")
    @classmethod
    def _slack_ids(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            if entry[:1] not in {"U", "W", "S"} or not entry.isalnum():
                raise ValueError(f"{entry!r} is not a Slack user id (U…, W…) or user-group id (S…)")
        return value

    @field_validator("dialer")
    @classmethod
    def _known_dialer(cls, value: str) -> str:
        from dialer.registry import adapter_names

        if value not in adapter_names():
            raise ValueError(
                f"{value!r} is not a known dialer; use one of: {', '.join(adapter_names())}"
            )
        return value
