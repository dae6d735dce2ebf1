"""The VoIPBIN dialer adapter (``DIALER=voipbin``), over VoIPBIN's campaign API.

How the port maps onto VoIPBIN's resources:

* a campaign is an **outdial** (one target per contact), an **outplan** (how and when to dial),
  a **queue** (where answered calls wait for agents) and the **campaign** tying them together;
* agents take a campaign's calls the way VoIPBIN routes queue calls: a queue serves the agents
  that carry its tags. Each campaign gets its own queue with one "agents" tag; assigning an agent
  adds that tag to the agent, removing it takes the tag away. A second "call-in" tag marks the
  agents whose default state is ``available``: ``start`` sets them ``available`` in VoIPBIN;
* the bot's ref leads the campaign name (``[c-20261123-7kq2] Spring promo``), so a listing tells
  the bot's campaigns apart; the tag ids and the ref are also kept as JSON in the outdial's
  ``data`` field, so nothing is lost when the bot restarts;
* notifications arrive by webhook (``receive_webhook``); ``run_notifications`` returns at once.

Vendor assumptions (from VoIPBIN's public docs and ``voipbin-openapi.json``; correct them here):

=============================  ==================================================================
subject                        assumption
=============================  ==================================================================
API base / auth                ``https://api.voipbin.net/v1.0``; ``?accesskey=<key>``, or
                               ``Authorization: Bearer <jwt>`` from ``POST <host>/auth/login``
                               ``{"username", "password"}`` -> ``{"token"}``; 401 -> log in again
pacing                         about 16.7 requests/s per customer; 429 ``RATE_LIMIT_EXCEEDED``,
                               maybe with ``Retry-After`` (seconds or an HTTP date)
errors                         ``{"error": {"status", "reason", "message", "request_id"}}``
lists                          ``page_size`` <= 100, ``page_token`` = last ``next_page_token``;
                               the listing ends with an empty page
aggression -> service_level    ``service_level = 101 - aggression`` (1 -> 100, 50 -> 51,
                               100 -> 1). VoIPBIN dials while ``available agents > dialing calls
                               * service_level / 100``: about ``100 / service_level`` calls per
                               agent, so a lower level dials more. Exactly invertible.
end_handle                     ``stop`` / ``continue`` as ours; VoIPBIN has no ``completed``
                               status: an exhausted campaign reports ``stop`` -> ``stopped``
status                         ``run`` -> running, ``stopping`` -> stopping, ``stop`` -> stopped
start / stop                   ``PUT /campaigns/{id}/status {"status": "run"|"stop"}``
delete                         takes effect only on a stopped campaign (checked with a GET first)
outplan timings                ``dial_timeout`` and ``try_interval`` in milliseconds (the schema
                               says so; one request description says seconds);
                               ``max_try_count_0..4`` all set to ``max_attempts``
targets                        ``name`` = contact ref, ``destination_0..4`` = ``{"type": "tel",
                               "target": "+E164"}`` (unused ones ``{"type": "", "target": ""}``);
                               numbers after the fifth are not dialled; ``data`` = fields as JSON
deleted resources              ``tm_delete`` in the year 9999 means "not deleted"
webhooks                       ``{"type", "data"}``; ``campaign_status_run|stopping|stop``,
                               ``campaign_deleted``, ``campaign_updated``, ``campaigncall_*``,
                               ``outdialtarget_*``; ``X-VoIPBIN-Signature: sha256=<hex HMAC>``;
                               up to 3 deliveries; ``tm_update`` orders a campaign's events
timestamps                     ``2022-04-30 17:53:51.685259`` (UTC) or ISO 8601 with ``Z``
=============================  ==================================================================

Errors (raised ``from`` the httpx error or mapped from VoIPBIN's error body)::

    DialerError
    ├── DialerUnavailable        connect errors, timeouts, 5xx after the retries
    │   └── DialerRateLimited    429 after the retries (``retry_after`` from ``Retry-After``)
    ├── DialerAuthError          401 (bad or expired key / login), 403 (no permission)
    ├── DialerRejected           400, 402, other 4xx; unknown agent (404 on ``/agents/{id}``)
    │   ├── CampaignNotFound     404 on ``/campaigns/{id}``, a ref VoIPBIN does not hold
    │   ├── CampaignConflict     409 / FAILED_PRECONDITION; delete of a campaign not stopped
    │   └── DuplicateContact     a contact ref this campaign was given before
    └── DialerProtocolError      a success answer that is not JSON; a login without a token

Requests are paced by one limiter per adapter (``VOIPBIN_REQUESTS_PER_SECOND``) and retried with
exponential backoff on 429 (``Retry-After`` when given) and 5xx; a POST is resent after a
transport error only when it surely never reached VoIPBIN (connect errors), so a retry never
creates a second target.
"""

from __future__ import annotations

from dialer.registry import AdapterContext
from dialer.voipbin.adapter import VoipbinDialer
from dialer.voipbin.settings import VoipbinSettings


def build(context: AdapterContext) -> VoipbinDialer:
    """The registry's factory: settings from ``VOIPBIN_*`` variables, Redis from the bot."""
    return VoipbinDialer(VoipbinSettings(), context.redis, key_prefix=context.key_prefix)


__all__ = ["VoipbinDialer", "VoipbinSettings", "build"]
