"""Every setting the bot runs with, as one tree read from the environment once at start-up.

``load_settings_tree`` (called by ``bot.cli``) reads each section from its own variables:

- ``bot``: the bot's, Slack's and Redis' settings (``Settings``, no prefix: ``SLACK_BOT_TOKEN``,
  ``REDIS_URL``, ``DIALER``…);
- ``leads``: the lead upload's (``commands.leads.settings.LeadsSettings``, ``LEADS_*``);
- ``playground``: the local Slack playground's (``PlaygroundSettings``, ``PLAYGROUND_*``);
- ``dialer``: the selected dialer's section (``dialer.registry.settings_class``: ``VOIPBIN_*``,
  ``ENIGMA_*``…), and its webhook secret where it has webhooks.

Every bad variable of every section is reported at once, one line each, named as it is set in
the environment; nothing starts until all are right. The sections are then handed down:
``bot.bootstrap`` builds everything from the tree, and no other module reads the environment
(``bot.logging_setup``'s ``Redactor`` only scans it for secret values to keep out of the logs).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Annotated, Literal, TypeVar

import pydantic_settings
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from commands.leads.settings import LeadsSettings
from state.connection import parse_redis_url
from state.inbox import INBOX_BLOCK_SECONDS


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
    """None runs on an in-memory store that loses everything on exit; ``redis+cluster://`` and
    ``redis+sentinel://`` name a cluster or a Sentinel-managed primary (``state.connection``)."""
    redis_key_prefix: str = "cb:"
    redis_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    """How long opening a connection to Redis may take before the command fails."""
    redis_socket_timeout_seconds: float = Field(default=3.0, gt=0)
    """How long one Redis command may wait for its answer (a paused or cut-off Redis). Longer
    than ``INBOX_BLOCK_SECONDS``: the notification consumer's blocking read waits that long."""
    redis_wait_replicas: int = Field(default=0, ge=0)
    """Replicas that must hold a dialer's notification before its webhook is answered (``WAIT``),
    so that a failover does not lose it: 1 with Sentinel (and two replicas, so that one is left
    after a failover). 0 on a cluster."""

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

    # -- limits at the HTTP edge: what an attacker or a broken client may hold --
    slack_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest ``POST /slack/events`` body; a larger one is answered 413 unread."""
    webhook_max_body_bytes: int = Field(default=1_048_576, ge=1024)
    """Largest ``POST /dialer/<name>/events`` body."""
    http_header_timeout_seconds: float = Field(default=10.0, gt=0)
    """A connection that has not sent a whole request head this long after it opened (or after
    its last answer) is closed: idle and slow-header clients."""
    http_body_timeout_seconds: float = Field(default=10.0, gt=0)
    """A request body not received in full this long after its head is answered 408."""
    http_keep_alive_seconds: int = Field(default=5, ge=1)
    """How long an idle keep-alive connection stays open after an answer."""
    http_max_header_bytes: int = Field(default=16_384, ge=1024)
    """Largest request head (request line and headers): past it, 431, whether the head is
    complete or still arriving."""
    http_max_connections: int = Field(default=1000, ge=1)
    """Open connections at most. Past it the oldest connection still waiting for its request head
    is closed to make room; when every connection is busy with a request, new ones get 503."""
    webhook_buffer_max: int = Field(default=10_000, ge=0)
    """Notifications a webhook brought while Redis was away, kept in memory until it is back;
    past it webhooks are answered 503 and the dialer retries."""
    dialer_webhooks_unsigned: bool = False
    """Run a webhook dialer (VoIPBIN, Genesys) without its webhook secret: anyone who can reach
    ``/dialer/<name>/events`` could then forge its notifications. Off unless set explicitly."""
    reconcile_interval_seconds: float = Field(default=60.0, gt=0)
    """How often one replica compares every live campaign's status with the dialer's."""
    removal_approval_ttl_seconds: float = Field(default=86_400.0, gt=0)
    """How long a removal request waits for another lead's approval before it expires."""
    audit_retention_days: float = Field(default=90.0, gt=0)
    """How long a deleted campaign's history (its audit) is kept after the deletion."""

    @model_validator(mode="after")
    def _socket_outwaits_blocking_reads(self) -> Settings:
        if self.redis_socket_timeout_seconds <= INBOX_BLOCK_SECONDS:
            raise ValueError(
                f"REDIS_SOCKET_TIMEOUT_SECONDS must be more than {INBOX_BLOCK_SECONDS:g}, how long "
                "the notification consumer's blocking read waits"
            )
        return self

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, value: str | None) -> str | None:
        if value:
            parse_redis_url(value)  # one Redis, a cluster or Sentinel: state.connection
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


class PlaygroundSettings(BaseSettings):
    """``PLAYGROUND_HOST``: the address to listen on; unset, loopback only (127.0.0.1), and
    connections from anywhere else are refused. ``PLAYGROUND_ENABLED=false``: with no Slack
    token configured, ``campaign-bot`` serves without the playground (POST /slack/events then
    answers 503)."""

    model_config = SettingsConfigDict(env_prefix="PLAYGROUND_", frozen=True, extra="ignore")

    host: str | None = None
    enabled: bool = True


WEBHOOK_SECRETS = {
    "voipbin": ("VOIPBIN_WEBHOOK_SECRET", "webhook_secret"),
    "genesys": ("GENESYS_WEBHOOK_TOKEN", "webhook_token"),
}
"""The dialers that POST notifications to the bot: the variable, and its field in the dialer's
section, that lets the bot tell their webhooks from forgeries."""


@dataclass(frozen=True)
class SettingsTree:
    bot: Settings
    leads: LeadsSettings
    playground: PlaygroundSettings
    dialer: BaseSettings
    """The section of the dialer ``bot.dialer`` names."""


class SettingsError(ValueError):
    """Start-up cannot go on; each line names a variable and what it expects."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def load_settings_tree() -> SettingsTree:
    """Every section from the environment, or ``SettingsError`` with every bad variable."""
    lines: list[str] = []
    bot = _section(Settings, lines)
    leads = _section(LeadsSettings, lines)
    playground = _section(PlaygroundSettings, lines)
    # The dialer's section is checked even when other bot settings are bad, so that one start
    # names every variable to fix; an unknown DIALER has a line of its own already.
    name = bot.dialer if bot is not None else os.environ.get("DIALER", "simulator")
    dialer = _section(dialer_section_class(name), lines) if _known_dialer(name) else None
    if bot is not None and dialer is not None:
        missing = missing_webhook_secret(bot, dialer)
        if missing is not None:
            lines.append(f"campaign-bot: {missing}")
    if bot is None or leads is None or playground is None or dialer is None or lines:
        raise SettingsError(lines)
    return SettingsTree(bot=bot, leads=leads, playground=playground, dialer=dialer)


def dialer_section(name: str) -> BaseSettings:
    """Dialer ``name``'s section alone, from the environment, or ``SettingsError``."""
    lines: list[str] = []
    section = _section(dialer_section_class(name), lines)
    if section is None:
        raise SettingsError(lines)
    return section


def _known_dialer(name: str) -> bool:
    from dialer.registry import adapter_names

    return name in adapter_names()


def dialer_section_class(name: str) -> type[BaseSettings]:
    from dialer.registry import settings_class

    return settings_class(name)


def missing_webhook_secret(bot: Settings, dialer: BaseSettings) -> str | None:
    """What to set when a webhook dialer has no secret and unsigned webhooks were not allowed
    explicitly (``DIALER_WEBHOOKS_UNSIGNED=true``); None when it may start."""
    if bot.dialer not in WEBHOOK_SECRETS or webhook_secret_set(bot.dialer, dialer):
        return None
    if bot.dialer_webhooks_unsigned:
        return None
    variable, _ = WEBHOOK_SECRETS[bot.dialer]
    return (
        f"{variable}: required with DIALER={bot.dialer}, so that forged webhooks are refused; "
        "to accept unsigned webhooks anyway set DIALER_WEBHOOKS_UNSIGNED=true"
    )


def webhook_secret_set(name: str, dialer: BaseSettings) -> bool:
    """Whether dialer ``name``'s section holds a webhook secret (an empty one counts as none)."""
    _, field = WEBHOOK_SECRETS[name]
    secret = getattr(dialer, field, None)
    return isinstance(secret, SecretStr) and bool(secret.get_secret_value())


def setting_errors(exc: ValidationError, prefix: str = "") -> list[str]:
    """One line per bad variable, named as it is set in the environment (``ENIGMA_API_URL``)."""
    lines = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "required, and not set"
        if error["loc"]:
            variable = f"{prefix}{error['loc'][0]}".upper()
        else:
            variable = f"{prefix.upper()}*" if prefix else "settings"
        lines.append(f"campaign-bot: {variable}: {message}")
    return lines


Section = TypeVar("Section", bound=BaseSettings)


def _section(cls: type[Section], lines: list[str]) -> Section | None:
    prefix = str(cls.model_config.get("env_prefix") or "")
    try:
        return cls()
    except ValidationError as exc:
        lines.extend(setting_errors(exc, prefix))
    except pydantic_settings.SettingsError as exc:
        # A list or an object (GENESYS_CAMPAIGN_GROUPS…) that is not JSON: pydantic-settings
        # stops before validating, and names the field only in its message.
        field = re.search(r'field "([^"]+)"', str(exc))
        variable = f"{prefix}{field.group(1)}".upper() if field else f"{prefix.upper()}*"
        lines.append(f"campaign-bot: {variable}: expected JSON ({exc.__cause__ or exc})")
    return None
