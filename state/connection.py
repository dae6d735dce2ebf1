"""The one place a Redis client is built from ``REDIS_URL``: a single Redis, a Redis Cluster or a
Sentinel-managed primary.

    redis://[:password@]host:6379/0               one Redis (``rediss://`` for TLS, ``unix://``)
    redis+cluster://[:password@]host:port,host:port   a Redis Cluster (``rediss+cluster://``: TLS)
    redis+sentinel://[:password@]host:port,host:port/<service name>[/<db>]
                                                   the primary Sentinel names for the service

Every client rides out a dropped connection the same way: the command in hand is sent again on a
fresh connection a few times before it fails. Every write the bot repeats this way is idempotent
(event ids, NX locks, WATCH/MULTI transactions). A Redis that does not answer (paused, or cut off
without a reset) fails the command after ``socket_timeout`` and is not retried: a request waiting
on it must fail fast, not hang for several timeouts in a row. ``socket_timeout`` must outlast the
inbox's blocking reads.

On a cluster every multi-key command must name keys of one hash slot, so the key prefix must
carry a hash tag (``{cb}:``): ``state.keys`` explains the layout that follows from it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast
from urllib.parse import unquote, urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from state.keys import hash_tag

CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")
SENTINEL_SCHEMES = ("redis+sentinel",)
SINGLE_SCHEMES = ("redis", "rediss", "unix")
CLUSTER_MAX_CONNECTIONS = 1000
SINGLE_MAX_CONNECTIONS = 200
URL_FORMS = (
    "redis://host:6379/0 (rediss:// for TLS, unix:///path), "
    "redis+cluster://host:port,host:port (rediss+cluster:// for TLS) or "
    "redis+sentinel://host:port,host:port/<service name>/<db>"
)


class RedisUrlError(ValueError):
    pass


@dataclass(frozen=True)
class RedisTarget:
    """What ``REDIS_URL`` names, parsed and checked, before any connection is made."""

    mode: str
    """``single``, ``cluster`` or ``sentinel``."""
    url: str
    nodes: tuple[tuple[str, int], ...] = ()
    """The cluster's startup nodes, or the sentinels."""
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @property
    def is_cluster(self) -> bool:
        return self.mode == "cluster"


def parse_redis_url(url: str) -> RedisTarget:
    """``REDIS_URL`` as a target; raises ``RedisUrlError`` naming what is wrong and the forms."""
    scheme, _, rest = url.partition("://")
    if not rest:
        raise RedisUrlError(f"{_shown(url)!r} is not a URL; expected {URL_FORMS}")
    if scheme in SINGLE_SCHEMES:
        return RedisTarget("single", url)
    if scheme not in CLUSTER_SCHEMES + SENTINEL_SCHEMES:
        raise RedisUrlError(f"scheme {scheme!r} is not supported; expected {URL_FORMS}")
    # urlsplit refuses several host:port pairs in one netloc, so the hosts are split by hand.
    credentials, _, hosts_and_path = rest.rpartition("@")
    hosts, _, path = hosts_and_path.partition("/")
    username, _, password = credentials.partition(":")
    nodes = tuple(_node(url, part) for part in hosts.split(",") if part.strip())
    if not nodes:
        raise RedisUrlError(f"{_shown(url)!r} names no host:port; expected {URL_FORMS}")
    path = urlsplit(f"x://h/{path}").path.strip("/")
    target = RedisTarget(
        "cluster" if scheme in CLUSTER_SCHEMES else "sentinel",
        url,
        nodes,
        username=unquote(username) or None,
        password=unquote(password) or None,
        tls=scheme.startswith("rediss"),
    )
    if target.is_cluster:
        if path not in ("", "0"):
            raise RedisUrlError(
                f"{_shown(url)!r}: a Redis Cluster has only database 0; drop {path!r}"
            )
        return target
    service, _, db = path.partition("/")
    if not service:
        raise RedisUrlError(
            f"{_shown(url)!r} names no Sentinel service: "
            "redis+sentinel://host:port,host:port/<service name>/<db>"
        )
    if db and not db.isdigit():
        raise RedisUrlError(f"{_shown(url)!r}: database {db!r} is not a number")
    return replace(target, service=service, db=int(db or 0))


def check_key_prefix(target: RedisTarget, prefix: str) -> None:
    """On a cluster the key prefix must carry a hash tag, or the bot's transactions would span
    slots; raises ``RedisUrlError`` naming the fix. Elsewhere any prefix does."""
    if target.is_cluster and hash_tag(prefix) is None:
        tagged = "{" + prefix.rstrip(":") + "}:"
        raise RedisUrlError(
            f"REDIS_KEY_PREFIX={prefix!r} has no hash tag, which a Redis Cluster needs so that "
            f"the bot's transactions stay in one slot; set REDIS_KEY_PREFIX={tagged}"
        )


def redis_client(
    url: str,
    *,
    connect_timeout: float = 2.0,
    socket_timeout: float = 3.0,
    retries: int = 5,
) -> Redis:
    """The client ``url`` names (see the module's docstring for the forms).

    A cluster client is returned typed as ``Redis``: it answers every command the bot sends with
    the same signatures, and its pipelines run WATCH/MULTI transactions within one slot.
    """
    target = parse_redis_url(url)
    retry = Retry(
        ExponentialBackoff(cap=1.0, base=0.05),
        retries=retries,
        supported_errors=(RedisConnectionError,),
    )
    if target.mode == "single":
        # A burst past the pool's size waits for a connection (up to socket_timeout) instead of
        # failing at once, as redis-py's default pool does past 100.
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=SINGLE_MAX_CONNECTIONS,
            timeout=socket_timeout,
            retry=retry,
            retry_on_error=[RedisConnectionError],
            socket_connect_timeout=connect_timeout,
            socket_timeout=socket_timeout,
            health_check_interval=15,
        )
        return Redis.from_pool(pool)
    if target.is_cluster:
        cluster = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target.nodes],
            username=target.username,
            password=target.password,
            ssl=target.tls,
            # Per node; the cluster client fails a command past it instead of waiting, and each
            # campaign transaction holds a connection while it is watched.
            max_connections=CLUSTER_MAX_CONNECTIONS,
            retry=retry,
            retry_on_error=[RedisConnectionError],
            socket_connect_timeout=connect_timeout,
            socket_timeout=socket_timeout,
            health_check_interval=15,
        )
        return cast(Redis, cluster)
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(target.nodes),
        sentinel_kwargs={
            "socket_connect_timeout": connect_timeout,
            "socket_timeout": socket_timeout,
        },
    )
    # After a failover the old primary's connections fail; the retry reconnects, and a
    # Sentinel-managed pool asks the sentinels where the primary is now.
    primary: Redis = sentinel.master_for(
        target.service,
        db=target.db,
        username=target.username,
        password=target.password,
        retry=retry,
        retry_on_error=[RedisConnectionError],
        socket_connect_timeout=connect_timeout,
        socket_timeout=socket_timeout,
        health_check_interval=15,
    )
    return primary


def is_cluster(redis: object) -> bool:
    return isinstance(redis, RedisCluster)


def runs_lua(redis: object) -> bool:
    """False for the in-process fake Redis an unconfigured bot runs on: it runs no scripts."""
    return not type(redis).__module__.startswith("fakeredis")


def text(value: bytes | str) -> str:
    """A Redis reply as ``str``, whichever way the client decodes responses."""
    return value.decode() if isinstance(value, bytes) else value


def _node(url: str, part: str) -> tuple[str, int]:
    host, _, port = part.strip().rpartition(":")
    if not host or not port.isdigit():
        raise RedisUrlError(
            f"{_shown(url)!r}: {part.strip()!r} is not host:port; expected {URL_FORMS}"
        )
    return host.strip("[]"), int(port)


def _shown(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, _, rest = url.partition("://")
    credentials, at, hosts = rest.rpartition("@")
    if not at:
        return url
    user = credentials.partition(":")[0]
    return f"{scheme}://{user}:***@{hosts}"
