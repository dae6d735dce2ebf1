"""The bot's Web API client (``bot.slack.client``) and private replies (``bot.slack.delivery``):
slack_sdk's retry handlers wait out 429s and retry 5xx; a failed response_url falls back to
``chat.postEphemeral``."""

from __future__ import annotations

import time
from typing import Any

from bot.metered import MeteredWebClient
from bot.metrics import Metrics
from bot.slack.client import on_rate_limit, rate_limits_of, with_retries
from bot.slack.delivery import Delivery, Where
from commands.handlers.context import Deps
from tests.standins.slack_api import SlackStandIn


async def test_a_429_is_waited_out_counted_and_noted_for_the_method() -> None:
    metrics = Metrics()
    async with SlackStandIn(member_of={"C1"}) as slack:
        client = with_retries(
            MeteredWebClient(metrics, token="xoxb-t", base_url=slack.api_url), metrics
        )
        slack.rate_limit("chat.postMessage", retry_after=1, times=1)
        heard: list[tuple[str, float]] = []
        started = time.monotonic()
        with on_rate_limit(lambda method, delay: heard.append((method, delay))):
            await client.chat_postMessage(channel="C1", text="once")
        assert time.monotonic() - started >= 1.0
    assert [m.text for m in slack.messages_in("C1")] == ["once"]
    assert heard == [("chat.postMessage", 1.0)]
    assert rate_limits_of(client).free_at("chat.postMessage") > 0
    assert rate_limits_of(client).free_at("chat.update") == 0
    calls = metrics.slack_calls
    assert calls.value(method="chat.postMessage", result="ratelimited") == 1
    assert calls.value(method="chat.postMessage", result="ok") == 1


async def test_server_errors_are_retried_with_backoff() -> None:
    async with SlackStandIn(member_of={"C1"}) as slack:
        client = with_retries(slack.client())
        slack.fail("chat.postMessage", "bad_gateway", status=502, times=2)
        await client.chat_postMessage(channel="C1", text="after two 502s")
    assert [c.status for c in slack.calls("chat.postMessage")] == [502, 502, 200]
    assert [m.text for m in slack.messages_in("C1")] == ["after two 502s"]


class FailingResponseUrl:
    """A ``respond`` whose response_url answers 500, as Bolt's respond reports it."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, **body: Any) -> Any:
        self.calls += 1
        return type("Answer", (), {"status_code": 500, "body": "internal_error"})()


async def test_a_response_url_answering_5xx_falls_back_to_an_ephemeral_message() -> None:
    async with SlackStandIn(member_of={"C1"}) as slack:
        delivery = Delivery(with_retries(slack.client()), Deps(None, None, None), _no_dispatch)  # type: ignore[arg-type]
        respond = FailingResponseUrl()
        await delivery.tell(Where("UANA", "C1", respond=respond), "Campaigns: 0")
    assert respond.calls == 1
    assert [(m["user"], m["text"]) for m in slack.ephemeral_messages("C1")] == [
        ("UANA", "Campaigns: 0")
    ]


async def _no_dispatch(*_: object) -> None:
    return None
