"""The Genesys OCS adapter: control over OCS's HTTP interface, notifications by OCS's webhook."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from dialer.base import NotificationSink, WebhookRejected
from dialer.confirmations import Confirmations, now_micros
from dialer.errors import (
    CampaignConflict,
    CampaignNotFound,
    DialerError,
    DialerProtocolError,
    DialerRejected,
)
from dialer.genesys.groups import Attachment, Attachments, CampaignGroup
from dialer.genesys.vendor import (
    CAPABILITIES,
    OCS,
    Action,
    DialMode,
    Garbage,
    GroupMessage,
    GroupState,
    OptimizeBy,
    UnknownMessage,
    aggression_for,
    auto_completion_params,
    control_params,
    error_message,
    goal_for,
    pacing_params,
    parse_message,
    records_for,
)
from dialer.http import DialerHttp, RetryPolicy, Vendor, VendorSaid
from dialer.models import Contact, DialerCampaign, NewCampaign
from dialer.registry import AdapterContext
from state.domain import (
    AgentDefaultState,
    CampaignSettings,
    CampaignStatus,
    DialerNotification,
    EndHandle,
    NotificationKind,
    NotificationSource,
)

NAME = "genesys"
LOAD_POLL_SECONDS = 0.1
DIALLING = frozenset({GroupState.ACTIVE, GroupState.RUNNING})
UNLOADING = frozenset({GroupState.WAITING_UNLOAD, GroupState.UNLOAD_IN_PROGRESS})
REMOVABLE = frozenset({GroupState.INACTIVE, GroupState.NOT_LOADED})


class GenesysSettings(BaseSettings):
    """``GENESYS_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="GENESYS_", frozen=True)

    ocs_url: str
    campaign_groups: list[CampaignGroup] = Field(default_factory=list)
    dial_mode: DialMode = DialMode.PREDICT
    optimize_by: OptimizeBy = OptimizeBy.BUSY_FACTOR
    webhook_token: SecretStr | None = None
    batch_size: int = Field(default=100, ge=1, le=1000)
    timeout_seconds: float = Field(default=10.0, gt=0)
    retries: int = Field(default=3, ge=0)
    """Extra attempts for requests safe to repeat (the state read; see ``dialer.http``)."""
    retry_after_max_seconds: float = Field(default=60.0, ge=0)
    """The longest ``Retry-After`` waited out; a longer one fails the call, carrying it."""
    load_wait_seconds: float = Field(default=10.0, gt=0)
    """How long a start waits for OCS to finish loading the group."""
    max_calls_per_second: float = Field(default=10.0, gt=0)
    """Add-record batches a second, over all replicas. OCS documents no limit: assumed."""


class GenesysDialer:
    """Genesys OCS behind the Dialer port. What each request becomes:

    * ``create_campaign``: attaches the ref to a configured campaign group (the one named like the
      campaign, else the first free one) and loads the group;
    * ``add_contacts``: records added to the group's calling list, one per number, chained;
    * ``start`` / ``stop``: StartDialing (with the dial mode and optimisation goal) / StopDialing;
    * ``update_settings``: SetDialingMode while dialling (OCS's message confirms it); otherwise
      kept for the next start and read back as a confirmation (``run_notifications``);
    * ``delete``: Unload (only from InActive or NotLoaded); ``deleted`` once OCS reports NotLoaded;
    * agents: OCS staffs a group with its configured agent group, so there is nothing to send
      (``capabilities``: the bot sends nothing and says where agents are managed).
    """

    name = NAME
    capabilities = CAPABILITIES

    def __init__(
        self,
        settings: GenesysSettings,
        context: AdapterContext,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.batch_size = settings.batch_size
        self.max_calls_per_second = settings.max_calls_per_second
        self._groups = {g.dbid: g for g in settings.campaign_groups}
        self._by_key = {g.name: g for g in settings.campaign_groups} | {
            g.guid: g for g in settings.campaign_groups if g.guid
        }
        self._attachments = Attachments(context.redis, context.key_prefix)
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            base_url=settings.ocs_url.rstrip("/") + "/", timeout=settings.timeout_seconds
        )
        policy = RetryPolicy(
            retries=settings.retries, retry_after_max_seconds=settings.retry_after_max_seconds
        )
        self._api = DialerHttp(self._http, VENDOR, policy=policy)
        self._confirmations = Confirmations()

    # -- the Dialer port ----------------------------------------------------------------------

    async def create_campaign(self, campaign: NewCampaign) -> DialerCampaign:
        named = self._named(campaign.name)
        for group in [named] if named else list(self._groups.values()):
            if not await self._claim(group, campaign):
                continue
            try:
                state = await self._state(group)
                if state in DIALLING or state in UNLOADING:
                    await self._attachments.detach(
                        Attachment(campaign.ref, group.dbid, campaign.settings)
                    )
                    continue  # busy in OCS outside the bot
                if state is GroupState.NOT_LOADED:
                    await self._control(group, OCS.load, campaign.settings)
            except DialerError:
                await self._attachments.detach(
                    Attachment(campaign.ref, group.dbid, campaign.settings)
                )
                raise
            return DialerCampaign(
                ref=campaign.ref,
                dialer_id=str(group.dbid),
                name=group.name,
                status=CampaignStatus.STOPPED,
                settings=campaign.settings,
            )
        raise CampaignConflict(self._no_group_message(named), dialer=NAME)

    async def add_contacts(self, ref: str, contacts: Sequence[Contact]) -> None:
        if len(contacts) > self.batch_size:
            raise DialerRejected(
                f"OCS takes at most {self.batch_size} contacts per request here.", dialer=NAME
            )
        _, group = await self._attached(ref)
        records = [record for contact in contacts for record in records_for(contact)]
        if records:
            await self._call(
                "POST",
                OCS.list_path.format(calling_list=group.calling_list),
                params=control_params(OCS.add_records),
                json={"records": records},
            )

    async def update_settings(self, ref: str, settings: CampaignSettings) -> None:
        attachment, group = await self._attached(ref)
        await self._attachments.save_settings(attachment, settings)
        if await self._state(group) in DIALLING:
            # OCS confirms with its SetDialingMode message (a settings notification).
            await self._control(group, OCS.set_dialing_mode, settings, **self._pacing(settings))
            return
        await self._confirm_kept_settings(ref, group)

    async def _confirm_kept_settings(self, ref: str, group: CampaignGroup) -> None:
        """A group that is not dialling takes its pacing with the next StartDialing, and OCS
        publishes nothing until then: the settings kept for that start are read back and
        delivered as a settings notification (``source=confirmation``), so the card shows them."""
        kept = await self._attachments.of_ref(ref)
        if kept is None:
            return
        sequence = now_micros()
        self._confirmations.put(
            DialerNotification(
                event_id=f"{NAME}:{group.dbid}:{sequence}:kept-settings",
                dialer=NAME,
                kind=NotificationKind.SETTINGS,
                campaign_ref=ref,
                dialer_campaign_id=str(group.dbid),
                sequence=sequence,
                occurred_at=datetime.fromtimestamp(sequence / 1_000_000, UTC),
                settings=kept.settings,
                actor="kept for the next start (OCS takes pacing with StartDialing)",
                raw={"kept_for_next_start": kept.settings.model_dump(mode="json")},
                source=NotificationSource.CONFIRMATION,
            )
        )

    async def start(self, ref: str) -> None:
        attachment, group = await self._attached(ref)
        state = await self._state(group)
        if state in DIALLING:
            return
        if state in UNLOADING:
            raise CampaignConflict(
                f"`{ref}` is being unloaded in OCS; it cannot start.", dialer=NAME
            )
        if state is GroupState.NOT_LOADED:
            await self._control(group, OCS.load, attachment.settings)
            await self._until_loaded(ref, group)
        settings = attachment.settings
        await self._control(group, OCS.start_dialing, settings, **self._pacing(settings))

    async def stop(self, ref: str) -> None:
        _, group = await self._attached(ref)
        if await self._state(group) in DIALLING:
            await self._control(group, OCS.stop_dialing)

    async def delete(self, ref: str) -> None:
        attachment, group = await self._attached(ref)
        state = await self._state(group)
        if state not in REMOVABLE:
            status = OCS.statuses[state] or "in an unknown state"
            raise CampaignConflict(
                f"`{ref}` is {status} in OCS (campaign group {group.name}, {state.name}); "
                "a campaign is deleted only once it has stopped.",
                dialer=NAME,
            )
        await self._attachments.mark_removing(attachment)
        await self._control(group, OCS.unload)

    async def list_campaigns(self) -> list[DialerCampaign]:
        groups = list(self._groups.values())
        return list(await asyncio.gather(*(self._view(g) for g in groups)))

    async def get_campaign(self, ref: str) -> DialerCampaign:
        _, group = await self._attached(ref)
        return await self._view(group)

    async def add_agents(self, ref: str, agent_ids: Sequence[str]) -> None:
        await self._attached(ref)  # an unknown ref is still an error

    async def remove_agents(self, ref: str, agent_ids: Sequence[str]) -> None:
        await self._attached(ref)

    async def set_agent_default_state(self, ref: str, state: AgentDefaultState) -> None:
        await self._attached(ref)

    async def run_notifications(self, sink: NotificationSink) -> None:
        """OCS pushes its notifications to the webhook; what runs here is the adapter's own
        confirmation reads (settings kept for a stopped group's next start), until cancelled."""
        await self._confirmations.forward(sink)

    async def receive_webhook(
        self, headers: Mapping[str, str], body: bytes
    ) -> list[DialerNotification]:
        """Read one OCS campaign-group message. OCS never retries, so only garbage raises."""
        self._verify(headers)
        try:
            data = json.loads(body)
        except ValueError:
            raise WebhookRejected("the body is not JSON") from None
        if not isinstance(data, dict):
            raise WebhookRejected("the body is not a JSON object")
        try:
            message = parse_message(data)
        except Garbage as exc:
            raise WebhookRejected(f"not an OCS campaign group message: {exc}") from None
        except UnknownMessage:
            return []
        group = self._by_key.get(message.group_key) or self._by_key.get(message.group_name or "")
        attachment = await self._attachments.of_group(group.dbid) if group else None
        if group is None or attachment is None:
            return []  # a group the bot does not use, or no campaign of the bot on it
        notices = self._notices(message, attachment, data)
        if any(n.status is CampaignStatus.DELETED for n in notices):
            await self._attachments.detach(attachment)  # the group is free for a new campaign
        return notices

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- notifications ------------------------------------------------------------------------

    def _notices(
        self, message: GroupMessage, attachment: Attachment, raw: dict[str, Any]
    ) -> list[DialerNotification]:
        """A state message gives its status (or settings); statistics, in it or alone, progress."""
        notices: list[DialerNotification] = []
        micros = int(message.occurred_at.timestamp() * 1_000_000)
        values: dict[str, Any] | None = None
        if message.action is Action.SET_DIALING_MODE and message.optimize_goal is not None:
            settings = self._settings_from(message, attachment.settings)
            values = {"kind": NotificationKind.SETTINGS, "settings": settings}
        elif message.status is not None and not message.is_activity:
            values = {"kind": NotificationKind.STATUS, "status": _status(message, attachment, raw)}
        if values is not None:
            action = message.action.name if message.action else "none"
            event = f"{attachment.dbid}:{micros}:{message.state.name}:{action}"
            notices.append(self._notice(event, micros, message, attachment, raw, values))
        if message.counters:
            values = {"kind": NotificationKind.PROGRESS, "counters": message.counters}
            event = f"{attachment.dbid}:{micros}:progress"
            notices.append(self._notice(event, micros, message, attachment, raw, values))
        return notices

    def _notice(
        self,
        event: str,
        micros: int,
        message: GroupMessage,
        attachment: Attachment,
        raw: dict[str, Any],
        values: dict[str, Any],
    ) -> DialerNotification:
        return DialerNotification.model_validate(
            {
                "event_id": f"{NAME}:{event}",
                "dialer": NAME,
                "campaign_ref": attachment.ref,
                "dialer_campaign_id": str(attachment.dbid),
                "sequence": micros,
                "occurred_at": message.occurred_at,
                "actor": message.actor_text,
                "raw": raw,
                **values,
            }
        )

    def _settings_from(self, message: GroupMessage, known: CampaignSettings) -> CampaignSettings:
        method = message.optimize_by or self.settings.optimize_by
        goal = message.optimize_goal or 0
        if goal_for(known.aggression, method) == goal:
            return known  # the goal scale is coarser than aggression: keep what was asked
        return known.model_copy(update={"aggression": aggression_for(goal, method)})

    def _verify(self, headers: Mapping[str, str]) -> None:
        if self.settings.webhook_token is None:
            return
        expected = self.settings.webhook_token.get_secret_value()
        given = _password_of(_header(headers, "authorization"))
        if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
            raise WebhookRejected("missing or wrong credentials", status_code=401)

    # -- campaign groups ----------------------------------------------------------------------

    def _named(self, name: str) -> CampaignGroup | None:
        wanted = name.strip().casefold()
        return next(
            (g for g in self._groups.values() if wanted in (g.name.casefold(), f"#{g.dbid}")),
            None,
        )

    async def _claim(self, group: CampaignGroup, campaign: NewCampaign) -> bool:
        if await self._attachments.attach(campaign.ref, group.dbid, campaign.settings):
            return True
        held = await self._attachments.of_group(group.dbid)
        if held is None or not held.removing:
            return False
        # Removed, but OCS's NotLoaded message never came (OCS does not retry): free it now.
        if await self._state(group) is not GroupState.NOT_LOADED:
            return False
        await self._attachments.detach(held)
        return await self._attachments.attach(campaign.ref, group.dbid, campaign.settings)

    def _no_group_message(self, named: CampaignGroup | None) -> str:
        if named is not None:
            return (
                f"OCS campaign group {named.name} already carries a campaign, or dials outside "
                "the bot; remove that campaign first or choose another group."
            )
        if not self._groups:
            return "No OCS campaign groups are configured: set GENESYS_CAMPAIGN_GROUPS."
        return (
            f"All {len(self._groups)} OCS campaign groups in GENESYS_CAMPAIGN_GROUPS are in use; "
            "remove a campaign or configure another group."
        )

    async def _attached(self, ref: str) -> tuple[Attachment, CampaignGroup]:
        attachment = await self._attachments.of_ref(ref)
        group = self._groups.get(attachment.dbid) if attachment else None
        if attachment is None or group is None:
            raise CampaignNotFound(f"No OCS campaign group carries `{ref}`.", dialer=NAME)
        return attachment, group

    async def _view(self, group: CampaignGroup) -> DialerCampaign:
        attachment = await self._attachments.of_group(group.dbid)
        state = await self._state(group)
        return DialerCampaign(
            ref=attachment.ref if attachment else None,
            dialer_id=str(group.dbid),
            name=group.name,
            status=OCS.statuses[state] or CampaignStatus.STOPPED,
            settings=attachment.settings if attachment else None,
        )

    def _pacing(self, settings: CampaignSettings) -> dict[str, int]:
        return pacing_params(
            settings.aggression, self.settings.dial_mode, self.settings.optimize_by
        )

    # -- OCS's HTTP interface -----------------------------------------------------------------

    async def _state(self, group: CampaignGroup) -> GroupState:
        answer = await self._call("GET", OCS.group_path.format(dbid=group.dbid))
        try:
            return GroupState(int(answer[OCS.state]))
        except (TypeError, KeyError, ValueError) as exc:
            raise DialerProtocolError(
                f"OCS sent no readable state for campaign group {group.name}.", dialer=NAME
            ) from exc

    async def _until_loaded(self, ref: str, group: CampaignGroup) -> None:
        """OCS loads a group asynchronously and refuses StartDialing until it is loaded."""
        deadline = asyncio.get_running_loop().time() + self.settings.load_wait_seconds
        while await self._state(group) is GroupState.NOT_LOADED:
            if asyncio.get_running_loop().time() >= deadline:
                raise CampaignConflict(
                    f"OCS is still loading campaign group {group.name} for `{ref}`; "
                    "start it again in a moment.",
                    dialer=NAME,
                )
            await asyncio.sleep(LOAD_POLL_SECONDS)

    async def _control(
        self,
        group: CampaignGroup,
        request: str,
        settings: CampaignSettings | None = None,
        **extra: int,
    ) -> None:
        path = OCS.group_path.format(dbid=group.dbid)
        if settings is not None:  # OCS completes the group itself when its end handle is stop
            complete = settings.end_handle is EndHandle.STOP
            extra |= auto_completion_params(request, complete=complete)
        await self._call("POST", path, params=control_params(request, **extra))

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: object = None,
    ) -> Any:
        """Through the dialer HTTP kit: the state read is retried; control requests and record
        additions are POSTs OCS may have applied, so only a 429 or one never sent is resent."""
        answer = await self._api.request(method, path, params=params, json=json)
        return {} if answer is None else answer


def _status(message: GroupMessage, attachment: Attachment, raw: dict[str, Any]) -> CampaignStatus:
    """The bot's status for a state message: deleted after a removal, completed when OCS stopped
    or unloaded the group itself because auto-completion was asked for."""
    assert message.status is not None
    if message.state is GroupState.NOT_LOADED and attachment.removing:
        return CampaignStatus.DELETED
    asked = attachment.settings.end_handle is EndHandle.STOP or raw.get(OCS.auto_completion) == 1
    ended = message.action in (Action.STOP_DIALING, Action.UNLOAD_CAMPAIGN)
    idle = message.state in (GroupState.INACTIVE, GroupState.NOT_LOADED)
    if asked and ended and idle and message.by_ocs_itself:
        return CampaignStatus.COMPLETED
    return message.status


def _error_body(response: httpx.Response) -> VendorSaid:
    try:
        return VendorSaid(error_message(response.json()))
    except ValueError:
        return VendorSaid(response.text[:200] or None)


VENDOR = Vendor(
    name=NAME,
    label="OCS",
    credentials="check its HTTP access",
    url_setting="GENESYS_OCS_URL",
    read_error=_error_body,
)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == name), None)


def _password_of(authorization: str | None) -> str | None:
    """The secret in ``Basic <user:secret>`` (a URL's userinfo) or ``Bearer <secret>``."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] or None


def build(context: AdapterContext, settings: GenesysSettings) -> GenesysDialer:
    """The registry's factory: the ``GENESYS_*`` section; Redis and limits from the bot."""
    return GenesysDialer(settings, context)
