"""``campaign-bot`` with nothing configured: the playground's address comes first, the page and
the bot answer on it (loopback only), Slack requests still need the signature, and SIGTERM stops
it gracefully. With Slack tokens configured there is no playground."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.faults.processes import ROOT, bare_environment, free_port


async def _first_line(process: subprocess.Popen[str], timeout: float = 20.0) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), timeout)
    return line.rstrip("\n")


async def _answering(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=1.0) as client:
        while True:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} never answered")
            await asyncio.sleep(0.1)


async def test_with_nothing_configured_serve_prints_the_playground_first_and_serves_it(
    tmp_path: Path,
) -> None:
    port = free_port()
    errors = tmp_path / "stderr.log"
    with errors.open("w") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli"],
            cwd=ROOT,
            env=bare_environment(PORT=str(port), SIMULATOR_START_DELAY="0.1"),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        try:
            url = f"http://127.0.0.1:{port}/"
            assert await _first_line(process) == f"Slack playground: {url}"
            await _answering(f"{url}healthz")
            async with httpx.AsyncClient(base_url=url, timeout=5.0) as http:
                page = await http.get("/")
                assert page.status_code == 200 and "Slack playground" in page.text
                assert "script-src 'self'" in page.headers["content-security-policy"]
                state = (await http.get("/playground/api/state")).json()
                assert [p["name"] for p in state["people"]] == ["ana", "bob", "eve"]
                assert [p["lead"] for p in state["people"]] == [True, True, False]
                # The bot's Slack endpoint is real: unsigned requests are refused as ever.
                unsigned = await http.post("/slack/events", content=b"command=%2Fcampaign")
                assert unsigned.status_code == 401
                # The page's API wants its header: a form on another site cannot send it.
                forged = await http.post("/playground/api/command", json={"user": "UANA"})
                assert forged.status_code == 403
                # What the page sends reaches the bot, signed.
                sent = await http.post(
                    "/playground/api/command",
                    json={"user": "UANA", "text": "/campaign help"},
                    headers={"X-Playground": "1"},
                )
                assert sent.json() == {"ok": True}
                state = (await http.get("/playground/api/state")).json()
                assert any("/campaign" in e["text"] for e in state["timeline"])
                # A live page's stream does not hold up a graceful stop.
                async with http.stream("GET", "/playground/api/events") as events:
                    first = await anext(events.aiter_lines())
                    assert first.startswith("data: {")
                    stopping = time.monotonic()
                    process.send_signal(signal.SIGTERM)
                    assert await asyncio.to_thread(process.wait, 20) == 0
                    assert time.monotonic() - stopping < 5
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
            assert process.stdout is not None
            process.stdout.close()
    log = errors.read_text()
    assert "Traceback" not in log, log
    assert "stopped" in log


async def test_with_slack_tokens_configured_there_is_no_playground_unless_asked_for() -> None:
    port = free_port()
    env = bare_environment(
        PORT=str(port),
        HOST="127.0.0.1",
        SLACK_BOT_TOKEN="xoxb-configured-0123456789",
        SLACK_SIGNING_SECRET="configured-secret-0123456789",
        SLACK_API_URL="http://127.0.0.1:9/api/",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        await _answering(f"http://127.0.0.1:{port}/healthz")
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5.0) as http:
            assert (await http.get("/")).status_code == 404
            assert (await http.get("/playground/api/state")).status_code == 404
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        assert process.stdout is not None
        output = process.stdout.read()
        process.stdout.close()
    assert "Slack playground" not in output

    # Asked for explicitly, the playground runs anyway, with Slack played locally.
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "playground"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        assert await _first_line(process) == f"Slack playground: {url}"
        await _answering(url)
        async with httpx.AsyncClient(base_url=url, timeout=5.0) as http:
            sent = await http.post(
                "/playground/api/command",
                json={"user": "UANA", "text": "/campaign help"},
                headers={"X-Playground": "1"},
            )
            assert sent.json() == {"ok": True}
        process.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(process.wait, 20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        assert process.stdout is not None
        process.stdout.close()


async def test_with_the_playground_turned_off_serve_without_slack_says_so_and_answers_503(
    tmp_path: Path,
) -> None:
    port = free_port()
    output = tmp_path / "output.log"
    with output.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli"],
            cwd=ROOT,
            env=bare_environment(PORT=str(port), HOST="127.0.0.1", PLAYGROUND_ENABLED="false"),
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            await _answering(f"http://127.0.0.1:{port}/healthz")
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                assert (await http.get("/healthz")).json()["slack"] is False
                events = await http.post("/slack/events", content=b"payload=%7B%7D")
                assert events.status_code == 503
                assert "Slack is not configured" in events.text
                assert (await http.get("/")).status_code == 404
            process.send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(process.wait, 20) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(10)
    log = output.read_text()
    assert "SLACK IS NOT CONFIGURED" in log and "campaign-bot playground" in log
    assert "Slack playground:" not in log
