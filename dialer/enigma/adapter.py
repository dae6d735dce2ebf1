"""The Teleforge Enigma adapter: control over Enigma's HTTP API, notifications from its Redis.

Where notifications come from:

* campaign status packets on ``<prefix>campaigns:*`` become ``status`` notifications
  (``started`` -> running, ``stopping``, ``stopped``, ``completed``);
* after every (re)subscription the adapter lists the campaigns over HTTP and emits each one's
  current status marked ``source=reconciliation`` (a read, not a publication): it corrects what
  is shown after a gap, and, like every reconciliation, never moves a removal on unless a stop
  was sent (``state.machine``);
* Enigma publishes nothing for settings, agent assignments or deletion, but answers those requests
  synchronously ("changes reflect immediately"). The adapter never passes off a notification as
  Enigma's: a settings change Enigma accepted is emitted marked ``source=accepted``, agents read
  back after a change ``source=confirmation``, and a deletion not at all (``publishes_deletion``
  is false: the engine records "deleted on the dialer (request accepted)" itself, audited as
  such). Start and stop are confirmed only by Enigma's packets (or a read after a stop);
* agent presence packets on ``<prefix>agents:*`` change no campaign: the adapter keeps each
  agent's latest presence for the single-campaign view (``agent_presence``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import replace

import httpx
from pydantic import AnyUrl, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from dialer.base import NotificationSink
from dialer.enigma import wire
from dialer.enigma.http import EnigmaHttp, RetryPolicy
from dialer.enigma.packets import (
    DIALER_NAME,
    AgentPresence,
    AgentStatusPacket,
    ArrivalClock,
    CampaignStatusPacket,
    MalformedPacket,
    parse_packet,
    status_notification,
)
from dialer.enigma.subscriber import Backoff, DeliveryFailed, ResilientSubscriber
from dialer.enigma.wire import WIRE, EnigmaFormatError
from dialer.errors import CampaignConflict, DialerError, DialerProtocolError, DialerRejected
from dialer.models import Contact, DialerCampaign, DialerCapabilities, NewCampaign
from dialer.registry import AdapterContext
from state.domain import (
    AgentDefaultState,
    CampaignSettings,
    DialerNotification,
    NotificationKind,
    NotificationSource,
)

log = logging.getLogger(__name__)

BATCH_SIZE = 100  # Teleforge's guide: upload leads in batches of 100
_CONFIRMATION_BACKLOG = 1000


class EnigmaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ENIGMA_", extra="ignore")

    api_url: AnyUrl  # Enigma's HTTP API base URL; required
    api_key: SecretStr | None = None  # sent as WIRE.auth_header; none sent when unset
    redis_url: str = "redis://127.0.0.1:8001"  # Enigma's own Redis, where it publishes
    channel_prefix: str = "enigma:notifications:"  # configurable so tests can share a Redis
    timeout_seconds: float = Field(default=10.0, gt=0)  # per HTTP request
    retries: int = Field(default=3, ge=0)  # extra attempts for calls that are safe to repeat
    retry_backoff_seconds: float = Field(default=0.5, ge=0)  # first backoff, doubled each time
    reconnect_max_seconds: float = Field(default=30.0, gt=0)  # cap on the Redis reconnect backoff
    max_calls_per_second: float = Field(default=10.0, gt=0)  # ASSUMED pace Enigma tolerates


class EnigmaDialer:
    name = DIALER_NAME
    batch_size = BATCH_SIZE
    publishes_deletion = False  # a DELETE Enigma accepted is recorded by the engine as such
    capabilities = DialerCapabilities()

    def __init__(
        self, settings: EnigmaSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.max_calls_per_second = settings.max_calls_per_second
        self._prefix = settings.channel_prefix
        self._client = httpx.AsyncClient(
            base_url=str(settings.api_url),
            headers=_auth_headers(settings.api_key),
            timeout=settings.timeout_seconds,
            transport=transport,
        )
        self._http = EnigmaHttp(
            self._client,
            RetryPolicy(settings.retries, settings.retry_backoff_seconds),
        )
        self._backoff = Backoff(settings.retry_backoff_seconds, settings.reconnect_max_seconds)
        self._subscriber = ResilientSubscriber(
            settings.redis_url,
            [self._prefix + WIRE.campaign_channels + "*", self._prefix + WIRE.agent_channels + "*"],
            self._backoff,
        )
        self._clock = ArrivalClock()
        self._presence: dict[str, AgentPresence] = {}
        self._confirmations: asyncio.Queue[DialerNotification] = asyncio.Queue(
            _CONFIRMATION_BACKLOG
        )

    # --- control ---------------------------------------------------------------------------

    async def create_campaign(self, campaign: NewCampaign) -> DialerCampaign:
        body = wire.create_body(campaign, _one_default_state(campaign))
        answer = await self._http.call(
            WIRE.create_campaign, f"create campaign {campaign.ref}", body=body, idempotent=False
        )
        return _campaign(answer, f"create campaign {campaign.ref}")

    async def add_contacts(self, ref: str, contacts: Sequence[Contact]) -> None:
        if len(contacts) > self.batch_size:
            raise ValueError(f"Enigma takes at most {self.batch_size} contacts per request")
        if not contacts:
            return
        await self._http.call(
            WIRE.add_contacts,
            f"add {len(contacts)} contacts to campaign {ref}",
            ref=ref,
            body=wire.contacts_body(contacts),
            idempotent=False,  # a repeat would be refused as duplicate contacts
        )

    async def update_settings(self, ref: str, settings: CampaignSettings) -> None:
        body = wire.modify_settings_body(ref, settings)
        await self._modify(ref, body, "change settings of")
        self._confirm(
            ref,
            kind=NotificationKind.SETTINGS,
            settings=settings,
            raw=body,
            source=NotificationSource.ACCEPTED,
        )

    async def start(self, ref: str) -> None:
        await self._modify(ref, wire.modify_state_body(ref, running=True), "start")

    async def stop(self, ref: str) -> None:
        await self._modify(ref, wire.modify_state_body(ref, running=False), "stop")

    async def delete(self, ref: str) -> None:
        try:
            await self._http.call(
                WIRE.delete_campaign,
                f"delete campaign {ref}",
                ref=ref,
                idempotent=True,
                gone_is_done=True,
            )
        except CampaignConflict as exc:
            raise CampaignConflict(
                f"Enigma will not delete campaign {ref} while it runs: stop it and wait for the "
                f"stopped notification first. ({exc})",
                dialer=DIALER_NAME,
            ) from exc

    async def list_campaigns(self) -> list[DialerCampaign]:
        answer = await self._http.call(WIRE.list_campaigns, "list campaigns", idempotent=True)
        try:
            return wire.campaigns_from_json(answer)
        except EnigmaFormatError as exc:
            raise _protocol_error("list campaigns", exc) from exc

    async def get_campaign(self, ref: str) -> DialerCampaign:
        action = f"get campaign {ref}"
        answer = await self._http.call(WIRE.get_campaign, action, ref=ref, idempotent=True)
        return _campaign(answer, action)

    async def add_agents(self, ref: str, agent_ids: Sequence[str]) -> None:
        await self._http.call(
            WIRE.add_agents,
            f"add agents {', '.join(agent_ids)} to campaign {ref}",
            ref=ref,
            body=wire.agents_body(agent_ids),
            idempotent=True,  # agents form a set
        )
        await self._confirm_agents(ref)

    async def remove_agents(self, ref: str, agent_ids: Sequence[str]) -> None:
        await self._http.call(
            WIRE.remove_agents,
            f"remove agents {', '.join(agent_ids)} from campaign {ref}",
            ref=ref,
            body=wire.agents_body(agent_ids),
            idempotent=True,
        )
        await self._confirm_agents(ref)

    async def set_agent_default_state(self, ref: str, state: AgentDefaultState) -> None:
        await self._modify(
            ref, wire.modify_default_state_body(ref, state), f"set agent default state {state} of"
        )
        await self._confirm_agents(ref)

    async def _modify(self, ref: str, body: dict[str, object], verb: str) -> None:
        await self._http.call(
            WIRE.modify_campaign, f"{verb} campaign {ref}", ref=ref, body=body, idempotent=True
        )

    # --- notifications ---------------------------------------------------------------------

    @property
    def listening(self) -> bool:
        """Subscribed to Enigma's Redis right now (for the health check)."""
        return self._subscriber.listening.is_set()

    async def wait_listening(self) -> None:
        await self._subscriber.listening.wait()

    def agent_presence(self, ref: str) -> list[AgentPresence]:
        """The latest presence of each agent last seen in campaign ``ref``."""
        return sorted(
            (seen for seen in self._presence.values() if seen.campaign_ref == ref),
            key=lambda seen: seen.agent_id,
        )

    async def run_notifications(self, sink: NotificationSink) -> None:
        """Packets, reconciles and confirmations into ``sink``, until cancelled."""
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._forward_confirmations(sink))
            tasks.create_task(
                self._subscriber.run(
                    lambda channel, data: self._on_packet(sink, channel, data),
                    lambda: self._reconcile(sink),
                )
            )

    async def _on_packet(self, sink: NotificationSink, channel: str, data: bytes) -> None:
        arrival = self._clock.stamp()
        try:
            packet = parse_packet(channel, data, self._prefix)
        except MalformedPacket as exc:
            log.warning("Skipping a malformed Enigma packet: %s", exc)
            return
        if isinstance(packet, CampaignStatusPacket):
            notification = status_notification(packet.ref, packet.status, arrival, packet.raw)
            await _deliver(sink, notification)
        elif isinstance(packet, AgentStatusPacket):
            self._presence[packet.extension] = AgentPresence(
                agent_id=packet.extension,
                campaign_ref=packet.campaign_ref,
                presence=packet.presence,
                seen_at=arrival.at,
            )

    async def _reconcile(self, sink: NotificationSink) -> None:
        """Emit every campaign's current status; retried until it succeeds once."""
        failures = 0
        while True:
            # Stamped before asking: a packet arriving meanwhile is newer and must win.
            asked = self._clock.stamp()
            try:
                campaigns = await self.list_campaigns()
                for campaign in campaigns:
                    ref = campaign.dialer_id
                    arrival = replace(asked, event_id=f"{asked.event_id}:reconcile:{ref}")
                    raw = {"reconciled": True, "status": campaign.status.value}
                    read = status_notification(ref, campaign.status, arrival, raw)
                    read = read.model_copy(update={"source": NotificationSource.RECONCILIATION})
                    await _deliver(sink, read)
                log.info("Reconciled %d Enigma campaigns", len(campaigns))
                return
            except (DialerError, DeliveryFailed) as exc:
                delay = self._backoff.delay(failures)
                failures += 1
                log.warning("Enigma reconcile failed (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)

    def _confirm(self, ref: str, **fields: object) -> None:
        arrival = self._clock.stamp()
        notification = DialerNotification.model_validate(
            {
                "event_id": arrival.event_id,
                "dialer": DIALER_NAME,
                "campaign_ref": ref,
                "dialer_campaign_id": ref,
                "sequence": arrival.sequence,
                "occurred_at": arrival.at,
                **fields,
            }
        )
        try:
            self._confirmations.put_nowait(notification)
        except asyncio.QueueFull:
            log.error("Dropping Enigma confirmation %s: nobody runs run_notifications", ref)

    async def _confirm_agents(self, ref: str) -> None:
        try:
            campaign = await self.get_campaign(ref)
        except DialerError as exc:
            # The change itself succeeded; the next agents change or view refresh catches up.
            log.warning("Could not read back the agents of %s: %s", ref, exc)
            return
        self._confirm(
            ref,
            kind=NotificationKind.AGENTS,
            agents=campaign.agents,
            raw={WIRE.agents: [a.agent_id for a in campaign.agents]},
            source=NotificationSource.CONFIRMATION,
        )

    async def _forward_confirmations(self, sink: NotificationSink) -> None:
        while True:
            notification = await self._confirmations.get()
            failures = 0
            while True:
                try:
                    await sink(notification)
                    break
                except Exception:
                    delay = self._backoff.delay(failures)
                    failures += 1
                    log.exception("The bot did not take an Enigma confirmation; retrying")
                    await asyncio.sleep(delay)

    async def aclose(self) -> None:
        """Close the HTTP client. Cancel ``run_notifications`` first: it owns the Redis client."""
        await self._client.aclose()


async def _deliver(sink: NotificationSink, notification: DialerNotification) -> None:
    try:
        await sink(notification)
    except Exception as exc:
        log.exception("The bot did not take Enigma notification %s", notification.event_id)
        raise DeliveryFailed(str(exc)) from exc


def _campaign(answer: object, action: str) -> DialerCampaign:
    try:
        return wire.campaign_from_json(answer)
    except EnigmaFormatError as exc:
        raise _protocol_error(action, exc) from exc


def _protocol_error(action: str, exc: EnigmaFormatError) -> DialerProtocolError:
    return DialerProtocolError(
        f"Enigma's answer to {action} could not be read ({exc}); the adapter's assumptions about "
        "Enigma's API (dialer/enigma/wire.py) may need correcting.",
        dialer=DIALER_NAME,
    )


def _one_default_state(campaign: NewCampaign) -> AgentDefaultState:
    states = {agent.default_state for agent in campaign.agents}
    if len(states) > 1:
        raise DialerRejected(
            f"Enigma keeps one default state for all agents of a campaign, but {campaign.ref} "
            "mixes offline and available agents: choose one for all.",
            dialer=DIALER_NAME,
        )
    return states.pop() if states else AgentDefaultState.OFFLINE


def _auth_headers(api_key: SecretStr | None) -> dict[str, str]:
    if api_key is None:
        return {}
    return {WIRE.auth_header: WIRE.auth_template.format(key=api_key.get_secret_value())}


def build(context: AdapterContext, settings: EnigmaSettings) -> EnigmaDialer:
    """The registry's factory (``dialer.enigma:build``): the ``ENIGMA_*`` section; Enigma needs
    nothing from the bot."""
    del context
    return EnigmaDialer(settings)
