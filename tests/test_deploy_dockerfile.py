"""The Dockerfile builds what the deployment files expect: a slim Python base the project
supports, an unprivileged user, the ``campaign-bot`` console script as entry point, and a
HEALTHCHECK on ``/healthz``. The health check's own command is run here against a live server,
so it is known to pass while Redis answers and to fail while it does not, without Docker."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tomllib
import uuid
from pathlib import Path
from typing import Any

import fakeredis
import yaml

from bot.bootstrap import build_services
from bot.server import BotServer
from bot.settings import Settings
from dialer.simulator import SimulatorDialer
from tests.e2e.harness import FAST, serving_on_loopback

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
DEPLOYMENT: dict[str, Any] = yaml.safe_load(
    (ROOT / "deploy" / "kubernetes" / "deployment.yaml").read_text(encoding="utf-8")
)


def instructions() -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` in order, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    found = []
    for line in joined.splitlines():
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def last(name: str) -> str:
    values = [rest for word, rest in instructions() if word == name]
    assert values, f"the Dockerfile has no {name}"
    return values[-1]


def exec_form(arguments: str) -> list[str]:
    """The JSON array of an exec-form instruction (a shell form would not be JSON)."""
    value = json.loads(arguments)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value)
    return value


def healthcheck() -> tuple[dict[str, str], list[str]]:
    options, command = {}, last("HEALTHCHECK")
    while command.startswith("--"):
        option, _, command = command.partition(" ")
        name, _, value = option.removeprefix("--").partition("=")
        options[name] = value
        command = command.strip()
    word, _, arguments = command.partition(" ")
    assert word == "CMD", "HEALTHCHECK CMD […] in exec form"
    return options, exec_form(arguments)


def container() -> dict[str, Any]:
    (found,) = DEPLOYMENT["spec"]["template"]["spec"]["containers"]
    return dict(found)


def test_the_base_is_a_slim_python_the_project_supports() -> None:
    match = re.fullmatch(r"python:(\d+)\.(\d+)-slim", last("FROM"))
    assert match, f"not a slim Python image: {last('FROM')}"
    minimum = re.fullmatch(r">=(\d+)\.(\d+)", PYPROJECT["project"]["requires-python"])
    assert minimum is not None
    assert tuple(map(int, match.groups())) >= tuple(map(int, minimum.groups()))


def test_the_process_runs_as_the_unprivileged_uid_kubernetes_expects() -> None:
    user = last("USER")
    assert user.isdigit() and int(user) != 0
    assert DEPLOYMENT["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(user)


def test_the_entry_point_is_the_console_script_and_serve_its_default() -> None:
    assert exec_form(last("ENTRYPOINT")) == ["campaign-bot"]
    assert exec_form(last("CMD")) == ["serve"]
    assert "campaign-bot" in PYPROJECT["project"]["scripts"]
    assert container()["command"] == ["campaign-bot"] and container()["args"] == ["serve"]


def test_the_health_check_asks_healthz_on_the_exposed_port() -> None:
    options, command = healthcheck()
    port = Settings().port
    assert last("EXPOSE") == str(port)
    assert command[:2] == ["python", "-c"] and "/healthz" in command[2]
    assert "'PORT', '3000'" in command[2] and port == 3000
    seconds = {name: float(value.removesuffix("s")) for name, value in options.items()}
    assert seconds["timeout"] < seconds["interval"]


async def run_health_check(port: int) -> int:
    """The HEALTHCHECK command as Docker runs it, with this interpreter as ``python``."""
    _, command = healthcheck()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *command[1:],
        env={"PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await process.wait()


async def health_check_exit_code(*, redis_answers: bool) -> int:
    server = fakeredis.FakeServer()
    redis = fakeredis.FakeAsyncRedis(server=server)
    settings = Settings(redis_key_prefix=f"test:{uuid.uuid4().hex[:8]}:", host="127.0.0.1")
    services = build_services(settings, redis=redis, dialer=SimulatorDialer(FAST))
    async with serving_on_loopback(BotServer(services)) as url:
        server.connected = redis_answers
        try:
            return await run_health_check(int(url.rsplit(":", 1)[1]))
        finally:
            server.connected = True  # so the server stops as it would


async def test_the_health_check_passes_while_redis_answers() -> None:
    assert await health_check_exit_code(redis_answers=True) == 0


async def test_the_health_check_fails_while_redis_does_not_answer() -> None:
    assert await health_check_exit_code(redis_answers=False) != 0
