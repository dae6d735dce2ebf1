"""Every Redis key the bot writes, defined once, with its type and lifetime.

All keys share one prefix (``cb:`` by default) so that several deployments, or tests, can share a
Redis without touching each other's data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

SEEN_EVENT_TTL = timedelta(days=7)
"""How long an event id is remembered for de-duplication (dialers redeliver within minutes)."""
DELETED_CAMPAIGN_TTL = timedelta(days=90)
"""How long a deleted campaign's document is kept for the record. Its ref is kept forever."""
AUDIT_MAXLEN = 100_000
CAMPAIGN_AUDIT_MAXLEN = 10_000
"""Entries kept in one campaign's own audit stream (its history), newest kept."""
NOTIFICATION_STREAM_MAXLEN = 1_000_000
ALERT_LEASE_TTL = timedelta(seconds=3)
"""How long a replica holds a channel's alerts without renewing (it renews every second while
it sends); after a crash another replica takes the channel over this long after."""


@dataclass(frozen=True)
class Keys:
    prefix: str = "cb:"

    # SET of every campaign ref ever issued. Forever: refs are never reused.
    @property
    def issued_refs(self) -> str:
        return f"{self.prefix}refs"

    # ZSET ref -> creation time (epoch s) of campaigns not yet deleted. Members leave on deletion.
    @property
    def live_campaigns(self) -> str:
        return f"{self.prefix}campaigns"

    # STRING, JSON of ``state.campaign.Campaign``. Until deleted, then DELETED_CAMPAIGN_TTL.
    def campaign(self, ref: str) -> str:
        return f"{self.prefix}campaign:{ref}"

    # STRING dialer's own campaign id -> ref. Same lifetime as the campaign.
    def dialer_id(self, dialer: str, dialer_id: str) -> str:
        return f"{self.prefix}dialer-id:{dialer}:{dialer_id}"

    # STRING "1", SEEN_EVENT_TTL: a notification event id already handled.
    def seen_event(self, dialer: str, event_id: str) -> str:
        return f"{self.prefix}seen:{dialer}:{event_id}"

    # SET of refs of running campaigns this agent is assigned to. Maintained with each transition.
    def agent_running(self, agent_id: str) -> str:
        return f"{self.prefix}agent:{agent_id}:running"

    # STREAM, capped at AUDIT_MAXLEN (approximate): every notification and every request.
    @property
    def audit(self) -> str:
        return f"{self.prefix}audit"

    # STREAM, capped at CAMPAIGN_AUDIT_MAXLEN (approximate): the entries of the audit that are
    # about this campaign (``/campaign history``). Kept while the campaign lives, then for
    # AUDIT_RETENTION_DAYS after its deletion (EXPIRE set with the deletion).
    def campaign_audit(self, ref: str) -> str:
        return f"{self.prefix}audit:{ref}"

    # STREAM with consumer group, capped at NOTIFICATION_STREAM_MAXLEN: notifications waiting to
    # be applied. Entries are acknowledged once applied.
    @property
    def notifications(self) -> str:
        return f"{self.prefix}notifications"

    # SET of channels whose alert outbox has entries. A channel leaves it when its outbox is empty.
    @property
    def alerts_pending(self) -> str:
        return f"{self.prefix}alerts:pending"

    # STREAM of one channel's alerts and card redraws waiting to be sent to Slack. Entries are
    # deleted once Slack accepted them (or they failed for good); the key once it is empty.
    def alert_outbox(self, channel: str) -> str:
        return f"{self.prefix}alerts:{channel}:outbox"

    # STRING id of the replica sending the channel's alerts, ALERT_LEASE_TTL: renewed while it
    # works, deleted when the outbox is empty.
    def alert_lease(self, channel: str) -> str:
        return f"{self.prefix}alerts:{channel}:lease"

    # STRING "1", set after each Slack call for the channel and expiring after the pace (~1 s):
    # while it exists no replica makes the channel's next call.
    def alert_quiet(self, channel: str) -> str:
        return f"{self.prefix}alerts:{channel}:quiet"

    # STRING the next call's theoretical arrival time (µs, Redis clock) of a per-account GCRA
    # limit shared by every replica (``state.limiter.RedisGcra``; ``name`` is ``<dialer>:<what>``,
    # e.g. ``voipbin:requests``). PX until that time: an idle limit leaves no key.
    def rate_limit(self, name: str) -> str:
        return f"{self.prefix}limit:{name}"

    # ZSET call id -> µs stamp (Redis clock) of the calls in a rolling-window limit's last window
    # (``state.limiter.RedisRollingWindow``, e.g. ``livevox:appends``). PEXPIRE the window after
    # each change: an idle limit leaves no key.
    def window_limit(self, name: str) -> str:
        return f"{self.prefix}limit:{name}:window"

    # STRING "1", SET NX, expires after ``bot.reconcile.DRIFT_MEMORY_SECONDS``; deleted once the
    # drift is corrected: the campaign's channel was already warned about this drift.
    def reconcile_drift(self, ref: str, status: str) -> str:
        return f"{self.prefix}reconcile:drift:{ref}:{status}"

    # STRING replica id, SET NX PX for the reconcile interval: the replica whose turn the
    # periodic reconciliation pass is. Never released; it expires.
    @property
    def reconcile_lock(self) -> str:
        return f"{self.prefix}lock:reconcile"

    # STRING consumer name, SET NX PX for the removal sweep interval: the replica that re-sends a
    # stalled removal's request, or expires its approval request, this round. Never released.
    def removal_lock(self, ref: str) -> str:
        return f"{self.prefix}lock:removal:{ref}"

    # SET of E.164 numbers never to be dialled, shared by every campaign and dialer. Forever:
    # only ``/campaign dnc remove`` takes a number off. Deployment-wide, in the audit stream's
    # slot: a change and its audit entry commit in one MULTI (about 70 bytes a number).
    @property
    def do_not_call(self) -> str:
        return f"{self.prefix}dnc"

    # STRING campaign ref, EX ``commands.handlers.removal.EXPIRED_REQUEST_MEMORY`` (30 days): a
    # removal request (by its id) that expired unapproved, so that a late Approve is told why.
    def removal_expired(self, request_id: str) -> str:
        return f"{self.prefix}removal-expired:{request_id}"

    @property
    def uploads(self) -> UploadKeys:
        return UploadKeys(self.prefix)

    @property
    def slack(self) -> SlackKeys:
        return SlackKeys(self.prefix)

    @property
    def voipbin(self) -> VoipbinKeys:
        return VoipbinKeys(self.prefix)

    @property
    def genesys(self) -> GenesysKeys:
        return GenesysKeys(self.prefix)

    @property
    def livevox(self) -> LivevoxKeys:
        return LivevoxKeys(self.prefix)


@dataclass(frozen=True)
class UploadKeys:
    """The lead upload's keys. Owner: ``commands.leads.store.UploadStore``."""

    prefix: str = "cb:"

    # HASH, one campaign's upload: source id, dialer, rules (JSON), batch size, total, state,
    # error, timestamps. Kept as long as the campaign: ``UploadStore.forget`` removes it with
    # the campaign (the start command reads it, so it must outlive the upload itself).
    def upload(self, ref: str) -> str:
        return f"{self.prefix}upload:{ref}"

    # STRING bitmap, bit i = batch i acknowledged by the dialer. Same lifetime as ``upload``.
    def acked(self, ref: str) -> str:
        return f"{self.prefix}upload:{ref}:acked"

    # STRING bitmap, bit i = batch i was handed to the dialer at least once, so it may be
    # there even without an acknowledgement. Same lifetime as ``upload``.
    def attempted(self, ref: str) -> str:
        return f"{self.prefix}upload:{ref}:attempted"

    # STRING, the token of the process running the upload; expires after
    # LEADS_UPLOAD_LEASE_SECONDS unless renewed, so a crashed process lets another resume.
    def lease(self, ref: str) -> str:
        return f"{self.prefix}upload:{ref}:lease"

    # SET of campaign refs whose upload is in state ``uploading``: what a restarted bot resumes.
    # A ref leaves when its upload completes, fails, or is forgotten.
    @property
    def uploading(self) -> str:
        return f"{self.prefix}uploads:uploading"


@dataclass(frozen=True)
class SlackKeys:
    """The Slack edge's keys. Owners: ``bot.slack.once`` and ``bot.slack.home``."""

    prefix: str = "cb:"

    # STRING "1", SET NX EX ``bot.slack.once.ONCE_TTL``: a Slack request (``kind``: view,
    # command, action…) already taken by some replica; a retried delivery finds it.
    def once(self, kind: str, request_id: str) -> str:
        return f"{self.prefix}slack-once:{kind}:{request_id}"

    # ZSET user id -> when (epoch s) they last opened or clicked in the Home tab: whose tab is
    # kept current. Members older than ``VIEWER_SECONDS`` are dropped at each tick.
    @property
    def home_viewers(self) -> str:
        return f"{self.prefix}home:viewers"

    # STRING, one person's Home tab: ``page`` (the page shown) and ``hash`` (fingerprint last
    # published) expire with the viewer memory; ``quiet`` (SET NX PX the pace) holds back
    # another publish for this person meanwhile.
    def home(self, user_id: str, what: str) -> str:
        return f"{self.prefix}home:{user_id}:{what}"


@dataclass(frozen=True)
class VoipbinKeys:
    """What the VoIPBIN adapter keeps on the bot's Redis. Owner: ``dialer.voipbin.adapter``."""

    prefix: str = "cb:"

    # SET of contact refs uploaded to VoIPBIN campaign ``ref``. Deleted with the campaign.
    def contacts(self, ref: str) -> str:
        return f"{self.prefix}voipbin:contacts:{ref}"

    # SET of contact refs whose upload failed without knowing whether VoIPBIN made the target;
    # looked for before they are sent again. Expires 30 days after the last failure.
    def uncertain(self, ref: str) -> str:
        return f"{self.prefix}voipbin:uncertain:{ref}"

    # HASH counter -> count: a VoIPBIN campaign's progress events and contacts uploaded.
    # Expires 30 days after the last change.
    def counters(self, campaign_id: str) -> str:
        return f"{self.prefix}voipbin:counters:{campaign_id}"

    # SET of ``<counter>:<resource id>`` already counted into ``counters`` (webhooks
    # are redelivered). Same lifetime as ``counters``.
    def counted(self, campaign_id: str) -> str:
        return f"{self.prefix}voipbin:counted:{campaign_id}"



@dataclass(frozen=True)
class GenesysKeys:
    """Which Genesys campaign group carries which campaign. Owner: ``dialer.genesys.groups``."""

    prefix: str = "cb:"

    # HASH of the Genesys campaign group attached to a bot campaign: ref, settings (JSON of
    # CampaignSettings), removing ("1" once removal was asked). Deleted when OCS confirms the
    # unload of a campaign being removed.
    def group(self, dbid: int | str) -> str:
        return f"{self.prefix}genesys:group:{dbid}"

    # STRING the DBID of the group attached to campaign ``ref``. Same lifetime as the group.
    def ref(self, ref: str) -> str:
        return f"{self.prefix}genesys:ref:{ref}"



@dataclass(frozen=True)
class LivevoxKeys:
    """What the LiveVox adapter keeps on the bot's Redis. Owner: ``dialer.livevox.poller``."""

    prefix: str = "cb:"

    # STRING replica id, a ``dialer.livevox.lease.RedisLease``: the one replica polling LiveVox.
    # Renewed while it polls; lapses on its own when that replica dies.
    @property
    def poller_lock(self) -> str:
        return f"{self.prefix}livevox:poller"

    # HASH LiveVox campaign id -> JSON of the poller's last observation of it, so that the
    # poller, on whichever replica, reports only changes. A field leaves when the poller forgets
    # the campaign.
    @property
    def observed(self) -> str:
        return f"{self.prefix}livevox:observed"

    # HASH LiveVox campaign id -> JSON of the settings last sent by the bot and the dialing
    # strategy they were sent as (LiveVox reports only the strategy). A field leaves when the
    # campaign is forgotten.
    @property
    def requested_settings(self) -> str:
        return f"{self.prefix}livevox:settings"
