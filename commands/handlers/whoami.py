"""``/campaign whoami``: whether you are a campaign lead, and why.

Leads are the users and user groups listed in ``CAMPAIGN_LEADS`` (``commands.authz``): a user is a
lead when listed by id, or as a member of a listed user group (asked of Slack, cached briefly).
"""

from __future__ import annotations

from commands.handlers.context import Deps, Requester
from commands.replies import Reply, say
from commands.requests import Command

IS_LEAD = ":white_check_mark: You are a campaign lead:"
MAY = "You may start, stop, change and remove campaigns, and see every channel's."
LOOKING = "Anyone may look: `/campaign list`, `/campaign show <ref>`, `/campaign history <ref>`."


class WhoAmI(Command):
    pass


def group_mention(group_id: str) -> str:
    # Slack's mrkdwn for a user group (Slack API docs, "Formatting text for app surfaces").
    return f"<!subteam^{group_id}>"


async def run_whoami(deps: Deps, who: Requester, command: WhoAmI) -> Reply:
    authz = deps.authz
    groups = ", ".join(group_mention(g) for g in authz.groups)
    if authz.nobody_allowed:
        return say(
            "You are not a campaign lead: `CAMPAIGN_LEADS` is empty, so nobody may change "
            f"campaigns. {LOOKING} A Slack admin can set it to user ids and/or user-group ids."
        )
    if who.user_id in authz.users:
        return say(f"{IS_LEAD} `CAMPAIGN_LEADS` lists you, <@{who.user_id}>, by your id. {MAY}")
    if await authz.may_change(who.user_id):
        one = len(authz.groups) == 1
        group = f"the lead user group {groups}" if one else f"one of the lead user groups {groups}"
        return say(f"{IS_LEAD} you are a member of {group}, listed in `CAMPAIGN_LEADS`. {MAY}")
    listed = f"nor a user group you are in ({groups})" if groups else "and it lists no user group"
    return say(
        f"You are not a campaign lead: `CAMPAIGN_LEADS` does not list you, {listed}. {LOOKING} "
        "A Slack admin can add you, or a user group you are in, to `CAMPAIGN_LEADS`."
    )
