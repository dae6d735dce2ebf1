"""Every Slack limit the stand-in enforces: exactly at the limit is accepted, one over refused.

Each case builds a payload around one figure ``n``; the checker (a pure function) must find no
violation at the limit and exactly one, pointing at the right place, one past it. A selection
goes through the stand-in over HTTP too, to show how Slack answers: ``invalid_blocks``,
``invalid_arguments`` or ``msg_too_long`` with the reasons in ``response_metadata.messages``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.demo import slack_limits as L
from bot.demo.slack_limits import message_violations, view_violations
from tests.standins.slack_api import SlackStandIn

Json = dict[str, Any]


def plain(text: str) -> Json:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> Json:
    return {"type": "mrkdwn", "text": text}


def section(text: str = "x") -> Json:
    return {"type": "section", "text": mrkdwn(text)}


def button(text: str = "Go", action_id: str = "go", **extra: Any) -> Json:
    return {"type": "button", "text": plain(text), "action_id": action_id, **extra}


def option(text: str = "o", value: str = "v", **extra: Any) -> Json:
    return {"text": plain(text), "value": value, **extra}


def actions(*elements: Json) -> Json:
    return {"type": "actions", "elements": list(elements)}


def modal(blocks: list[Json], **extra: Any) -> Json:
    return {"type": "modal", "title": plain("T"), "submit": plain("OK"), "blocks": blocks, **extra}


def text_input(**extra: Any) -> Json:
    return {"type": "plain_text_input", "action_id": "in", **extra}


def input_block(**extra: Any) -> Json:
    return {"type": "input", "label": plain("L"), "element": text_input(), **extra}


def confirm(**texts: str) -> Json:
    fields = {"title": "T", "text": "x", "confirm": "Yes", "deny": "No", **texts}
    return {key: plain(value) for key, value in fields.items()}


def message(*blocks: Json) -> Json:
    return {"text": "fallback", "blocks": list(blocks)}


@dataclass(frozen=True)
class Case:
    name: str
    limit: int
    build: Callable[[int], Json]  # a payload with the figure at ``n``
    pointer: str  # where the violation is reported
    view: bool = False  # the payload is a view (else a message)


CASES = [
    Case("message text", L.MAX_MESSAGE_TEXT, lambda n: {"text": "x" * n}, "/text"),
    Case("blocks in a message", 50, lambda n: message(*[section()] * n), "/blocks"),
    Case("blocks in a modal", 100, lambda n: modal([section()] * n), "/view/blocks", view=True),
    Case(
        "blocks in a Home tab",
        100,
        lambda n: {"type": "home", "blocks": [section()] * n},
        "/view/blocks",
        view=True,
    ),
    Case("section text", 3000, lambda n: message(section("x" * n)), "/blocks/0/text/text"),
    Case(
        "section fields",
        10,
        lambda n: message({"type": "section", "fields": [mrkdwn("f")] * n}),
        "/blocks/0/fields",
    ),
    Case(
        "section field text",
        2000,
        lambda n: message({"type": "section", "fields": [mrkdwn("x" * n)]}),
        "/blocks/0/fields/0/text",
    ),
    Case(
        "header text",
        150,
        lambda n: message({"type": "header", "text": plain("x" * n)}),
        "/blocks/0/text/text",
    ),
    Case(
        "context elements",
        10,
        lambda n: message({"type": "context", "elements": [mrkdwn("c")] * n}),
        "/blocks/0/elements",
    ),
    Case(
        "context text",
        3000,
        lambda n: message({"type": "context", "elements": [mrkdwn("x" * n)]}),
        "/blocks/0/elements/0/text",
    ),
    Case(
        "actions elements",
        25,
        lambda n: message(actions(*[button(action_id=f"a{i}") for i in range(n)])),
        "/blocks/0/elements",
    ),
    Case(
        "button text",
        75,
        lambda n: message(actions(button("x" * n))),
        "/blocks/0/elements/0/text/text",
    ),
    Case(
        "button value",
        2000,
        lambda n: message(actions(button(value="x" * n))),
        "/blocks/0/elements/0/value",
    ),
    Case(
        "button url",
        3000,
        lambda n: message(actions(button(url="https://e.x/" + "x" * (n - 12)))),
        "/blocks/0/elements/0/url",
    ),
    Case(
        "action_id",
        255,
        lambda n: message(actions(button(action_id="x" * n))),
        "/blocks/0/elements/0/action_id",
    ),
    Case(
        "block_id", 255, lambda n: message({**section(), "block_id": "x" * n}), "/blocks/0/block_id"
    ),
    Case(
        "confirm title",
        100,
        lambda n: message(actions(button(confirm=confirm(title="x" * n)))),
        "/blocks/0/elements/0/confirm/title/text",
    ),
    Case(
        "confirm text",
        300,
        lambda n: message(actions(button(confirm=confirm(text="x" * n)))),
        "/blocks/0/elements/0/confirm/text/text",
    ),
    Case(
        "confirm button",
        30,
        lambda n: message(actions(button(confirm=confirm(confirm="x" * n)))),
        "/blocks/0/elements/0/confirm/confirm/text",
    ),
    Case(
        "deny button",
        30,
        lambda n: message(actions(button(confirm=confirm(deny="x" * n)))),
        "/blocks/0/elements/0/confirm/deny/text",
    ),
    Case(
        "select options",
        100,
        lambda n: message(
            actions(
                {"type": "static_select", "action_id": "s", "options": [option()] * n},
            )
        ),
        "/blocks/0/elements/0/options",
    ),
    Case(
        "select option groups",
        100,
        lambda n: message(
            actions(
                {
                    "type": "static_select",
                    "action_id": "s",
                    "option_groups": [{"label": plain("g"), "options": [option()]}] * n,
                }
            )
        ),
        "/blocks/0/elements/0/option_groups",
    ),
    Case(
        "select placeholder",
        150,
        lambda n: message(
            actions(
                {
                    "type": "static_select",
                    "action_id": "s",
                    "placeholder": plain("x" * n),
                    "options": [option()],
                }
            )
        ),
        "/blocks/0/elements/0/placeholder/text",
    ),
    Case(
        "overflow options",
        5,
        lambda n: message(
            actions({"type": "overflow", "action_id": "o", "options": [option()] * n})
        ),
        "/blocks/0/elements/0/options",
    ),
    Case(
        "radio options",
        10,
        lambda n: modal(
            [{**input_block(), "element": {"type": "radio_buttons", "options": [option()] * n}}]
        ),
        "/view/blocks/0/element/options",
        view=True,
    ),
    Case(
        "checkbox options",
        10,
        lambda n: modal(
            [{**input_block(), "element": {"type": "checkboxes", "options": [option()] * n}}]
        ),
        "/view/blocks/0/element/options",
        view=True,
    ),
    Case(
        "option text",
        75,
        lambda n: modal(
            [{**input_block(), "element": {"type": "radio_buttons", "options": [option("x" * n)]}}]
        ),
        "/view/blocks/0/element/options/0/text/text",
        view=True,
    ),
    Case(
        "option value",
        150,
        lambda n: modal(
            [
                {
                    **input_block(),
                    "element": {"type": "checkboxes", "options": [option(value="x" * n)]},
                }
            ]
        ),
        "/view/blocks/0/element/options/0/value",
        view=True,
    ),
    Case(
        "option description",
        75,
        lambda n: modal(
            [
                {
                    **input_block(),
                    "element": {
                        "type": "radio_buttons",
                        "options": [option(description=plain("x" * n))],
                    },
                }
            ]
        ),
        "/view/blocks/0/element/options/0/description/text",
        view=True,
    ),
    Case(
        "input label",
        2000,
        lambda n: modal([input_block(label=plain("x" * n))]),
        "/view/blocks/0/label/text",
        view=True,
    ),
    Case(
        "input hint",
        2000,
        lambda n: modal([input_block(hint=plain("x" * n))]),
        "/view/blocks/0/hint/text",
        view=True,
    ),
    Case(
        "input placeholder",
        150,
        lambda n: modal([input_block(element=text_input(placeholder=plain("x" * n)))]),
        "/view/blocks/0/element/placeholder/text",
        view=True,
    ),
    Case(
        "modal title", 24, lambda n: modal([], title=plain("x" * n)), "/view/title/text", view=True
    ),
    Case(
        "modal submit",
        24,
        lambda n: modal([], submit=plain("x" * n)),
        "/view/submit/text",
        view=True,
    ),
    Case(
        "modal close", 24, lambda n: modal([], close=plain("x" * n)), "/view/close/text", view=True
    ),
    Case(
        "private_metadata",
        3000,
        lambda n: modal([], private_metadata="x" * n),
        "/view/private_metadata",
        view=True,
    ),
    Case(
        "callback_id", 255, lambda n: modal([], callback_id="x" * n), "/view/callback_id", view=True
    ),
    Case(
        "external_id", 255, lambda n: modal([], external_id="x" * n), "/view/external_id", view=True
    ),
]


def violations(case: Case, n: int) -> list[L.Violation]:
    payload = case.build(n)
    return view_violations(payload) if case.view else message_violations(payload)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_exactly_at_the_limit_is_accepted_and_one_over_refused(case: Case) -> None:
    assert violations(case, case.limit) == []
    [refused] = violations(case, case.limit + 1)
    assert refused.pointer == case.pointer


def test_the_message_reads_like_slacks() -> None:
    [refused] = message_violations(message(actions(button("x" * 76))))
    assert refused.message() == (
        "[ERROR] must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"
    )


@pytest.mark.parametrize(
    ("payload", "pointer"),
    [
        (message({"type": "header", "text": mrkdwn("*bold*")}), "/blocks/0/text/type"),
        (message(actions(button() | {"text": mrkdwn("Go")})), "/blocks/0/elements/0/text/type"),
        (
            message(
                actions(
                    {
                        "type": "static_select",
                        "action_id": "s",
                        "options": [option() | {"text": mrkdwn("o")}],
                    }
                )
            ),
            "/blocks/0/elements/0/options/0/text/type",
        ),
        (message(section("")), "/blocks/0/text/text"),
        (message({"type": "section"}), "/blocks/0"),
        (message({"type": "carousel"}), "/blocks/0/type"),
        (
            message(section() | {"block_id": "b"}, section() | {"block_id": "b"}),
            "/blocks/1/block_id",
        ),
        (
            message(actions(button(action_id="a"), button(action_id="a"))),
            "/blocks/0/elements/1/action_id",
        ),
        (message(actions(button(style="green"))), "/blocks/0/elements/0/style"),
        (message({"type": "actions", "elements": []}), "/blocks/0/elements"),
        (message({"type": "input", "label": plain("L")}), "/blocks/0/element"),
        (modal([input_block()]) | {"submit": None}, "/view/submit"),
    ],
    ids=[
        "header must be plain_text",
        "button text must be plain_text",
        "select option text must be plain_text",
        "text may not be empty",
        "section needs text or fields",
        "unknown block type",
        "block_id unique in a message",
        "action_id unique in a block",
        "button style is primary or danger",
        "actions needs elements",
        "input needs an element",
        "modal with inputs needs submit",
    ],
)
def test_shape_rules(payload: Json, pointer: str) -> None:
    if payload.get("submit", "") is None:
        del payload["submit"]
    found = (
        view_violations(payload) if payload.get("type") == "modal" else message_violations(payload)
    )
    assert [v.pointer for v in found] == [pointer]


def test_the_same_action_id_in_two_blocks_is_fine() -> None:
    same = message(actions(button(action_id="a")), actions(button(action_id="a")))
    assert message_violations(same) == []


# -- through the stand-in ----------------------------------------------------------------------


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(member_of={"C1"}) as standin:
        yield standin


async def refusal(call: Any) -> Json:
    with pytest.raises(SlackApiError) as raised:
        await call
    assert raised.value.response.status_code == 200
    return dict(raised.value.response.data)


async def test_every_posting_method_refuses_blocks_over_a_limit(slack: SlackStandIn) -> None:
    client = slack.client()
    too_long = [section("x" * 3001)]
    card = await client.chat_postMessage(channel="C1", text="card", blocks=[section()])
    for call in (
        client.chat_postMessage(channel="C1", text="t", blocks=too_long),
        client.chat_update(channel="C1", ts=card["ts"], text="t", blocks=too_long),
        client.chat_postEphemeral(channel="C1", user="U1", text="t", blocks=too_long),
    ):
        answer = await refusal(call)
        assert answer["error"] == "invalid_blocks"
        assert answer["response_metadata"]["messages"] == [
            "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
        ]
    assert [m.text for m in slack.messages_in("C1")] == ["card"]
    assert slack.ephemeral_messages() == []
    assert [c.error for c in slack.refused_payloads()] == ["invalid_blocks"] * 3


async def test_text_over_40000_characters_is_msg_too_long(slack: SlackStandIn) -> None:
    client = slack.client()
    answer = await refusal(client.chat_postMessage(channel="C1", text="x" * 40_001))
    assert answer["error"] == "msg_too_long"
    await client.chat_postMessage(channel="C1", text="x" * 40_000)


async def test_every_view_method_refuses_a_view_over_a_limit(slack: SlackStandIn) -> None:
    client = slack.client()
    good = modal([section()])
    opened = await client.views_open(trigger_id="t1", view=good)
    bad = modal([section()], title=plain("x" * 25))
    for call in (
        client.views_open(trigger_id="t2", view=bad),
        client.views_update(view_id=opened["view"]["id"], view=bad),
        client.views_push(trigger_id="t3", view=bad),
        client.views_publish(user_id="U1", view={"type": "home", "blocks": [section()] * 101}),
    ):
        answer = await refusal(call)
        assert answer["error"] == "invalid_arguments"
        assert answer["response_metadata"]["messages"]
    assert slack.view(opened["view"]["id"])["title"] == plain("T")


async def test_a_response_url_refuses_bad_blocks_without_using_up_the_url(
    slack: SlackStandIn,
) -> None:
    url = slack.response_url()
    webhook = AsyncWebhookClient(url)
    refused = await webhook.send(text="t", blocks=[section("x" * 3001)])
    assert (refused.status_code, refused.body) == (400, "invalid_blocks")
    for n in range(5):
        assert (await webhook.send(text=f"ok {n}")).status_code == 200
    assert slack.responses(url)[0].body["text"] == "ok 0"
