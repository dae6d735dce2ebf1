"""An HTTP load client in its own process, so the senders do not share the bot's event loop.

``python -m benchmarks.load JOB.json`` sends the job's requests to ``url`` from ``senders``
concurrent connections (each sender takes the next request when its last one was answered) and
prints one JSON line per request: ``[index, sent_at (epoch s), seconds, status, warm_up]``.
The job's ``warm_up`` requests go first, on the same connections, as a client in use has them
open already.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import asdict, astuple, dataclass, field
from pathlib import Path
from typing import Any

from bot import event_loop

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Request:
    path: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Answer:
    index: int
    sent_at: float
    seconds: float
    status: int
    warm_up: bool = False


async def send_all(
    url: str, requests: list[Request], senders: int, warm_up: list[Request]
) -> list[Answer]:
    answers: list[Answer] = []
    address = urllib.parse.urlsplit(url)
    connections = [
        await asyncio.open_connection(address.hostname, address.port) for _ in range(senders)
    ]

    async def sender(
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        pending: Iterator[tuple[int, bytes]],
        warming: bool,
    ) -> None:
        reader, writer = connection
        for index, raw in pending:
            sent_at, started = time.time(), time.perf_counter()
            writer.write(raw)
            status = await _read_answer(reader)
            seconds = time.perf_counter() - started
            answers.append(Answer(index, sent_at, seconds, status, warming))

    host = f"{address.hostname}:{address.port}"
    for batch, warming in ((warm_up, True), (requests, False)):
        pending = iter([(i, _raw(request, host)) for i, request in enumerate(batch)])
        await asyncio.gather(*(sender(c, pending, warming) for c in connections))
    for _, writer in connections:
        writer.close()
    return answers


def _raw(request: Request, host: str) -> bytes:
    """The whole request in one buffer, so it goes out in one write."""
    body = request.body.encode()
    headers = {"Host": host, **request.headers, "Content-Length": str(len(body))}
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return f"POST {request.path} HTTP/1.1\r\n{head}\r\n".encode() + body


async def _read_answer(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 answer (the servers here always send Content-Length); its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        (
            int(line.split(":", 1)[1])
            for line in lines
            if line.lower().startswith("content-length:")
        ),
        0,
    )
    await reader.readexactly(length)
    return int(lines[0].split()[1])


async def run_load(
    url: str, requests: list[Request], senders: int, warm_up: list[Request] | None = None
) -> list[Answer]:
    """Send ``requests`` from a child process; the answers in the order they came back."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as job:
        json.dump(
            {
                "url": url,
                "senders": senders,
                "requests": [asdict(r) for r in requests],
                "warm_up": [asdict(r) for r in warm_up or []],
            },
            job,
        )
    try:
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.load",
            job.name,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        out, _ = await child.communicate()
    finally:
        Path(job.name).unlink()
    if child.returncode != 0:
        raise RuntimeError(f"the load client failed with exit code {child.returncode}")
    return [Answer(*json.loads(line)) for line in out.decode().splitlines() if line]


def main(job_path: str) -> None:
    job: dict[str, Any] = json.loads(Path(job_path).read_text())
    requests = [Request(**r) for r in job["requests"]]
    warm_up = [Request(**r) for r in job["warm_up"]]
    answers = event_loop.run(send_all(job["url"], requests, job["senders"], warm_up))
    sys.stdout.write("".join(json.dumps(astuple(answer)) + "\n" for answer in answers))


if __name__ == "__main__":
    main(sys.argv[1])
