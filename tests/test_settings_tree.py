"""Every setting is read and checked once, at start-up, as one tree: every bad variable of every
section (bot, leads, playground, the selected dialer's) is named on its own line, the process
exits 2, and nothing starts."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import (
    PlaygroundSettings,
    Settings,
    SettingsError,
    load_settings_tree,
)
from commands.leads.settings import LeadsSettings
from dialer.enigma import EnigmaSettings
from dialer.simulator import SimulatorKnobs

ROOT = Path(__file__).resolve().parent.parent
SECTION_PREFIXES = (
    "SLACK_",
    "REDIS_",
    "LEADS_",
    "PLAYGROUND_",
    "ENIGMA_",
    "SIMULATOR_",
    "GENESYS_",
    "VOIPBIN_",
)

BAD = {
    "REDIS_CONNECT_TIMEOUT_SECONDS": "0",
    "PORT": "0",
    "LEADS_MAX_ROWS": "0",
    "PLAYGROUND_ENABLED": "perhaps",
    "DIALER": "enigma",  # valid, but ENIGMA_API_URL is not set
}
EXPECTED = [  # the bot's section in field order, then leads, playground, the dialer's
    "campaign-bot: REDIS_CONNECT_TIMEOUT_SECONDS: Input should be greater than 0",
    "campaign-bot: PORT: Input should be greater than or equal to 1",
    "campaign-bot: LEADS_MAX_ROWS: Input should be greater than or equal to 1",
    "campaign-bot: PLAYGROUND_ENABLED: Input should be a valid boolean, unable to interpret input",
    "campaign-bot: ENIGMA_API_URL: required, and not set",
]


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in list(os.environ):
        if name.startswith(SECTION_PREFIXES) or name in {"PORT", "DIALER", "HOST"}:
            monkeypatch.delenv(name)
    return monkeypatch


def test_every_bad_variable_of_every_section_gets_its_own_line(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    for name, value in BAD.items():
        clean_environment.setenv(name, value)
    with pytest.raises(SettingsError) as refused:
        load_settings_tree()
    assert refused.value.lines == EXPECTED


def test_the_sections_come_from_their_own_variables(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("DIALER", "enigma")
    clean_environment.setenv("ENIGMA_API_URL", "http://enigma.example:8080")
    clean_environment.setenv("LEADS_MAX_ROWS", "7")
    clean_environment.setenv("PLAYGROUND_HOST", "0.0.0.0")
    tree = load_settings_tree()
    assert isinstance(tree.bot, Settings) and tree.bot.dialer == "enigma"
    assert isinstance(tree.leads, LeadsSettings) and tree.leads.max_rows == 7
    assert isinstance(tree.playground, PlaygroundSettings) and tree.playground.host == "0.0.0.0"
    assert isinstance(tree.dialer, EnigmaSettings)
    assert str(tree.dialer.api_url).startswith("http://enigma.example:8080")


def test_the_simulator_is_the_default_dialer_section(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("SIMULATOR_START_DELAY", "0.25")
    tree = load_settings_tree()
    assert isinstance(tree.dialer, SimulatorKnobs) and tree.dialer.start_delay == 0.25


def test_a_webhook_dialer_without_its_secret_is_one_more_line(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("DIALER", "voipbin")
    clean_environment.setenv("VOIPBIN_ACCESSKEY", "k-1")
    clean_environment.setenv("LEADS_DEFAULT_REGION", "XX")
    with pytest.raises(SettingsError) as refused:
        load_settings_tree()
    assert [line.split(":")[1].strip() for line in refused.value.lines] == [
        "LEADS_DEFAULT_REGION",
        "VOIPBIN_WEBHOOK_SECRET",
    ]


def test_a_list_that_is_not_json_is_named_like_any_other_variable(
    clean_environment: pytest.MonkeyPatch,
) -> None:
    clean_environment.setenv("DIALER", "genesys")
    clean_environment.setenv("GENESYS_OCS_URL", "http://ocs.example:8090")
    clean_environment.setenv("GENESYS_WEBHOOK_TOKEN", "t-1")
    clean_environment.setenv("GENESYS_CAMPAIGN_GROUPS", "Spring promo")
    clean_environment.setenv("PORT", "http")
    with pytest.raises(SettingsError) as refused:
        load_settings_tree()
    assert refused.value.lines == [
        "campaign-bot: PORT: Input should be a valid integer, unable to parse string as an integer",
        "campaign-bot: GENESYS_CAMPAIGN_GROUPS: expected JSON "
        "(Expecting value: line 1 column 1 (char 0))",
    ]


def test_the_command_exits_2_naming_each_bad_variable_and_starts_nothing(tmp_path: Path) -> None:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        **BAD,
    }
    finished = subprocess.run(
        [sys.executable, "-m", "bot.cli", "serve"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert finished.returncode == 2, finished.stderr
    assert finished.stderr.splitlines() == EXPECTED  # and no log line: nothing was started
    assert finished.stdout == ""


SECTIONS = {
    "Settings",
    "LeadsSettings",
    "PlaygroundSettings",
    "SimulatorKnobs",
    "EnigmaSettings",
    "VoipbinSettings",
    "LiveVoxSettings",
    "GenesysSettings",
}
READS_THE_ENVIRONMENT_TOO = {
    Path("bot/settings.py"),  # the loader
    Path("bot/logging_setup.py"),  # scans it for secret values to keep out of the logs
}


def _environment_reads(source: str) -> list[int]:
    """Lines that read the environment: ``os.environ``, ``os.getenv`` or a section made from it
    (``LeadsSettings()``, ``VoipbinSettings(accesskey=…)``: pydantic-settings reads the rest)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
            found.append(node.lineno)
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name in SECTIONS:
                found.append(node.lineno)
    return sorted(set(found))


def test_no_module_but_the_settings_tree_reads_the_environment() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for package in ("bot", "commands", "dialer", "state")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.relative_to(ROOT) not in READS_THE_ENVIRONMENT_TOO
        and not path.is_relative_to(ROOT / "bot" / "demo")  # a scripted session, not the bot
        for line in _environment_reads(path.read_text())
    ]
    assert found == [], "take the value from the settings tree instead: " + ", ".join(found)


def test_the_check_sees_each_way_of_reading_the_environment() -> None:
    source = (
        "a = os.environ['X']\n"
        "b = os.getenv('X')\n"
        "c = LeadsSettings()\n"
        "d = settings.Settings(dialer='x')\n"
        "e = LeadsSettings.model_construct()\n"
    )
    assert _environment_reads(source) == [1, 2, 3, 4]
