"""The Slack Web API stand-in, driven through a real ``AsyncWebClient`` over loopback HTTP."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fake_clock import FakeClock
from tests.standins.slack_api import (
    BOT_USER_ID,
    DEFAULT_SCOPES,
    RESPONSE_URL_SECONDS,
    RESPONSE_URL_USES,
    SlackStandIn,
)


@pytest.fixture
async def slack() -> AsyncIterator[SlackStandIn]:
    async with SlackStandIn(member_of={"C1"}) as standin:
        yield standin


async def error_of(call: Awaitable[object]) -> str:
    with pytest.raises(SlackApiError) as raised:
        await call
    return str(raised.value.response["error"])


async def test_posted_message_appears_in_channel_with_increasing_ts(slack: SlackStandIn) -> None:
    client = slack.client()
    first = await client.chat_postMessage(channel="C1", text="one")
    second = await client.chat_postMessage(channel="C1", text="two", blocks=[{"type": "divider"}])

    assert first["ok"] and first["channel"] == "C1"
    assert float(second["ts"]) > float(first["ts"])
    assert second["message"]["text"] == "two"
    assert [(m.text, m.blocks) for m in slack.messages_in("C1")] == [
        ("one", []),
        ("two", [{"type": "divider"}]),
    ]
    assert slack.messages_in("C2") == []


async def test_update_replaces_the_message_in_place(slack: SlackStandIn) -> None:
    client = slack.client()
    card = await client.chat_postMessage(channel="C1", text="card: running")
    await client.chat_postMessage(channel="C1", text="alert")
    await client.chat_update(channel="C1", ts=card["ts"], text="card: stopped")

    seen = slack.messages_in("C1")
    assert [m.text for m in seen] == ["card: stopped", "alert"]
    assert seen[0].ts == card["ts"] and seen[0].edits == 1


async def test_update_of_unknown_message_is_an_error(slack: SlackStandIn) -> None:
    client = slack.client()
    await client.chat_postMessage(channel="C1", text="x")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel="C1", ts="1.000001", text="y")
    assert raised.value.response["error"] == "message_not_found"


async def test_calls_record_method_arguments_auth_and_time(slack: SlackStandIn) -> None:
    before = time.monotonic()
    await slack.client("xoxb-abc").chat_postMessage(channel="C1", text="hi")
    await slack.client("xoxb-abc").auth_test()

    [post] = slack.calls("chat.postMessage")
    assert post.args == {"channel": "C1", "text": "hi"}
    assert post.auth == "Bearer xoxb-abc"
    assert post.at >= before and post.status == 200
    assert [call.method for call in slack.calls()] == ["chat.postMessage", "auth.test"]


async def test_rate_limit_answers_429_with_retry_after_for_the_next_calls(
    slack: SlackStandIn,
) -> None:
    client = slack.client()
    slack.rate_limit("chat.postMessage", retry_after=7, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            await client.chat_postMessage(channel="C1", text="x")
        assert raised.value.response.status_code == 429
        assert raised.value.response.headers["Retry-After"] == "7"
    await client.chat_postMessage(channel="C1", text="through")
    await client.auth_test()  # other methods are not limited

    assert [c.status for c in slack.calls("chat.postMessage")] == [429, 429, 200]
    assert [m.text for m in slack.messages_in("C1")] == ["through"]


async def test_unbounded_rate_limit_lasts_until_cleared(slack: SlackStandIn) -> None:
    client = slack.client()
    slack.rate_limit("chat.update", retry_after=1, times=None)
    for _ in range(3):
        with pytest.raises(SlackApiError):
            await client.chat_update(channel="C1", ts="1.1", text="x")
    slack.clear_rate_limit("chat.update")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel="C1", ts="1.1", text="x")
    assert raised.value.response.status_code == 200


async def test_failure_knob_answers_ok_false_then_recovers(slack: SlackStandIn) -> None:
    client = slack.client()
    slack.fail("chat.postMessage", "channel_not_found")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C1", text="lost")
    assert raised.value.response["error"] == "channel_not_found"
    await client.chat_postMessage(channel="C1", text="kept")
    assert [m.text for m in slack.messages_in("C1")] == ["kept"]


async def test_failure_knob_can_answer_a_server_error(slack: SlackStandIn) -> None:
    slack.fail("chat.update", "fatal_error", status=503)
    with pytest.raises(SlackApiError) as raised:
        await slack.client().chat_update(channel="C1", ts="1.1", text="x")
    assert raised.value.response.status_code == 503
    assert raised.value.response["error"] == "fatal_error"


async def test_latency_delays_only_that_method(slack: SlackStandIn) -> None:
    client = slack.client()
    slack.latency("chat.postMessage", 0.2)
    started = time.monotonic()
    await client.chat_postMessage(channel="C1", text="slow")
    slow = time.monotonic() - started
    started = time.monotonic()
    await client.auth_test()
    fast = time.monotonic() - started
    assert slow >= 0.2 > fast


async def test_tokens_are_checked() -> None:
    strict = SlackStandIn(token="xoxb-right")
    async with strict:
        assert (await strict.client("xoxb-right").auth_test())["user_id"] == BOT_USER_ID
        with pytest.raises(SlackApiError) as raised:
            await strict.client("xoxb-wrong").auth_test()
        assert raised.value.response["error"] == "invalid_auth"


async def test_registered_file_is_described_and_downloadable(slack: SlackStandIn) -> None:
    file_id = slack.add_file(b"phone\n+441234\n", name="leads.csv")
    info = await slack.client().files_info(file=file_id)

    assert info["file"]["name"] == "leads.csv" and info["file"]["size"] == 14
    url = info["file"]["url_private_download"]
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers={"Authorization": "Bearer xoxb-x"}) as response:
            assert await response.read() == b"phone\n+441234\n"
        async with session.get(url) as response:
            assert b"sign in" in await response.read()


async def test_unknown_file_is_file_not_found(slack: SlackStandIn) -> None:
    with pytest.raises(SlackApiError) as raised:
        await slack.client().files_info(file="F404")
    assert raised.value.response["error"] == "file_not_found"


async def test_files_upload_v2_round_trip(slack: SlackStandIn) -> None:
    result = await slack.client().files_upload_v2(
        channel="C1", content=b"ref,reason\nc-1-1,bad phone\n", filename="rejected.csv"
    )

    file_id = result["file"]["id"]
    assert slack.uploaded_file(file_id) == b"ref,reason\nc-1-1,bad phone\n"
    assert result["file"]["channels"] == ["C1"]
    assert [c.method for c in slack.calls()] == [
        "files.getUploadURLExternal",
        "upload",
        "files.completeUploadExternal",
    ]


async def test_usergroups_and_users_answer_from_registrations(slack: SlackStandIn) -> None:
    slack.add_usergroup("S1", ["U1", "U2"])
    slack.add_user("U1", name="ana", tz="Europe/Lisbon")
    client = slack.client()

    assert (await client.usergroups_users_list(usergroup="S1"))["users"] == ["U1", "U2"]
    user = (await client.users_info(user="U1"))["user"]
    assert user["name"] == "ana" and user["tz"] == "Europe/Lisbon"
    assert user["tz_offset"] in (0, 3600)  # WET or WEST, whichever it is now
    with pytest.raises(SlackApiError):
        await client.users_info(user="U404")
    with pytest.raises(SlackApiError):
        await client.usergroups_users_list(usergroup="S404")


async def test_users_info_needs_the_users_read_scope() -> None:
    async with SlackStandIn(scopes=DEFAULT_SCOPES - {"users:read"}) as slack:
        slack.add_user("U1", name="ana")
        with pytest.raises(SlackApiError, match="missing_scope"):
            await slack.client().users_info(user="U1")


async def test_ephemeral_messages_are_kept_out_of_the_channel(slack: SlackStandIn) -> None:
    answer = await slack.client().chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert answer["message_ts"]
    assert slack.messages_in("C1") == []
    assert [(m["user"], m["text"]) for m in slack.ephemeral_messages("C1")] == [("U1", "only you")]


async def test_views_open_update_and_publish(slack: SlackStandIn) -> None:
    client = slack.client()
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "New"}, "blocks": []}
    opened = await client.views_open(trigger_id="T1", view=modal)
    view_id = opened["view"]["id"]
    await client.views_update(view_id=view_id, view={**modal, "blocks": [{"type": "divider"}]})
    await client.views_publish(user_id="U1", view={"type": "home", "blocks": []})

    assert slack.view(view_id)["blocks"] == [{"type": "divider"}]
    assert slack.view("VHOMEU1")["type"] == "home"
    with pytest.raises(SlackApiError):
        await client.views_update(view_id="V404", view=modal)


async def test_response_url_records_what_is_posted(slack: SlackStandIn) -> None:
    url = slack.response_url()
    await AsyncWebhookClient(url).send(text="unknown ref c-1", response_type="ephemeral")

    [post] = slack.responses(url)
    assert post.body == {"text": "unknown ref c-1", "response_type": "ephemeral"}
    assert slack.responses(slack.response_url()) == []


async def test_wait_for_returns_the_value_or_times_out(slack: SlackStandIn) -> None:
    await slack.client().chat_postMessage(channel="C1", text="x")
    found = await slack.wait_for(lambda: slack.messages_in("C1"), timeout=1)
    assert found[0].text == "x"
    with pytest.raises(TimeoutError):
        await slack.wait_for(lambda: slack.messages_in("C2"), timeout=0.05)


async def test_stopped_stand_in_refuses_connections() -> None:
    standin = SlackStandIn()
    async with standin:
        url = standin.url
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.post(f"{url}/api/auth.test")


# -- channel membership ------------------------------------------------------------------------


async def test_the_bot_posts_only_where_it_is_a_member() -> None:
    async with SlackStandIn(member_of={"CIN", "GPRIVATE"}) as slack:
        slack.add_channel("COUT", member=False)
        slack.add_channel("GHIDDEN", member=False)
        client = slack.client()
        await client.chat_postMessage(channel="CIN", text="in")
        await client.chat_postMessage(channel="GPRIVATE", text="in")
        await client.chat_postMessage(channel="U123", text="a direct message")

        assert await error_of(client.chat_postMessage(channel="COUT", text="x")) == "not_in_channel"
        assert await error_of(client.chat_postMessage(channel="CNONE", text="x")) == (
            "channel_not_found"
        )
        # Slack does not reveal a private channel the bot is not in.
        assert await error_of(client.chat_postMessage(channel="GHIDDEN", text="x")) == (
            "channel_not_found"
        )
        assert slack.messages_in("COUT") == []
        assert [c.error for c in slack.calls("chat.postMessage")] == [
            None, None, None, "not_in_channel", "channel_not_found", "channel_not_found"
        ]  # fmt: skip


async def test_ephemeral_update_and_file_share_need_membership_too() -> None:
    async with SlackStandIn(member_of={"CIN"}) as slack:
        slack.add_channel("COUT", member=False)
        client = slack.client()
        posted = await client.chat_postMessage(channel="CIN", text="card")
        slack.set_member("CIN", False)

        assert await error_of(client.chat_postEphemeral(channel="COUT", user="U1", text="x")) == (
            "not_in_channel"
        )
        assert await error_of(client.chat_update(channel="CIN", ts=posted["ts"], text="y")) == (
            "not_in_channel"
        )
        assert (
            await error_of(
                client.files_upload_v2(channel="COUT", content=b"a,b\n", filename="x.csv")
            )
            == "not_in_channel"
        )
        assert slack.ephemeral_messages() == []


async def test_an_ephemeral_message_goes_only_to_someone_in_the_channel() -> None:
    async with SlackStandIn() as slack:
        slack.add_channel("CIN", users={"U1"})
        client = slack.client()
        await client.chat_postEphemeral(channel="CIN", user="U1", text="for you")
        assert await error_of(client.chat_postEphemeral(channel="CIN", user="U2", text="x")) == (
            "user_not_in_channel"
        )
        assert [m["user"] for m in slack.ephemeral_messages("CIN")] == ["U1"]


async def test_chat_write_public_posts_in_public_channels_without_joining() -> None:
    async with SlackStandIn(scopes={"chat:write", "chat:write.public"}) as slack:
        slack.add_channel("COUT", member=False)
        slack.add_channel("GHIDDEN", member=False)
        client = slack.client()
        await client.chat_postMessage(channel="COUT", text="public")
        assert await error_of(client.chat_postMessage(channel="GHIDDEN", text="x")) == (
            "channel_not_found"
        )
        assert [m.text for m in slack.messages_in("COUT")] == ["public"]


async def test_conversations_info_reports_membership_and_kind() -> None:
    async with SlackStandIn(member_of={"CIN", "GPRIVATE", "DIM"}) as slack:
        slack.add_channel("COUT", member=False, name="campaigns")
        slack.add_channel("GHIDDEN", member=False)
        client = slack.client()

        out = (await client.conversations_info(channel="COUT"))["channel"]
        assert out["name"] == "campaigns"
        assert (out["is_member"], out["is_channel"], out["is_private"]) == (False, True, False)
        private = (await client.conversations_info(channel="GPRIVATE"))["channel"]
        assert (private["is_member"], private["is_private"], private["is_group"]) == (
            True, True, True
        )  # fmt: skip
        im = (await client.conversations_info(channel="DIM"))["channel"]
        assert im["is_im"] and not im["is_channel"]
        for hidden in ("GHIDDEN", "CNONE"):
            assert await error_of(client.conversations_info(channel=hidden)) == (
                "channel_not_found"
            )


async def test_conversations_join_makes_the_bot_a_member_of_a_public_channel() -> None:
    async with SlackStandIn() as slack:
        slack.add_channel("COUT", member=False)
        slack.add_channel("GHIDDEN", member=False)
        slack.add_channel("COLD", member=False, archived=True)
        client = slack.client()

        joined = await client.conversations_join(channel="COUT")
        assert joined["channel"]["is_member"] and slack.is_member("COUT")
        again = await client.conversations_join(channel="COUT")
        assert again["warning"] == "already_in_channel"
        await client.chat_postMessage(channel="COUT", text="now in")
        assert await error_of(client.conversations_join(channel="GHIDDEN")) == "channel_not_found"
        assert await error_of(client.conversations_join(channel="COLD")) == "is_archived"
        assert await error_of(client.chat_postMessage(channel="COLD", text="x")) == "is_archived"


async def test_joining_needs_the_channels_join_scope() -> None:
    async with SlackStandIn(scopes={"chat:write"}) as slack:
        slack.add_channel("COUT", member=False)
        assert await error_of(slack.client().conversations_join(channel="COUT")) == (
            "missing_scope"
        )


# -- rate limits -------------------------------------------------------------------------------


async def test_a_rate_limit_can_hold_one_channel_only(slack: SlackStandIn) -> None:
    slack.add_channel("C2")
    client = slack.client()
    slack.rate_limit("chat.postMessage", retry_after=3, times=None, channel="C1")
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="C1", text="held")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "3"
    await client.chat_postMessage(channel="C2", text="other channel")
    slack.clear_rate_limit("chat.postMessage", channel="C1")
    await client.chat_postMessage(channel="C1", text="through")
    assert [m.text for m in slack.messages_in("C1")] == ["through"]


async def test_a_throttle_allows_so_many_calls_per_window_and_says_how_long_to_wait() -> None:
    clock = FakeClock()
    async with SlackStandIn(member_of={"C1", "C2"}, clock=clock) as slack:
        client = slack.client()
        slack.throttle("chat.postMessage", calls=1, per_seconds=1.0, per_channel=True)
        await client.chat_postMessage(channel="C1", text="one")
        await client.chat_postMessage(channel="C2", text="other channel")
        clock.now += 0.25
        with pytest.raises(SlackApiError) as raised:
            await client.chat_postMessage(channel="C1", text="too soon")
        assert raised.value.response.status_code == 429
        assert raised.value.response.headers["Retry-After"] == "1"
        clock.now += 0.75
        await client.chat_postMessage(channel="C1", text="two")

        slack.throttle("conversations.info", calls=2, per_seconds=60)
        await client.conversations_info(channel="C1")
        await client.conversations_info(channel="C2")
        clock.now += 20
        with pytest.raises(SlackApiError) as raised:
            await client.conversations_info(channel="C1")
        assert raised.value.response.headers["Retry-After"] == "40"
        slack.throttle("conversations.info", calls=0, per_seconds=60)
        await client.conversations_info(channel="C1")
        assert [m.text for m in slack.messages_in("C1")] == ["one", "two"]


# -- response_url ------------------------------------------------------------------------------


async def test_a_response_url_takes_five_posts() -> None:
    async with SlackStandIn() as slack:
        url = slack.response_url()
        webhook = AsyncWebhookClient(url)
        for n in range(RESPONSE_URL_USES):
            assert (await webhook.send(text=f"reply {n}")).status_code == 200
        refused = await webhook.send(text="one too many")
        assert (refused.status_code, refused.body) == (404, "expired_url")
        assert len(slack.responses(url)) == RESPONSE_URL_USES
        assert slack.calls("response_url")[-1].status == 404


async def test_a_response_url_expires_after_thirty_minutes() -> None:
    clock = FakeClock()
    async with SlackStandIn(clock=clock) as slack:
        url = slack.response_url()
        clock.now += RESPONSE_URL_SECONDS
        assert (await AsyncWebhookClient(url).send(text="just in time")).status_code == 200
        clock.now += 0.001
        late = await AsyncWebhookClient(url).send(text="too late")
        assert (late.status_code, late.body) == (404, "expired_url")
        never_handed_out = await AsyncWebhookClient(f"{slack.url}/response/RNONE").send(text="x")
        assert never_handed_out.status_code == 404
        assert [p.body["text"] for p in slack.responses()] == ["just in time"]
