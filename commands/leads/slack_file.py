"""Fetch a leads file from Slack: ``files.info`` (through the bot's Web API client, so 429s and 5xx
are retried like every other call), then ``url_private_download`` with the bot token.

The download is streamed and counted, so a file never sits in memory whole and an oversized one
is cut off as soon as it passes the limit. A bot token without the ``files:read`` scope makes
Slack answer the download with its HTML sign-in page rather than an error; that is recognised
and said plainly.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from commands.leads.errors import FileTooLarge, SlackFileError
from commands.leads.reader import too_large_message

SLACK_API_URL = "https://slack.com/api/"
CHUNK_BYTES = 64 * 1024
_TEXT_TYPES = frozenset({"csv", "tsv", "text"})
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
_NO_SCOPE = (
    "Slack sent a web page instead of the file: the bot token lacks the `files:read` scope. "
    "Ask a Slack admin to add it and reinstall the app."
)
_API_ERRORS = {
    "missing_scope": _NO_SCOPE,
    "file_not_found": "Slack has no such file (was it deleted?). Upload it again.",
    "file_deleted": "The file was deleted in Slack. Upload it again.",
    "not_authed": "The bot has no Slack token configured (SLACK_BOT_TOKEN).",
    "invalid_auth": "Slack refused the bot token (SLACK_BOT_TOKEN): check it.",
    "token_revoked": "The bot token was revoked: reinstall the app.",
}


@dataclass(frozen=True)
class SlackFileInfo:
    file_id: str
    name: str
    size: int
    filetype: str
    download_url: str


class SlackFiles:
    def __init__(self, web: AsyncWebClient, http: httpx.AsyncClient, *, max_bytes: int) -> None:
        """``web``: the bot's Web API client (its token downloads the file); ``http`` streams
        the download."""
        self._web = web
        self._client = http
        self._token = web.token or ""
        self._max_bytes = max_bytes
        self._api_host = urlsplit(web.base_url or SLACK_API_URL).hostname or ""

    def source(self, file_id: str) -> SlackFileSource:
        """A ``LeadSource``; pass ``files.source`` to ``LeadUploads`` as its ``SourceOpener``."""
        return SlackFileSource(self, file_id)

    async def info(self, file_id: str) -> SlackFileInfo:
        """The file's metadata; refuses a file that is not text or is over the size limit."""
        body = await self._call("files.info", {"file": file_id})
        file = body.get("file") or {}
        info = SlackFileInfo(
            file_id=file_id,
            name=str(file.get("name") or file_id),
            size=int(file.get("size") or 0),
            filetype=str(file.get("filetype") or ""),
            download_url=str(file.get("url_private_download") or file.get("url_private") or ""),
        )
        _check_type(info)
        if info.size > self._max_bytes:
            raise FileTooLarge(too_large_message(self._max_bytes))
        if not info.download_url:
            raise SlackFileError(f"Slack gave no download link for {info.name}.")
        return info

    async def download(self, info: SlackFileInfo) -> AsyncGenerator[bytes, None]:
        headers = {"Authorization": f"Bearer {self._trusted(info.download_url)}"}
        try:
            async with self._client.stream(
                "GET", info.download_url, headers=headers, follow_redirects=True
            ) as response:
                _check_download(response)
                size = 0
                async for chunk in response.aiter_bytes(CHUNK_BYTES):
                    if size == 0 and _looks_like_html(chunk):
                        raise SlackFileError(_NO_SCOPE)
                    size += len(chunk)
                    if size > self._max_bytes:
                        raise FileTooLarge(too_large_message(self._max_bytes))
                    yield chunk
        except httpx.HTTPError as exc:
            raise SlackFileError(f"Downloading {info.name} from Slack failed ({exc}).") from exc

    async def _call(self, method: str, params: dict[str, str]) -> dict[str, Any]:
        try:
            answer = await self._web.files_info(file=params["file"])
        except SlackApiError as exc:
            error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
            raise SlackFileError(
                _API_ERRORS.get(error, f"Slack's {method} said: {error}.")
            ) from exc
        except (SlackClientError, aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            raise SlackFileError(f"Slack's {method} did not answer properly ({exc}).") from exc
        return dict(answer.data) if isinstance(answer.data, dict) else {}

    def _trusted(self, url: str) -> str:
        """The bot token, for Slack's own hosts (or the configured API host) only."""
        host = urlsplit(url).hostname or ""
        if host in (self._api_host, "slack.com") or host.endswith(".slack.com"):
            return self._token
        raise SlackFileError(f"The file's download link points to {host}, not to Slack.")


class SlackFileSource:
    def __init__(self, files: SlackFiles, file_id: str) -> None:
        self._files = files
        self._file_id = file_id

    @property
    def source_id(self) -> str:
        return self._file_id

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        info = await self._files.info(self._file_id)
        async with aclosing(self._files.download(info)) as chunks:
            async for chunk in chunks:
                yield chunk


def _check_type(info: SlackFileInfo) -> None:
    if info.filetype in _TEXT_TYPES or info.name.lower().endswith(_TEXT_SUFFIXES):
        return
    raise SlackFileError(
        f"{info.name} is not a CSV file ({info.filetype or 'unknown type'}). Save the leads as "
        'CSV (in Excel: File > Save As > "CSV UTF-8") and upload that.'
    )


def _check_download(response: httpx.Response) -> None:
    if response.status_code in (401, 403):
        raise SlackFileError(_NO_SCOPE)
    if response.status_code != 200:
        raise SlackFileError(f"Slack answered HTTP {response.status_code} to the download.")
    if response.headers.get("content-type", "").startswith("text/html"):
        raise SlackFileError(_NO_SCOPE)


def _looks_like_html(chunk: bytes) -> bool:
    start = chunk[:64].lstrip().lower()
    return start.startswith((b"<!doctype html", b"<html"))
