"""One place that turns ``[redis]`` into a client: standalone, Cluster or Sentinel.

Every client has short timeouts and a connection pool shared by all milter threads; no
code reconnects per message.
"""

from __future__ import annotations

from typing import Any

import redis
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel

from .config import RedisConfig


def connect(cfg: RedisConfig, url: str | None = None) -> Any:
    """A redis-py client for the configuration (``url`` overrides ``[redis] url``)."""
    url = url if url is not None else cfg.url
    t = cfg.timeout_seconds
    common: dict[str, Any] = {"socket_timeout": t, "socket_connect_timeout": t}
    if cfg.mode == "cluster":
        return RedisCluster.from_url(url, **common)
    if cfg.mode == "sentinel":
        hosts = [(h.rpartition(":")[0], int(h.rpartition(":")[2])) for h in cfg.sentinels]
        sentinel = Sentinel(hosts, sentinel_kwargs=common, **common)
        kwargs: dict[str, Any] = {}
        if url:
            parsed = redis.connection.parse_url(url)
            kwargs = {k: parsed[k] for k in ("db", "password", "username") if k in parsed}
        return sentinel.master_for(cfg.sentinel_service, **common, **kwargs)
    return redis.Redis.from_url(url, health_check_interval=30, **common)
