"""Collects the notifications an adapter delivers, so contract tests can wait for them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from state.domain import CampaignStatus, DialerNotification, NotificationKind


class NotificationCollector:
    def __init__(self) -> None:
        self.received: list[DialerNotification] = []
        self._arrived = asyncio.Condition()

    async def sink(self, notification: DialerNotification) -> None:
        async with self._arrived:
            self.received.append(notification)
            self._arrived.notify_all()

    async def wait_for(
        self, predicate: Callable[[DialerNotification], bool], timeout: float = 5.0
    ) -> DialerNotification:
        async def first_match() -> DialerNotification:
            async with self._arrived:
                while True:
                    for notification in self.received:
                        if predicate(notification):
                            return notification
                    await self._arrived.wait()

        return await asyncio.wait_for(first_match(), timeout)

    async def wait_for_status(
        self, campaign: str, status: CampaignStatus, timeout: float = 5.0
    ) -> DialerNotification:
        """``campaign`` may be the bot's ref or the dialer's own id."""
        return await self.wait_for(
            lambda n: (
                n.kind is NotificationKind.STATUS
                and n.status is status
                and campaign in (n.campaign_ref, n.dialer_campaign_id)
            ),
            timeout,
        )

    def statuses_of(self, campaign: str) -> list[CampaignStatus]:
        return [
            n.status
            for n in self.received
            if n.kind is NotificationKind.STATUS
            and n.status is not None
            and campaign in (n.campaign_ref, n.dialer_campaign_id)
        ]
