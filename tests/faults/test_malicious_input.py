"""Oversized and malicious input, through the real server: a leads file over the size limit and a
binary file create nothing and say why; Slack markup in a campaign's name is shown as text, never
as a mention or a link; an enormous command is answered, not obeyed.

Elsewhere: CSV edge cases (tests/test_leads_validation.py), size limits before and during the
download, non-CSV files and the bot token never leaving Slack's host
(tests/test_leads_slack_file.py), and escaping in every view (tests/test_commands_views.py).
"""

from __future__ import annotations

import asyncio
import json

from redis.asyncio import Redis

from bot.demo.forms import new_campaign_values
from commands.leads.settings import LeadsSettings
from tests.e2e.harness import ANA, Bot, running_bot

LIMIT = 64 * 1024
SMALL_LIMIT = LeadsSettings(max_file_bytes=LIMIT, progress_interval_seconds=0.05)
INJECTED_NAME = "<!channel> *Pwned* <https://evil.example|click me> <@UBOB> &amp;"


async def test_a_file_over_the_limit_and_a_binary_file_create_nothing(redis: Redis) -> None:
    huge = b"name,phone\n" + b"".join(
        f"Lead {n},+1415{n:07d}\n".encode() for n in range(LIMIT // 20 + 1000)
    )
    binary = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
    async with running_bot(redis, leads_settings=SMALL_LIMIT) as bot:
        for content, why in ((huge, "larger than"), (binary, "binary")):
            await _submit_form(bot, "Refused", content)
            await bot.slack.wait_for(
                lambda why=why: [t for t in bot.ephemeral_texts(ANA) if why in t.lower()]
            )
        await asyncio.sleep(0.3)
        assert await bot.store.list_live() == []
        assert await bot.server.services.dialer.list_campaigns() == []


async def test_slack_markup_in_a_name_is_shown_as_text(redis: Redis) -> None:
    async with running_bot(redis) as bot:
        ref = await bot.create_campaign(ANA, INJECTED_NAME)
        card = await bot.channel_message(ref)
        shown = card.text + json.dumps(card.blocks)
        for raw in ("<!channel>", "<https://evil.example|", "<@UBOB>"):
            assert raw not in shown
        assert "&lt;!channel&gt;" in shown


async def test_an_enormous_command_is_answered_and_changes_nothing(redis: Redis) -> None:
    async with running_bot(redis) as bot:
        answer, url = await bot.command(ANA, "start " + "c-20260101-abcd " * 5000)
        assert answer.status == 200
        assert await bot.reply_to(url)
        assert await bot.store.list_live() == []


async def _submit_form(bot: Bot, name: str, content: bytes) -> None:
    opened = len(bot.slack.calls("views.open"))
    await bot.command(ANA, "new")
    view = await bot.opened_view(opened + 1)
    answer = await bot.submit(ANA, view, new_campaign_values(name, bot.slack.add_file(content)))
    assert answer.status == 200
