"""Wiring the demo: everything on this machine, nothing read from the environment that could
point it elsewhere (no Redis, no dialer, no Slack workspace)."""

from __future__ import annotations

import asyncio
import html
import re
import secrets
import sys
import time
from datetime import UTC, datetime
from typing import TextIO

import fakeredis

from bot.bootstrap import build_services
from bot.demo.driver import SlackDriver, StepFailed, serving_on_loopback
from bot.demo.session import ANA, BOB, PEOPLE, Session
from bot.demo.slack_api import SlackMessage, SlackStandIn
from bot.server import BotServer
from bot.settings import Settings
from commands.leads.settings import LeadsSettings
from dialer.simulator import SimulatorDialer, SimulatorKnobs

CHANNEL = "CDEMO"
CHANNEL_NAME = "#outbound-campaigns"
SESSION_DEADLINE = 50.0
# Quick enough for a demo, slow enough to see "stopping" before "stopped".
KNOBS = SimulatorKnobs(start_delay=0.4, call_duration=0.8, tick=0.05, notify_delay=0.02)
MENTION = re.compile(r"<@([A-Z0-9]+)>")


async def run_demo(out: TextIO = sys.stdout, knobs: SimulatorKnobs = KNOBS) -> int:
    """Play the scripted session; 0 when every step reached its expected state, else 1."""
    began = time.monotonic()

    def narrate(line: str) -> None:
        print(f"  {time.monotonic() - began:5.1f}s  {line}", file=out, flush=True)

    print(
        "campaign-bot demo: the simulator dialer, an in-memory store, Slack stood in for locally",
        file=out,
    )
    async with SlackStandIn(member_of={CHANNEL}) as slack:
        for user, name in PEOPLE.items():
            slack.add_user(user, name=name)
        signing_secret = secrets.token_hex(16)
        settings = demo_settings(slack.api_url, signing_secret)
        services = build_services(
            settings, redis=fakeredis.FakeAsyncRedis(), dialer=SimulatorDialer(knobs)
        )
        server = BotServer(
            services,
            alert_pace=0.0,
            leads_settings=LeadsSettings(progress_interval_seconds=0.2),
        )
        try:
            async with serving_on_loopback(server) as url:
                print(f"  bot listening on {url}; Slack stand-in on {slack.url}\n", file=out)
                driver = SlackDriver(
                    url, slack, services.store, signing_secret=signing_secret, channel=CHANNEL
                )
                try:
                    await asyncio.wait_for(Session(driver, narrate).play(), SESSION_DEADLINE)
                    refused = slack.refused_payloads()
                    failure = (
                        f"Slack refused {refused[0].method}: {refused[0].error}"
                        if refused
                        else None
                    )
                except (StepFailed, TimeoutError) as exc:
                    failure = str(exc) or type(exc).__name__
                finally:
                    await driver.aclose()
        finally:
            await services.aclose()
        print(f"\n{CHANNEL_NAME}, as a person reads it now:\n", file=out)
        for message in slack.messages_in(CHANNEL):
            print(render_message(message), file=out)
    seconds = time.monotonic() - began
    if failure is not None:
        print("\nWhat the bot told people privately:\n", file=out)
        for private in slack.ephemeral_messages():
            who = PEOPLE.get(str(private["user"]), private["user"])
            print(f"  (only @{who} sees) {private['text']}", file=out)
        print(f"\nDemo FAILED after {seconds:.1f}s at step {failure}", file=out)
        return 1
    print(f"\nDemo finished in {seconds:.1f}s: every step reached its expected state.", file=out)
    return 0


def demo_settings(slack_api_url: str, signing_secret: str) -> Settings:
    return Settings(
        slack_bot_token="xoxb-demo",
        slack_signing_secret=signing_secret,
        slack_app_token=None,
        slack_api_url=slack_api_url,
        slack_alert_channel=None,
        campaign_leads=(ANA, BOB),
        redis_url=None,
        redis_key_prefix="demo:",
        host="127.0.0.1",
        dialer="simulator",
        log_level="WARNING",
    )


def render_message(message: SlackMessage) -> str:
    at = datetime.fromtimestamp(float(message.ts), UTC).strftime("%H:%M:%S")
    text = MENTION.sub(lambda m: "@" + PEOPLE.get(m.group(1), m.group(1)), message.text)
    times = "once" if message.edits == 1 else f"{message.edits} times"
    edited = f"  (updated in place {times})" if message.edits else ""
    lines = html.unescape(text).splitlines() or [""]
    body = "\n".join([lines[0], *(f"{'':17}{line}" for line in lines[1:])])
    return f"  {at}  campaign-bot: {body}{edited}"
