"""What a transition asks the shell to do. Plain values; the shell decides how."""

from __future__ import annotations

from dataclasses import dataclass

from state.domain import CampaignStatus


@dataclass(frozen=True)
class StatusAlert:
    """Tell the campaign's channel that its status changed, and refresh its card."""

    ref: str
    previous: CampaignStatus
    current: CampaignStatus
    actor: str | None = None


@dataclass(frozen=True)
class RefreshCard:
    """Redraw the campaign's card (settings, agents or counters changed, no alert needed)."""

    ref: str


@dataclass(frozen=True)
class SendStop:
    """Removal: ask the dialer to stop; the delete waits for the stopped notification."""

    ref: str


@dataclass(frozen=True)
class SendDelete:
    """Removal: the campaign is confirmed stopped, ask the dialer to delete it."""

    ref: str


@dataclass(frozen=True)
class ConfirmStop:
    """A stop was sent: read the dialer's status, and if it is stopped (or completed) record that
    read as the dialer's report of the stop (``source=confirmation``, audited as such). For a
    dialer that publishes nothing when a stop changes nothing (VoIPBIN, a never-started campaign)
    this is what makes the stop known; a lost ``stopped`` notification is made good the same way.
    """

    ref: str


@dataclass(frozen=True)
class RemovalRequested:
    """Post the approval message with Approve / Reject."""

    ref: str
    requested_by: str


@dataclass(frozen=True)
class RemovalRejected:
    ref: str
    rejected_by: str


Effect = (
    StatusAlert
    | RefreshCard
    | SendStop
    | SendDelete
    | ConfirmStop
    | RemovalRequested
    | RemovalRejected
)
