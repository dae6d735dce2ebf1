"""``manifest.yml`` matches what the app does: its command, its endpoint, its scopes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.slack.channels import BOT_HANDLE
from bot.slack.listeners.commands import COMMAND
from bot.slack.listeners.shortcuts import CREATE_FROM_FILE
from commands.parse import USAGE

MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"


def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_slash_command_and_interactivity_go_to_the_slack_endpoint() -> None:
    app = manifest()
    (command,) = app["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["url"].endswith("/slack/events")
    assert app["settings"]["interactivity"]["is_enabled"] is True
    assert app["settings"]["interactivity"]["request_url"] == command["url"]
    assert app["settings"]["socket_mode_enabled"] is False


def test_the_usage_hint_names_every_subcommand() -> None:
    (command,) = manifest()["features"]["slash_commands"]
    for verb in set(USAGE) - {"help"}:
        assert verb in command["usage_hint"]


def test_the_bot_asks_for_the_scopes_it_uses_and_no_more() -> None:
    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert scopes == {
        "commands",
        "chat:write",
        "files:read",
        "files:write",
        "usergroups:read",
        "channels:read",
        "groups:read",
        "users:read",
    }
    assert manifest()["features"]["bot_user"]["display_name"] == BOT_HANDLE.removeprefix("@")


def test_the_message_shortcut_is_the_one_the_bot_listens_to() -> None:
    (shortcut,) = manifest()["features"]["shortcuts"]
    assert shortcut["type"] == "message"
    assert shortcut["callback_id"] == CREATE_FROM_FILE
    assert shortcut["name"] == "Create campaign from this file" and shortcut["description"]
