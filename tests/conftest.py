"""Fixtures shared by unit and integration tests: the scan engine, real Redis servers on
loopback."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from congvu_guard.engine import Engine
from tests.helpers import box_engine, free_port, start_redis_server


@pytest.fixture(scope="session")
def redis_tcp() -> Iterator[str]:
    """A real redis-server on a loopback TCP port (URL)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    d = Path(tempfile.mkdtemp(prefix="cg-redis-"))
    port = free_port()
    proc = start_redis_server(d, port)
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def redis_client(redis_tcp: str) -> redis.Redis:
    client = redis.Redis.from_url(redis_tcp)
    client.flushall()
    return client


@pytest.fixture(scope="module")
def engine() -> Engine:
    """The scan tests' engine (tests.helpers.box_engine), built once per test module."""
    return box_engine()
