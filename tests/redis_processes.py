"""Throwaway Redis deployments started from the ``redis-server`` binary: a 3-primary Redis Cluster
and a Sentinel-managed primary with a replica. No persistence, in a temporary directory, killed at
the end. Like the real-Redis tests, they fail rather than skip when the binaries are missing.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

NO_PERSISTENCE = ("--save", "", "--appendonly", "no")
START_TIMEOUT = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_cluster_port() -> int:
    """A free port whose cluster bus port (10000 higher, so at most 55535) is free too."""
    for _ in range(100):
        port = random.randint(20_000, 45_000)
        try:
            with socket.socket() as one, socket.socket() as bus:
                one.bind(("127.0.0.1", port))
                bus.bind(("127.0.0.1", port + 10_000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def _binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"these tests start their own Redis: install {name} (redis-server)")
    return path


class Server:
    """One ``redis-server`` (or sentinel) process on a local port."""

    def __init__(self, directory: Path, port: int, *arguments: str, config: str = "") -> None:
        self.port = port
        workdir = directory / str(port)
        workdir.mkdir()
        command = [_binary("redis-server")]
        if config:
            conf = workdir / "redis.conf"
            conf.write_text(config)
            command.append(str(conf))
        command += ["--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir)]
        self.process = subprocess.Popen(
            [*command, *NO_PERSISTENCE, *arguments],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for_ping(port, self.process)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _redis_cli(port: int, *arguments: str) -> str:
    done = subprocess.run(
        [_binary("redis-cli"), "-p", str(port), *arguments],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.strip()


def _wait_for_ping(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server on port {port} exited at start")
        try:
            if _redis_cli(port, "ping") == "PONG":
                return
        except subprocess.CalledProcessError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"redis-server on port {port} did not answer")


@contextmanager
def redis_cluster(primaries: int = 3) -> Iterator[str]:
    """A Redis Cluster of ``primaries`` primaries (no replicas); yields its REDIS_URL."""
    with tempfile.TemporaryDirectory(prefix="redis-cluster-") as directory:
        servers: list[Server] = []
        try:
            for _ in range(primaries):
                servers.append(
                    Server(
                        Path(directory),
                        free_cluster_port(),
                        "--cluster-enabled",
                        "yes",
                        "--cluster-node-timeout",
                        "2000",
                    )
                )
            addresses = [f"127.0.0.1:{server.port}" for server in servers]
            _redis_cli(servers[0].port, "--cluster", "create", *addresses, "--cluster-yes")
            _wait_for_cluster_ok([server.port for server in servers])
            yield "redis+cluster://" + ",".join(addresses)
        finally:
            for server in servers:
                server.kill()


def _wait_for_cluster_ok(ports: list[int]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if all("cluster_state:ok" in _redis_cli(port, "cluster", "info") for port in ports):
            return
        time.sleep(0.1)
    raise TimeoutError("the Redis Cluster did not reach cluster_state:ok")


class SentinelDeployment:
    """A primary, two replicas and three sentinels watching it as ``service``: after a failover
    the new primary still has a replica, so writes that wait for one (WAIT 1) go on."""

    def __init__(self, directory: Path, service: str = "bot") -> None:
        self.directory = directory
        self.service = service
        # No 5 s wait for more replicas before a full sync.
        self.primary = Server(directory, free_port(), "--repl-diskless-sync-delay", "0")
        self.replicas = [
            Server(directory, free_port(), "--replicaof", "127.0.0.1", str(self.primary.port))
            for _ in range(2)
        ]
        self.sentinels: list[Server] = []
        for _ in range(3):
            port = free_port()
            config = (
                f"port {port}\n"
                f"sentinel monitor {service} 127.0.0.1 {self.primary.port} 2\n"
                f"sentinel down-after-milliseconds {service} 1000\n"
                f"sentinel failover-timeout {service} 5000\n"
                f"sentinel parallel-syncs {service} 1\n"
            )
            self.sentinels.append(Server(directory, port, "--sentinel", config=config))
        self._wait_for_replication()

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{sentinel.port}" for sentinel in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.service}/0"

    def primary_port(self) -> int:
        answer = _redis_cli(
            self.sentinels[0].port, "sentinel", "get-master-addr-by-name", self.service
        )
        return int(answer.split()[-1])

    def _wait_for_replication(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            info = _redis_cli(self.primary.port, "info", "replication")
            if "connected_slaves:2" in info and info.count("state=online") == 2:
                return
            time.sleep(0.05)
        raise TimeoutError("the replicas did not catch up with the primary")

    def kill(self) -> None:
        for server in (*self.sentinels, *self.replicas, self.primary):
            server.kill()


@contextmanager
def sentinel_deployment(service: str = "bot") -> Iterator[SentinelDeployment]:
    with tempfile.TemporaryDirectory(prefix="redis-sentinel-") as directory:
        deployment = SentinelDeployment(Path(directory), service)
        try:
            yield deployment
        finally:
            deployment.kill()
