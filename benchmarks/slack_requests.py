"""Signed ``/campaign`` requests as Slack sends them, and the campaigns they act on."""

from __future__ import annotations

import time
import urllib.parse
from datetime import UTC, datetime

from slack_sdk.signature import SignatureVerifier

from benchmarks.load import Request
from state.campaign import Campaign
from state.store import CampaignStore

SIGNING_SECRET = "bench-signing-secret"
LEAD = "UBENCHLEAD"
CHANNEL = "CBENCH"


def slash_command(text: str, response_url: str, trigger_id: str) -> Request:
    """``/campaign <text>`` from ``LEAD`` in ``CHANNEL``, signed now."""
    body = urllib.parse.urlencode(
        {
            "token": "unused",
            "team_id": "TSTANDIN",
            "channel_id": CHANNEL,
            "user_id": LEAD,
            "user_name": "lead",
            "command": "/campaign",
            "text": text,
            "response_url": response_url,
            "trigger_id": trigger_id,
        }
    )
    timestamp = str(int(time.time()))
    signature = str(
        SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=timestamp, body=body)
    )
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": signature,
    }
    return Request("/slack/events", body, headers)


async def store_campaign(
    store: CampaignStore, ref: str, name: str, *, dialer: str, dialer_id: str | None = None
) -> Campaign:
    """A campaign in ``CHANNEL``, stored under an issued ``ref`` as the create handler does."""
    campaign = Campaign(
        ref=ref,
        name=name,
        dialer=dialer,
        dialer_id=dialer_id,
        channel_id=CHANNEL,
        created_by=LEAD,
        created_at=datetime.now(UTC),
    )
    await store.create(campaign)
    return campaign
