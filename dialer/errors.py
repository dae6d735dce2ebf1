"""Everything that can go wrong at a dialer, in one tree.

    DialerError                      any failure talking to a dialer
    ├── DialerUnavailable            timeouts, connection errors, 5xx: try again later
    │   └── DialerRateLimited        429 / the dialer's own pacing limit (``retry_after``)
    ├── DialerAuthError              credentials missing, wrong or expired beyond renewal
    ├── DialerRejected               the dialer understood and said no (4xx)
    │   ├── CampaignNotFound         the dialer has no such campaign
    │   ├── CampaignConflict         not allowed in the campaign's current status
    │   └── DuplicateContact         a contact ref the dialer has seen before
    └── DialerProtocolError          the dialer answered something we cannot read

Adapters raise these ``from`` the underlying exception. ``str(error)`` is written for a team lead:
it says what happened and, where there is one, what to do about it.
"""

from __future__ import annotations


class DialerError(Exception):
    retryable = False

    def __init__(self, message: str, *, dialer: str = "dialer") -> None:
        super().__init__(message)
        self.dialer = dialer


class DialerUnavailable(DialerError):
    retryable = True


class DialerRateLimited(DialerUnavailable):
    def __init__(
        self, message: str, *, dialer: str = "dialer", retry_after: float | None = None
    ) -> None:
        super().__init__(message, dialer=dialer)
        self.retry_after = retry_after


class DialerAuthError(DialerError):
    pass


class DialerRejected(DialerError):
    pass


class CampaignNotFound(DialerRejected):
    pass


class CampaignConflict(DialerRejected):
    pass


class DuplicateContact(DialerRejected):
    pass


class DialerProtocolError(DialerError):
    pass
