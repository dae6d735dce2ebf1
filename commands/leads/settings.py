"""Settings of the leads pipeline, from ``LEADS_*`` environment variables (read by bootstrap)."""

from __future__ import annotations

import phonenumbers
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class LeadsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEADS_", frozen=True)

    default_region: str = "US"
    """Region for numbers written without a country code (ISO 3166 alpha-2, e.g. US, GB)."""
    max_file_bytes: int = Field(default=50 * 1024 * 1024, ge=1)
    max_rows: int = Field(default=1_000_000, ge=1)
    max_field_length: int = Field(default=500, ge=1)
    """Longest cell accepted; a longer one rejects its row."""
    upload_concurrency: int = Field(default=4, ge=1, le=64)
    upload_max_attempts: int = Field(default=8, ge=1)
    """Tries per batch on timeouts, 5xx and 429 before the upload stops."""
    upload_backoff_seconds: float = Field(default=0.5, gt=0)
    upload_backoff_max_seconds: float = Field(default=60.0, gt=0)
    upload_lease_seconds: float = Field(default=30.0, gt=0)
    """How long a crashed process keeps its claim on an upload before another may resume it."""
    progress_interval_seconds: float = Field(default=2.0, ge=0)
    validation_processes: int = Field(default=0, ge=0)
    """Processes that check a big file's rows; 0: one per core this process may use."""
    parallel_from_rows: int = Field(default=50_000, ge=0)
    """Rows checked in this process before a file is big enough to start worker processes
    (starting them takes about a second)."""

    @field_validator("default_region")
    @classmethod
    def _known_region(cls, value: str) -> str:
        region = value.upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{value!r} is not a region phonenumbers knows (e.g. US, GB, DE)")
        return region
