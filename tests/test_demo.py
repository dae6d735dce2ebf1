"""``campaign-bot demo`` on a machine with nothing configured: it plays the whole session and
prints the channel as a person reads it."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from bot.demo.run import KNOBS, run_demo

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_plays_a_campaigns_life_with_nothing_configured() -> None:
    bare = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "demo"],
        cwd=ROOT,
        env=bare,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "every step reached its expected state" in out
    channel = out.split("as a person reads it now:", 1)[1]
    for line in ("is *running*", "is *stopping*", "has *stopped*", "was *deleted*"):
        assert line in channel
    assert channel.index("is *running*") < channel.index("has *stopped*")
    assert channel.index("has *stopped*") < channel.index("was *deleted*")
    assert "uploaded: 4 contacts" in channel
    assert "approved" in channel
    assert "Traceback" not in done.stderr


async def test_the_demo_fails_when_a_step_does_not_reach_its_state() -> None:
    out = io.StringIO()
    refusing = KNOBS.model_copy(update={"failure_rate": 1.0})  # every dialer request fails
    assert await run_demo(out, refusing) == 1
    assert "Demo FAILED" in out.getvalue()
