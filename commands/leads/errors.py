"""Why a leads file is refused as a whole. ``str(error)`` is written for the team lead.

    LeadsFileError          the file cannot be used; nothing is uploaded
    ├── FileTooLarge        over LEADS_MAX_FILE_BYTES
    ├── TooManyRows         over LEADS_MAX_ROWS
    ├── NoPhoneColumn       no header column names a phone number
    ├── UnreadableCsv       empty, binary, a runaway quote, no data rows
    └── SlackFileError      Slack would not give us the file (scope, type, not found)

Rejected *rows* are not errors: they are counted and reported, and the good rows may go up.
"""

from __future__ import annotations


class LeadsFileError(ValueError):
    pass


class FileTooLarge(LeadsFileError):
    pass


class TooManyRows(LeadsFileError):
    pass


class NoPhoneColumn(LeadsFileError):
    pass


class UnreadableCsv(LeadsFileError):
    pass


class SlackFileError(LeadsFileError):
    pass
