"""A lock survives a Redis Sentinel failover (primary + replica + sentinel on loopback)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from congvu_guard.config import Config, RedisConfig
from congvu_guard.metrics import Metrics
from congvu_guard.ratelimit.model import Status
from congvu_guard.ratelimit.service import RateLimitService
from congvu_guard.state.client import connect
from tests.helpers import free_port


def _wait(pred, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except redis.RedisError:
            pass
        time.sleep(0.1)
    raise AssertionError("condition not reached")


@pytest.fixture
def sentinel_lab() -> Iterator[tuple[int, int, int]]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    base = Path(tempfile.mkdtemp(prefix="cg-sentinel-"))
    primary, replica, sentinel = free_port(), free_port(), free_port()
    procs = []

    def server(port: int, *extra: str) -> None:
        d = base / str(port)
        d.mkdir()
        procs.append(subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(d),
             "--save", "", "--appendonly", "no", "--logfile", str(d / "log"), *extra]))

    server(primary)
    server(replica, "--replicaof", "127.0.0.1", str(primary))
    conf = base / "sentinel.conf"
    conf.write_text(
        f"port {sentinel}\nbind 127.0.0.1\ndir {base}\nlogfile {base / 'sentinel.log'}\n"
        f"sentinel monitor mymaster 127.0.0.1 {primary} 1\n"
        "sentinel down-after-milliseconds mymaster 1000\n"
        "sentinel failover-timeout mymaster 5000\n")
    procs.append(subprocess.Popen(["redis-server", str(conf), "--sentinel"]))
    try:
        _wait(lambda: redis.Redis(port=replica).info("replication")["master_link_status"]
              == "up")
        _wait(lambda: redis.Redis(port=sentinel).sentinel_master("mymaster")["num-slaves"] >= 1)
        yield primary, replica, sentinel
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
        shutil.rmtree(base, ignore_errors=True)


def test_a_lock_survives_a_sentinel_failover(sentinel_lab: tuple[int, int, int]) -> None:
    primary, replica, sentinel = sentinel_lab
    cfg = RedisConfig(mode="sentinel", sentinels=(f"127.0.0.1:{sentinel}",), timeout_seconds=2)
    client = connect(cfg)
    svc = RateLimitService(Config(redis=cfg), client, Metrics(), "milter@sentinel")
    statuses = [svc.record("bob@hue.gov.vn", f"Q{i}", 1).status for i in range(101)]
    assert statuses[-1] is Status.EXCEEDED
    redis.Redis(port=primary).execute_command("WAIT", 1, 2000)
    def failover() -> bool:
        # Right after start the sentinel may not yet rate the replica as promotable
        # (NOGOODSLAVE): ask again until it accepts.
        try:
            redis.Redis(port=sentinel).execute_command("SENTINEL", "FAILOVER", "mymaster")
        except redis.ResponseError as e:
            if "NOGOODSLAVE" in str(e) or "INPROG" in str(e):
                return False
            raise
        return True

    _wait(failover, timeout=30)
    _wait(lambda: redis.Redis(port=sentinel).sentinel_get_master_addr_by_name("mymaster")[1]
          == replica)
    _wait(lambda: redis.Redis(port=replica).info("replication")["role"] == "master")

    def after() -> bool:
        return svc.lock_reason("bob@hue.gov.vn") == ("HUE-13.2d", Status.LOCKED)

    _wait(lambda: (time.sleep(0.2), after())[1], timeout=20)  # the breaker may hold 5 s
    assert svc.record("bob@hue.gov.vn", "after", 1).status is Status.LOCKED
    assert svc.record("other@hue.gov.vn", "Q", 1).status is Status.OK
    assert redis.Redis(port=replica).exists("congvu:{bob@hue.gov.vn}:lock")
