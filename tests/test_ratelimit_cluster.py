"""The same exact limit on a real 3-master Redis Cluster on loopback."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from redis.cluster import RedisCluster

from congvu_guard.config import Config, RedisConfig
from congvu_guard.metrics import Metrics
from congvu_guard.ratelimit.model import Status
from congvu_guard.ratelimit.service import RateLimitService
from congvu_guard.state import keys
from congvu_guard.state.client import connect
from tests.lab.redis_cluster import RedisClusterLab, cluster_ports


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterLab]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    base = Path(tempfile.mkdtemp(prefix="cg-cluster-"))
    lab = RedisClusterLab(base, cluster_ports(3))
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def client(cluster: RedisClusterLab) -> RedisCluster:
    c = connect(RedisConfig(url=cluster.url, mode="cluster", timeout_seconds=2))
    c.flushall(target_nodes=RedisCluster.PRIMARIES)
    return c


def test_an_accounts_keys_share_one_slot(client: RedisCluster) -> None:
    acct = "bob@hue.gov.vn"
    slots = {client.keyslot(k) for k in (keys.messages(acct), keys.recipients(acct),
                                          keys.lock(acct), keys.bulk(acct))}
    assert len(slots) == 1


def test_exactly_100_accepted_per_account_under_concurrency_across_slots(
    client: RedisCluster,
) -> None:
    svc = RateLimitService(Config(), client, Metrics(), "milter@cluster")
    accounts = [f"user{i}@hue.gov.vn" for i in range(6)]
    assert len({client.keyslot(keys.messages(a)) for a in accounts}) > 1

    def send(i: int) -> tuple[str, Status]:
        acct = accounts[i % len(accounts)]
        return acct, svc.record(acct, f"Q{i}", 1).status

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(send, range(len(accounts) * 130)))
    ok = Counter(a for a, s in results if s is Status.OK)
    exceeded = Counter(a for a, s in results if s is Status.EXCEEDED)
    assert ok == {a: 100 for a in accounts}
    assert exceeded == {a: 1 for a in accounts}  # exactly one message triggered the lock
    assert all(svc.locks.get(a) is not None for a in accounts)
