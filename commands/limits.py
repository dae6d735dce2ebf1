"""Slack's size limits on what the bot writes, and cutting long lists to fit them.

A message's ``text`` holds at most 40,000 characters (Slack truncates longer ones) and a section
block's text at most 3,000 (Slack refuses the whole message). Replies that list many things
(rejected columns, errors, agents) name the first few and then say "… and N more".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_MESSAGE_TEXT = 40_000
MAX_SECTION_TEXT = 3_000
MAX_LISTED = 20


def more(count: int) -> str:
    return f"… and {count:,} more"


def listed(items: Sequence[str], *, limit: int = MAX_LISTED, separator: str = ", ") -> str:
    """``items`` joined, the first ``limit`` only, then "… and N more"."""
    shown = list(items[:limit])
    if len(items) > limit:
        shown.append(more(len(items) - limit))
    return separator.join(shown)


def clip(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters; else cut at a line (or word) end, with how
    many lines were left out."""
    if len(text) <= limit:
        return text
    lines = text.splitlines()
    kept: list[str] = []
    size = 0
    for index, line in enumerate(lines):
        tail = f"\n{more(len(lines) - index)} lines"
        if size + len(line) + 1 + len(tail) > limit:
            if not kept:  # one enormous line: cut inside it
                cut = max(limit - 40, 0)
                return f"{text[:cut]} {more(len(text) - cut)} characters"
            return "\n".join(kept) + tail
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def clip_message(
    text: str, blocks: list[dict[str, Any]] | None = None
) -> tuple[str, list[dict[str, Any]] | None]:
    """The message's text within 40,000 characters and each section's text within 3,000."""
    text = clip(text, MAX_MESSAGE_TEXT)
    if not blocks:
        return text, blocks
    fitted = []
    for block in blocks:
        inner = block.get("text") if block.get("type") == "section" else None
        if isinstance(inner, dict) and len(str(inner.get("text", ""))) > MAX_SECTION_TEXT:
            block = {**block, "text": {**inner, "text": clip(inner["text"], MAX_SECTION_TEXT)}}
        fitted.append(block)
    return text, fitted
