"""The redactor reads attacker-controlled text (a library logging a refused request), so it must
take time linear in its input, whatever the input: the URL-password pattern once took 14 s on a
160 KB run of one letter, on the event loop. Budgets are ratios against a plain ``str.replace``
pass over the same text, never wall-clock limits."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest

from bot.logging_setup import (
    MESSAGE_LIMIT,
    REDACTED,
    TERSE_LIMIT,
    JsonFormatter,
    Redactor,
    TextFormatter,
)

SECRET = "xoxb-1-abcdef"
MEGABYTE = 1_000_000
# A linear scan costs a few to a few hundred times a C-level str.replace; the backtracking pattern
# cost about a million times as much on a tenth of this input.
RATIO_BUDGET = 2000

ADVERSARIAL: dict[str, Callable[[int], str]] = {
    "one letter": lambda n: "a" * n,
    "schemes": lambda n: "a://" * (n // 4),
    "a user that never ends": lambda n: "a://" + "b" * n,
    "a password with no @": lambda n: "a://b:" + "c" * n,
    "colons": lambda n: "a://" + ":" * n,
    "separators": lambda n: "://" * (n // 3),
    "scheme characters": lambda n: "x+.-9" * (n // 5) + "://",
    "a password in every eight characters": lambda n: "a://b:c@" * (n // 8),
}


def fastest(action: Callable[[], object], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


@pytest.mark.parametrize("shape", list(ADVERSARIAL))
def test_redacting_a_megabyte_of_adversarial_text_costs_a_bounded_multiple_of_str_replace(
    shape: str,
) -> None:
    text = ADVERSARIAL[shape](MEGABYTE)
    redactor = Redactor({SECRET})
    baseline = fastest(lambda: text.replace(SECRET, REDACTED))
    redacting = fastest(lambda: redactor.redact(text))
    assert redacting / baseline < RATIO_BUDGET, f"{redacting / baseline:.0f}x str.replace"


@pytest.mark.parametrize("shape", ["one letter", "a password with no @", "schemes"])
def test_four_times_the_input_takes_about_four_times_as_long(shape: str) -> None:
    redactor = Redactor({SECRET})
    quarter, whole = ADVERSARIAL[shape](MEGABYTE // 4), ADVERSARIAL[shape](MEGABYTE)
    ratio = fastest(lambda: redactor.redact(whole)) / fastest(lambda: redactor.redact(quarter))
    assert ratio < 10, f"4x the input took {ratio:.1f}x as long (quadratic would be ~16x)"


def test_url_passwords_are_still_hidden_wherever_they_are() -> None:
    redactor = Redactor(set())
    text = "to redis://:pw1@h, rediss://bot:pw2@h:6380/0 and amqp+ssl://u:p%40ss@q/"
    redacted = redactor.redact(text)
    assert "pw1" not in redacted and "pw2" not in redacted and "p%40ss" not in redacted
    assert f"redis://:{REDACTED}@h" in redacted and f"rediss://bot:{REDACTED}@h" in redacted
    assert redactor.redact("http://host:8080/path@x") == "http://host:8080/path@x"


def record(name: str, message: str) -> logging.LogRecord:
    return logging.LogRecord(name, logging.INFO, __file__, 1, message, (), None)


def test_a_huge_message_is_cut_after_redaction_and_says_how_much_was_left_out() -> None:
    formatter = TextFormatter(Redactor({SECRET}))
    line = formatter.format(record("bot", "x" * (MESSAGE_LIMIT - 5) + SECRET + "y" * MEGABYTE))
    assert len(line) < MESSAGE_LIMIT + 200
    assert SECRET[:5] not in line  # never half a secret at the cut
    assert "more characters cut]" in line


def test_bolt_quoting_a_request_body_gets_a_few_hundred_characters() -> None:
    formatter = JsonFormatter(Redactor(set()))
    body = "payload=" + "a" * MEGABYTE
    line = formatter.format(record("slack_bolt.AsyncApp", f"Invalid signature (body: {body})"))
    assert len(line) < TERSE_LIMIT + 300
