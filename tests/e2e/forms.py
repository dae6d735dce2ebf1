"""Modal state values as Slack sends them live in the package (the demo submits them too)."""

from bot.demo.forms import (
    LEADS_CSV,
    LEADS_CSV_WITH_A_BAD_ROW,
    NO_PHONE_COLUMN_CSV,
    choice,
    new_campaign_values,
    number,
    text,
)

__all__ = [
    "LEADS_CSV",
    "LEADS_CSV_WITH_A_BAD_ROW",
    "NO_PHONE_COLUMN_CSV",
    "choice",
    "new_campaign_values",
    "number",
    "text",
]
