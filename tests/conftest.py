"""Fixtures shared by unit and integration tests: the scan engine, real Redis servers on
loopback."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from congvu_guard.engine import Engine
from tests.helpers import box_engine, free_port


@pytest.fixture(scope="session")
def redis_tcp() -> Iterator[str]:
    """A real redis-server on a loopback TCP port (URL)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    d = Path(tempfile.mkdtemp(prefix="cg-redis-"))
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(d),
         "--save", "", "--appendonly", "no", "--logfile", str(d / "redis.log")],
        stdin=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
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
