"""``campaign-bot``: the command line entry point.

campaign-bot [serve]      the HTTP server (or Socket Mode) and the engine, until SIGTERM/SIGINT;
                          with no Slack token configured, the Slack playground instead
campaign-bot playground   the bot with a local Slack playground in the browser (loopback only
                          unless PLAYGROUND_HOST is set), whatever Slack settings there are
campaign-bot demo         a scripted session against local stand-ins; exits 0 if every step passed
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from bot.bootstrap import build_services
from bot.logging_setup import Redactor, configure_logging
from bot.server import BotServer
from bot.settings import Settings
from commands.leads.settings import LeadsSettings

if TYPE_CHECKING:
    from bot.playground.app import Playground

log = logging.getLogger("campaign-bot")


class SettingsError(Exception):
    """Start-up cannot go on; each line names a variable and what it expects."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def setting_errors(exc: ValidationError) -> list[str]:
    """One line per bad variable, named as it is set in the environment (``ENIGMA_API_URL``)."""
    prefix = _env_prefix(exc.title)
    lines = []
    for error in exc.errors():
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "required, and not set"
        if error["loc"]:
            variable = f"{prefix}{error['loc'][0]}".upper()
        else:
            variable = f"{prefix.upper()}*" if prefix else "settings"
        lines.append(f"campaign-bot: {variable}: {message}")
    return lines


def _env_prefix(settings_class_name: str) -> str:
    for cls in _subclasses(BaseSettings):
        if cls.__name__ == settings_class_name:
            return str(cls.model_config.get("env_prefix") or "")
    return ""


def _subclasses(cls: type[BaseSettings]) -> Iterator[type[BaseSettings]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def load_settings() -> Settings:
    """Settings from the environment, or ``SettingsError``."""
    try:
        return Settings()
    except ValidationError as exc:
        raise SettingsError(setting_errors(exc)) from None


async def serve(settings: Settings) -> None:
    """The HTTP server (Slack events, dialer webhooks, health) and the engine, together."""
    try:
        leads_settings = LeadsSettings()
        services = build_services(settings)
    except ValueError as exc:
        raise _explained(exc) from None
    log.info("dialer: %s; listening on %s:%d", settings.dialer, settings.host, settings.port)
    server = BotServer(
        services,
        leads_settings=leads_settings,
    )
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, _stopping, server, stop_signal)
    try:
        await server.serve()
    finally:
        await services.aclose()


def _explained(exc: ValueError) -> SettingsError:
    """A start-up error as lines naming the variables."""
    if isinstance(exc, ValidationError):
        return SettingsError(setting_errors(exc))
    # An adapter may wrap its settings' errors in a sentence of its own; name the variables.
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ValidationError):
        return SettingsError(setting_errors(cause))
    return SettingsError([f"campaign-bot: {str(exc).splitlines()[0]}"])


async def playground(settings: Settings) -> None:
    """The bot with the Slack playground: its address is printed first, then it serves until
    SIGTERM/SIGINT."""
    from bot.playground.app import Playground, PlaygroundSettings

    try:
        options = PlaygroundSettings()
        leads_settings = LeadsSettings()
    except ValueError as exc:
        raise _explained(exc) from None
    host = options.host or "127.0.0.1"
    runner = Playground(
        settings,
        host=host,
        open_to_all=options.host is not None,
        leads_settings=leads_settings,
    )
    try:
        url = runner.bind()
    except OSError as exc:
        raise SettingsError(
            [f"campaign-bot: PORT: cannot listen on {host}:{settings.port} ({exc.strerror})"]
        ) from None
    print(f"Slack playground: {url}", flush=True)
    print(
        "  No Slack workspace is configured, so Slack is played locally: open the address above, "
        "act as a lead or not, and watch the simulator dial. Set SLACK_BOT_TOKEN and "
        "SLACK_SIGNING_SECRET to use a real workspace.",
        flush=True,
    )
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, _stopping_playground, runner, stop_signal)
    try:
        await runner.start()
    except ValueError as exc:
        raise _explained(exc) from None
    log.info("dialer: %s; playground and Slack events on %s", settings.dialer, runner.url)
    await runner.wait()


def _stopping_playground(runner: Playground, stop_signal: signal.Signals) -> None:
    log.info("%s: stopping gracefully", stop_signal.name)
    runner.shutdown()


def _stopping(server: BotServer, stop_signal: signal.Signals) -> None:
    log.info("%s: stopping gracefully (send it again to stop at once)", stop_signal.name)
    server.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="campaign-bot",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "command", nargs="?", default="serve", choices=["serve", "playground", "demo"]
    )
    args = parser.parse_args(argv)
    redactor = Redactor.from_environ()
    if args.command == "demo":
        from bot.demo.run import run_demo

        configure_logging("WARNING", json_lines=False, redactor=redactor)
        return asyncio.run(run_demo())
    try:
        settings = load_settings()
        configure_logging(settings.log_level, json_lines=settings.log_json, redactor=redactor)
        with contextlib.suppress(KeyboardInterrupt):
            if args.command == "playground" or _playground_by_default(settings):
                asyncio.run(playground(settings))
            else:
                asyncio.run(serve(settings))
    except SettingsError as exc:
        for line in exc.lines:
            print(redactor.redact(line), file=sys.stderr)
        return 2
    except Exception:
        log.exception("campaign-bot stopped by an unexpected error")
        return 1
    return 0


def _playground_by_default(settings: Settings) -> bool:
    """No Slack credential at all, and the playground not turned off."""
    from bot.playground.app import PlaygroundSettings, no_slack_configured

    try:
        enabled = PlaygroundSettings().enabled
    except ValidationError as exc:
        raise SettingsError(setting_errors(exc)) from None
    return enabled and no_slack_configured(settings)


if __name__ == "__main__":
    sys.exit(main())
