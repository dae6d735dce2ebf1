"""The LiveVox adapter: the Dialer port over LiveVox's Campaign API, notifications by polling."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from pydantic import Field, SecretStr, field_validator
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
from dialer.http import RetryPolicy
from dialer.limits import reported
from dialer.livevox.lease import LeaseLost, RedisLease
from dialer.livevox.poller import (
    ObservationStore,
    Requested,
    RequestedSettings,
    changes_between,
    now_utc,
    with_settings,
)
from dialer.livevox.session import NAME, LiveVoxSession
from dialer.livevox.vendor import (
    CAPABILITIES,
    VENDOR,
    LiveVoxCampaign,
    UnreadableCampaign,
    append_body,
    parse_campaign,
    search_body,
    search_params,
    state_body,
    strategy_for,
    update_body,
    upload_body,
)
from dialer.models import Contact, DialerCampaign, NewCampaign
from dialer.registry import AdapterContext
from state.domain import AgentDefaultState, CampaignSettings, CampaignStatus
from state.keys import LivevoxKeys

log = logging.getLogger(__name__)


class LiveVoxSettings(BaseSettings):
    """``LIVEVOX_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="LIVEVOX_", frozen=True)

    api_url: str
    access_token: SecretStr
    client_name: str
    user_name: str
    password: SecretStr
    service_id: int
    dialing_strategy_id: int
    # Aggression floor -> dialing strategy id, e.g. {"1": 11, "50": 12, "80": 13}; the strategy
    # of the highest floor at or below a campaign's aggression, else dialing_strategy_id.
    dialing_strategies: dict[int, int] = Field(default_factory=dict)
    voice_id: int
    answering_machine_option: str = "NO_MESSAGES"
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
    retries: int = Field(default=3, ge=0)
    """Extra attempts for calls safe to repeat (reads, search, state changes; not appends)."""
    retry_after_max_seconds: float = Field(default=60.0, ge=0)
    """The longest ``Retry-After`` waited out; a longer one fails the call, carrying it."""

    @field_validator("answering_machine_option")
    @classmethod
    def _known_option(cls, value: str) -> str:
        if value not in VENDOR.answering_machine_options:
            options = ", ".join(sorted(VENDOR.answering_machine_options))
            raise ValueError(f"must be one of {options}")
        return value

    def strategy_for(self, settings: CampaignSettings) -> int:
        return strategy_for(settings.aggression, self.dialing_strategy_id, self.dialing_strategies)


class LiveVoxDialer:
    """LiveVox behind the Dialer port. What each request becomes:

    * ``create_campaign``: a campaign file (header only) uploaded with its configuration,
      Allow Append on, the file named ``<ref> <name>`` so the ref finds it again through the
      search (a LiveVox campaign is named after its file);
    * ``add_contacts``: Append Campaign Record, paced by a rolling-window limiter; a campaign not
      built yet is asked to BUILD first;
    * ``update_settings``: the dialing strategy chosen for the aggression, PUT on the campaign;
      LiveVox keeps only that id, so the other settings are the bot's record (kept on its Redis);
    * ``start`` / ``stop``: PLAY / PAUSE, so a stopped campaign can be started again;
    * ``delete``: STOP, which ends a LiveVox campaign for good (only from Built, Paused, Done);
    * agents: LiveVox staffs a campaign with its service's agents, so there is nothing to send
      (``capabilities``: the bot sends nothing and says where agents are managed).
    """

    name = NAME
    capabilities = CAPABILITIES

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
        self.batch_burst = settings.append_calls_per_window  # the append window keeps the limit
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
            policy=RetryPolicy(
                retries=settings.retries, retry_after_max_seconds=settings.retry_after_max_seconds
            ),
        )
        # LiveVox counts appends per account: every replica takes its slots from one window.
        self._appends = reported(
            context.limits.window(
                f"{NAME}:appends", settings.append_calls_per_window, settings.append_window_seconds
            ),
            dialer=NAME,
            label="LiveVox",
        )
        self._redis = context.redis
        self._lock_key = LivevoxKeys(context.key_prefix).poller_lock
        self._observations = ObservationStore(context.redis, context.key_prefix)
        self._requested = RequestedSettings(context.redis, context.key_prefix)
        self._ids: dict[str, str] = {}  # ref -> LiveVox campaign id; ids never change
        self._random = random.Random()

    # -- the Dialer port ----------------------------------------------------------------------

    async def create_campaign(self, campaign: NewCampaign) -> DialerCampaign:
        strategy = self.settings.strategy_for(campaign.settings)
        body = upload_body(
            campaign,
            service_id=self.settings.service_id,
            caller_id=self.settings.caller_id,
            dialing_strategy_id=strategy,
            voice_id=self.settings.voice_id,
            answering_machine=self.settings.answering_machine_option,
        )
        answer = await self._session.call("POST", VENDOR.upload_path, json=body)
        if not isinstance(answer, dict) or VENDOR.id_field not in answer:
            raise DialerProtocolError("LiveVox took the campaign file but gave no id.", dialer=NAME)
        campaign_id = str(answer[VENDOR.id_field])
        self._ids[campaign.ref] = campaign_id
        await self._requested.save(campaign_id, Requested(campaign.settings, strategy))
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
        if campaign.state in VENDOR.unbuilt_states:
            await self._set_state(campaign.id, VENDOR.build)
        _check_appendable(ref, campaign)
        async with self._appends.slot():
            try:
                await self._session.call(  # adds records: never resent here (the upload owns it)
                    "PUT",
                    VENDOR.append_path.format(id=campaign.id),
                    json=append_body(contacts),
                    safe=False,
                )
            except CampaignConflict as exc:
                raise CampaignConflict(
                    f"LiveVox refused leads for `{ref}`: {exc} LiveVox appends only to today's "
                    "campaigns uploaded with Allow Append (the client needs Campaign Appends "
                    "Allowed); remove this campaign and create a new one.",
                    dialer=NAME,
                ) from exc

    async def update_settings(self, ref: str, settings: CampaignSettings) -> None:
        campaign_id = await self._campaign_id(ref)
        strategy = self.settings.strategy_for(settings)
        path = VENDOR.update_path.format(id=campaign_id)
        await self._session.call("PUT", path, json=update_body(strategy))
        await self._requested.save(campaign_id, Requested(settings, strategy))

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
                f"`{ref}` is {campaign.status} in LiveVox ({_shown(campaign.state)}); "
                "a campaign is deleted only once it has stopped.",
                dialer=NAME,
            )
        await self._set_state(campaign.id, VENDOR.stop)

    async def list_campaigns(self) -> list[DialerCampaign]:
        found = await self._search()
        return [_view(c) for c in found if c.status is not CampaignStatus.DELETED]

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
        campaigns = [c for c in await self._search() if c.ref is not None]
        before = await self._observations.load()
        for campaign in campaigns:
            previous = before.get(campaign.id)
            after, notices = changes_between(previous, campaign, observed_at)
            for notice in notices:
                await sink(notice)
            if previous is None or after.dumps() != previous.dumps():
                await self._observations.save(campaign.id, after)
        gone = set(before) - {c.id for c in campaigns}
        await self._observations.forget(gone)
        await self._requested.forget(gone)

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
            campaign = parse_campaign(_mapping(answer), campaign_id)
        except UnreadableCampaign as exc:
            raise DialerProtocolError(f"LiveVox sent {exc}.", dialer=NAME) from exc
        return with_settings(campaign, (await self._requested.load()).get(campaign_id))

    async def _campaign_id(self, ref: str) -> str:
        if ref not in self._ids:
            for campaign in await self._search():
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

    async def _search(self) -> list[LiveVoxCampaign]:
        """Find Matching Campaigns of every status, every page, within the search window."""
        now = now_utc()
        body = search_body(
            service_id=self.settings.service_id,
            from_ms=_ms(now - timedelta(hours=self.settings.search_window_hours)),
            to_ms=_ms(now),
        )
        found: list[LiveVoxCampaign] = []
        offset = 0
        while True:
            params = search_params(offset, self._session.client_id)
            answer = _mapping(
                await self._session.call(
                    "POST", VENDOR.search_path, json=body, params=params, safe=True
                )
            )
            items = answer.get(VENDOR.search_items_field) or []
            if not isinstance(items, list):
                raise DialerProtocolError("LiveVox's search answer is not a list.", dialer=NAME)
            found.extend(_readable(items))
            if not answer.get(VENDOR.search_next_field) or len(items) < VENDOR.search_page_size:
                break
            offset += len(items)
        requested = await self._requested.load()
        found = [with_settings(c, requested.get(c.id)) for c in found]
        for campaign in found:
            if campaign.ref is not None:
                self._ids[campaign.ref] = campaign.id
        return found


def _check_appendable(ref: str, campaign: LiveVoxCampaign) -> None:
    if campaign.state == VENDOR.loading_state or campaign.state in VENDOR.unbuilt_states:
        raise DialerUnavailable(
            f"LiveVox is still loading or building `{ref}`; its leads can go up in a moment.",
            dialer=NAME,
        )
    if campaign.state not in VENDOR.appendable_states:
        raise CampaignConflict(
            f"LiveVox adds leads only to built, paused or playing campaigns of today; `{ref}` "
            f"is {_shown(campaign.state)}.",
            dialer=NAME,
        )


def _shown(state: str) -> str:
    return state.replace("_", " ").title()


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


def build(context: AdapterContext, settings: LiveVoxSettings) -> LiveVoxDialer:
    """The registry's factory: the ``LIVEVOX_*`` section; Redis and limits from the bot."""
    return LiveVoxDialer(settings, context)
