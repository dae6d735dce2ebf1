"""Fetching a leads file from Slack, against local stand-ins of Slack's file endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from commands.leads.errors import FileTooLarge, SlackFileError
from commands.leads.scan import validate_leads
from commands.leads.settings import LeadsSettings
from commands.leads.slack_file import SlackFiles
from tests.standins.slack_api import SlackStandIn
from tests.standins.slack_files import SlackFilesStandIn

CSV = b"name,phone\nAna,212 555 0199\nBo,212 555 0198\n"
SETTINGS = LeadsSettings()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
async def slack() -> AsyncIterator[SlackFilesStandIn]:
    async with SlackFilesStandIn() as standin:
        yield standin


def files_for(
    slack: SlackFilesStandIn, http: httpx.AsyncClient, max_bytes: int = 10**6
) -> SlackFiles:
    web = AsyncWebClient(token=slack.token, base_url=f"{slack.api_url}/")
    return SlackFiles(web, http, max_bytes=max_bytes)


async def test_a_csv_shared_in_slack_is_downloaded_with_the_bot_token(
    http: httpx.AsyncClient,
) -> None:
    async with SlackStandIn() as standin:
        file_id = standin.add_file(CSV)
        files = SlackFiles(standin.client(), http, max_bytes=10**6)
        report = await validate_leads(files.source(file_id), SETTINGS)
        downloads = standin.calls("download")
    assert (report.accepted, report.source_id) == (2, file_id)
    assert [call.auth for call in downloads] == ["Bearer xoxb-standin"]


async def test_a_big_file_streams_through_in_chunks(
    slack: SlackFilesStandIn, http: httpx.AsyncClient
) -> None:
    rows = b"".join(b"Lead,+1212%03d%04d\n" % (200 + i // 10_000, i % 10_000) for i in range(6_000))
    file_id = slack.add_file(b"name,phone\n" + rows)
    report = await validate_leads(files_for(slack, http).source(file_id), SETTINGS)
    assert report.accepted == 6_000


async def test_a_sign_in_page_instead_of_the_file_says_the_scope_is_missing(
    slack: SlackFilesStandIn, http: httpx.AsyncClient
) -> None:
    file_id = slack.add_file(CSV, sign_in_page=True)
    with pytest.raises(SlackFileError, match=r"web page instead of the file.*files:read"):
        await validate_leads(files_for(slack, http).source(file_id), SETTINGS)
    assert slack.downloads == [file_id]


async def test_missing_scope_on_files_info_is_explained(
    slack: SlackFilesStandIn, http: httpx.AsyncClient
) -> None:
    slack.scopes = set()
    file_id = slack.add_file(CSV)
    with pytest.raises(SlackFileError, match="lacks the `files:read` scope"):
        await files_for(slack, http).info(file_id)


async def test_a_file_declared_too_large_is_refused_before_downloading(
    slack: SlackFilesStandIn, http: httpx.AsyncClient
) -> None:
    file_id = slack.add_file(CSV, declared_size=60_000_000)
    with pytest.raises(FileTooLarge, match=r"larger than 1\.0 MB"):
        await validate_leads(files_for(slack, http, max_bytes=1_000_000).source(file_id), SETTINGS)
    assert slack.downloads == []


async def test_a_download_running_past_the_limit_is_cut_off(
    slack: SlackFilesStandIn, http: httpx.AsyncClient
) -> None:
    body = b"phone\n" + b"212 555 0199\n" * 20_000  # 260 kB, declared as 10 bytes
    file_id = slack.add_file(body, declared_size=10)
    with pytest.raises(FileTooLarge):
        await validate_leads(files_for(slack, http, max_bytes=100_000).source(file_id), SETTINGS)


@pytest.mark.parametrize(("name", "filetype"), [("leads.xlsx", "xlsx"), ("leads.pdf", "pdf")])
async def test_a_file_that_is_not_csv_is_refused_with_how_to_save_it(
    slack: SlackFilesStandIn, http: httpx.AsyncClient, name: str, filetype: str
) -> None:
    file_id = slack.add_file(b"PK\x03\x04", name=name, filetype=filetype)
    with pytest.raises(SlackFileError, match=f"{name} is not a CSV file.*CSV UTF-8"):
        await files_for(slack, http).info(file_id)


async def test_an_unknown_file_is_reported(
    slack: SlackFilesStandIn, http: httpx.AsyncClient
) -> None:
    with pytest.raises(SlackFileError, match="Slack has no such file"):
        await files_for(slack, http).info("F404")


async def test_the_bot_token_never_goes_to_a_host_other_than_slack(
    slack: SlackFilesStandIn, http: httpx.AsyncClient
) -> None:
    file_id = slack.add_file(CSV, download_host="http://127.0.0.2:9")
    with pytest.raises(SlackFileError, match=r"points to 127\.0\.0\.2, not to Slack"):
        await validate_leads(files_for(slack, http).source(file_id), SETTINGS)
