"""What every benchmark shares: the figure shape, percentiles, a private Redis key space, a
profile excerpt, peak memory measured in a fresh process."""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import resource
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from state.connection import redis_client

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

Figure = dict[str, Any]


def figure(value: float, unit: str, target: str, met: bool, **numbers: Any) -> Figure:
    """``{"value", "unit", "target", "met", ...}`` plus the side-by-side numbers behind it."""
    return {"value": round(value, 3), "unit": unit, "target": target, "met": met, **numbers}


def missed(result: Figure, why: str, profile: list[str] | None = None) -> Figure:
    """Explain a missed target in the figure itself."""
    if not result["met"]:
        result["why"] = why
        if profile:
            result["profile"] = profile
    return result


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (``share`` in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(share * len(ordered) + 0.5)))
    return ordered[rank - 1]


def rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


@contextlib.asynccontextmanager
async def redis_space(name: str) -> AsyncIterator[tuple[Redis, str]]:
    """A client on the shared Redis, made as the bot makes its own, and a key prefix nobody else
    uses; its keys go afterwards."""
    redis: Redis = redis_client(REDIS_URL)
    prefix = f"bench:{name}:{uuid.uuid4().hex[:8]}:"
    try:
        await redis.ping()
        yield redis, prefix
    finally:
        await forget(redis, prefix)
        await redis.aclose()


async def forget(redis: Redis, prefix: str) -> None:
    batch: list[Any] = []
    async for key in redis.scan_iter(match=f"{prefix}*", count=1000):
        batch.append(key)
        if len(batch) >= 500:
            await redis.delete(*batch)
            batch.clear()
    if batch:
        await redis.delete(*batch)


def top_functions(profile: cProfile.Profile, count: int = 10) -> list[str]:
    """The functions with the most own time, then the project's own functions with the most
    time inside them: ``seconds calls file:line(function)``, one line each, for the JSON."""
    stats = pstats.Stats(profile)
    rows = [
        (own, inclusive, calls, f"{_short(file)}:{line}({name})")
        for (file, line, name), (_, calls, own, inclusive, _) in stats.stats.items()  # type: ignore[attr-defined]
    ]
    by_own = sorted(rows, key=lambda row: -row[0])[:count]
    ours = [row for row in rows if row[3].startswith(PROJECT_PACKAGES)]
    by_inclusive = sorted(ours, key=lambda row: -row[1])[:count]
    return [f"own {own:.3f} s  {calls} calls  {where}" for own, _, calls, where in by_own] + [
        f"inclusive {inclusive:.3f} s  {calls} calls  {where}"
        for _, inclusive, calls, where in by_inclusive
    ]


PROJECT_PACKAGES = ("bot/", "commands/", "dialer/", "state/")
ROOT = Path(__file__).resolve().parents[1]


def _short(file: str) -> str:
    """A path relative to the repository or to site-packages, to keep the lines short."""
    if file.startswith(str(ROOT)) and "site-packages" not in file:
        return file.removeprefix(f"{ROOT}/")
    return file.rsplit("site-packages/", 1)[-1].rsplit("lib/python3.11/", 1)[-1]


@contextlib.contextmanager
def profiling(into: list[str]) -> Iterator[None]:
    """Profile this thread (the whole event loop) while inside; the top functions go ``into``."""
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        into.extend(top_functions(profile))


def peak_mb() -> float:
    """This process's peak RSS so far, in MB; it never goes down."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def measure_in_child(module: str, *args: str, name: str) -> dict[str, float]:
    """Run ``python -m module *args`` from the repository and read the JSON it prints;
    ``name`` names the child in the error when it fails."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    out, _ = await child.communicate()
    if child.returncode != 0:
        raise RuntimeError(f"the {name} child failed with exit code {child.returncode}")
    measured: dict[str, float] = json.loads(out)
    return measured


def print_peak(baseline: float, accepted: int) -> None:
    """What a memory child prints: its peak before and after the work, and the rows accepted."""
    print(
        json.dumps(
            {
                "baseline_mb": round(baseline, 1),
                "peak_mb": round(peak_mb(), 1),
                "accepted": accepted,
            }
        )
    )


def in_fresh_process(child: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run ``child`` in a forked grandchild and exit with its status.

    Linux carries a process's ``ru_maxrss`` across ``exec``, so a child started by the (large)
    benchmark process would report the parent's peak; the grandchild's peak starts from the
    small fresh interpreter."""
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        try:
            asyncio.run(child())
            sys.stdout.flush()
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status))
