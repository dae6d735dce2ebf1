"""Log records as lines of text or JSON (``LOG_JSON=true``), with every secret taken out.

A secret is the value of any environment variable whose name says it holds one (``*TOKEN*``,
``*SECRET*``, ``*PASSWORD*``, ``*KEY*``…) and the password in any URL (``redis://:pw@host``).
They are replaced in the finished line, tracebacks included, so no library's message, however it
is built, can print one. ``Redactor.redact`` is also how start-up errors are printed.

Lines can carry what an attacker sent (a library logging a refused request), so the redactor runs
in linear time on any text (no pattern can backtrack), and a message is cut to a few thousand
characters after redaction; ``slack_bolt``'s, which quote whole request bodies, to a few hundred.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

REDACTED = "[redacted]"
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|ACCESSKEY|API_KEY|PRIVATE|CREDENTIAL", re.I)
# Anchored on the literal "://" (found by a fast scan), a scheme character just before it, and
# possessive runs: each character is looked at a bounded number of times, whatever the input.
# Any scheme-like run before "://" counts, so "1x://u:pw@" is hidden too: redacting more is safe.
URL_PASSWORD = re.compile(
    r"://(?<=[a-z0-9+.-]://)(?P<user>[^:/@\s]*+):(?P<password>[^@/\s]++)(?=@)"
)
URL_PASSWORD_REPLACEMENT = r"://\g<user>:" + REDACTED
MESSAGE_LIMIT = 4000
TRACEBACK_LIMIT = 20000
# Loggers that quote request bodies: they get a few hundred characters, enough to say what it was.
TERSE_LOGGERS = ("slack_bolt", "slack_sdk")
TERSE_LIMIT = 300
SHORTEST_SECRET = 4  # shorter values ("1", "true") would redact ordinary words


class Redactor:
    def __init__(self, secrets: set[str]) -> None:
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted(secrets, key=len, reverse=True)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Redactor:
        environ = os.environ if environ is None else environ
        secrets = {
            value
            for name, value in environ.items()
            if SECRET_NAME.search(name) and len(value) >= SHORTEST_SECRET
        }
        for value in environ.values():
            secrets |= {match["password"] for match in URL_PASSWORD.finditer(value)}
        return cls(secrets)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return URL_PASSWORD.sub(URL_PASSWORD_REPLACEMENT, text)


def cut(text: str, limit: int) -> str:
    """``text`` if short enough, else its start and how much was left out (after redaction, so a
    secret is never half shown)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters cut]"


def message_limit(logger_name: str) -> int:
    terse = any(logger_name.partition(".")[0] == name for name in TERSE_LOGGERS)
    return TERSE_LIMIT if terse else MESSAGE_LIMIT


def bounded_message(record: logging.LogRecord, redactor: Redactor) -> str:
    return cut(redactor.redact(record.getMessage()), message_limit(record.name))


class TextFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redactor = redactor

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = bounded_message(record, self.redactor)
        return super().formatMessage(record)

    def formatException(self, ei: Any) -> str:
        return cut(self.redactor.redact(super().formatException(ei)), TRACEBACK_LIMIT)

    def format(self, record: logging.LogRecord) -> str:
        # The message and the traceback are bounded on their own; this catches the rest (the
        # logger's name, a stack_info) in the finished line.
        return self.redactor.redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the traceback if any."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": bounded_message(record, self.redactor),
        }
        if record.exc_info:
            entry["error"] = cut(
                self.redactor.redact(self.formatException(record.exc_info)), TRACEBACK_LIMIT
            )
        # Redacted before encoding: JSON escapes could hide a secret from a search afterwards.
        redacted = {key: self.redactor.redact(value) for key, value in entry.items()}
        return json.dumps(redacted, ensure_ascii=False)


def configure_logging(level: str, *, json_lines: bool, redactor: Redactor | None = None) -> None:
    """Send every logger (uvicorn's too) to stderr through one redacting formatter."""
    redactor = redactor or Redactor.from_environ()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(redactor) if json_lines else TextFormatter(redactor))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
