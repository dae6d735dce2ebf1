"""The benchmark suite at toy sizes: each figure has its JSON shape and its correctness fields
hold (nothing lost or applied twice, cards on their true state). Timing is never checked here:
the figures themselves are for ``python -m benchmarks``."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import (
    ack_latency,
    alert_pacing,
    csv_validation,
    dnc,
    ingest,
    memory,
    shared_limits,
    upload,
    window_openings,
)

pytestmark = pytest.mark.redis  # the suite runs against the real Redis


def assert_figure(figure: dict[str, Any]) -> None:
    assert isinstance(figure["value"], int | float)
    assert isinstance(figure["unit"], str) and figure["unit"]
    assert isinstance(figure["target"], str) and figure["target"]
    assert isinstance(figure["met"], bool)
    if not figure["met"]:
        assert figure["why"]


async def test_ack_latency_acks_and_answers_every_start() -> None:
    figure = await ack_latency.run(ack_latency.TOY)
    assert_figure(figure)
    assert figure["all_acked_200"] is True
    assert figure["replies_received"] == ack_latency.TOY.requests * ack_latency.TOY.bursts
    assert {"p50_ms", "p99_ms", "instant_dialer"} <= figure.keys()


async def test_ingest_loses_nothing_and_applies_nothing_twice() -> None:
    figure = await ingest.run(ingest.TOY, profile_size=None)
    assert_figure(figure)
    assert figure["lost"] == 0
    assert figure["applied_twice"] == 0
    assert figure["wrong_final_state"] == 0
    assert figure["duplicates_recognised"] == figure["duplicates_sent"] > 0
    assert figure["stale_recognised"] > 0
    assert figure["http_statuses"] == {"200": figure["deliveries"]}
    assert figure["bare_pipeline_events_per_second"] > 0


async def test_csv_validation_accepts_every_valid_row() -> None:
    figure = await csv_validation.run(csv_validation.TOY)
    assert_figure(figure)
    assert figure["accepted"] == figure["rows"] == csv_validation.TOY.rows
    assert figure["bare_parse_rows_per_second"] > 0


async def test_memory_is_measured_in_a_child_per_row_count() -> None:
    figure = await memory.run(memory.TOY)
    assert_figure(figure)
    for rows in memory.TOY.rows:
        measured = figure["per_rows"][str(rows)]
        assert measured["accepted"] == rows
        assert measured["peak_mb"] >= measured["baseline_mb"] > 0


async def test_the_dnc_check_rejects_exactly_the_listed_leads_and_measures_its_child() -> None:
    figure = await dnc.run(dnc.TOY)
    assert_figure(figure)
    assert figure["rejected_as_listed"] == figure["expected_listed"] > 0
    assert figure["peak_rss"]["accepted"] == dnc.TOY.rows - figure["expected_listed"]
    assert figure["peak_rss"]["peak_mb"] >= figure["peak_rss"]["baseline_mb"] > 0


async def test_upload_sends_every_contact_once() -> None:
    figure = await upload.run(upload.TOY)
    assert_figure(figure)
    for run in ("with_limit", "one_batch_at_a_time", "without_limit"):
        assert figure[run]["contacts_sent_twice"] == 0
        assert figure[run]["contacts_on_dialer"] > 0
    assert figure["with_limit"]["answered_429"] == 0


async def test_alert_pacing_ends_every_card_on_its_true_state() -> None:
    figure = await alert_pacing.run(alert_pacing.TOY)
    assert_figure(figure)
    assert figure["cards_correct"] == alert_pacing.TOY.campaigns
    assert figure["transitions_shown"] == alert_pacing.TOY.changes
    assert figure["stored_status_correct"] == alert_pacing.TOY.campaigns
    assert figure["slack_messages"] < alert_pacing.TOY.changes  # coalesced


async def test_window_openings_send_each_start_once() -> None:
    figure = await window_openings.run(window_openings.TOY)
    assert_figure(figure)
    assert figure["starts_sent"] == window_openings.TOY.campaigns
    assert figure["sent_twice"] == 0


async def test_a_shared_limit_lets_every_caller_through_and_no_second_over_it() -> None:
    size = shared_limits.TOY
    figure = await shared_limits.run(size)
    assert_figure(figure)
    callers = size.replicas * size.callers
    assert figure["calls"] == size.calls // callers * callers  # every turn taken, none lost
    assert figure["busiest_second"] <= size.rate + size.burst
