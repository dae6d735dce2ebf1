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
from typing import TYPE_CHECKING

from bot import event_loop
from bot.bootstrap import build_services
from bot.logging_setup import Redactor, configure_logging
from bot.server import BotServer, freeze_start_up_heap
from bot.settings import SettingsError, SettingsTree, load_settings_tree

if TYPE_CHECKING:
    from bot.playground.app import Playground

log = logging.getLogger("campaign-bot")


async def serve(tree: SettingsTree) -> None:
    """The HTTP server (Slack events, dialer webhooks, health) and the engine, together."""
    settings = tree.bot
    try:
        services = build_services(settings, dialer_settings=tree.dialer)
    except ValueError as exc:
        raise _explained(exc) from None
    log.info("dialer: %s; listening on %s:%d", settings.dialer, settings.host, settings.port)
    server = BotServer(services, leads_settings=tree.leads)
    freeze_start_up_heap()
    loop = asyncio.get_running_loop()
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(stop_signal, _stopping, server, stop_signal)
    try:
        await server.serve()
    finally:
        await services.aclose()


def _explained(exc: ValueError) -> SettingsError:
    """A start-up error found while building (a cluster's key prefix, say) as one line."""
    if isinstance(exc, SettingsError):
        return exc
    return SettingsError([f"campaign-bot: {str(exc).splitlines()[0]}"])


async def playground(tree: SettingsTree) -> None:
    """The bot with the Slack playground: its address is printed first, then it serves until
    SIGTERM/SIGINT."""
    from bot.playground.app import Playground

    settings, options = tree.bot, tree.playground
    host = options.host or "127.0.0.1"
    runner = Playground(
        settings,
        host=host,
        open_to_all=options.host is not None,
        leads_settings=tree.leads,
        dialer_settings=tree.dialer,
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
        return event_loop.run(run_demo())
    try:
        tree = load_settings_tree()
        settings = tree.bot
        configure_logging(settings.log_level, json_lines=settings.log_json, redactor=redactor)
        with contextlib.suppress(KeyboardInterrupt):
            if args.command == "playground" or _playground_by_default(tree):
                event_loop.run(playground(tree))
            else:
                event_loop.run(serve(tree))
    except SettingsError as exc:
        for line in exc.lines:
            print(redactor.redact(line), file=sys.stderr)
        return 2
    except Exception:
        log.exception("campaign-bot stopped by an unexpected error")
        return 1
    return 0


def _playground_by_default(tree: SettingsTree) -> bool:
    """No Slack credential at all, and the playground not turned off."""
    from bot.playground.app import no_slack_configured

    return tree.playground.enabled and no_slack_configured(tree.bot)


if __name__ == "__main__":
    sys.exit(main())
