"""Progress text, the rate limiter and the retry delays of the leads upload."""

from __future__ import annotations

import pytest

from commands.leads.pacing import RateLimiter, backoff_delay, retry_delay
from commands.leads.progress import (
    UploadProgress,
    UploadSummary,
    progress_bar,
    render_progress,
    render_summary,
)
from commands.leads.store import UploadState, bit_count, bit_is_set
from dialer.errors import DialerRateLimited, DialerUnavailable
from tests.fake_clock import FakeClock

REF = "c-20261123-7kq2"


def test_progress_shows_a_bar_counts_rate_and_time_left() -> None:
    text = render_progress(UploadProgress(REF, 10_000, 2_500, 2_500, 10.0))
    assert text == (
        f"Uploading leads for {REF}\n"
        "`█████░░░░░░░░░░░░░░░` 25%\n"
        "2,500 of 10,000 contacts · 250/s · about 30 s left"
    )


def test_progress_of_a_resumed_upload_says_what_was_there_already() -> None:
    text = render_progress(UploadProgress(REF, 1_000, 600, 100, 1.0))
    assert "600 of 1,000 contacts · 100/s · about 4 s left" in text
    assert text.endswith("Resumed: 500 were already on the dialer.")


def test_progress_before_anything_is_sent_has_no_rate_or_eta() -> None:
    assert render_progress(UploadProgress(REF, 500, 0, 0, 0.0)).endswith("0 of 500 contacts · 0/s")


@pytest.mark.parametrize(
    ("done", "total", "bar"),
    [(0, 10, "░" * 20), (10, 10, "█" * 20), (1, 3, "█" * 6 + "░" * 14), (5, 0, "█" * 20)],
)
def test_progress_bar_fills_in_proportion(done: int, total: int, bar: str) -> None:
    assert progress_bar(done, total) == bar


def test_completed_summary_says_the_campaign_can_start() -> None:
    summary = UploadSummary(REF, UploadState.COMPLETED, 1_200, 1_200, 1_200, 75.0)
    assert render_summary(summary) == (
        f"Leads for {REF} uploaded: 1,200 contacts in 1 min 15 s. The campaign can start."
    )


def test_failed_summary_says_what_is_there_why_and_what_next() -> None:
    summary = UploadSummary(REF, UploadState.FAILED, 1_000, 300, 300, 3.0, "The dialer refused.")
    lines = render_summary(summary).splitlines()
    assert lines[0] == f"The upload for {REF} stopped: 300 of 1,000 contacts are on the dialer."
    assert lines[2:] == [
        "The dialer refused.",
        "Resume the upload once the cause is fixed, or start with the contacts sent.",
    ]


async def test_rate_limiter_spaces_calls_and_honours_a_pause() -> None:
    clock = FakeClock()
    limiter = RateLimiter(4, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        await limiter.acquire()
    assert clock.sleeps == [0.25, 0.25]
    await limiter.pause(2.0)
    await limiter.acquire()
    assert clock.sleeps[-1] == 2.0
    clock.now += 10  # idle time is not saved up for a burst
    await limiter.acquire()
    await limiter.acquire()
    assert clock.sleeps[-1] == 0.25


def test_rate_limiter_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(0)


def test_backoff_doubles_up_to_the_cap_with_full_jitter() -> None:
    ceilings = [backoff_delay(n, base=0.5, cap=10, rng=lambda: 1.0) for n in range(1, 8)]
    assert ceilings == [0.5, 1.0, 2.0, 4.0, 8.0, 10, 10]
    assert backoff_delay(3, base=0.5, cap=10, rng=lambda: 0.25) == 0.5


def test_retry_delay_waits_at_least_what_the_dialer_asked() -> None:
    limited = DialerRateLimited("429", retry_after=7)
    assert retry_delay(limited, 1, base=0.5, cap=10, rng=lambda: 1.0) == 7
    assert retry_delay(DialerUnavailable("503"), 1, base=0.5, cap=10, rng=lambda: 1.0) == 0.5
    no_hint = DialerRateLimited("429")
    assert retry_delay(no_hint, 2, base=0.5, cap=10, rng=lambda: 1.0) == 1.0


def test_acknowledged_batches_are_read_in_redis_bit_order() -> None:
    bitmap = bytes([0b1000_0001, 0b0100_0000])  # what SETBIT 0, 7 and 9 leave
    assert [i for i in range(24) if bit_is_set(bitmap, i)] == [0, 7, 9]
    assert bit_count(bitmap) == 3
