"""VoIPBIN settings, read from ``VOIPBIN_*`` environment variables."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from dialer.voipbin.mapping import NIL_ID

DEFAULT_API_URL = "https://api.voipbin.net/v1.0"


class VoipbinSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VOIPBIN_", frozen=True)

    api_url: str = DEFAULT_API_URL
    login_url: str | None = None
    """Where ``POST /auth/login`` lives; by default ``<host>/auth/login`` beside the API."""
    accesskey: SecretStr | None = None
    username: str | None = None
    password: SecretStr | None = None
    webhook_secret: SecretStr | None = None

    # VoIPBIN's per-customer limit (a GCRA in Redis, across its API servers): 16.7 requests/s,
    # burst 33 (voipbin/monorepo bin-api-manager/internal/config/main.go,
    # rate_limit_customer_v1_rps / _burst). The bot keeps to it across all its replicas.
    requests_per_second: float = Field(default=16.7, gt=0)
    request_burst: int = Field(default=33, ge=1)
    max_retries: int = Field(default=4, ge=0)
    backoff_seconds: float = Field(default=0.5, ge=0)
    backoff_max_seconds: float = Field(default=8.0, ge=0)
    retry_after_max_seconds: float = Field(default=60.0, ge=0)
    """The longest ``Retry-After`` waited out; a longer one fails the call, carrying it."""
    timeout_seconds: float = Field(default=10.0, gt=0)

    caller_id: str = ""
    """The number campaign calls come from (E.164), put in the outplans the bot creates."""
    outplan_id: str | None = None
    """Use this existing outplan for every campaign instead of creating one per campaign."""
    queue_id: str | None = None
    """Use this existing queue for every campaign instead of creating one per campaign."""
    campaign_type: Literal["call", "flow"] = "call"
    greeting: str = ""
    """Spoken with a ``talk`` action when a callee answers, before the call joins the queue."""
    greeting_language: str = "en-US"
    actions: list[dict[str, Any]] | None = None
    """Flow actions as JSON; when set they replace the greeting."""
    queue_wait_timeout_ms: int = Field(default=300_000, ge=0)
    queue_service_timeout_ms: int = Field(default=600_000, ge=0)

    @model_validator(mode="after")
    def _credentials(self) -> VoipbinSettings:
        if self.accesskey is None and not (self.username and self.password):
            raise ValueError(
                "VoIPBIN needs credentials: set VOIPBIN_ACCESSKEY, "
                "or VOIPBIN_USERNAME and VOIPBIN_PASSWORD"
            )
        return self

    def resolved_login_url(self) -> str:
        if self.login_url:
            return self.login_url
        parts = urlsplit(self.api_url.rstrip("/"))
        parent = parts.path.rsplit("/", 1)[0]  # drop the version segment, e.g. "/v1.0"
        return urlunsplit((parts.scheme, parts.netloc, f"{parent}/auth/login", "", ""))

    def flow_actions(self) -> list[dict[str, Any]]:
        """The campaign's actions; the spec requires an ``id``, VoIPBIN assigns real ones."""
        if self.actions is not None:
            return [{"id": NIL_ID, **action} for action in self.actions]
        if not self.greeting:
            return []
        option = {"text": self.greeting, "language": self.greeting_language}
        return [{"id": NIL_ID, "type": "talk", "option": option}]
