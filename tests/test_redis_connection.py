"""REDIS_URL names one Redis, a Redis Cluster or a Sentinel-managed primary; a wrong one is
refused before anything connects, with a message naming the forms, never the password."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import SentinelConnectionPool

from bot.bootstrap import connect_redis
from bot.settings import Settings
from state.connection import (
    SINGLE_MAX_CONNECTIONS,
    RedisUrlError,
    check_key_prefix,
    is_cluster,
    parse_redis_url,
    redis_client,
)


def test_a_cluster_url_names_its_startup_nodes_and_credentials() -> None:
    target = parse_redis_url("redis+cluster://bot:s%40cret@10.0.0.1:7000,10.0.0.2:7001")
    assert target.mode == "cluster"
    assert target.nodes == (("10.0.0.1", 7000), ("10.0.0.2", 7001))
    assert (target.username, target.password, target.tls) == ("bot", "s@cret", False)
    assert parse_redis_url("rediss+cluster://h:7000").tls


def test_a_sentinel_url_names_the_sentinels_the_service_and_the_database() -> None:
    target = parse_redis_url("redis+sentinel://:pw@s1:26379,s2:26380/campaign-bot/2")
    assert target.mode == "sentinel"
    assert target.nodes == (("s1", 26379), ("s2", 26380))
    assert (target.service, target.db, target.password) == ("campaign-bot", 2, "pw")
    assert parse_redis_url("redis+sentinel://s1:26379/campaign-bot").db == 0


def test_single_redis_urls_are_passed_on_as_they_are() -> None:
    for url in ("redis://h:6379/0", "rediss://h:6380/1", "unix:///run/redis.sock"):
        assert parse_redis_url(url).mode == "single"


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("localhost:6379", "is not a URL"),
        ("memcached://h:11211", "scheme 'memcached' is not supported"),
        ("redis+cluster://,", "names no host:port"),
        ("redis+cluster://h", "'h' is not host:port"),
        ("redis+cluster://h:7000/3", "a Redis Cluster has only database 0"),
        ("redis+sentinel://s1:26379", "names no Sentinel service"),
        ("redis+sentinel://s1:26379/bot/two", "database 'two' is not a number"),
    ],
)
def test_a_wrong_url_is_refused_naming_the_problem(url: str, named: str) -> None:
    with pytest.raises(RedisUrlError, match=named):
        parse_redis_url(url)


def test_a_refused_url_never_shows_its_password() -> None:
    with pytest.raises(RedisUrlError) as refused:
        parse_redis_url("redis+sentinel://bot:hunter22@s1:26379")
    assert "hunter22" not in str(refused.value)
    assert "bot:***@s1:26379" in str(refused.value)


def test_settings_refuse_a_wrong_redis_url_and_accept_cluster_and_sentinel_ones() -> None:
    with pytest.raises(ValidationError, match="redis\\+cluster://host:port"):
        Settings(redis_url="http://h:6379")
    assert Settings(redis_url="redis+cluster://h:7000").redis_url == "redis+cluster://h:7000"
    assert Settings(redis_url="redis+sentinel://s:26379/bot/0").redis_url


def test_a_cluster_needs_a_key_prefix_with_a_hash_tag() -> None:
    cluster = parse_redis_url("redis+cluster://h:7000")
    with pytest.raises(RedisUrlError, match=r"set REDIS_KEY_PREFIX=\{cb\}:"):
        check_key_prefix(cluster, "cb:")
    check_key_prefix(cluster, "{cb}:")
    check_key_prefix(parse_redis_url("redis://h:6379/0"), "cb:")


def test_start_up_refuses_a_cluster_with_an_untagged_prefix_before_connecting() -> None:
    settings = Settings(redis_url="redis+cluster://127.0.0.1:1", redis_key_prefix="cb:")
    with pytest.raises(ValueError, match="has no hash tag"):
        connect_redis(settings)


async def test_each_url_builds_the_client_for_its_deployment() -> None:
    single = redis_client("redis://127.0.0.1:6379/0")
    cluster = redis_client("redis+cluster://127.0.0.1:7000,127.0.0.1:7001")
    primary = redis_client("redis+sentinel://127.0.0.1:26379/bot/3")
    try:
        assert isinstance(single, Redis) and not is_cluster(single)
        assert isinstance(cluster, RedisCluster) and is_cluster(cluster)
        assert isinstance(primary.connection_pool, SentinelConnectionPool)
        assert primary.connection_pool.service_name == "bot"
        assert primary.connection_pool.connection_kwargs["db"] == 3
    finally:
        for client in (single, cluster, primary):
            await client.aclose()


@pytest.mark.redis
async def test_a_burst_past_the_single_redis_pool_waits_for_connections_instead_of_failing() -> (
    None
):
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis_client(url)
    empty = f"test:pool:{uuid.uuid4().hex[:8]}"
    try:
        # Each BLPOP holds its connection for 0.2 s: the last ones wait for a free one.
        answers = await asyncio.gather(
            *(client.blpop([empty], timeout=0.2) for _ in range(SINGLE_MAX_CONNECTIONS + 50))
        )
        assert answers == [None] * (SINGLE_MAX_CONNECTIONS + 50)
    finally:
        await client.aclose()
