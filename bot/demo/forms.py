"""Modal state values as Slack sends them in a ``view_submission``."""

from __future__ import annotations

from typing import Any

LEADS_CSV = b"name,phone\nAnn,+14155550001\nBen,+14155550002\nCy,+14155550100\n"


def text(block: str, value: str) -> dict[str, Any]:
    return {block: {block: {"type": "plain_text_input", "value": value}}}


def number(block: str, value: str) -> dict[str, Any]:
    return {block: {block: {"type": "number_input", "value": value}}}


def choice(block: str, value: str) -> dict[str, Any]:
    return {block: {block: {"type": "radio_buttons", "selected_option": {"value": value}}}}


def new_campaign_values(
    name: str,
    file_id: str,
    *,
    aggression: str = "40",
    end_handle: str = "continue",
    agents: str = "1001 1002",
    default_state: str = "available",
) -> dict[str, Any]:
    return {
        **text("name", name),
        **text("detail", "Spring renewals <!channel>"),
        **number("aggression", aggression),
        **choice("end_handle", end_handle),
        **text("agents", agents),
        **choice("default_state", default_state),
        "leads": {"leads": {"type": "file_input", "files": [{"id": file_id, "name": "l.csv"}]}},
    }


# Two good rows and one that cannot be dialled.
LEADS_CSV_WITH_A_BAD_ROW = b"name,phone\nAnn,+14155550001\nBen,+14155550002\nDan,12\n"
NO_PHONE_COLUMN_CSV = b"name,city\nAnn,Lisbon\n"
