"""Log lines never carry a secret: values of secret-named variables and URL passwords are
replaced, in text and JSON lines and in tracebacks."""

from __future__ import annotations

import json
import logging
import sys

from bot.logging_setup import REDACTED, JsonFormatter, Redactor, TextFormatter

ENVIRON = {
    "SLACK_BOT_TOKEN": "xoxb-1-abc",
    "VOIPBIN_WEBHOOK_SECRET": 'we"ird\\secret',
    "REDIS_URL": "redis://:hunter22@redis:6379/0",
    "LOG_LEVEL": "INFO",
    "GENESYS_WEBHOOK_TOKEN": "1",  # too short to be told from ordinary text
}


def record(message: str, *args: object, failing: bool = False) -> logging.LogRecord:
    exc_info = None
    if failing:
        try:
            raise RuntimeError("login with xoxb-1-abc refused")
        except RuntimeError:
            exc_info = sys.exc_info()
    return logging.LogRecord("t", logging.ERROR, __file__, 1, message, args, exc_info)


def test_secret_values_and_url_passwords_are_redacted_in_text_lines() -> None:
    formatter = TextFormatter(Redactor.from_environ(ENVIRON))
    hook, url = ENVIRON["VOIPBIN_WEBHOOK_SECRET"], ENVIRON["REDIS_URL"]
    line = formatter.format(record("token %s, hook %s, at %s, try 1", "xoxb-1-abc", hook, url))
    assert "xoxb-1-abc" not in line and hook not in line
    assert "hunter22" not in line and f"redis://:{REDACTED}@redis:6379/0" in line
    assert line.endswith("try 1")  # values too short to be secrets stay


def test_json_lines_are_redacted_before_encoding_tracebacks_included() -> None:
    formatter = JsonFormatter(Redactor.from_environ(ENVIRON))
    line = formatter.format(record("hook %s", 'we"ird\\secret', failing=True))
    entry = json.loads(line)
    assert entry["message"] == f"hook {REDACTED}"
    assert "xoxb-1-abc" not in entry["error"] and REDACTED in entry["error"]
    assert entry["level"] == "ERROR" and entry["logger"] == "t"


def test_a_url_password_not_in_the_environment_is_still_hidden() -> None:
    redactor = Redactor(set())
    assert redactor.redact("rediss://bot:s3cr3t@host:6380") == f"rediss://bot:{REDACTED}@host:6380"
