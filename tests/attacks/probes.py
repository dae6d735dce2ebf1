"""What a process holds, read from /proc: resident memory and open file descriptors."""

from __future__ import annotations

import os
from pathlib import Path


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError(f"no VmRSS for {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def tracebacks(log: str) -> list[str]:
    """The lines that start a traceback in a process's output."""
    return [line for line in log.splitlines() if "Traceback (most recent call last)" in line]
