"""deploy/compose.yaml is a valid Compose file (the Compose Specification's own JSON Schema,
vendored under deploy/schemas, offline) and runs the bot as the README says: beside a Redis
with append-only persistence, both with health checks, settings from an env file that names
only settings the bot reads."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from bot.settings import Settings
from tests.deploy_settings import known_settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
SCHEMA = json.loads((DEPLOY / "schemas" / "compose-spec.json").read_text(encoding="utf-8"))
COMPOSE: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
ENV_EXAMPLE = DEPLOY / "campaign-bot.env.example"


def schema_errors(document: dict[str, Any]) -> list[str]:
    validator = Draft202012Validator(SCHEMA)
    return sorted(error.message for error in validator.iter_errors(document))


def env_file_values(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def bot() -> dict[str, Any]:
    service: dict[str, Any] = COMPOSE["services"]["bot"]
    return service


def redis() -> dict[str, Any]:
    service: dict[str, Any] = COMPOSE["services"]["redis"]
    return service


def test_the_vendored_schema_is_a_valid_json_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["title"] == "Compose Specification"


def test_the_compose_file_follows_the_compose_specification() -> None:
    assert schema_errors(COMPOSE) == []


def test_a_misspelled_key_is_caught_by_the_schema_check() -> None:
    broken = copy.deepcopy(COMPOSE)
    broken["services"]["bot"]["healthcheck"]["intervall"] = "15s"
    assert any("intervall" in message for message in schema_errors(broken))


def test_redis_keeps_what_it_acknowledged_on_a_volume() -> None:
    command = redis()["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] in ("everysec", "always")
    (volume,) = redis()["volumes"]
    name, _, mount = volume.partition(":")
    assert mount == "/data" and name in COMPOSE["volumes"]


def test_both_services_have_health_checks_and_the_bot_waits_for_redis() -> None:
    assert redis()["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    check = bot()["healthcheck"]["test"]
    assert check[0] == "CMD" and f"127.0.0.1:{Settings().port}/healthz" in check[-1]
    assert bot()["depends_on"] == {"redis": {"condition": "service_healthy"}}
    assert bot()["environment"]["REDIS_URL"] == "redis://redis:6379/0"


def test_settings_come_from_an_env_file_kept_out_of_git() -> None:
    (env_file,) = bot()["env_file"]
    assert env_file == {"path": "campaign-bot.env", "required": True}
    ignored = (DEPLOY.parent / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "deploy/campaign-bot.env" in ignored
    assert ENV_EXAMPLE.exists()


def test_every_variable_the_env_file_and_compose_set_is_a_setting_the_bot_reads() -> None:
    names = set(env_file_values(ENV_EXAMPLE)) | set(bot()["environment"])
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "CAMPAIGN_LEADS", "DIALER"} <= names
    assert sorted(names - known_settings()) == []


def test_the_example_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    values = env_file_values(ENV_EXAMPLE) | bot()["environment"]
    for name, value in values.items():
        monkeypatch.setenv(name, str(value))
    settings = Settings()
    assert settings.port == int(bot()["ports"][0].rpartition(":")[2])
    assert settings.redis_url == "redis://redis:6379/0"


def test_the_drain_fits_in_the_stop_grace_period() -> None:
    drain = float(env_file_values(ENV_EXAMPLE)["SHUTDOWN_DRAIN_SECONDS"])
    grace = float(bot()["stop_grace_period"].removesuffix("s"))
    assert grace >= drain + 10


def test_the_bot_runs_read_only_without_capabilities() -> None:
    assert bot()["read_only"] is True
    assert bot()["cap_drop"] == ["ALL"]
    assert "/tmp" in bot()["tmpfs"]
