"""The approval message for a removal, and how it reads once decided (docs/architecture.md,
"The removal workflow")."""

from __future__ import annotations

from commands.text import code, user
from commands.views import ids
from commands.views.blocks import Block, actions, button, confirm_dialog, context, section
from commands.views.campaign import status_text, title_line
from state.campaign import Campaign

HOW_IT_GOES = (
    "Once approved, a running campaign is stopped first; it is deleted only after the dialer "
    "confirms it has stopped."
)


def approval_buttons(campaign: Campaign, *, block_id: str) -> Block:
    """**Approve** (with a confirmation) and **Reject**, on the approval message and the Home
    tab alike: the same action ids, so the same handlers."""
    ref = campaign.ref
    approve_confirm = confirm_dialog(
        "Approve removal?",
        "The campaign will be stopped if needed, then deleted from the dialer. "
        "This cannot be undone.",
        "Approve",
    )
    # "<ref> <request id>": a button of an earlier, decided request never decides a newer one.
    removal = campaign.removal
    value = f"{ref} {removal.request_id}" if removal is not None and removal.request_id else ref
    return actions(
        button("Approve", ids.APPROVE, value, style="danger", confirm=approve_confirm),
        button("Reject", ids.REJECT, value),
        block_id=block_id,
    )


def approval_request(campaign: Campaign, requested_by: str) -> tuple[str, list[Block]]:
    ref = campaign.ref
    blocks = [
        section(
            f":warning: *Removal requested* by {user(requested_by)}\n"
            f"{title_line(campaign)}  {status_text(campaign.status)}\n"
            "Another campaign lead has to approve; the requester cannot."
        ),
        context(
            f"Any lead may reject it; the requester may cancel it with *Reject* or "
            f"`/campaign remove {ref} cancel`."
        ),
        context(HOW_IT_GOES),
        approval_buttons(campaign, block_id=f"approval:{ref}"),
    ]
    return f"Removal of {ref} requested; waiting for approval", blocks


def approval_decided(
    campaign: Campaign, requested_by: str, decided_by: str, approved: bool
) -> tuple[str, list[Block]]:
    if approved:
        outcome = (
            f":white_check_mark: *Removal approved* by {user(decided_by)} "
            f"(requested by {user(requested_by)})\n{title_line(campaign)}"
        )
        follow = HOW_IT_GOES
        text = f"Removal of {campaign.ref} approved"
    elif decided_by == requested_by:
        outcome = f":x: *Removal cancelled* by {user(decided_by)}\n{title_line(campaign)}"
        follow = "The campaign stays; its buttons work again."
        text = f"Removal of {campaign.ref} cancelled"
    else:
        outcome = (
            f":x: *Removal rejected* by {user(decided_by)} "
            f"(requested by {user(requested_by)})\n{title_line(campaign)}"
        )
        follow = "The campaign stays; its buttons work again."
        text = f"Removal of {campaign.ref} rejected"
    return text, [section(outcome), context(follow)]


def approval_gone(ref: str) -> tuple[str, list[Block]]:
    """The approval message of a request cancelled or withdrawn while it was being posted."""
    outcome = (
        f":x: *Removal request of {code(ref)} no longer pending*: it was cancelled or withdrawn "
        "while this message was being posted."
    )
    follow = "The campaign stays; its buttons work again."
    return f"Removal of {ref} no longer pending", [section(outcome), context(follow)]


def approval_expired(campaign: Campaign, requested_by: str) -> tuple[str, list[Block]]:
    """The approval message once its request expired: no buttons; the card's are back."""
    outcome = (
        f":hourglass_flowing_sand: *Removal request expired*: nobody approved it in time "
        f"(requested by {user(requested_by)})\n{title_line(campaign)}"
    )
    follow = (
        f"The campaign stays; its buttons work again. To remove it, ask again with "
        f"`/campaign remove {campaign.ref}`."
    )
    return f"Removal of {campaign.ref} expired", [section(outcome), context(follow)]
