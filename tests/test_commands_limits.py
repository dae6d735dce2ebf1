"""Long replies are cut to Slack's limits, saying how much was left out."""

from __future__ import annotations

from typing import Any

from commands.limits import MAX_MESSAGE_TEXT, MAX_SECTION_TEXT, clip, clip_message, listed


def test_a_long_list_names_the_first_items_and_counts_the_rest() -> None:
    columns = [f"col{n}" for n in range(1_250)]
    assert listed(columns, limit=3) == "col0, col1, col2, … and 1,247 more"
    assert listed(columns[:3], limit=3) == "col0, col1, col2"


def test_text_is_cut_at_a_line_with_the_number_of_lines_left_out() -> None:
    text = "\n".join(f"line {n}: rejected" for n in range(10_000))
    cut = clip(text, MAX_SECTION_TEXT)
    assert len(cut) <= MAX_SECTION_TEXT
    assert cut.startswith("line 0: rejected\n") and cut.endswith("more lines")
    kept = cut.count("\n")
    assert f"… and {10_000 - kept:,} more lines" in cut
    assert clip("short", MAX_SECTION_TEXT) == "short"


def test_one_enormous_line_is_cut_inside_it() -> None:
    cut = clip("x" * 100_000, MAX_MESSAGE_TEXT)
    assert len(cut) <= MAX_MESSAGE_TEXT and cut.endswith("more characters")


def test_a_message_keeps_to_40000_characters_and_3000_a_section() -> None:
    long = "\n".join(f"error {n}" for n in range(20_000))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": long}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "kept"}]},
    ]
    text, fitted = clip_message(long, blocks)
    assert len(text) <= MAX_MESSAGE_TEXT
    assert fitted is not None and len(fitted[0]["text"]["text"]) <= MAX_SECTION_TEXT
    assert fitted[1] == blocks[1] and blocks[0]["text"]["text"] == long  # the input is untouched
