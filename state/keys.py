"""Every Redis key the bot writes, defined once, with its type and lifetime.

All keys share one prefix (``cb:`` by default) so that several deployments, or tests, can share a
Redis without touching each other's data.

On a Redis Cluster every multi-key command (WATCH/MULTI, Lua, MGET) must name keys of one hash
slot. The layout there (``state.connection.check_key_prefix`` insists on it) follows from a prefix
with a hash tag, ``{cb}:``:

- Deployment-wide keys (live-campaign index, dialer-id map, agent sets, audit stream, notification
  stream, alert outboxes, locks, and every key other modules build from the prefix) carry the
  prefix's tag, so they share one slot and any transaction among them works as on one Redis. This
  data is small or capped (the audit and notification streams are trimmed), so one slot holds it.
- Per-campaign keys (document, history, seen event ids, drift and removal locks, follow-ups) carry
  the campaign's tag, ``cb:campaign:{<ref>}``, so campaigns spread over the cluster and a
  campaign's own transaction stays in its slot.
- A campaign transaction that also changes deployment-wide keys cannot touch both slots at once,
  so it records those writes as a follow-up entry in the campaign's own slot, inside the same
  MULTI, and they are applied right after by a Lua script in the deployment slot that remembers
  the last follow-up applied per campaign (``followup_mark``): applying one again, or an older one
  after a newer, changes nothing, and a follow-up left by a crash is applied by the next change of
  that campaign or by the sweeper (``followups_pending``). Nothing is lost or applied twice;
  readers of the deployment-wide keys may see a change a moment after the campaign has it.

A prefix without a hash tag keeps the single-Redis layout: the key strings below are unchanged
from before clusters were supported, so an existing deployment keeps its data.
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


FOLLOWUP_MARK_TTL = timedelta(days=30)
"""How long the last follow-up applied to a campaign is remembered (it is renewed by each one):
far longer than a follow-up can wait for the sweeper."""


def hash_tag(key: str) -> str | None:
    """What Redis Cluster hashes ``key`` by, if it has a tag: the text between the first ``{`` and
    the first ``}`` after it, when not empty."""
    start = key.find("{")
    end = key.find("}", start + 1)
    if start < 0 or end < 0 or end == start + 1:
        return None
    return key[start + 1 : end]


@dataclass(frozen=True)
class Keys:
    """The deployment's keys. Owners, the only modules that write them: ``state.store``
    (refs, campaigns, dialer ids, seen events, agent sets, audit streams, follow-ups),
    ``state.inbox`` (notifications), ``state.outbox`` (alert outboxes, leases, quiet keys),
    ``state.limiter`` (limits), ``state.turns`` (reconcile and removal locks),
    ``state.expired_requests``, ``state.followups``, ``state.window_schedule`` (windows due),
    ``bot.window_scheduler`` (window locks), ``bot.reconcile`` (drift memory) and ``state.dnc``
    (the do-not-call list, whose changes it audits)."""

    prefix: str = "cb:"

    @property
    def cluster(self) -> bool:
        """The cluster layout (a prefix with a hash tag); see the module's docstring."""
        return hash_tag(self.prefix) is not None

    @property
    def patterns(self) -> tuple[str, ...]:
        """SCAN patterns matching every key of this prefix (per-campaign keys in the cluster
        layout drop the prefix's braces, so that only the campaign's tag counts)."""
        if not self.cluster:
            return (f"{self.prefix}*",)
        return (f"{self.prefix}*", f"{self._campaign_prefix}*")

    @property
    def _campaign_prefix(self) -> str:
        tag = hash_tag(self.prefix)
        return self.prefix if tag is None else self.prefix.replace(f"{{{tag}}}", tag, 1)

    def _of_campaign(self, name: str, ref: str, rest: str = "") -> str:
        if self.cluster:
            return f"{self._campaign_prefix}{name}:{{{ref}}}{rest}"
        return f"{self.prefix}{name}:{ref}{rest}"

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
        return self._of_campaign("campaign", ref)

    # STRING dialer's own campaign id -> ref. Same lifetime as the campaign.
    def dialer_id(self, dialer: str, dialer_id: str) -> str:
        return f"{self.prefix}dialer-id:{dialer}:{dialer_id}"

    # STRING "1", SEEN_EVENT_TTL: a notification event id already handled.
    def seen_event(self, dialer: str, event_id: str) -> str:
        return f"{self.prefix}seen:{dialer}:{event_id}"

    # The same for an event about campaign ``ref``: in the campaign's slot in the cluster layout
    # (checked together with ``seen_event``, which an event that matched no campaign sets).
    def campaign_seen_event(self, ref: str, dialer: str, event_id: str) -> str:
        if self.cluster:
            return self._of_campaign("seen", ref, f":{dialer}:{event_id}")
        return self.seen_event(dialer, event_id)

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
        return self._of_campaign("audit", ref)

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
        return self._of_campaign("reconcile:drift", ref, f":{status}")

    # STRING replica id, SET NX PX for the reconcile interval: the replica whose turn the
    # periodic reconciliation pass is. Never released; it expires.
    @property
    def reconcile_lock(self) -> str:
        return f"{self.prefix}lock:reconcile"

    # STRING consumer name, SET NX PX for the removal sweep interval: the replica that re-sends a
    # stalled removal's request, or expires its approval request, this round. Never released.
    def removal_lock(self, ref: str) -> str:
        return self._of_campaign("lock:removal", ref)

    # ZSET ref -> when (epoch s) the calling-window scheduler next looks at this campaign (its
    # window's next opening or closing); written through ``state.window_schedule`` by the
    # handlers that change a window or arm a start, and by ``bot.window_scheduler``. A member
    # leaves when its window is removed or the campaign deleted.
    @property
    def window_due(self) -> str:
        return f"{self.prefix}windows:due"

    # STRING replica id, SET NX PX ``bot.window_scheduler.LEASE_TICKS`` ticks: the replica whose
    # ``bot.window_scheduler`` acts on due windows. Renewed by its holder each tick; expires when
    # the holder stops.
    @property
    def window_lock(self) -> str:
        return f"{self.prefix}lock:windows"

    # STRING replica id, SET NX PX ``bot.window_scheduler.EDGE_LOCK``: the replica whose
    # ``bot.window_scheduler`` sends the start or stop of this opening or closing (epoch s).
    # Never released; it expires, so a replica that died mid-send is replaced.
    def window_edge_lock(self, ref: str, due: int) -> str:
        return self._of_campaign("lock:window", ref, f":{due}")

    # Cluster layout only. STREAM of the deployment-wide writes of this campaign's transactions
    # not yet applied (``state.followups``); entries are deleted once applied.
    def followups(self, ref: str) -> str:
        return self._of_campaign("followups", ref)

    # Cluster layout only. STRING id of the last follow-up of ``ref`` applied, FOLLOWUP_MARK_TTL.
    def followup_mark(self, ref: str) -> str:
        return f"{self.prefix}followups:applied:{ref}"

    # Cluster layout only. ZSET ref -> when (epoch ms) a transaction with follow-ups was begun:
    # where the sweeper looks for follow-ups a crash left behind.
    @property
    def followups_pending(self) -> str:
        return f"{self.prefix}followups:pending"

    # SET of E.164 numbers never to be dialled, shared by every campaign and dialer. Forever:
    # only ``/campaign dnc remove`` takes a number off. Deployment-wide, in the audit stream's
    # slot: a change and its audit entry commit in one MULTI (about 56 bytes a number).
    @property
    def do_not_call(self) -> str:
        return f"{self.prefix}dnc"

    # STRING epoch seconds when a number was last put on the do-not-call list, set in the same
    # MULTI. Forever: an upload that ran across it has its campaign's contacts withdrawn again.
    @property
    def do_not_call_added_at(self) -> str:
        return f"{self.prefix}dnc:added-at"

    # STRING campaign ref, EX ``state.expired_requests.EXPIRED_REQUEST_MEMORY`` (30 days): a
    # removal request (by its id) that expired unapproved, so that a late Approve is told why.
    # Owner: ``state.expired_requests``.
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
