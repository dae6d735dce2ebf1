"""The Redis store around the state machine.

Every change to a campaign is read-compute-write under WATCH/MULTI: the pure functions compute the
new campaign, and the write (campaign document, event id, agent index, audit entry) commits as one
transaction or retries. So any number of coroutines or processes may apply notifications to the
same campaign at once and each notification is applied exactly once. With an alert outbox attached
(``state.outbox``, the Slack alerts' own), the effects a notification shows in Slack are recorded
in that same transaction: applied once, shown once, even if the process dies right after.

In the cluster key layout (``state.keys``) the transaction keeps to the campaign's slot: the
deployment-wide writes (indexes, the audit stream, the alert outbox) are recorded in it as a
follow-up and applied right after, exactly once (``state.followups``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError, WatchError

from state.campaign import Campaign, PendingOperation
from state.coalesce import Coalescer
from state.connection import is_cluster, runs_lua, text
from state.domain import CampaignStatus, DialerNotification, NotificationSource
from state.effects import Effect
from state.followups import Followups, GlobalWrites
from state.keys import (
    AUDIT_MAXLEN,
    CAMPAIGN_AUDIT_MAXLEN,
    DELETED_CAMPAIGN_TTL,
    SEEN_EVENT_TTL,
    Keys,
)
from state.machine import Outcome, apply_notification
from state.outbox import AlertOutbox, is_shown
from state.recorded_writes import RecordedWrites
from state.refs import SUFFIX_LENGTH, candidate_ref

Change = Callable[[Campaign], tuple[Campaign, Sequence[Effect]]]
BATCH_WATCH_ATTEMPTS = 3
"""Tries of a batch's transaction before its notifications are applied one by one."""
Writes = Pipeline | RecordedWrites
"""Where a transaction's writes go: into its MULTI, recorded for one ``EVAL`` in it (a batch), or
into its follow-up (deployment-wide writes in the cluster layout)."""


class UnknownCampaign(LookupError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"There is no campaign `{ref}`. `/campaign list` shows the campaigns.")
        self.ref = ref


@dataclass(frozen=True)
class ApplyResult:
    outcome: Outcome
    campaign: Campaign | None
    effects: tuple[Effect, ...] = field(default_factory=tuple)


def utcnow() -> datetime:
    return datetime.now(UTC)


class CampaignStore:
    def __init__(
        self,
        redis: Redis,
        keys: Keys | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
        audit_maxlen: int = AUDIT_MAXLEN,
        audit_retention: timedelta = DELETED_CAMPAIGN_TTL,
        batch_applies: bool = True,
    ) -> None:
        self.redis = redis
        self.keys = keys or Keys()
        self._clock = clock
        self._audit_maxlen = audit_maxlen
        self.audit_retention = audit_retention
        """How long a deleted campaign's record and history are kept (AUDIT_RETENTION_DAYS)."""
        self.outbox: AlertOutbox | None = None
        """Where notifications' shown effects are recorded; set by the Slack alerts."""
        self.followups = Followups(redis, self.keys) if self.keys.cluster else None
        self._one_command = runs_lua(redis)
        """A batch's writes go as one EVAL (not on the in-memory Redis, which runs no scripts)."""
        self._batches: Coalescer[DialerNotification, ApplyResult] | None = None
        if batch_applies and not self.keys.cluster and not is_cluster(redis):
            self._batches = Coalescer(self._apply_batch)

    # -- references -------------------------------------------------------------------------

    async def issue_ref(self) -> str:
        """A ref no campaign has ever had. Recorded at once, so it is never issued again."""
        length = SUFFIX_LENGTH
        for attempt in range(100):
            ref = candidate_ref(self._clock(), length)
            if await self.redis.sadd(self.keys.issued_refs, ref):
                return ref
            if attempt % 10 == 9:
                length += 1  # a busy day: widen the suffix rather than spin
        raise RuntimeError("could not issue a fresh campaign ref")

    async def was_issued(self, ref: str) -> bool:
        return bool(await self.redis.sismember(self.keys.issued_refs, ref))

    # -- reading ----------------------------------------------------------------------------

    async def get(self, ref: str) -> Campaign | None:
        raw = await self.redis.get(self.keys.campaign(ref))
        return None if raw is None else Campaign.model_validate_json(raw)

    async def require(self, ref: str) -> Campaign:
        campaign = await self.get(ref)
        if campaign is None:
            raise UnknownCampaign(ref)
        return campaign

    async def list_live(self) -> list[Campaign]:
        refs: list[Any] = await self.redis.zrange(self.keys.live_campaigns, 0, -1)
        if not refs:
            return []
        names = [self.keys.campaign(text(ref)) for ref in refs]
        if is_cluster(self.redis):  # one GET per campaign: their keys are in different slots
            async with self.redis.pipeline(transaction=False) as pipe:
                for name in names:
                    pipe.get(name)
                docs = await pipe.execute()
        else:
            docs = await self.redis.mget(names)
        return [Campaign.model_validate_json(doc) for doc in docs if doc is not None]

    async def resolve_ref(self, event: DialerNotification) -> str | None:
        """The campaign a notification is about: by the dialer's id first.

        A ref (read from the dialer's campaign name, say) is trusted only when the event names
        no dialer id or the stored campaign has none yet: a campaign the bot created but whose
        id is not recorded is adopted, one that holds another id is never taken over.
        """
        if event.dialer_campaign_id is not None:
            key = self.keys.dialer_id(event.dialer, event.dialer_campaign_id)
            ref = await self.redis.get(key)
            if ref is not None:
                return text(ref)
        return await self._ref_by_name(event)

    async def _ref_by_name(self, event: DialerNotification) -> str | None:
        """``resolve_ref`` once the dialer's id matched no campaign (or the event names none)."""
        if event.campaign_ref is None or event.dialer_campaign_id is None:
            return event.campaign_ref
        stored = await self.get(event.campaign_ref)
        if stored is not None and stored.dialer_id not in (None, event.dialer_campaign_id):
            return None
        return event.campaign_ref

    async def running_campaigns_of(self, agent_id: str) -> set[str]:
        return {text(ref) for ref in await self.redis.smembers(self.keys.agent_running(agent_id))}

    async def audit_entries(self, count: int = 100) -> list[dict[str, Any]]:
        entries: Any = await self.redis.xrevrange(self.keys.audit, count=count)
        return [{text(k): text(v) for k, v in fields.items()} for _, fields in entries]

    async def campaign_audit(
        self, ref: str, count: int = 100, *, before: str | None = None
    ) -> list[tuple[str, dict[str, str]]]:
        """One campaign's audit entries, newest first, as (entry id, fields); ``before``: only
        entries older than this entry id (the next page)."""
        newest = f"({before}" if before else "+"
        entries: Any = await self.redis.xrevrange(
            self.keys.campaign_audit(ref), max=newest, min="-", count=count
        )
        return [
            (text(entry_id), {text(k): text(v) for k, v in fields.items()})
            for entry_id, fields in entries
        ]

    async def note(self, ref: str, action: str, actor: str, data: dict[str, Any]) -> None:
        """Audit something that is not a change of the campaign document (leads uploaded)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            writes = self._deployment_writes(pipe, ref)
            self._audit(pipe, writes, action, ref, actor, data)
            await self._commit(pipe, ref, writes)

    # -- writing ----------------------------------------------------------------------------

    async def create(self, campaign: Campaign) -> None:
        """Store a new campaign under a ref from ``issue_ref``. A ref is stored only once."""
        if not await self.was_issued(campaign.ref):
            raise ValueError(f"{campaign.ref} was not issued by this store")
        key = self.keys.campaign(campaign.ref)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    # WATCH rather than SET NX: nothing else (index, audit) may be written for a
                    # campaign that turns out to exist.
                    await pipe.watch(key)
                    if await pipe.get(key) is not None:  # (a cluster's EXISTS is split by slot)
                        raise ValueError(f"campaign {campaign.ref} already exists")
                    pipe.multi()  # type: ignore[no-untyped-call]
                    writes = self._deployment_writes(pipe, campaign.ref)
                    pipe.set(key, campaign.model_dump_json())
                    created = campaign.created_at.timestamp()
                    writes.zadd(self.keys.live_campaigns, {campaign.ref: created})
                    if campaign.dialer_id:
                        dialer_key = self.keys.dialer_id(campaign.dialer, campaign.dialer_id)
                        writes.set(dialer_key, campaign.ref)
                    self._audit(
                        pipe,
                        writes,
                        "created",
                        campaign.ref,
                        campaign.created_by,
                        {
                            "name": campaign.name,
                            "channel": campaign.channel_id,
                            "settings": campaign.settings.model_dump(mode="json"),
                            "agents": [a.agent_id for a in campaign.agents],
                        },
                    )
                    await self._commit(pipe, campaign.ref, writes)
                    return
                except WatchError:
                    continue

    async def update(
        self, ref: str, change: Change, *, actor: str, action: str
    ) -> tuple[Campaign, tuple[Effect, ...]]:
        """Apply a pure ``change`` to the stored campaign atomically; audit it as ``action``.

        ``change`` may run more than once (on contention) and may raise to refuse the change,
        in which case nothing is written. It must not change the status: only notifications do.
        """
        key = self.keys.campaign(ref)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    raw = await pipe.get(key)
                    if raw is None:
                        raise UnknownCampaign(ref)
                    current = Campaign.model_validate_json(raw)
                    updated, effects = change(current)
                    if updated.status is not current.status:
                        raise ValueError("only dialer notifications change a campaign's status")
                    pipe.multi()  # type: ignore[no-untyped-call]
                    writes = self._deployment_writes(pipe, ref)
                    pipe.set(key, updated.model_dump_json())
                    if updated.dialer_id and updated.dialer_id != current.dialer_id:
                        writes.set(self.keys.dialer_id(updated.dialer, updated.dialer_id), ref)
                    self._reindex_agents(writes, current, updated)
                    details = change_details(current, updated)
                    self._audit(pipe, writes, action, ref, actor, details)
                    await self._commit(pipe, ref, writes)
                    return updated, tuple(effects)
                except WatchError:
                    continue

    async def record_request(self, ref: str, pending: PendingOperation) -> Campaign:
        """Remember what a lead asked the dialer to do; the status stays as it is."""

        def change(campaign: Campaign) -> tuple[Campaign, tuple[Effect, ...]]:
            return campaign.model_copy(update={"pending": pending}), ()

        campaign, _ = await self.update(
            ref, change, actor=pending.requested_by, action=f"request:{pending.kind}"
        )
        return campaign

    async def apply_notification(self, event: DialerNotification) -> ApplyResult:
        """Apply one dialer notification exactly once, in order, atomically.

        Calls made together (the inbox applies different campaigns side by side) are applied in
        one transaction for all (``_apply_batch``), with the same result each would have had
        alone in the order they were made; not in the cluster layout, whose campaigns are in
        different slots.
        """
        if self._batches is not None:
            return await self._batches.submit(event)
        return await self._apply_one(event)

    async def _apply_one(self, event: DialerNotification) -> ApplyResult:
        unmatched_key = self.keys.seen_event(event.dialer, event.event_id)
        if self.keys.cluster and await self.redis.exists(unmatched_key):
            # Seen when it matched no campaign (the key is only ever set, so reading it before
            # the transaction is safe); in the single layout it is the key watched below.
            await self._audit_now(event.campaign_ref or "", event, Outcome.DUPLICATE)
            return ApplyResult(Outcome.DUPLICATE, None)
        ref = await self.resolve_ref(event)
        if ref is None:
            await self._note_unmatched(unmatched_key, event)
            return ApplyResult(Outcome.IGNORED, None)
        key = self.keys.campaign(ref)
        seen_key = self.keys.campaign_seen_event(ref, event.dialer, event.event_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key, seen_key)
                    if is_cluster(self.redis):  # a cluster's transactions have no MGET
                        raw, seen = await pipe.get(key), await pipe.get(seen_key)
                    else:
                        raw, seen = await pipe.mget(key, seen_key)  # one round trip for both
                    if seen is not None:
                        await pipe.reset()  # type: ignore[no-untyped-call]
                        await self._audit_now(ref, event, Outcome.DUPLICATE)
                        return ApplyResult(Outcome.DUPLICATE, None)
                    if raw is None:
                        await pipe.reset()  # type: ignore[no-untyped-call]
                        await self._note_unmatched(unmatched_key, event)
                        return ApplyResult(Outcome.IGNORED, None)
                    current = Campaign.model_validate_json(raw)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    writes = self._deployment_writes(pipe, ref)
                    result, shown = self._stage(pipe, writes, seen_key, event, current)
                    await self._commit(pipe, ref, writes)
                    if shown and self.outbox is not None:
                        self.outbox.recorded(shown)
                    return result
                except WatchError:
                    continue

    def _stage(
        self,
        pipe: Writes,
        writes: Writes,
        seen_key: str,
        event: DialerNotification,
        current: Campaign,
    ) -> tuple[ApplyResult, tuple[Effect, ...]]:
        """Queue the writes of ``event`` applied to ``current`` in ``pipe``'s MULTI: the result,
        and the effects recorded in the alert outbox (to announce once committed)."""
        transition = apply_notification(current, event)
        updated = transition.campaign
        pipe.set(seen_key, "1", ex=SEEN_EVENT_TTL)
        if transition.outcome is Outcome.APPLIED:
            self._write_applied(pipe, writes, current, updated)
        self._audit_event(pipe, writes, current.ref, event, transition.outcome, current)
        effects = tuple(transition.effects)
        shown: tuple[Effect, ...] = ()
        if self.outbox is not None:
            # Shown effects go to the outbox with the notification; the caller gets the rest
            # (the requests to the dialer).
            if self.outbox.stage(writes, effects, updated):
                shown = effects
            effects = tuple(e for e in effects if not is_shown(e))
        return ApplyResult(transition.outcome, updated, effects), shown

    async def _apply_batch(
        self, events: list[DialerNotification]
    ) -> list[ApplyResult | BaseException]:
        """``events`` applied as if one after the other: one transaction for those whose campaign
        is known, each alone for the rest (or for all, when other writers keep interfering)."""
        if len(events) == 1:
            return [await self._settle_alone(events[0])]
        refs = await self._resolve_refs(events)
        results: dict[int, ApplyResult | BaseException] = {}
        together = [i for i, ref in enumerate(refs) if ref is not None]
        if together:
            try:
                results.update(await self._apply_together(events, refs, together))
            except WatchError:
                pass  # applied one by one below
            except RedisError as exc:
                results.update((i, exc) for i in together)
            except Exception:
                pass  # one notification's fault (an unreadable document): one by one, below
        for i, event in enumerate(events):
            if i not in results:
                results[i] = await self._settle_alone(event)
        return [results[i] for i in range(len(events))]

    async def _settle_alone(self, event: DialerNotification) -> ApplyResult | BaseException:
        try:
            return await self._apply_one(event)
        except Exception as exc:
            return exc

    async def _resolve_refs(self, events: list[DialerNotification]) -> list[str | None]:
        """``resolve_ref`` for each event, the dialer-id look-ups in one round trip."""
        names = [
            self.keys.dialer_id(e.dialer, e.dialer_campaign_id)
            for e in events
            if e.dialer_campaign_id is not None
        ]
        found = iter(await self.redis.mget(names) if names else [])
        refs: list[str | None] = []
        for event in events:
            ref = next(found) if event.dialer_campaign_id is not None else None
            refs.append(text(ref) if ref is not None else await self._ref_by_name(event))
        return refs

    async def _apply_together(
        self, events: list[DialerNotification], refs: list[str | None], indexes: list[int]
    ) -> dict[int, ApplyResult]:
        targets = {
            i: (ref, self.keys.campaign_seen_event(ref, events[i].dialer, events[i].event_id))
            for i in indexes
            if (ref := refs[i]) is not None
        }
        doc_keys = [self.keys.campaign(ref) for ref, _ in targets.values()]
        watched = list(dict.fromkeys([*doc_keys, *(seen for _, seen in targets.values())]))
        async with self.redis.pipeline(transaction=True) as pipe:
            for _ in range(BATCH_WATCH_ATTEMPTS):
                try:
                    await pipe.watch(*watched)
                    stored = dict(zip(watched, await pipe.mget(watched), strict=True))
                    # Recorded and sent as one command: the batch's writes are many and small.
                    recorded = RecordedWrites()
                    results, shown = self._stage_together(recorded, events, targets, stored)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    recorded.queue(pipe, one_command=self._one_command)
                    await pipe.execute()
                except WatchError:
                    continue
                if self.outbox is not None:
                    for effects in shown:
                        self.outbox.recorded(effects)
                return results
        raise WatchError("the batch's campaigns kept changing; applied one by one")

    def _stage_together(
        self,
        pipe: RecordedWrites,
        events: list[DialerNotification],
        targets: dict[int, tuple[str, str]],
        stored: dict[str, Any],
    ) -> tuple[dict[int, ApplyResult], list[tuple[Effect, ...]]]:
        """Stage ``events`` (by index: their ref and seen key) one after the other in ``pipe``,
        each on the campaign as the ones before it left it."""
        results: dict[int, ApplyResult] = {}
        shown: list[tuple[Effect, ...]] = []
        seen = {key for _, key in targets.values() if stored[key] is not None}
        campaigns: dict[str, Campaign | None] = {}
        for i, (ref, seen_key) in targets.items():
            event = events[i]
            if seen_key in seen:
                self._audit_event(pipe, pipe, ref, event, Outcome.DUPLICATE)
                results[i] = ApplyResult(Outcome.DUPLICATE, None)
                continue
            seen.add(seen_key)
            if ref not in campaigns:
                raw = stored[self.keys.campaign(ref)]
                campaigns[ref] = None if raw is None else Campaign.model_validate_json(raw)
            current = campaigns[ref]
            if current is None:  # as ``_note_unmatched`` (same seen key in this layout)
                pipe.set(seen_key, "1", ex=SEEN_EVENT_TTL)
                self._audit_event(pipe, pipe, event.campaign_ref or "", event, Outcome.IGNORED)
                results[i] = ApplyResult(Outcome.IGNORED, None)
                continue
            results[i], effects = self._stage(pipe, pipe, seen_key, event, current)
            campaigns[ref] = results[i].campaign
            if effects:
                shown.append(effects)
        return results, shown

    async def sweep_followups(self) -> int:
        """Apply the follow-ups a crash left behind (cluster layout); how many were applied."""
        return 0 if self.followups is None else await self.followups.sweep()

    # -- internals --------------------------------------------------------------------------

    def _deployment_writes(self, pipe: Pipeline, ref: str) -> Writes:
        """The MULTI itself, unless the cluster layout puts ``ref``'s keys in another slot than
        the deployment's: then a follow-up that ``_commit`` records and applies."""
        return GlobalWrites() if self.followups is not None and ref else pipe

    async def _commit(self, pipe: Pipeline, ref: str, writes: Writes) -> list[Any]:
        """EXEC ``pipe`` (raises ``WatchError`` as it would), then apply its follow-up."""
        if self.followups is None or not isinstance(writes, GlobalWrites) or not writes:
            return list(await pipe.execute())
        await self.followups.mark_pending(ref)
        self.followups.stage(pipe, ref, writes)
        results = list(await pipe.execute())
        await self.followups.settle(ref, writes, results)
        return results[:-2]

    def _write_applied(
        self, pipe: Writes, writes: Writes, current: Campaign, updated: Campaign
    ) -> None:
        key = self.keys.campaign(updated.ref)
        if updated.status is CampaignStatus.DELETED:
            retention = self.audit_retention
            pipe.set(key, updated.model_dump_json(), ex=retention)
            writes.zrem(self.keys.live_campaigns, updated.ref)
            if updated.dialer_id:
                writes.expire(self.keys.dialer_id(updated.dialer, updated.dialer_id), retention)
            # Its history outlives it by the retention; later entries keep that expiry.
            pipe.expire(self.keys.campaign_audit(updated.ref), retention)
            if self.followups is not None:  # (an emptied stream stays until then)
                pipe.expire(self.keys.followups(updated.ref), retention)
        else:
            pipe.set(key, updated.model_dump_json())
        self._reindex_agents(writes, current, updated)

    def _reindex_agents(self, writes: Writes, current: Campaign, updated: Campaign) -> None:
        before, after = current.running_agents(), updated.running_agents()
        for agent_id in before - after:
            writes.srem(self.keys.agent_running(agent_id), updated.ref)
        for agent_id in after - before:
            writes.sadd(self.keys.agent_running(agent_id), updated.ref)

    async def _note_unmatched(self, seen_key: str, event: DialerNotification) -> None:
        ref = event.campaign_ref or ""
        async with self.redis.pipeline(transaction=True) as pipe:
            writes = self._deployment_writes(pipe, ref)
            writes.set(seen_key, "1", ex=SEEN_EVENT_TTL)
            self._audit_event(pipe, writes, ref, event, Outcome.IGNORED)
            await self._commit(pipe, ref, writes)

    async def _audit_now(self, ref: str, event: DialerNotification, outcome: Outcome) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            self._audit_event(pipe, pipe, ref, event, outcome)
            await pipe.execute()

    def _audit_event(
        self,
        pipe: Writes,
        writes: Writes,
        ref: str,
        event: DialerNotification,
        outcome: Outcome,
        current: Campaign | None = None,
    ) -> None:
        # A status read back from the dialer is audited as such, never as the dialer's word.
        kind = "notification" if event.source is NotificationSource.DIALER else event.source.value
        # Encoded by pydantic, not json.dumps: every notification is audited, so it adds up.
        data = [f'"event":{event.model_dump_json()}']
        if current is not None:  # what it was before, for the campaign's history
            data.append(f'"previous_status":{json.dumps(current.status.value)}')
            if event.settings is not None:
                data.append(f'"previous_settings":{current.settings.model_dump_json()}')
        self._audit(
            pipe, writes, f"{kind}:{outcome}", ref, event.dialer, "{" + ",".join(data) + "}"
        )

    def _audit(
        self,
        pipe: Writes,
        writes: Writes,
        action: str,
        ref: str,
        actor: str,
        data: dict[str, Any] | str,
    ) -> None:
        entry = audit_entry(self._clock(), action, ref, actor, data)
        writes.xadd(self.keys.audit, entry, maxlen=self._audit_maxlen, approximate=True)
        if ref:
            pipe.xadd(
                self.keys.campaign_audit(ref),
                entry,
                maxlen=CAMPAIGN_AUDIT_MAXLEN,
                approximate=True,
            )


def audit_entry(
    at: datetime, action: str, ref: str, actor: str, data: dict[str, Any] | str
) -> dict[Any, Any]:
    """The fields of an entry in the audit stream (``Keys.audit``), whoever writes it; ``data``
    is a JSON object, or one already encoded."""
    return {
        "at": at.isoformat(),
        "action": action,
        "ref": ref,
        "actor": actor,
        "data": data if isinstance(data, str) else json.dumps(data, default=str),
    }


def change_details(before: Campaign, after: Campaign) -> dict[str, Any]:
    """What an update changed, for the audit: settings before → after, agents added and
    removed, the request recorded, the removal's requester and approver."""
    details: dict[str, Any] = {}
    if before.settings != after.settings:
        old, new = before.settings.model_dump(mode="json"), after.settings.model_dump(mode="json")
        details["settings"] = {k: [old.get(k), v] for k, v in new.items() if old.get(k) != v}
    old_agents = {a.agent_id for a in before.agents}
    new_agents = {a.agent_id for a in after.agents}
    if old_agents != new_agents:
        details["agents_added"] = sorted(new_agents - old_agents)
        details["agents_removed"] = sorted(old_agents - new_agents)
    if after.pending is not None and after.pending != before.pending:
        details["pending"] = {"kind": after.pending.kind.value, "detail": after.pending.detail}
    removal = after.removal or before.removal
    if removal is not None and after.removal != before.removal:
        details["removal"] = {
            "requested_by": removal.requested_by,
            "approved_by": after.removal.approved_by if after.removal else None,
            "stage": after.removal.stage.value if after.removal else None,
        }
    return details
