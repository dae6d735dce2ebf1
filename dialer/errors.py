"""Everything that can go wrong at a dialer, in one tree.

    DialerError                      any failure talking to a dialer
    ├── DialerUnavailable            timeouts, connection errors, 5xx: try again later
    │   └── DialerRateLimited        429 / the dialer's own pacing limit (``retry_after``)
    ├── DialerAuthError              credentials missing, wrong or expired beyond renewal
    ├── DialerRejected               the dialer understood and said no (4xx)
    │   ├── NotFound                 the dialer has nothing at that address (404)
    │   │   └── CampaignNotFound     the dialer has no such campaign
    │   ├── CampaignConflict         not allowed in the campaign's current status
    │   └── DuplicateContact         a contact ref the dialer has seen before
    └── DialerProtocolError          the dialer answered something we cannot read

Adapters raise these ``from`` the underlying exception; the HTTP status → error table is
``dialer.http.STATUS_ERRORS``. ``retry_after`` (seconds, or None) is when the dialer asked to be
called again. ``str(error)`` is written for a team lead:
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

    def __init__(
        self, message: str, *, dialer: str = "dialer", retry_after: float | None = None
    ) -> None:
        super().__init__(message, dialer=dialer)
        self.retry_after = retry_after


class DialerRateLimited(DialerUnavailable):
    pass


class DialerAuthError(DialerError):
    pass


class DialerRejected(DialerError):
    pass


class NotFound(DialerRejected):
    pass


class CampaignNotFound(NotFound):
    pass


class CampaignConflict(DialerRejected):
    pass


class DuplicateContact(DialerRejected):
    pass


class DialerProtocolError(DialerError):
    pass
