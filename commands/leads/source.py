"""Where leads come from: anything that can hand out the same bytes again, from the start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Protocol


class LeadSource(Protocol):
    @property
    def source_id(self) -> str:
        """Stable name of the bytes (the Slack file id), kept in the upload record."""

    def chunks(self) -> AsyncGenerator[bytes, None]:
        """The file from its first byte, in chunks; each call reads it afresh."""


SourceOpener = Callable[[str], LeadSource]
"""Turns a stored ``source_id`` back into a source, so a resumed upload can re-read it."""

FILE_PREFIX = "file:"
CHUNK_BYTES = 64 * 1024


class FileSource:
    """A leads file on this machine (a command-line upload, the demo, tests)."""

    def __init__(self, path: Path, *, chunk_bytes: int = CHUNK_BYTES) -> None:
        self.path = path
        self._chunk_bytes = chunk_bytes

    @property
    def source_id(self) -> str:
        return f"{FILE_PREFIX}{self.path}"

    @classmethod
    def open(cls, source_id: str) -> FileSource:
        """The ``SourceOpener`` for file sources."""
        if not source_id.startswith(FILE_PREFIX):
            raise ValueError(f"{source_id!r} is not a file source")
        return cls(Path(source_id.removeprefix(FILE_PREFIX)))

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        with self.path.open("rb") as file:
            while chunk := await asyncio.to_thread(file.read, self._chunk_bytes):
                yield chunk
