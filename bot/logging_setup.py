"""Log records as lines of text or JSON (``LOG_JSON=true``), with every secret taken out.

A secret is the value of any environment variable whose name says it holds one (``*TOKEN*``,
``*SECRET*``, ``*PASSWORD*``, ``*KEY*``…) and the password in any URL (``redis://:pw@host``).
They are replaced in the finished line, tracebacks included, so no library's message, however it
is built, can print one. ``Redactor.redact`` is also how start-up errors are printed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime

REDACTED = "[redacted]"
SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|ACCESSKEY|API_KEY|PRIVATE|CREDENTIAL", re.I)
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<password>[^@/\s]+)(?=@)")
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
        return URL_PASSWORD.sub(lambda m: m["head"] + REDACTED, text)


class TextFormatter(logging.Formatter):
    def __init__(self, redactor: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
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
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
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
