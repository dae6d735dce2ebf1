"""What every listener needs, in one object built by ``bot.slack.app``."""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack.delivery import Delivery, Where
from bot.slack.leads import LeadsIntake
from bot.slack.once import Once
from commands.handlers.context import Deps, Requester
from commands.handlers.dispatch import handle
from commands.requests import Command


@dataclass(frozen=True)
class SlackEdge:
    deps: Deps
    delivery: Delivery
    once: Once
    leads: LeadsIntake
    default_channel: str | None = None

    async def run(self, command: Command, where: Where) -> None:
        """Handle a typed command for the person at ``where`` and show the reply."""
        who = Requester(where.user_id, where.channel_id)
        await self.delivery.deliver(await handle(command, self.deps, who), where)
