"""The LiveVox adapter: the Dialer port over LiveVox's Campaign API, notifications by polling."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.exceptions import RedisError

from dialer.base import NotificationSink
from dialer.errors import (
    CampaignConflict,
    CampaignNotFound,
    DialerError,
    DialerProtocolError,
    DialerRejected,
    DialerUnavailable,
)
from dialer.livevox.lease import LeaseLost, RedisLease
from dialer.livevox.limiter import RollingWindowLimiter
from dialer.livevox.poller import ObservationStore, changes_between, now_utc, poller_lock_key
from dialer.livevox.session import NAME, LiveVoxSession
from dialer.livevox.vendor import (
    VENDOR,
    LiveVoxCampaign,
    UnreadableCampaign,
    append_body,
    parse_campaign,
    search_body,
    search_params,
    state_body,
    strategy_body,
    upload_body,
)
from dialer.models import (
    AgentDefaultState,
    CampaignSettings,
    CampaignStatus,
    Contact,
    DialerCampaign,
    NewCampaign,
)
from dialer.registry import AdapterContext

log = logging.getLogger(__name__)


class LiveVoxSettings(BaseSettings):
    """``LIVEVOX_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="LIVEVOX_", frozen=True)

    api_url: str
    access_token: SecretStr
    client_name: str
    user_name: str
    password: SecretStr
    service_id: str
    caller_id: str = ""
    # A little under LiveVox's 2 h, so a session is renewed before LiveVox drops it.
    session_idle_seconds: float = Field(default=7000.0, gt=0)
    poll_interval_seconds: float = Field(default=15.0, gt=0)
    poll_jitter_seconds: float = Field(default=3.0, ge=0)
    poller_lock_seconds: float = Field(default=45.0, gt=0)
    search_window_hours: float = Field(default=48.0, gt=0)
    append_calls_per_window: int = Field(default=VENDOR.append_calls_per_window, ge=1, le=5)
    append_window_seconds: float = Field(default=VENDOR.append_window_seconds, gt=0)
    batch_size: int = Field(default=VENDOR.append_max_records, ge=1, le=VENDOR.append_max_records)
    timeout_seconds: float = Field(default=15.0, gt=0)


class LiveVoxDialer:
    """LiveVox behind the Dialer port. What each request becomes:

    * ``create_campaign``: a campaign file (header only) uploaded with its configuration,
      Allow Append on, named ``<ref> <name>`` so the ref finds it again through the search;
    * ``add_contacts``: Append Campaign Record, paced by a rolling-window limiter;
    * ``start`` / ``stop``: PLAY / PAUSE, so a stopped campaign can be started again;
    * ``delete``: STOP, which ends a LiveVox campaign for good (only from Built, Paused, Done);
    * agents: LiveVox staffs a campaign with its service's agents, so there is nothing to send;
      the bot's own record of the assignment is the only one (``reports_agents`` is false).
    """

    name = NAME

    def __init__(
        self,
        settings: LiveVoxSettings,
        context: AdapterContext,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.batch_size = settings.batch_size
        self.max_calls_per_second = (
            settings.append_calls_per_window / settings.append_window_seconds
        )
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            base_url=settings.api_url.rstrip("/") + "/", timeout=settings.timeout_seconds
        )
        self._session = LiveVoxSession(
            self._http,
            access_token=settings.access_token.get_secret_value(),
            client_name=settings.client_name,
            user_name=settings.user_name,
            password=settings.password.get_secret_value(),
            idle_seconds=settings.session_idle_seconds,
        )
        self._appends = RollingWindowLimiter(
            settings.append_calls_per_window, settings.append_window_seconds
        )
        self._redis = context.redis
        self._lock_key = poller_lock_key(context.key_prefix)
        self._observations = ObservationStore(context.redis, context.key_prefix)
        self._ids: dict[str, str] = {}  # ref -> LiveVox campaign id; ids never change
        self._random = random.Random()

    # -- the Dialer port ----------------------------------------------------------------------

    async def create_campaign(self, campaign: NewCampaign) -> DialerCampaign:
        body = upload_body(
            campaign, service_id=self.settings.service_id, caller_id=self.settings.caller_id
        )
        answer = await self._session.call("POST", VENDOR.upload_path, json=body)
        if not isinstance(answer, dict) or VENDOR.id_field not in answer:
            raise DialerProtocolError("LiveVox took the campaign file but gave no id.", dialer=NAME)
        campaign_id = str(answer[VENDOR.id_field])
        self._ids[campaign.ref] = campaign_id
        return DialerCampaign(
            ref=campaign.ref,
            dialer_id=campaign_id,
            name=campaign.name,
            status=CampaignStatus.STOPPED,  # Building or Built: nothing dials yet
            settings=campaign.settings,
        )

    async def add_contacts(self, ref: str, contacts: Sequence[Contact]) -> None:
        if len(contacts) > self.batch_size:
            raise DialerRejected(
                f"LiveVox takes at most {self.batch_size:,} records per append.", dialer=NAME
            )
        if not contacts:
            return
        campaign = await self._read(ref)
        _check_appendable(ref, campaign)
        async with self._appends.slot():
            await self._session.call(
                "PUT", VENDOR.append_path.format(id=campaign.id), json=append_body(contacts)
            )

    async def update_settings(self, ref: str, settings: CampaignSettings) -> None:
        campaign_id = await self._campaign_id(ref)
        body = {VENDOR.strategy_field: strategy_body(settings)}
        await self._session.call("PUT", VENDOR.configuration_path.format(id=campaign_id), json=body)

    async def start(self, ref: str) -> None:
        await self._set_state(await self._campaign_id(ref), VENDOR.play)

    async def stop(self, ref: str) -> None:
        campaign = await self._read(ref)
        if campaign.status is CampaignStatus.RUNNING:  # LiveVox pauses only what plays
            await self._set_state(campaign.id, VENDOR.pause)

    async def delete(self, ref: str) -> None:
        campaign = await self._read(ref)
        if campaign.status is CampaignStatus.DELETED:
            return  # stopped for good already: a repeated delete changes nothing
        if campaign.state not in VENDOR.deletable_states:
            raise CampaignConflict(
                f"`{ref}` is {campaign.status} in LiveVox ({campaign.state.title()}); "
                "a campaign is deleted only once it has stopped.",
                dialer=NAME,
            )
        await self._set_state(campaign.id, VENDOR.stop)

    async def list_campaigns(self) -> list[DialerCampaign]:
        live = [s for s, status in VENDOR.states.items() if status is not CampaignStatus.DELETED]
        return [_view(c) for c in await self._search(live)]

    async def get_campaign(self, ref: str) -> DialerCampaign:
        return _view(await self._read(ref))

    async def add_agents(self, ref: str, agent_ids: Sequence[str]) -> None:
        await self._campaign_id(ref)  # an unknown ref is still an error

    async def remove_agents(self, ref: str, agent_ids: Sequence[str]) -> None:
        await self._campaign_id(ref)

    async def set_agent_default_state(self, ref: str, state: AgentDefaultState) -> None:
        await self._campaign_id(ref)

    async def run_notifications(self, sink: NotificationSink) -> None:
        """Poll LiveVox while this replica holds the poller lease; wait for it otherwise."""
        lease = RedisLease(self._redis, self._lock_key, self.settings.poller_lock_seconds)
        retry = min(self.settings.poll_interval_seconds, self.settings.poller_lock_seconds / 3)
        while True:
            acquired = await _try_acquire(lease)
            _honour_cancellation()
            if acquired:
                log.info("LiveVox poller: this replica polls (%s)", lease.holder)
                try:
                    await self._poll_while_leading(lease, sink)
                except* LeaseLost:
                    log.warning("LiveVox poller: lease lost; another replica takes over")
                finally:
                    with contextlib.suppress(RedisError):
                        await lease.release()
            await asyncio.sleep(retry)

    async def poll_once(self, sink: NotificationSink) -> None:
        """One look at every campaign of the bot; each change becomes a notification."""
        observed_at = now_utc()
        campaigns = [c for c in await self._search(VENDOR.states) if c.ref is not None]
        before = await self._observations.load()
        for campaign in campaigns:
            previous = before.get(campaign.id)
            after, notices = changes_between(previous, campaign, observed_at)
            for notice in notices:
                await sink(notice)
            if previous is None or after.dumps() != previous.dumps():
                await self._observations.save(campaign.id, after)
        await self._observations.forget(set(before) - {c.id for c in campaigns})

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    # -- polling ------------------------------------------------------------------------------

    async def _poll_while_leading(self, lease: RedisLease, sink: NotificationSink) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self._keep(lease))
            group.create_task(self._poll_forever(sink))

    async def _keep(self, lease: RedisLease) -> None:
        while True:
            await asyncio.sleep(self.settings.poller_lock_seconds / 3)
            try:
                await lease.renew()
            except RedisError as exc:
                raise LeaseLost(f"cannot renew the poller lease: {exc}") from exc
            _honour_cancellation()

    async def _poll_forever(self, sink: NotificationSink) -> None:
        while True:
            try:
                await self.poll_once(sink)
            except DialerError as exc:
                log.warning("LiveVox poll failed, trying again next round: %s", exc)
            except Exception:  # a failing sink must not stop the poller; the round repeats
                log.exception("LiveVox poll round failed")
            _honour_cancellation()
            jitter = self._random.uniform(0, self.settings.poll_jitter_seconds)
            await asyncio.sleep(self.settings.poll_interval_seconds + jitter)

    # -- LiveVox requests ---------------------------------------------------------------------

    async def _set_state(self, campaign_id: str, state: str) -> None:
        await self._session.call(
            "PUT", VENDOR.state_path.format(id=campaign_id), json=state_body(state)
        )

    async def _read(self, ref: str) -> LiveVoxCampaign:
        campaign_id = await self._campaign_id(ref)
        answer = await self._session.call("GET", VENDOR.read_path.format(id=campaign_id))
        try:
            return parse_campaign(_mapping(answer))
        except UnreadableCampaign as exc:
            raise DialerProtocolError(f"LiveVox sent {exc}.", dialer=NAME) from exc

    async def _campaign_id(self, ref: str) -> str:
        if ref not in self._ids:
            for campaign in await self._search(VENDOR.states):
                if campaign.ref == ref:
                    self._ids[ref] = campaign.id
        try:
            return self._ids[ref]
        except KeyError:
            raise CampaignNotFound(
                f"LiveVox has no campaign `{ref}` (searched service {self.settings.service_id}, "
                f"last {self.settings.search_window_hours:g} h).",
                dialer=NAME,
            ) from None

    async def _search(self, states: Iterable[str]) -> list[LiveVoxCampaign]:
        """Find Matching Campaigns, every page, within the search window."""
        now = now_utc()
        body = search_body(
            service_id=self.settings.service_id,
            states=list(states),
            from_ms=_ms(now - timedelta(hours=self.settings.search_window_hours)),
            to_ms=_ms(now),
        )
        found: list[LiveVoxCampaign] = []
        offset = 0
        while True:
            answer = await self._session.call(
                "POST", VENDOR.search_path, json=body, params=search_params(offset)
            )
            items = _mapping(answer).get(VENDOR.search_items_field) or []
            if not isinstance(items, list):
                raise DialerProtocolError("LiveVox's search answer is not a list.", dialer=NAME)
            found.extend(_readable(items))
            if len(items) < VENDOR.search_page_size:
                break
            offset += len(items)
        for campaign in found:
            if campaign.ref is not None:
                self._ids[campaign.ref] = campaign.id
        return found


def _check_appendable(ref: str, campaign: LiveVoxCampaign) -> None:
    if not campaign.allow_append:
        raise CampaignConflict(
            f"LiveVox campaign `{ref}` was uploaded without Allow Append, so it cannot take more "
            "leads. Check that the LiveVox client has Campaign Appends Allowed, then remove this "
            "campaign and create a new one.",
            dialer=NAME,
        )
    if campaign.state == VENDOR.building_state:
        raise DialerUnavailable(
            f"LiveVox is still building `{ref}`; its leads can go up in a moment.", dialer=NAME
        )
    if campaign.state not in VENDOR.appendable_states:
        raise CampaignConflict(
            f"LiveVox adds leads only to Built, Paused or Playing campaigns; `{ref}` is "
            f"{campaign.state.title()}.",
            dialer=NAME,
        )


def _readable(items: list[Any]) -> list[LiveVoxCampaign]:
    campaigns = []
    for item in items:
        try:
            campaigns.append(parse_campaign(_mapping(item)))
        except (UnreadableCampaign, DialerProtocolError) as exc:
            log.warning("LiveVox search: skipping a campaign we cannot read: %s", exc)
    return campaigns


def _view(campaign: LiveVoxCampaign) -> DialerCampaign:
    return DialerCampaign(
        ref=campaign.ref,
        dialer_id=campaign.id,
        name=campaign.name.removeprefix(f"{campaign.ref} ") if campaign.ref else campaign.name,
        status=campaign.status,
        settings=campaign.settings,
        counters=campaign.counters,
    )


def _mapping(answer: object) -> dict[str, Any]:
    if not isinstance(answer, dict):
        raise DialerProtocolError("LiveVox answered with something other than an object.")
    return answer


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _honour_cancellation() -> None:
    """Re-raise a cancellation that a client library swallowed mid-call.

    redis-py can absorb the CancelledError delivered during a command; the task then stays
    "cancelling" and would poll (and hold the lease) for ever after it was told to stop.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def _try_acquire(lease: RedisLease) -> bool:
    try:
        return await lease.acquire()
    except RedisError as exc:
        log.warning("LiveVox poller: cannot reach the bot's Redis for the lease: %s", exc)
        return False


def build(context: AdapterContext) -> LiveVoxDialer:
    return LiveVoxDialer(LiveVoxSettings(), context)
