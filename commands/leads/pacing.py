"""How fast and how often the upload knocks: the dialer HTTP kit's pacer and backoff.

The upload owns the retries of a batch (``dialer.http`` explains the split): it calls
``add_contacts`` inside ``retried_by_caller()``, so the kit below tries each request once.
"""

from __future__ import annotations

from collections.abc import Callable

from dialer.errors import DialerError, DialerUnavailable
from dialer.http import RateLimiter, backoff

__all__ = ["RateLimiter", "backoff_delay", "retry_delay"]


def backoff_delay(attempt: int, *, base: float, cap: float, rng: Callable[[], float]) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^(attempt-1))], so retries spread out."""
    return backoff(attempt - 1, base=base, cap=cap, rng=rng)


def retry_delay(
    error: DialerError, attempt: int, *, base: float, cap: float, rng: Callable[[], float]
) -> float:
    """The backoff, but never less than the ``retry_after`` the dialer asked for."""
    delay = backoff_delay(attempt, base=base, cap=cap, rng=rng)
    if isinstance(error, DialerUnavailable) and error.retry_after is not None:
        return max(delay, error.retry_after)
    return delay
