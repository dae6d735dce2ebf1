"""The dialer and the Slack Web API client as the bot uses them, counting every call into
``bot.metrics.Metrics``. Both are wired in by the composition root; nothing else counts calls."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiohttp import FormData
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.metrics import Metrics
from dialer.base import Dialer, NotificationSink
from dialer.errors import DialerError, DialerUnavailable
from dialer.models import Contact, DialerCampaign, NewCampaign
from state.domain import AgentDefaultState, CampaignSettings

T = TypeVar("T")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


class MeteredDialer:
    """A ``Dialer`` that counts each call by operation and outcome, and the contacts uploaded."""

    def __init__(self, inner: Dialer, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics
        self.name = inner.name
        self.batch_size = inner.batch_size
        self.max_calls_per_second = inner.max_calls_per_second
        self.batch_burst: int = getattr(inner, "batch_burst", 1)
        self.capabilities = inner.capabilities
        self.on_recovered: Callable[[], None] | None = None
        """Called when a call succeeds after the dialer was unavailable (the reconciler's cue)."""
        self._unavailable = False

    async def _count(self, operation: str, call: Awaitable[T]) -> T:
        try:
            result = await call
        except DialerError as exc:
            outcome = _CAMEL.sub("_", type(exc).__name__).lower()
            self.metrics.dialer_calls.inc(operation=operation, outcome=outcome)
            if isinstance(exc, DialerUnavailable):
                self._unavailable = True
            raise
        self.metrics.dialer_calls.inc(operation=operation, outcome="ok")
        if self._unavailable:
            self._unavailable = False
            if self.on_recovered is not None:
                self.on_recovered()
        return result

    async def create_campaign(self, campaign: NewCampaign) -> DialerCampaign:
        return await self._count("create_campaign", self.inner.create_campaign(campaign))

    async def add_contacts(self, ref: str, contacts: Sequence[Contact]) -> None:
        await self._count("add_contacts", self.inner.add_contacts(ref, contacts))
        self.metrics.leads_uploaded.inc(len(contacts))

    async def update_settings(self, ref: str, settings: CampaignSettings) -> None:
        await self._count("update_settings", self.inner.update_settings(ref, settings))

    async def start(self, ref: str) -> None:
        await self._count("start", self.inner.start(ref))

    async def stop(self, ref: str) -> None:
        await self._count("stop", self.inner.stop(ref))

    async def delete(self, ref: str) -> None:
        await self._count("delete", self.inner.delete(ref))

    async def list_campaigns(self) -> list[DialerCampaign]:
        return await self._count("list_campaigns", self.inner.list_campaigns())

    async def get_campaign(self, ref: str) -> DialerCampaign:
        return await self._count("get_campaign", self.inner.get_campaign(ref))

    async def add_agents(self, ref: str, agent_ids: Sequence[str]) -> None:
        await self._count("add_agents", self.inner.add_agents(ref, agent_ids))

    async def remove_agents(self, ref: str, agent_ids: Sequence[str]) -> None:
        await self._count("remove_agents", self.inner.remove_agents(ref, agent_ids))

    async def set_agent_default_state(self, ref: str, state: AgentDefaultState) -> None:
        await self._count("set_agent_default_state", self.inner.set_agent_default_state(ref, state))

    async def run_notifications(self, sink: NotificationSink) -> None:
        await self.inner.run_notifications(sink)

    async def aclose(self) -> None:
        await self.inner.aclose()


class MeteredWebClient(AsyncWebClient):
    """Counts every Web API call by method and result. 429s are counted as ``ratelimited`` by
    the retry handler that meets them (``bot.slack.client.RateLimitRetry``), retried or not."""

    def __init__(self, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metrics = metrics

    async def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | FormData | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> AsyncSlackResponse:
        try:
            response = await super().api_call(
                api_method,
                http_verb=http_verb,
                files=files,
                data=data,
                params=params,
                json=json,
                headers=headers,
                auth=auth,
            )
        except SlackApiError as exc:
            if int(exc.response.status_code) != 429:
                self._count(api_method, "error")
            raise
        except Exception:
            self._count(api_method, "unreachable")
            raise
        self._count(api_method, "ok")
        return response

    def _count(self, method: str, result: str) -> None:
        self.metrics.slack_calls.inc(method=method, result=result)
