"""Local copies of the locks and the IOC blocklist (congvu_guard.local_copy) against a real
Redis: every writer announces its change, the copy follows it without waiting for its poll
interval, and a copy that cannot be kept fresh is never served."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from congvu_guard.config import Config
from congvu_guard.metrics import Metrics
from congvu_guard.ratelimit.model import Status
from congvu_guard.ratelimit.service import RateLimitService
from congvu_guard.state import ioc, locks
from congvu_guard.state.audit import AuditTrail
from congvu_guard.state.ioc import IocStore
from congvu_guard.state.local_copy import LocalCopy
from congvu_guard.state.locks import LockStore, reason_in
from tests.helpers import wait_until

SLOW = 60.0  # poll interval of the copies under test: only the announcement can be seen


def eventually(check: Callable[[], bool], within: float = 10.0) -> bool:
    return wait_until(check, timeout=within, step=0.01)


@pytest.fixture
def lock_copy(redis_client: redis.Redis) -> Iterator[LocalCopy[locks.Locked]]:
    copy = LocalCopy(redis.Redis(connection_pool=redis_client.connection_pool),
                     locks.COPY_NAME, locks.load_locked, interval=SLOW).start()
    yield copy
    copy.stop()


@pytest.fixture
def ioc_copy(redis_client: redis.Redis) -> Iterator[LocalCopy[ioc.Listed]]:
    copy = LocalCopy(redis_client, ioc.COPY_NAME, ioc.load_listed, interval=SLOW).start()
    yield copy
    copy.stop()


def locked(copy: LocalCopy[locks.Locked], account: str) -> str | None:
    data = copy.get()
    assert data is not None, "a copy with Redis up must be fresh"
    return reason_in(data, account, time.time())


def test_lock_and_unlock_by_another_client_reach_the_copy_without_its_poll(
    redis_client: redis.Redis, lock_copy: LocalCopy[locks.Locked],
) -> None:
    other = LockStore(redis.Redis(connection_pool=redis_client.connection_pool),
                      AuditTrail(redis_client, 30))
    assert locked(lock_copy, "An@hue.gov.vn") is None
    other.lock("an@hue.gov.vn", "HUE-13.2d", by="test")
    assert eventually(lambda: locked(lock_copy, "AN@hue.gov.vn") == "HUE-13.2d")
    other.unlock("an@hue.gov.vn", reference="12/UBND", approver="Tran B", actor="test")
    assert eventually(lambda: locked(lock_copy, "an@hue.gov.vn") is None)


def test_an_expired_lock_in_the_copy_does_not_refuse() -> None:
    now = time.time()
    copy = {"a@hue.gov.vn": ("HUE-13.2b", now - 1), "b@hue.gov.vn": ("BP-6.2d", now + 60),
            "c@hue.gov.vn": ("HUE-13.2d", None)}
    assert reason_in(copy, "a@hue.gov.vn", now) is None
    assert reason_in(copy, "B@HUE.gov.vn", now) == "BP-6.2d"
    assert reason_in(copy, "c@hue.gov.vn", now) == "HUE-13.2d"
    assert reason_in(copy, "d@hue.gov.vn", now) is None


def test_ioc_added_and_removed_reach_the_copy_and_lookups_agree_with_redis(
    redis_client: redis.Redis, ioc_copy: LocalCopy[ioc.Listed],
) -> None:
    writer = IocStore(redis_client)
    local, direct = IocStore(redis_client, ioc_copy), IocStore(redis_client)
    wanted = {"domain": ["evil.example", "good.example"], "sender": ["x@bad.example"],
              "sha256": ["0" * 64]}
    assert local.hits(wanted) == direct.hits(wanted) == {
        "domain": [], "sender": [], "sha256": []}
    writer.add("domain", "evil.example")
    writer.add("sender", "X@Bad.Example")
    assert eventually(lambda: local.hits(wanted)["sender"] == ["x@bad.example"])
    assert local.hits(wanted) == direct.hits(wanted)
    assert local.hits(wanted)["domain"] == ["evil.example"]
    writer.remove("domain", "evil.example")
    assert eventually(lambda: local.hits(wanted)["domain"] == [])
    assert local.hits(wanted) == direct.hits(wanted)


def test_a_fresh_copy_answers_without_a_redis_round_trip(
    redis_client: redis.Redis, lock_copy: LocalCopy[locks.Locked],
    ioc_copy: LocalCopy[ioc.Listed],
) -> None:
    service = RateLimitService(Config(), redis_client, Metrics(), actor="test",
                               lock_copy=lock_copy)
    store = IocStore(redis_client, ioc_copy)
    LockStore(redis_client, AuditTrail(redis_client, 30)).lock("b@hue.gov.vn", "HUE-13.2c",
                                                               by="test")
    assert eventually(lambda: service.lock_reason("b@hue.gov.vn") == ("HUE-13.2c",
                                                                      Status.LOCKED))

    def calls() -> dict[str, int]:
        stats: dict[str, Any] = redis_client.info("commandstats")
        return {k: v["calls"] for k, v in stats.items()}

    before = calls()
    for i in range(50):
        assert service.lock_reason(f"u{i}@hue.gov.vn") == (None, Status.OK)
        assert service.lock_reason("b@hue.gov.vn")[0] == "HUE-13.2c"
        store.hits({"domain": [f"d{i}.example"], "sender": ["a@b.example"]})
    after = calls()
    asked = {k: after[k] - before.get(k, 0) for k in after
             if after[k] != before.get(k, 0) and k != "cmdstat_info"}
    assert asked == {}, asked


def test_a_copy_that_cannot_be_refreshed_is_not_served_and_the_service_asks_redis(
    redis_client: redis.Redis,
) -> None:
    copy = LocalCopy(redis_client, locks.COPY_NAME, locks.load_locked, interval=SLOW,
                     max_age=0.2)
    assert copy.get() is None  # never loaded
    assert copy.refresh() and copy.get() == {}
    time.sleep(0.3)  # no refresh since: stale
    assert copy.get() is None

    dead = redis.Redis(port=1, socket_connect_timeout=0.2, socket_timeout=0.2,
                       retry=Retry(NoBackoff(), 0))
    states: list[bool] = []
    stale = LocalCopy(dead, locks.COPY_NAME, locks.load_locked, interval=0.05,
                      on_fresh=states.append).start()
    try:
        assert stale.get() is None
        cfg = Config(ratelimit=replace(Config().ratelimit, on_redis_down="tempfail"))
        service = RateLimitService(cfg, dead, Metrics(), actor="test", lock_copy=stale)
        assert service.lock_reason("a@hue.gov.vn") == (None, Status.UNAVAILABLE)
    finally:
        stale.stop()


def test_a_copy_goes_stale_when_its_redis_stops_and_fresh_again_when_it_returns(
    redis_client: redis.Redis,
) -> None:
    states: list[bool] = []
    copy = LocalCopy(redis_client, ioc.COPY_NAME, ioc.load_listed, interval=0.05,
                     max_age=0.3, on_fresh=states.append).start()
    try:
        assert copy.get() is not None and states == [True]
        redis_client.client_pause(1500, all=True)  # Redis stops answering for 1.5 s
        assert eventually(lambda: copy.get() is None, within=5)
        assert states == [True, False]
        assert eventually(lambda: copy.get() is not None, within=10)
        assert states == [True, False, True]
    finally:
        copy.stop()
