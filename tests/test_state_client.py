"""The one "[redis] url, else an embedded Redis" (state/embedded.py open_redis), against real
redis-server processes, and the typed client protocol (state/client.py)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import redis

from congvu_guard.config import RedisConfig
from congvu_guard.state import client as state_client
from congvu_guard.state.embedded import open_redis

needs_redis = pytest.mark.skipif(shutil.which("redis-server") is None,
                                 reason="redis-server is not installed")


def test_a_configured_url_is_used_and_left_running_on_close(redis_tcp: str) -> None:
    opened = open_redis(RedisConfig(url=redis_tcp))
    assert opened.url == redis_tcp and opened.embedded is None
    opened.client.set("probe", "1")
    opened.close()
    assert redis.Redis.from_url(redis_tcp).get("probe") == b"1"


@needs_redis
def test_without_a_url_the_embedded_redis_is_started_and_stopped_by_its_owner(
        tmp_path: Path) -> None:
    cfg = RedisConfig(url="", embedded_dir=str(tmp_path / "redis"))
    with open_redis(cfg) as opened:
        assert opened.url == f"unix://{tmp_path / 'redis' / 'redis.sock'}"
        assert opened.client.ping()
        # The operator's CLI addresses the running one without starting or owning it.
        cli = open_redis(cfg, start=False)
        assert cli.url == opened.url and cli.embedded is None
        cli.client.set("k", "v")
        cli.close()
        assert opened.client.get("k") == b"v"
        proc = opened.embedded.proc if opened.embedded else None
        assert proc is not None
    assert proc.poll() is not None  # stopped on leaving the block


def test_the_cli_never_starts_an_embedded_redis(tmp_path: Path) -> None:
    cfg = RedisConfig(url="", embedded_dir=str(tmp_path / "redis"))
    opened = open_redis(cfg, start=False)
    assert opened.embedded is None
    assert not (tmp_path / "redis").exists()
    with pytest.raises(redis.ConnectionError):
        opened.client.ping()


def test_the_protocol_lists_only_commands_every_client_kind_has() -> None:
    """mypy checks the signatures for redis.Redis and RedisCluster; this checks the names
    at run time, pipelines included (a command missing there fails only when queued)."""
    from redis.client import Pipeline
    from redis.cluster import ClusterPipeline, RedisCluster

    def members(proto: type) -> set[str]:
        return {n for n in vars(proto) if not n.startswith("_")}

    commands = members(state_client.Commands)
    client_only = members(state_client.RedisClient)
    assert {"hset", "xadd", "zadd", "get"} <= commands and "pipeline" in client_only
    for cls in (redis.Redis, RedisCluster):
        assert [n for n in commands | client_only if not hasattr(cls, n)] == [], cls
    for cls in (Pipeline, ClusterPipeline):
        assert [n for n in commands | {"execute"} if not hasattr(cls, n)] == [], cls
