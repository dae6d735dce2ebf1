"""Why a command did nothing, raised by parsers and handlers and answered in one place
(``commands.handlers.dispatch``).

- ``CommandError``: a mistake in what was typed; the answer repeats the command's correct form.
- ``CommandRefused``: the command was understood but cannot be done now; the answer says why.
"""

from __future__ import annotations

from commands.text import code


class CommandError(ValueError):
    """``problem`` is mrkdwn, already escaped. ``usage`` is the correct form of the command; None
    from a handler, where dispatch fills in the usage of the subcommand that ran."""

    def __init__(self, problem: str, usage: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.usage = usage


class CampaignNotFound(CommandError):
    def __init__(self, ref: str) -> None:
        super().__init__(f"There is no campaign {code(ref)}; `/campaign list` shows them.")
        self.ref = ref


class CommandRefused(Exception):
    """``text`` (mrkdwn, already escaped) is the whole answer: nothing was done, and why."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text
