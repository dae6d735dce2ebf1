"""The playground's backend without a browser: who may reach it, who the people are, what it
sends the bot and how it shows what the stand-in saw."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from starlette.types import Message, Receive, Scope, Send

from bot.demo.forms import LEADS_CSV
from bot.demo.slack_api import SlackStandIn
from bot.playground.app import Playground, people_for
from bot.playground.guard import LoopbackOnly
from state.domain import CampaignStatus

API = {"X-Playground": "1"}


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _status(app: LoopbackOnly, client: str, path: str, host: str = "127.0.0.1:3000") -> int:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "client": (client, 50000),
        "headers": [(b"host", host.encode())],
    }
    await app(scope, receive, send)
    return int(sent[0]["status"])


@pytest.mark.parametrize("path", ["/", "/playground/api/state", "/slack/events", "/healthz"])
async def test_only_loopback_clients_are_served_unless_playground_host_is_set(path: str) -> None:
    guarded = LoopbackOnly(_ok, open_to_all=False)
    assert await _status(guarded, "127.0.0.1", path) == 200
    assert await _status(guarded, "::1", path, "[::1]:3000") == 200
    assert await _status(guarded, "10.1.2.3", path) == 403
    assert await _status(guarded, "192.168.0.7", path) == 403
    opened = LoopbackOnly(_ok, open_to_all=True)
    assert await _status(opened, "10.1.2.3", path, "bot.example:3000") == 200


async def test_the_page_wants_a_loopback_host_name_so_a_rebound_name_cannot_read_it() -> None:
    guarded = LoopbackOnly(_ok, open_to_all=False)
    assert await _status(guarded, "127.0.0.1", "/", "localhost:3000") == 200
    assert await _status(guarded, "127.0.0.1", "/", "attacker.example:3000") == 403
    assert await _status(guarded, "127.0.0.1", "/playground/api/state", "evil.test") == 403
    assert await _status(guarded, "127.0.0.1", "/slack/events", "evil.test") == 200


def test_people_come_from_campaign_leads_or_are_built_in() -> None:
    people, leads, groups = people_for(())
    assert [(p.name, p.lead) for p in people] == [("ana", True), ("bob", True), ("eve", False)]
    assert leads == ("UANA", "UBOB") and groups == {}

    people, leads, groups = people_for(("UTEAM1", "WTEAM2"))
    assert [(p.id, p.lead) for p in people] == [("UTEAM1", True), ("WTEAM2", True), ("UEVE", False)]
    assert leads == ("UTEAM1", "WTEAM2")

    people, leads, groups = people_for(("SLEADS",))
    assert [p.name for p in people if p.lead] == ["ana", "bob"]
    assert leads == ("SLEADS",) and groups == {"SLEADS": "UANA,UBOB"}


async def _state(http: httpx.AsyncClient) -> dict[str, Any]:
    answer = await http.get("/playground/api/state")
    assert answer.status_code == 200
    return dict(answer.json())


async def _until(http: httpx.AsyncClient, check: Any, timeout: float = 10.0) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        state = await _state(http)
        if check(state):
            return state
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"never: {state}")
        await asyncio.sleep(0.05)


async def test_a_refused_payload_is_shown_with_slacks_reason(playground: Playground) -> None:
    playground.slack.fail("views.open", "invalid_arguments")
    async with httpx.AsyncClient(base_url=playground.url, headers=API) as http:
        sent = await http.post("/playground/api/command", json={"user": "UANA", "text": "new"})
        assert sent.json() == {"ok": True}
        state = await _until(http, lambda s: s["refused"])
    assert state["refused"][0]["method"] == "views.open"
    assert state["refused"][0]["error"] == "invalid_arguments"
    assert state["views"] == {}


async def test_a_file_posted_in_the_channel_becomes_a_campaign_through_the_message_shortcut(
    playground: Playground,
) -> None:
    async with httpx.AsyncClient(base_url=playground.url, headers=API) as http:
        uploaded = await http.post("/playground/api/files?name=leads.csv", content=LEADS_CSV)
        file = uploaded.json()["file"]
        posted = await http.post(
            "/playground/api/post",
            json={"user": "UANA", "text": "this week's leads", "file_id": file["id"]},
        )
        ts = posted.json()["ts"]
        state = await _state(http)
        mine = next(e for e in state["timeline"] if e["ts"] == ts)
        assert mine["user"] == "UANA" and mine["files"][0]["name"] == "leads.csv"

        # A person who is not a lead is told so, privately.
        await http.post(
            "/playground/api/shortcut",
            json={"user": "UEVE", "ts": ts, "callback_id": "create_campaign_from_file"},
        )
        state = await _until(
            http,
            lambda s: any(e["kind"] == "ephemeral" and e["user"] == "UEVE" for e in s["timeline"]),
        )
        assert "Only campaign leads" in state["timeline"][-1]["text"]

        await http.post(
            "/playground/api/shortcut",
            json={"user": "UANA", "ts": ts, "callback_id": "create_campaign_from_file"},
        )
        state = await _until(http, lambda s: s["views"].get("UANA"))
        view = state["views"]["UANA"][-1]
        assert "leads.csv" in str(view["blocks"])
        assert not any(b.get("block_id") == "leads" for b in view["blocks"])
        values = {
            "name": {"name": {"type": "plain_text_input", "value": "From the channel"}},
            "aggression": {"aggression": {"type": "number_input", "value": "40"}},
            "end_handle": {
                "end_handle": {"type": "radio_buttons", "selected_option": {"value": "stop"}}
            },
        }
        submitted = await http.post(
            "/playground/api/submit", json={"user": "UANA", "view_id": view["id"], "values": values}
        )
        assert submitted.json() == {"ok": True}
        state = await _state(http)
        assert "UANA" not in state["views"]
    assert playground.driver is not None
    campaign = await playground.driver.campaign_where(lambda c: c.name == "From the channel")
    await playground.driver.channel_message(f"Leads for {campaign.ref} uploaded: 3 contacts")
    assert (await playground.services.store.get(campaign.ref)).status is CampaignStatus.STOPPED  # type: ignore[union-attr]


async def test_a_modal_error_comes_back_per_field_and_the_form_stays_open(
    playground: Playground,
) -> None:
    async with httpx.AsyncClient(base_url=playground.url, headers=API) as http:
        await http.post("/playground/api/command", json={"user": "UBOB", "text": "new"})
        state = await _until(http, lambda s: s["views"].get("UBOB"))
        view = state["views"]["UBOB"][-1]
        values = {"name": {"name": {"type": "plain_text_input", "value": None}}}
        submitted = await http.post(
            "/playground/api/submit", json={"user": "UBOB", "view_id": view["id"], "values": values}
        )
        answer = submitted.json()
        assert answer["ok"] is True
        assert set(answer["errors"]) >= {"name", "leads"}
        assert (await _state(http))["views"]["UBOB"][-1]["id"] == view["id"]
        # Another person cannot submit bob's form.
        other = await http.post(
            "/playground/api/submit", json={"user": "UANA", "view_id": view["id"], "values": {}}
        )
        assert other.json()["ok"] is False
        closed = await http.post(
            "/playground/api/close", json={"user": "UBOB", "view_id": view["id"]}
        )
        assert closed.json() == {"ok": True}
        assert "UBOB" not in (await _state(http))["views"]
        unknown = await http.post("/playground/api/command", json={"user": "UMALLORY", "text": ""})
        assert unknown.status_code == 400


async def test_the_stand_in_tells_a_subscriber_every_call_with_its_answer() -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    async with SlackStandIn(member_of={"C1"}) as slack:
        slack.subscribe(lambda call, answer: seen.append((call.method, answer)))
        client = slack.client()
        posted = await client.chat_postMessage(channel="C1", text="hi")
        with pytest.raises(SlackApiError):
            await client.chat_postMessage(channel="C1", text="x", blocks=[{"type": "nonsense"}])
        url = slack.response_url()
        async with httpx.AsyncClient() as http:
            await http.post(url, json={"text": "reply"})
    assert seen[0] == ("chat.postMessage", posted.data)
    assert seen[1][0] == "chat.postMessage" and seen[1][1]["error"] == "invalid_blocks"
    assert seen[2] == (
        "response_url",
        {"ok": True, "response_url": url.rsplit("/", 1)[-1], "error": None},
    )
