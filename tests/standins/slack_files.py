"""A local stand-in for Slack's file endpoints, with the ways a leads download goes wrong.

``files.info`` and the private download, as a real HTTP server on 127.0.0.1. Knobs per file:
Slack's sign-in page instead of the content (what Slack serves a token that may not read the
file), a declared size that differs from the body, a download link to another host. Bodies are
streamed in chunks without a Content-Length, so only the client's own counting can stop a big one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.standins.server import LocalServer

SIGN_IN_PAGE = (
    b"<!DOCTYPE html>\n<html><head><title>Slack</title></head><body>Sign in</body></html>"
)


@dataclass
class StandInFile:
    id: str
    name: str
    filetype: str
    content: bytes
    declared_size: int | None = None
    sign_in_page: bool = False
    download_host: str | None = None


@dataclass
class SlackFilesStandIn:
    token: str = "xoxb-files"
    scopes: set[str] = field(default_factory=lambda: {"files:read"})
    files: dict[str, StandInFile] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)
    url: str = ""
    _server: LocalServer | None = None

    @property
    def api_url(self) -> str:
        return f"{self.url}/api"

    def add_file(
        self,
        content: bytes,
        *,
        name: str = "leads.csv",
        filetype: str = "csv",
        declared_size: int | None = None,
        sign_in_page: bool = False,
        download_host: str | None = None,
    ) -> str:
        file_id = f"F{len(self.files) + 1:08d}"
        self.files[file_id] = StandInFile(
            file_id, name, filetype, content, declared_size, sign_in_page, download_host
        )
        return file_id

    async def __aenter__(self) -> SlackFilesStandIn:
        app = Starlette(
            routes=[
                Route("/api/files.info", self._info, methods=["GET", "POST"]),
                Route("/download/{file_id}", self._download, methods=["GET"]),
            ]
        )
        self._server = await LocalServer.start(app)
        self.url = self._server.url
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        await self._server.stop()

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    async def _info(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({"ok": False, "error": "invalid_auth"})
        if "files:read" not in self.scopes:
            return JSONResponse({"ok": False, "error": "missing_scope", "needed": "files:read"})
        stored = self.files.get(request.query_params.get("file", ""))
        if stored is None:
            return JSONResponse({"ok": False, "error": "file_not_found"})
        host = stored.download_host or self.url
        size = len(stored.content) if stored.declared_size is None else stored.declared_size
        file = {
            "id": stored.id,
            "name": stored.name,
            "filetype": stored.filetype,
            "size": size,
            "url_private_download": f"{host}/download/{stored.id}",
        }
        return JSONResponse({"ok": True, "file": file})

    async def _download(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        self.downloads.append(file_id)
        stored = self.files.get(file_id)
        if stored is None:
            return Response("not found", status_code=404)
        if stored.sign_in_page or not self._authorised(request):
            return Response(SIGN_IN_PAGE, media_type="text/html; charset=utf-8")
        return StreamingResponse(_chunks(stored.content), media_type="application/octet-stream")


async def _chunks(content: bytes, size: int = 16 * 1024) -> AsyncIterator[bytes]:
    for piece in _pieces(content, size):
        yield piece
        await asyncio.sleep(0)


def _pieces(content: bytes, size: int) -> Iterator[bytes]:
    return (content[i : i + size] for i in range(0, len(content), size))
