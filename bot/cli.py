"""``campaign-bot``: the command line entry point."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys

from pydantic import ValidationError

from bot.bootstrap import build_services
from bot.server import BotServer
from bot.settings import Settings

log = logging.getLogger("campaign-bot")


def load_settings() -> Settings:
    """Settings from the environment, or exit with one line per bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        for error in exc.errors():
            variable = str(error["loc"][0]).upper() if error["loc"] else "settings"
            print(f"campaign-bot: {variable}: {error['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


async def serve(settings: Settings) -> None:
    """The HTTP server (Slack events, dialer webhooks, health) and the engine, together."""
    services = build_services(settings)
    log.info("dialer: %s; listening on %s:%d", settings.dialer, settings.host, settings.port)
    server = BotServer(services)
    try:
        await server.serve()
    finally:
        await services.aclose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="campaign-bot", description=__doc__)
    parser.add_argument("command", nargs="?", default="serve", choices=["serve", "demo"])
    args = parser.parse_args(argv)
    if args.command == "demo":
        from bot.demo.run import run_demo

        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        return asyncio.run(run_demo())
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "serve":
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
