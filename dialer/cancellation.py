"""Kept for older imports: the helpers live in ``state.cancellation``, which the inbox uses too."""

from state.cancellation import cancellation_requested, raise_if_cancelled

__all__ = ["cancellation_requested", "raise_if_cancelled"]
