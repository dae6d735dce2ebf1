"""What every listener needs, in one object built by ``bot.slack.app``."""

from __future__ import annotations

from dataclasses import dataclass

from bot.slack.channels import ChannelAccess
from bot.slack.delivery import Delivery, Where
from bot.slack.home import HomeTabs
from bot.slack.leads import LeadsIntake
from bot.slack.once import Once
from commands.authz import NOT_ALLOWED
from commands.handlers.context import Deps, Requester
from commands.handlers.dispatch import handle
from commands.replies import say
from commands.requests import Command, OpenNewCampaign


@dataclass(frozen=True)
class SlackEdge:
    deps: Deps
    delivery: Delivery
    once: Once
    leads: LeadsIntake
    channels: ChannelAccess
    default_channel: str | None = None
    home: HomeTabs | None = None

    async def run(self, command: Command, where: Where) -> None:
        """Handle a typed command for the person at ``where`` and show the reply.

        The New campaign form opens only where the bot can post the campaign's messages; a lead
        elsewhere is told at once how to fix it, before filling anything in.
        """
        who = Requester(where.user_id, where.channel_id)
        reply = await handle(command, self.deps, who)
        if isinstance(command, OpenNewCampaign) and reply.modal is not None:
            problem = await self.channels.problem(where.channel_id)
            if problem is not None:
                reply = say(problem)
        await self.delivery.deliver(reply, where)

    async def refused(self, where: Where) -> bool:
        """Whether the person at ``where`` is not a campaign lead; if so they are told so."""
        if await self.deps.authz.may_change(where.user_id):
            return False
        await self.delivery.tell(where, NOT_ALLOWED)
        return True
