"""Leads CSV files of any size, every row valid and distinct (as a clean export would be)."""

from __future__ import annotations

from pathlib import Path

HEADER = "name,phone,email\n"


def phone(i: int) -> str:
    exchange = 200 + i // 10_000 % 800  # valid NANP exchanges: 8M distinct numbers
    return f"+1212{exchange}{i % 10_000:04d}"


def write_leads(path: Path, rows: int) -> Path:
    with path.open("w") as file:
        file.write(HEADER)
        for i in range(rows):
            file.write(f'"Lead {i}",{phone(i)},lead{i}@example.com\n')
    return path
