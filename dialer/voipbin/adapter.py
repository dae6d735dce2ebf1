"""``VoipbinDialer``: the Dialer port over VoIPBIN's campaign API (see the package docstring)."""

from __future__ import annotations

import asyncio
import logging
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import httpx
from redis.asyncio import Redis

from dialer.base import NotificationSink, NumberLookup, WebhookRejected
from dialer.confirmations import Confirmations, now_micros
from dialer.errors import (
    CampaignConflict,
    CampaignNotFound,
    DialerError,
    DialerRejected,
    DuplicateContact,
)
from dialer.limits import Limits, LocalLimits
from dialer.models import Contact, DialerCampaign, DialerCapabilities, NewCampaign
from dialer.voipbin.client import MAX_PAGE_SIZE, NAME, NotFound, Sleep, VoipbinClient
from dialer.voipbin.mapping import (
    NIL_ID,
    STATUS_FROM_VOIPBIN,
    CampaignMetadata,
    campaign_body,
    campaign_name,
    dial_info,
    dial_info_matches,
    dialer_campaign,
    is_deleted,
    service_level_for,
    settings_from,
    target_body,
    tel_address,
)
from dialer.voipbin.settings import VoipbinSettings
from dialer.voipbin.targets import listed_in, without_numbers
from dialer.voipbin.webhooks import (
    PROGRESS_EVENTS,
    SETTINGS_EVENT,
    STATUS_EVENTS,
    Envelope,
    campaign_identity,
    notification,
    parse_envelope,
    progress_counter,
    status_notification,
    verify_signature,
)
from state.cancellation import raise_if_cancelled
from state.domain import (
    AgentAssignment,
    AgentDefaultState,
    CampaignSettings,
    CampaignStatus,
    DialerNotification,
    NotificationKind,
    NotificationSource,
)
from state.keys import VoipbinKeys

log = logging.getLogger(__name__)

BATCH_SIZE = 16  # contacts per add_contacts call: one second of API budget at the default pace
COUNTERS_TTL_SECONDS = 30 * 24 * 3600
RECENT_PAGES = 3  # listings are newest first: a target just made is on the first pages


@dataclass
class _Campaign:
    """What the adapter remembers of one of the bot's VoIPBIN campaigns (ref -> ids)."""

    campaign_id: str
    outdial_id: str
    outplan_id: str
    queue_id: str
    metadata: CampaignMetadata | None = field(default=None)

    @classmethod
    def of(cls, campaign: dict[str, Any]) -> _Campaign:
        return cls(
            campaign_id=str(campaign["id"]),
            outdial_id=str(campaign.get("outdial_id") or NIL_ID),
            outplan_id=str(campaign.get("outplan_id") or NIL_ID),
            queue_id=str(campaign.get("queue_id") or NIL_ID),
        )


class VoipbinDialer:
    name = NAME
    batch_size = BATCH_SIZE
    capabilities = DialerCapabilities()

    def __init__(
        self,
        settings: VoipbinSettings,
        redis: Redis,
        *,
        key_prefix: str = "cb:",
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        limits: Limits | None = None,
    ) -> None:
        self.max_calls_per_second = settings.requests_per_second / BATCH_SIZE
        # Each request keeps the account's pace (below): batches may start a little ahead of it.
        self.batch_burst = math.ceil(settings.request_burst / BATCH_SIZE) + 1
        self._settings = settings
        self._redis = redis
        self._keys = VoipbinKeys(key_prefix)
        requests = (limits or LocalLimits()).rate(
            f"{NAME}:requests", settings.requests_per_second, burst=settings.request_burst
        )
        self._api = VoipbinClient(settings, transport=transport, sleep=sleep, limiter=requests)
        self._campaigns: dict[str, _Campaign] = {}
        self._confirmations = Confirmations()
        self.ignored_events: Counter[str] = Counter()
        """Deliveries answered 2xx but not used, by event type (the bot has no metrics hook
        for adapters yet; this is where a future one reads them)."""

    # -- campaigns ---------------------------------------------------------------------------

    async def create_campaign(self, campaign: NewCampaign) -> DialerCampaign:
        """Create the campaign and everything it uses; on failure, delete what was made.

        The VoIPBIN id is recorded as soon as ``POST /campaigns`` answers; the bot stores it with
        the campaign when this returns. Until then no notification of the new campaign can be
        applied (the store matches by id), and none is missed: VoIPBIN publishes only
        ``campaign_created`` and ``campaign_updated`` for a campaign nobody has started.
        """
        if campaign.agents and self._settings.queue_id:
            raise DialerRejected(
                f"The bot uses the shared VoIPBIN queue {self._settings.queue_id} "
                "(VOIPBIN_QUEUE_ID), whose agents are chosen in VoIPBIN: create the campaign "
                "without agents.",
                dialer=NAME,
            )
        created: list[str] = []  # resources to delete again if a later step fails
        try:
            return await self._create(campaign, created)
        except DialerError:
            self._campaigns.pop(campaign.ref, None)
            await self._delete_quietly(reversed(created))
            raise

    async def _create(self, spec: NewCampaign, created: list[str]) -> DialerCampaign:
        settings = self._settings
        label = campaign_name(spec.ref, spec.name)
        metadata = CampaignMetadata(spec.ref, None, None)
        queue_id = settings.queue_id
        if queue_id is None:
            agent_tag = await self._post("/tags", _tag_body(label, "agents"), created)
            call_in_tag = await self._post("/tags", _tag_body(label, "call-in"), created)
            metadata = CampaignMetadata(spec.ref, agent_tag, call_in_tag)
            for agent in spec.agents:
                calls_in = agent.default_state is AgentDefaultState.AVAILABLE
                await self._retag_agent(agent.agent_id, metadata, add=True, call_in=calls_in)
            queue_id = await self._post("/queues", self._queue_body(label, agent_tag), created)
        outplan_id = settings.outplan_id or await self._post(
            "/outplans", self._outplan_body(label, spec.settings), created
        )
        # VoIPBIN refuses an outdial without a campaign id, and a campaign whose outdial belongs
        # to another campaign: so the campaign comes first, then its outdial, then the link.
        body = campaign_body(
            spec,
            campaign_type=settings.campaign_type,
            actions=settings.flow_actions(),
            outplan_id=outplan_id,
            outdial_id=NIL_ID,
            queue_id=queue_id,
        )
        campaign = await self._api.request(
            "POST", "/campaigns", json=body, find_existing=lambda: self._campaign_named(label)
        )
        created.append(f"/campaigns/{campaign['id']}")
        # Recorded at once: from here on this id is the campaign's, whatever its name says.
        self._campaigns[spec.ref] = _Campaign.of(campaign)
        outdial = {
            "campaign_id": campaign["id"],
            "name": label,
            "detail": MANAGED,
            "data": metadata.encode(),
        }
        outdial_id = await self._post("/outdials", outdial, created)
        resources = {
            "outplan_id": outplan_id,
            "outdial_id": outdial_id,
            "queue_id": queue_id,
            "next_campaign_id": NIL_ID,
        }
        campaign = await self._api.request(
            "PUT", f"/campaigns/{campaign['id']}/resource_info", json=resources
        )
        self._campaigns[spec.ref] = _Campaign.of(campaign)
        self._campaigns[spec.ref].metadata = metadata
        return dialer_campaign(campaign, spec.settings).model_copy(update={"agents": spec.agents})

    async def _post(self, path: str, body: dict[str, Any], created: list[str]) -> str:
        resource = await self._api.request("POST", path, json=body)
        created.append(f"{path}/{resource['id']}")
        return str(resource["id"])

    def _queue_body(self, label: str, agent_tag: str) -> dict[str, Any]:
        return {
            "name": label,
            "detail": "Answered campaign calls wait here for the campaign's agents.",
            "routing_method": "random",
            "tag_ids": [agent_tag],
            "wait_flow_id": NIL_ID,
            "wait_timeout": self._settings.queue_wait_timeout_ms,
            "service_timeout": self._settings.queue_service_timeout_ms,
        }

    def _outplan_body(self, label: str, settings: CampaignSettings) -> dict[str, Any]:
        return {"name": label, "detail": MANAGED, **dial_info(settings, self._settings.caller_id)}

    async def add_contacts(self, ref: str, contacts: Sequence[Contact]) -> None:
        campaign = await self._resolve(ref)
        key = self._keys.contacts(ref)
        await self._refuse_repeats(ref, [contact.ref for contact in contacts])
        for contact in contacts:
            raise_if_cancelled()
            # Each ref is recorded just before its own request, so an upload cut short (error,
            # cancellation, crash) leaves at most the one contact in flight recorded as sent.
            if not await self._redis.sadd(key, contact.ref):
                raise DuplicateContact(
                    f"Contact {contact.ref} of campaign {ref} was uploaded meanwhile by another "
                    "upload; this one stopped there.",
                    dialer=NAME,
                )
            uncertain = self._keys.uncertain(ref)
            path = f"/outdials/{campaign.outdial_id}/targets"
            try:
                # A target an earlier attempt may have made is looked for before it is sent again.
                if not (await self._redis.sismember(uncertain, contact.ref)) or (
                    await self._target_named(campaign.outdial_id, contact.ref, None) is None
                ):
                    await self._api.request(
                        "POST",
                        path,
                        json=target_body(contact),
                        find_existing=partial(
                            self._target_named, campaign.outdial_id, contact.ref, RECENT_PAGES
                        ),
                    )
            except BaseException:
                # Whether VoIPBIN made it is unknown: the ref may be sent again (a lost lead is
                # worse), and is looked for first when it is.
                await self._redis.sadd(uncertain, contact.ref)
                await self._redis.expire(uncertain, COUNTERS_TTL_SECONDS)
                await self._redis.srem(key, contact.ref)
                raise
            await self._redis.srem(uncertain, contact.ref)
            await self._count_upload(campaign.campaign_id)

    async def _target_named(
        self, outdial_id: str, name: str, max_pages: int | None
    ) -> dict[str, Any] | None:
        """The outdial's live target called ``name``, newest first, within ``max_pages``."""
        seen = 0
        async for target in self._api.paginate(f"/outdials/{outdial_id}/targets"):
            if target.get("name") == name and not is_deleted(target):
                return target
            seen += 1
            if max_pages is not None and seen >= max_pages * MAX_PAGE_SIZE:
                return None
        return None

    async def withdraw_listed(self, ref: str, listed: NumberLookup) -> int:
        """Stop dialling the numbers ``listed`` names in campaign ``ref``; returns how many
        targets changed.

        The targets are listed from VoIPBIN, which knows them whatever replica uploaded them or
        restarted since, and looked up a page at a time. Each one holding a listed number is
        deleted (``DELETE /outdials/{id}/targets/{target_id}``); an idle one with other numbers
        is made again with those (``dialer.voipbin.targets``), under the same name.
        """
        campaign = await self._resolve(ref)
        path = f"/outdials/{campaign.outdial_id}/targets"
        hits: list[tuple[dict[str, Any], frozenset[str]]] = []
        page: list[dict[str, Any]] = []
        async for target in self._api.paginate(path):
            if not is_deleted(target):
                page.append(target)
            if len(page) == MAX_PAGE_SIZE:
                hits += await listed_in(page, listed)
                page = []
        hits += await listed_in(page, listed)
        for target, numbers in hits:  # all listed first: a target made again is not met twice
            raise_if_cancelled()
            await self._api.request("DELETE", f"{path}/{target['id']}")
            body = without_numbers(target, numbers)
            if body is not None:
                find = partial(self._target_named, campaign.outdial_id, body["name"], RECENT_PAGES)
                await self._api.request("POST", path, json=body, find_existing=find)
        return len(hits)

    async def _campaign_named(self, name: str) -> dict[str, Any] | None:
        """The live campaign called ``name`` (it carries a ref never issued twice)."""
        async for campaign in self._api.paginate("/campaigns"):
            if campaign.get("name") == name and not is_deleted(campaign):
                return campaign
        return None

    async def _refuse_repeats(self, ref: str, refs: list[str]) -> None:
        """Refuse the whole batch, before sending anything, if it repeats a ref."""
        repeated = sorted({r for r in refs if refs.count(r) > 1})
        if not repeated and refs:
            known = await self._redis.smismember(self._keys.contacts(ref), refs)
            repeated = [r for r, seen in zip(refs, known, strict=True) if seen]
        if repeated:
            raise self._repeated(ref, repeated)

    @staticmethod
    def _repeated(ref: str, repeated: list[str]) -> DuplicateContact:
        shown = ", ".join(repeated[:5]) + ("…" if len(repeated) > 5 else "")
        return DuplicateContact(
            f"Campaign {ref} already has contacts {shown}; nothing from this batch was sent.",
            dialer=NAME,
        )

    async def update_settings(self, ref: str, settings: CampaignSettings) -> None:
        campaign = await self._resolve(ref)
        current = await self._api.request("GET", f"/campaigns/{campaign.campaign_id}")
        await self._update_outplan(campaign.outplan_id, settings)
        level = service_level_for(settings.aggression)
        path = f"/campaigns/{campaign.campaign_id}"
        if current["end_handle"] == settings.end_handle.value and current["service_level"] != level:
            await self._api.request("PUT", f"{path}/service_level", json={"service_level": level})
            return
        # Sent even when nothing changed on the campaign, so VoIPBIN's campaign_updated confirms.
        body = {
            "name": current["name"],
            "detail": current.get("detail", ""),
            "type": current.get("type") or self._settings.campaign_type,
            "service_level": level,
            "end_handle": settings.end_handle.value,
        }
        await self._api.request("PUT", path, json=body)

    async def _update_outplan(self, outplan_id: str, settings: CampaignSettings) -> None:
        outplan = await self._api.request("GET", f"/outplans/{outplan_id}")
        if dial_info_matches(outplan, settings):
            return
        if self._settings.outplan_id:
            raise DialerRejected(
                "Dial timeout, attempts and retry interval come from the shared VoIPBIN outplan "
                f"{outplan_id} (VOIPBIN_OUTPLAN_ID): change them in VoIPBIN.",
                dialer=NAME,
            )
        info = dial_info(settings, self._settings.caller_id)
        info["source"] = outplan.get("source") or tel_address(self._settings.caller_id)
        await self._api.request("PUT", f"/outplans/{outplan_id}/dial_info", json=info)

    async def start(self, ref: str) -> None:
        campaign = await self._resolve(ref)
        metadata = await self._metadata(campaign)
        if metadata.call_in_tag:
            for agent in await self._agents_tagged(metadata.call_in_tag):
                await self._api.request(
                    "PUT", f"/agents/{agent['id']}/status", json={"status": "available"}
                )
        await self._set_status(campaign, "run")

    async def stop(self, ref: str) -> None:
        await self._set_status(await self._resolve(ref), "stop")

    async def _set_status(self, campaign: _Campaign, status: str) -> None:
        await self._api.request(
            "PUT", f"/campaigns/{campaign.campaign_id}/status", json={"status": status}
        )

    async def delete(self, ref: str) -> None:
        campaign = await self._resolve(ref)
        current = await self._fetch(ref, campaign)
        status = STATUS_FROM_VOIPBIN[current["status"]]
        if status is not CampaignStatus.STOPPED:
            # VoIPBIN ignores a delete of a campaign that is not stopped; say so instead.
            raise CampaignConflict(
                f"Campaign {ref} is {status.value} in VoIPBIN: stop it and wait until it is "
                "stopped before removing it.",
                dialer=NAME,
            )
        await self._api.request("DELETE", f"/campaigns/{campaign.campaign_id}")
        metadata = await self._metadata(campaign)
        self._campaigns.pop(ref, None)
        await self._redis.delete(self._keys.contacts(ref), self._keys.uncertain(ref))
        await self._remove_resources(campaign, metadata)

    async def _remove_resources(self, campaign: _Campaign, metadata: CampaignMetadata) -> None:
        """Best effort: the campaign is gone either way; leftovers only clutter VoIPBIN."""
        try:
            if metadata.agent_tag:
                for agent in await self._agents_tagged(metadata.agent_tag):
                    await self._put_tags(agent, metadata, add=False, call_in=False)
        except DialerError as exc:
            log.warning("VoIPBIN agents of %s keep its tags: %s", metadata.ref, exc)
        paths = [f"/outdials/{campaign.outdial_id}"]
        if not self._settings.outplan_id:
            paths.append(f"/outplans/{campaign.outplan_id}")
        if not self._settings.queue_id:
            paths.append(f"/queues/{campaign.queue_id}")
        paths += [f"/tags/{tag}" for tag in (metadata.agent_tag, metadata.call_in_tag) if tag]
        await self._delete_quietly(paths)

    async def _delete_quietly(self, paths: Iterable[str]) -> None:
        for path in paths:
            try:
                await self._api.request("DELETE", path)
            except DialerError as exc:
                log.warning("could not delete VoIPBIN %s: %s", path, exc)

    async def list_campaigns(self) -> list[DialerCampaign]:
        """Every live VoIPBIN campaign; those whose name carries a ref the bot knows get it.

        Ids beat names: a ref already held (from ``create_campaign``, or an earlier listing) stays
        with that VoIPBIN id as long as VoIPBIN lists it, so a campaign made outside the bot whose
        name copies one of our refs never takes it over. A ref not held yet goes to the only
        campaign claiming it, or, when several do, to the one whose outdial carries the bot's
        metadata with that ref; the other claimants are listed without a ref.
        """
        live = [c async for c in self._api.paginate("/campaigns") if not is_deleted(c)]
        claims: dict[str, list[dict[str, Any]]] = {}
        for campaign in live:
            ref = dialer_campaign(campaign).ref
            if ref is not None:
                claims.setdefault(ref, []).append(campaign)
        owners: dict[str, str] = {}  # ref -> VoIPBIN campaign id
        known: dict[str, _Campaign] = {}
        for ref, claimants in claims.items():
            owner = await self._owner(ref, claimants)
            if owner is not None:
                owners[ref] = str(owner["id"])
                known[ref] = self._remembered(ref, owner)
        self._campaigns = known
        listed = []
        for campaign in live:
            found = dialer_campaign(campaign)
            if found.ref is not None and owners.get(found.ref) != found.dialer_id:
                found = found.model_copy(update={"ref": None})
            listed.append(found)
        return listed

    async def _owner(self, ref: str, claimants: list[dict[str, Any]]) -> dict[str, Any] | None:
        cached = self._campaigns.get(ref)
        for campaign in claimants:
            if cached is not None and str(campaign["id"]) == cached.campaign_id:
                return campaign
        if len(claimants) == 1:
            return claimants[0]
        for campaign in claimants:
            try:
                metadata = await self._metadata(_Campaign.of(campaign))
            except NotFound:
                continue  # no outdial, so not one the bot made
            if metadata.ref == ref:
                return campaign
        return None

    async def get_campaign(self, ref: str) -> DialerCampaign:
        campaign = await self._resolve(ref)
        current = await self._fetch(ref, campaign)
        outplan = await self._api.request("GET", f"/outplans/{campaign.outplan_id}")
        found = dialer_campaign(current, settings_from(current, outplan))
        return found.model_copy(
            update={
                "agents": await self._assignments(campaign),
                "counters": await self._counters(campaign.campaign_id),
            }
        )

    async def _fetch(self, ref: str, campaign: _Campaign) -> dict[str, Any]:
        try:
            current: dict[str, Any] = await self._api.request(
                "GET", f"/campaigns/{campaign.campaign_id}"
            )
        except CampaignNotFound:
            self._campaigns.pop(ref, None)
            raise
        if is_deleted(current):
            self._campaigns.pop(ref, None)
            raise CampaignNotFound(f"Campaign {ref} was deleted in VoIPBIN.", dialer=NAME)
        return current

    async def _resolve(self, ref: str) -> _Campaign:
        """The VoIPBIN ids of a ref; after a restart the cache is refilled by listing."""
        if ref not in self._campaigns:
            await self.list_campaigns()
        try:
            return self._campaigns[ref]
        except KeyError:
            raise CampaignNotFound(
                f"VoIPBIN holds no campaign with ref {ref}; it may have been deleted in VoIPBIN.",
                dialer=NAME,
            ) from None

    def _remembered(self, ref: str, campaign: dict[str, Any]) -> _Campaign:
        fresh = _Campaign.of(campaign)
        cached = self._campaigns.get(ref)
        if cached is not None and cached.outdial_id == fresh.outdial_id:
            fresh.metadata = cached.metadata
        return fresh

    async def _metadata(self, campaign: _Campaign) -> CampaignMetadata:
        if campaign.metadata is None:
            outdial = await self._api.request("GET", f"/outdials/{campaign.outdial_id}")
            decoded = CampaignMetadata.decode(str(outdial.get("data", "")))
            campaign.metadata = decoded or CampaignMetadata("", None, None)
        return campaign.metadata

    # -- agents ------------------------------------------------------------------------------

    async def add_agents(self, ref: str, agent_ids: Sequence[str]) -> None:
        metadata = await self._own_queue_metadata(ref)
        current = await self._assignments(await self._resolve(ref))
        call_in = any(a.default_state is AgentDefaultState.AVAILABLE for a in current)
        for agent_id in agent_ids:
            await self._retag_agent(agent_id, metadata, add=True, call_in=call_in)
        await self._confirm_agents(ref)

    async def remove_agents(self, ref: str, agent_ids: Sequence[str]) -> None:
        metadata = await self._own_queue_metadata(ref)
        for agent_id in agent_ids:
            await self._retag_agent(agent_id, metadata, add=False, call_in=False)
        await self._confirm_agents(ref)

    async def set_agent_default_state(self, ref: str, state: AgentDefaultState) -> None:
        metadata = await self._own_queue_metadata(ref)
        assert metadata.agent_tag is not None  # checked by _own_queue_metadata
        call_in = state is AgentDefaultState.AVAILABLE
        for agent in await self._agents_tagged(metadata.agent_tag):
            await self._put_tags(agent, metadata, add=True, call_in=call_in)
        await self._confirm_agents(ref)

    async def _confirm_agents(self, ref: str) -> None:
        """VoIPBIN publishes no campaign event when an agent's tags change: read back the agents
        carrying the campaign's queue tag and deliver them as an agents notification
        (``source=confirmation``) through ``run_notifications``."""
        try:
            campaign = await self._resolve(ref)
            agents = await self._assignments(campaign)
        except DialerError as exc:
            # The change itself went through; the next agents change reads them again.
            log.warning("could not read back the VoIPBIN agents of %s: %s", ref, exc)
            return
        sequence = now_micros()
        self._confirmations.put(
            DialerNotification(
                event_id=f"{NAME}:agents:{campaign.campaign_id}:{sequence}",
                dialer=NAME,
                kind=NotificationKind.AGENTS,
                campaign_ref=ref,
                dialer_campaign_id=campaign.campaign_id,
                sequence=sequence,
                occurred_at=datetime.fromtimestamp(sequence / 1_000_000, UTC),
                agents=agents,
                raw={"tag_ids": {a.agent_id: a.default_state.value for a in agents}},
                source=NotificationSource.CONFIRMATION,
            )
        )

    async def _own_queue_metadata(self, ref: str) -> CampaignMetadata:
        metadata = await self._metadata(await self._resolve(ref))
        if metadata.agent_tag is None:
            raise DialerRejected(
                f"Campaign {ref} uses a shared VoIPBIN queue: its agents are chosen in VoIPBIN.",
                dialer=NAME,
            )
        return metadata

    async def _assignments(self, campaign: _Campaign) -> tuple[AgentAssignment, ...]:
        metadata = await self._metadata(campaign)
        if metadata.agent_tag is None:
            return ()
        return tuple(
            AgentAssignment(
                agent_id=str(agent["id"]),
                default_state=AgentDefaultState.AVAILABLE
                if metadata.call_in_tag in (agent.get("tag_ids") or [])
                else AgentDefaultState.OFFLINE,
            )
            for agent in await self._agents_tagged(metadata.agent_tag)
        )

    async def _agents_tagged(self, tag_id: str) -> list[dict[str, Any]]:
        return [agent async for agent in self._api.paginate("/agents", {"tag_ids": tag_id})]

    async def _retag_agent(
        self, agent_id: str, metadata: CampaignMetadata, *, add: bool, call_in: bool
    ) -> None:
        try:
            agent = await self._api.request("GET", f"/agents/{agent_id}")
        except NotFound as exc:
            raise DialerRejected(
                f"VoIPBIN has no agent {agent_id!r}: use the agent's id from VoIPBIN's agent list.",
                dialer=NAME,
            ) from exc
        await self._put_tags(agent, metadata, add=add, call_in=call_in)

    async def _put_tags(
        self, agent: dict[str, Any], metadata: CampaignMetadata, *, add: bool, call_in: bool
    ) -> None:
        """Agents take a campaign's calls by carrying its queue's tag (VoIPBIN's routing)."""
        ours = {metadata.agent_tag, metadata.call_in_tag}
        tags = [tag for tag in agent.get("tag_ids") or [] if tag not in ours]
        if add and metadata.agent_tag:
            tags.append(metadata.agent_tag)
        if add and call_in and metadata.call_in_tag:
            tags.append(metadata.call_in_tag)
        if tags != list(agent.get("tag_ids") or []):
            await self._api.request("PUT", f"/agents/{agent['id']}/tag_ids", json={"tag_ids": tags})

    # -- notifications -----------------------------------------------------------------------

    async def run_notifications(self, sink: NotificationSink) -> None:
        """VoIPBIN pushes by webhook (``receive_webhook``); what runs here is the adapter's own
        confirmation reads (the agents read back after a change), until cancelled."""
        await self._confirmations.forward(sink)

    async def receive_webhook(
        self, headers: Mapping[str, str], body: bytes
    ) -> list[DialerNotification]:
        secret = self._settings.webhook_secret
        if secret is not None:
            verify_signature(secret.get_secret_value(), headers, body)
        envelope = parse_envelope(body)
        if envelope.type in STATUS_EVENTS:
            return [status_notification(envelope)]
        if envelope.type == SETTINGS_EVENT:
            return await self._settings_notification(envelope)
        if envelope.type in PROGRESS_EVENTS:
            return await self._progress_notifications(envelope)
        return self._ignored(envelope.type)

    def _ignored(self, event_type: str) -> list[DialerNotification]:
        """A delivery the bot has no use for (the customer webhook carries every VoIPBIN event:
        calls, queues, agents…): answered 2xx, counted by type in ``ignored_events``."""
        self.ignored_events[event_type] += 1
        log.debug("ignored VoIPBIN event %s", event_type)
        return []

    async def _settings_notification(self, envelope: Envelope) -> list[DialerNotification]:
        ref, campaign_id = campaign_identity(envelope.data)
        outplan_id = envelope.data.get("outplan_id")
        if not isinstance(outplan_id, str) or not outplan_id:
            raise WebhookRejected("the updated campaign names no outplan", status_code=400)
        if outplan_id == NIL_ID:
            return self._ignored(f"{envelope.type} (no outplan)")
        # The campaign carries pacing and end handle; the tries live on its outplan.
        try:
            outplan = await self._api.request("GET", f"/outplans/{outplan_id}")
        except NotFound:
            return self._ignored(f"{envelope.type} (outplan gone)")
        try:
            settings = settings_from(envelope.data, outplan)
        except (KeyError, ValueError, TypeError) as exc:
            raise WebhookRejected("the updated campaign is unreadable", status_code=400) from exc
        return [
            notification(
                envelope,
                NotificationKind.SETTINGS,
                campaign_ref=ref,
                campaign_id=campaign_id,
                settings=settings,
            )
        ]

    async def _progress_notifications(self, envelope: Envelope) -> list[DialerNotification]:
        campaign_id = envelope.data.get("campaign_id")
        if not isinstance(campaign_id, str) or not campaign_id or campaign_id == NIL_ID:
            return self._ignored(f"{envelope.type} (no campaign)")
        counters = await self._count(campaign_id, envelope)
        return [
            notification(
                envelope,
                NotificationKind.PROGRESS,
                campaign_ref=self._ref_of(campaign_id),
                campaign_id=campaign_id,
                counters=counters,
            )
        ]

    def _ref_of(self, campaign_id: str) -> str | None:
        for ref, campaign in self._campaigns.items():
            if campaign.campaign_id == campaign_id:
                return ref
        return None

    async def _count(self, campaign_id: str, envelope: Envelope) -> dict[str, int]:
        """Counts each call or target once per counter, however often VoIPBIN redelivers."""
        counter = progress_counter(envelope)
        counters_key = self._keys.counters(campaign_id)
        if counter is not None:
            counted_key = self._keys.counted(campaign_id)
            member = f"{counter}:{envelope.data.get('id')}"
            if await self._redis.sadd(counted_key, member):
                await self._redis.hincrby(counters_key, counter, 1)
            await self._redis.expire(counted_key, COUNTERS_TTL_SECONDS)
            await self._redis.expire(counters_key, COUNTERS_TTL_SECONDS)
        return await self._counters(campaign_id)

    async def _counters(self, campaign_id: str) -> dict[str, int]:
        """The counts the card shows: ``uploaded``, ``dialled`` and ``active`` (dialled, not yet
        done), with ``answered``, ``succeeded`` and ``failed``."""
        raw: dict[Any, Any] = await self._redis.hgetall(self._keys.counters(campaign_id))
        counters = {_text(key): int(value) for key, value in raw.items()}
        if "dialled" in counters:
            done = counters.get("succeeded", 0) + counters.get("failed", 0)
            counters["active"] = max(0, counters["dialled"] - done)
        return counters

    async def _count_upload(self, campaign_id: str) -> None:
        key = self._keys.counters(campaign_id)
        await self._redis.hincrby(key, "uploaded", 1)
        await self._redis.expire(key, COUNTERS_TTL_SECONDS)

    async def aclose(self) -> None:
        await self._api.aclose()


MANAGED = "Managed by campaign-bot."


def _tag_body(label: str, purpose: str) -> dict[str, str]:
    return {"name": f"{label} · {purpose}", "detail": MANAGED}


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
