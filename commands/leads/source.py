"""Where leads come from: anything that can hand out the same bytes again, from the start."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Protocol


class LeadSource(Protocol):
    @property
    def source_id(self) -> str:
        """Stable name of the bytes (the Slack file id), kept in the upload record."""

    def chunks(self) -> AsyncIterator[bytes]:
        """The file from its first byte, in chunks; each call reads it afresh."""


SourceOpener = Callable[[str], LeadSource]
"""Turns a stored ``source_id`` back into a source, so a resumed upload can re-read it."""
