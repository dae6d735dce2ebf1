"""``python -m benchmarks``: every figure, in one run, as one JSON document on stdout (and in
``benchmarks/results/latest.json``).

Alert pacing runs at Slack's real pace (minutes), so it runs in a child process beside the
others; it waits until its status changes are in before the others start, and afterwards it
only makes one Slack call a second. ``--only NAME`` runs one figure; ``--toy`` runs every
figure at a toy size (the smoke test's sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import (
    ack_latency,
    alert_pacing,
    csv_validation,
    dnc,
    ingest,
    memory,
    shared_limits,
    upload,
    window_openings,
)
from benchmarks.common import Figure
from benchmarks.load import ROOT
from bot import event_loop

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
INJECTED = "injected"


def runners(toy: bool) -> dict[str, Callable[[], Awaitable[Figure]]]:
    """Each figure's name and how to run it, in the order they run."""
    return {
        "slash_command_ack_latency": lambda: ack_latency.run(
            ack_latency.TOY if toy else ack_latency.FULL
        ),
        "notification_ingest": lambda: ingest.run(
            ingest.TOY if toy else ingest.FULL, profile_size=None if toy else ingest.PROFILED
        ),
        "csv_validation": lambda: csv_validation.run(
            csv_validation.TOY if toy else csv_validation.FULL
        ),
        "memory": lambda: memory.run(memory.TOY if toy else memory.FULL),
        "dnc_check": lambda: dnc.run(dnc.TOY if toy else dnc.FULL),
        "upload": lambda: upload.run(upload.TOY if toy else upload.FULL),
        "shared_limits": lambda: shared_limits.run(
            shared_limits.TOY if toy else shared_limits.FULL
        ),
        "window_openings": lambda: window_openings.run(
            window_openings.TOY if toy else window_openings.FULL
        ),
    }


async def alert_pacing_alone(toy: bool) -> None:
    """The child: says when its changes are in, then prints its figure."""
    size = alert_pacing.TOY if toy else alert_pacing.FULL

    def injected() -> None:
        print(INJECTED, flush=True)

    print(json.dumps(await alert_pacing.run(size, injected)), flush=True)


async def run_all(toy: bool) -> dict[str, Any]:
    started = time.monotonic()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks",
        "--alert-pacing-child",
        *(["--toy"] if toy else []),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert child.stdout is not None
    while (line := await child.stdout.readline()) and line.strip() != INJECTED.encode():
        pass
    figures: dict[str, Any] = {}
    for name, run in runners(toy).items():
        figures[name] = await _timed(run)
    out, _ = await child.communicate()
    figures["alert_pacing"] = (
        json.loads(out)
        if child.returncode == 0
        else {"met": False, "why": f"the alert pacing child failed ({child.returncode})"}
    )
    return {
        "run": {
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": round(time.monotonic() - started, 1),
            "toy": toy,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}",
        },
        **figures,
        "all_met": all(figure.get("met") for figure in figures.values()),
    }


async def _timed(run: Callable[[], Awaitable[Figure]]) -> Figure:
    started = time.monotonic()
    figure = await run()
    figure["took_s"] = round(time.monotonic() - started, 1)
    return figure


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--toy", action="store_true", help="every figure at a toy size")
    parser.add_argument("--only", choices=[*runners(False), "alert_pacing"])
    parser.add_argument("--alert-pacing-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    if args.alert_pacing_child:
        event_loop.run(alert_pacing_alone(args.toy))
        return
    if args.only == "alert_pacing":
        size = alert_pacing.TOY if args.toy else alert_pacing.FULL
        document: dict[str, Any] = {"alert_pacing": event_loop.run(alert_pacing.run(size))}
    elif args.only:
        document = {args.only: event_loop.run(_timed(runners(args.toy)[args.only]))}
    else:
        document = event_loop.run(run_all(args.toy))
    text = json.dumps(document, indent=2)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
