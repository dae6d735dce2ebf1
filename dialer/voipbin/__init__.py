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

Every wire detail, with where it comes from (``source``): ``spec`` is VoIPBIN's OpenAPI document
(``tests/data/voipbin-openapi.json``); other paths are files of the public repository
``voipbin/monorepo``. Where VoIPBIN's code and its prose disagree, the code decides. A row marked
``Assumed`` says what would confirm it.

API base
    ``https://api.voipbin.net/v1.0``
    source: spec ``servers``
auth: access key
    ``?accesskey=<key>``
    source: bin-api-manager/lib/middleware/authenticate.go
auth: login
    ``POST <host>/auth/login {"username", "password"}`` -> ``{"token"}``, sent as ``Authorization:
    Bearer``; a 401 logs in again once
    source: bin-api-manager/lib/service/auth.go (the body and the token). Assumed: the path beside
        ``/v1.0`` and the Bearer header; a login against the real host would confirm
pacing
    16 requests/s by default (``VOIPBIN_REQUESTS_PER_SECOND``); 429 ``RATE_LIMIT_EXCEEDED`` waited
    out by its ``Retry-After`` (seconds; an HTTP date is read too)
    source: bin-api-manager/internal/config/main.go (``rate_limit_customer_v1_rps`` 16.7, burst 33),
        lib/middleware/customer_ratelimit.go
errors
    ``{"error": {"status", "reason", "message", "request_id"}}``
    source: bin-api-manager/server/error_test.go
lists
    ``page_size`` <= 100, ``page_token`` = the last ``next_page_token``; the listing ends with an
    empty page
    source: spec ``components/parameters`` PageSize, PageToken. Assumed: the empty last page (a
        cursor that repeats also ends it)
paths and bodies
    campaigns (``/status``, ``/service_level``, ``/resource_info``), outdials (``/targets``),
    outplans (``/dial_info``), queues, tags, agents (``/tag_ids``, ``/status``)
    source: spec ``paths``; the stand-in refuses any request the spec does not allow
create order
    tags, queue, outplan, the campaign (outdial nil), its outdial (with the campaign id), then ``PUT
    /campaigns/{id}/resource_info``
    source: bin-api-manager/server/outdials.go (an outdial needs a campaign id);
        bin-campaign-manager/pkg/campaignhandler/campaign.go ``validateResources`` (an outdial of
        another campaign is refused)
required fields
    outdial and target ``name``, ``detail``, ``data`` never empty; a target has a destination with a
    target
    source: bin-api-manager/server/outdials.go
aggression -> service_level
    ``100 + round((aggression - 1) * 200 / 99)``: 1 -> 100, 20 -> 138, 85 -> 270, 100 -> 300, read
    back exactly. About ``service_level / 100`` calls dialling per available agent: a higher level
    dials more
    source: bin-campaign-manager/pkg/campaignhandler/execute.go ``isDialable``: a call is placed
        while ``len(agents) * serviceLevel / 100`` (Go integers) exceeds the campaigncalls
        ``dialing``. campaign_struct_campaign.rst says the opposite; the code decides
service_level range
    100..300
    source: VoIPBIN checks no range (campaignhandler ``Create``, ``UpdateServiceLevel``; an
        ``integer`` column). Assumed: 300 (three calls per agent) as a sane top; abandon rates in
        production would confirm or move it
what counts as dialling
    only campaigncalls ``dialing``, at most 100 listed; a call-type campaigncall stays ``dialing``
    until its call hangs up; a campaign without a queue dials without limit
    source: execute.go (``ListByCampaignIDAndStatus(..., 100)``, ``queueID == uuid.Nil``);
        campaigncallhandler (``Progressing`` only for flow type)
statuses
    ``run`` -> running, ``stopping`` -> stopping, ``stop`` -> stopped; no ``completed``: a campaign
    out of targets with end handle ``stop`` stops
    source: spec CampaignManagerCampaignStatus; execute.go ``updateExecuteStop``
start / stop
    ``PUT /campaigns/{id}/status {"status": "run" | "stop"}``; a stop is ``stop`` at once when
    nothing runs, else ``stopping`` then ``stop``
    source: spec; pkg/campaignhandler/status_run.go, status_stop.go (a stop of a stopped campaign
        publishes nothing)
delete
    only of a stopped campaign (checked with a GET first)
    source: campaignhandler/campaign.go ``Delete``
end_handle
    ``stop`` / ``continue``
    source: spec CampaignManagerCampaignEndHandle
outplan timings
    ``dial_timeout`` and ``try_interval`` in milliseconds; ``max_try_count_0..4`` all
    ``max_attempts``
    source: spec CampaignManagerOutplan ("in milliseconds")
targets
    ``name`` = contact ref, ``detail`` = the lead's name or the ref, ``data`` = its fields as JSON,
    ``destination_0..4`` = ``{"type": "tel", "target": "+E164"}``, unused ones ``{"type": "",
    "target": ""}``; numbers after the fifth are not dialled
    source: spec (all five destinations required); bin-api-manager/server/outdials.go turns a
        missing one into an empty address anyway
timestamps
    RFC 3339 (``2026-01-15T09:30:00.000000Z``) or ``null``; ``2022-04-30 17:53:51.685259`` (UTC)
    also read. ``null``, Go's zero time (year 1), MySQL's zero date and the year 9999 mean "not
    set"; anything else in an event is answered 400
    source: models/*/webhook.go (``*time.Time``); dbhandler/campaign.go, campaigncall.go (created
        with ``tm_update`` nil). Assumed: the space-separated form and the year 9999 (older
        answers); harmless if never seen
deleted resources
    deleted once ``tm_delete`` is set
    source: dbhandler ``CampaignDelete`` (sets ``tm_update`` and ``tm_delete``)
webhook envelope
    ``{"type", "data"}``, ``data`` the resource
    source: bin-webhook-manager/models/webhook/webhook.go; models/*/webhook.go ``WebhookMessage``
webhook signature
    ``X-VoIPBIN-Signature: sha256=<hex HMAC-SHA256 of the body>`` with the customer's webhook secret
    source: bin-webhook-manager/pkg/webhookhandler/message.go
webhook retries
    three tries, one second apart, on a connection error or a 5xx; any other answer is final, so
    garbage gets a 400, never a 500
    source: message.go ``sendMessage``
webhook order
    not guaranteed: a campaign's events are ordered by the latest of ``tm_create``, ``tm_update``,
    ``tm_delete``
    source: bin-common-handler/pkg/notifyhandler/publish.go (``go PublishWebhook``)
campaign events
    ``campaign_status_run`` / ``_stopping`` / ``_stop`` and ``campaign_deleted`` -> status;
    ``campaign_updated`` -> settings; ``campaign_created`` ignored
    source: bin-campaign-manager/models/campaign/event.go; published in campaignhandler/campaign.go,
        status_run.go, status_stop.go
campaigncall events
    ``campaigncall_created`` -> dialled; ``campaigncall_updated`` ``progressing`` -> answered,
    ``done`` -> succeeded or failed (``result``); ``campaigncall_deleted`` counts nothing
    source: models/campaigncall/event.go, campaigncall.go; published in pkg/campaigncallhandler
outdialtarget events
    none expected (ignored if one comes)
    source: bin-outdial-manager/models/outdialtarget/event.go defines them; no code publishes them
other events
    answered 2xx and counted by type in ``VoipbinDialer.ignored_events``
    source: the customer webhook carries every resource's events
        (bin-webhook-manager/pkg/webhookhandler/webhook.go)


Matching: a notification names VoIPBIN's campaign id; the bot's store applies it to the campaign
that recorded that id. The ref in the name (``[c-…] …``) only adopts a stored campaign that has no
id yet: ``create_campaign`` records the id the moment ``POST /campaigns`` answers, and the bot
stores it with the campaign when ``create_campaign`` returns. A foreign campaign named with one
of our refs is never taken for ours, by notifications or by ``list_campaigns``.

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

Requests go through the dialer HTTP kit (``dialer.http``), paced by one limiter per adapter
(``VOIPBIN_REQUESTS_PER_SECOND``). GET, PUT and DELETE are retried with jittered exponential
backoff on timeouts, connection errors, 429 and 5xx, or after the ``Retry-After`` asked for, up to
``VOIPBIN_RETRY_AFTER_MAX_SECONDS`` (longer fails the call carrying it). Within a leads upload
nothing is retried here: the upload resends the batch. A POST is never resent blindly: VoIPBIN's
handlers create first and can fail after (``campaignhandler.Create`` returns an error when linking
the outdial fails, with the campaign made), so a POST that timed out or got a 5xx may have made its
resource. It is resent after a connection error or a 429 (it never reached a handler), and
otherwise only when the adapter looked and found nothing: a campaign by its name (which carries a
ref issued once), a target by its name (the contact ref) among the outdial's newest. What it finds
is the answer. The other POSTs (tags, queue, outplan, outdial) are not resent; the create fails and
removes what it made. A target whose upload failed that way is remembered
(``VoipbinKeys.uncertain``) and looked for before the upload sends it again, so a lead is neither
lost nor dialled twice.
"""

from __future__ import annotations

from dialer.registry import AdapterContext
from dialer.voipbin.adapter import VoipbinDialer
from dialer.voipbin.settings import VoipbinSettings


def build(context: AdapterContext, settings: VoipbinSettings) -> VoipbinDialer:
    """The registry's factory: the ``VOIPBIN_*`` section; Redis and limits from the bot."""
    return VoipbinDialer(
        settings, context.redis, key_prefix=context.key_prefix, limits=context.limits
    )


__all__ = ["VoipbinDialer", "VoipbinSettings", "build"]
