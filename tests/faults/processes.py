"""Real ``campaign-bot serve`` processes for tests, a round-robin address in front of several,
and a ``redis-server`` of the test's own.

Every child is killed in ``finally``; ports are free ones the kernel hands out; a server counts
as up once ``GET /healthz`` answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[2]
REAL_REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


BOT_TOKEN = "xoxb-serve-3c1f9a77e0d24b6e"
SIGNING_SECRET = "signing-secret-8d0e51c2b7a64f39"
LEADS = ("UANA", "UBOB")


def serve_environment(slack_api_url: str, prefix: str, **settings: str) -> dict[str, str]:
    """A replica's environment: its own free PORT, the shared Redis under ``prefix``, Slack at
    ``slack_api_url``, the simulator with short delays; ``settings`` add to it or replace."""
    return bare_environment(
        **{
            "PORT": str(free_port()),
            "HOST": "127.0.0.1",
            "REDIS_URL": REAL_REDIS_URL,
            "REDIS_KEY_PREFIX": prefix,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": slack_api_url,
            "CAMPAIGN_LEADS": ",".join(LEADS),
            "SIMULATOR_START_DELAY": "0.1",
            "SIMULATOR_CALL_DURATION": "0.3",
            "SIMULATOR_TICK": "0.02",
            **settings,
        }
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bare_environment(**settings: str) -> dict[str, str]:
    """Only what a child needs to run, plus ``settings``: nothing leaks in from the test's env."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **settings}


class ServeProcess:
    """One ``campaign-bot serve`` child; its stdout and stderr go to a file (never a full pipe)."""

    def __init__(self, env: Mapping[str, str], name: str = "bot") -> None:
        self.name = name
        self.port = int(env["PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        self._output = tempfile.NamedTemporaryFile(  # noqa: SIM115 (lives as long as the child)
            prefix=f"{name}-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "serve"],
            cwd=ROOT,
            env=dict(env),
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return Path(self._output.name).read_text(errors="replace")

    async def healthy(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=1.0) as client:
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited early:\n{self.output()}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.url}/healthz")).status_code == 200:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{self.name} never became healthy:\n{self.output()}")
                await asyncio.sleep(0.1)

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Send ``sig`` and wait for the exit code (killed if it takes longer than ``timeout``)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        deadline = time.monotonic() + timeout
        while (code := self.process.poll()) is None:
            if time.monotonic() > deadline:
                self.process.kill()
                raise TimeoutError(f"{self.name} did not stop within {timeout} s:\n{self.output()}")
            await asyncio.sleep(0.05)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def close(self) -> None:
        self.kill()
        self._output.close()
        Path(self._output.name).unlink(missing_ok=True)


@contextlib.asynccontextmanager
async def serving(env: Mapping[str, str], name: str = "bot") -> AsyncIterator[ServeProcess]:
    bot = ServeProcess(env, name)
    try:
        await bot.healthy()
        yield bot
    finally:
        bot.close()


class RoundRobin:
    """One address in front of several bots, as a load balancer would be: each request goes to
    the next bot, and to the one after it if that one does not take the connection."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.served: dict[str, int] = dict.fromkeys(backends, 0)
        self._next = itertools.cycle(range(len(backends)))
        # A fresh connection per request, as a load balancer whose idle timeout is shorter than
        # the bot's keep-alive: a pooled connection the bot has just closed would otherwise fail
        # a request on a healthy backend.
        self._client = httpx.AsyncClient(
            timeout=15.0, limits=httpx.Limits(max_keepalive_connections=0)
        )
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._serving: asyncio.Task[None] | None = None

    async def __aenter__(self) -> RoundRobin:
        app = Starlette(routes=[Route("/{path:path}", self._forward, methods=["GET", "POST"])])
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._serving = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._serving.done():
                self._serving.result()
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None and self._serving is not None:
            self._server.should_exit = True
            await self._serving
        await self._client.aclose()

    async def _forward(self, request: Request) -> Response:
        body = await request.body()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in {"host"}}
        for _ in self.backends:
            backend = self.backends[next(self._next)]
            try:
                answer = await self._client.request(
                    request.method,
                    f"{backend}{request.url.path}",
                    params=request.query_params,
                    content=body,
                    headers=headers,
                )
            except httpx.TransportError:
                continue
            self.served[backend] += 1
            return Response(
                answer.content, answer.status_code, media_type=answer.headers.get("content-type")
            )
        return Response("no bot answered", status_code=502)


class RedisServer:
    """A ``redis-server`` of the test's own on a free port, that the test may restart."""

    def __init__(self, *, appendonly: bool = True) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = tempfile.mkdtemp(prefix="redis-")
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        if shutil.which("redis-server") is None:
            raise RuntimeError("these tests start their own Redis: install redis-server")
        arguments = ["--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.directory]
        arguments += ["--save", "", "--protected-mode", "no"]
        if self.appendonly:
            arguments += ["--appendonly", "yes", "--appendfsync", "always"]
        self.process = subprocess.Popen(
            ["redis-server", *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as probe,
            ):
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    return
            if time.monotonic() > deadline:
                raise TimeoutError("redis-server did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: Redis flushes its append-only file and exits
            self.process.wait(timeout=10)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: gone at once, as in a crash (``appendfsync always`` kept every write)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: connections stay open and nothing answers, as with a hung Redis."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused one must be able to die
            self.process.kill()
            self.process.wait(timeout=10)
        shutil.rmtree(self.directory, ignore_errors=True)


@contextlib.contextmanager
def killing_on_exit(*bots: ServeProcess) -> Iterator[None]:
    try:
        yield
    finally:
        for bot in bots:
            bot.close()
