"""The send-rate limit and the lock workflow against a real Redis (HUE-13.2d, HUE-13.3).

Time comes from an injectable clock (milliseconds passed to the Lua script), never sleeps.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
import redis

from congvu_guard.config import Config, RateLimitConfig
from congvu_guard.metrics import Metrics
from congvu_guard.ratelimit.model import Status
from congvu_guard.ratelimit.service import RateLimitService
from congvu_guard.state import keys
from congvu_guard.state.audit import to_csv
from congvu_guard.state.bulk import BulkSenders
from congvu_guard.state.locks import LockError, NotLocked

MIN = 60_000


class Clock:
    def __init__(self) -> None:
        self.ms = 1_700_000_000_000

    def __call__(self) -> int:
        return self.ms


def service(client: redis.Redis, clock: Clock | None = None, **rl) -> RateLimitService:
    bulk = rl.pop("bulk", {})
    cfg = Config(ratelimit=RateLimitConfig(**rl), bulk_senders=bulk)
    return RateLimitService(cfg, client, Metrics(), "milter@test", clock_ms=clock or Clock())


def test_100_messages_pass_and_the_101st_is_rejected_and_locks(redis_client) -> None:
    clock = Clock()
    svc = service(redis_client, clock)
    for i in range(100):
        clock.ms += 1000
        r = svc.record("Bob@Hue.gov.vn", f"Q{i}", 1)
        assert r.status is Status.OK and r.count == i + 1
    r = svc.record("bob@hue.gov.vn", "Q100", 1)
    assert r.status is Status.EXCEEDED
    assert r.count == 100 and r.limit == 100
    assert r.lock is not None and r.lock.reason == "HUE-13.2d"
    lock = svc.locks.get("bob@hue.gov.vn")
    assert lock is not None and lock.by == "milter@test"
    assert lock.evidence["count"] == "100" and lock.evidence["window_ms"] == str(30 * MIN)
    assert "Q99" in lock.evidence["sample"]  # sample queue ids
    assert svc.lock_reason("BOB@hue.gov.vn") == ("HUE-13.2d", Status.LOCKED)
    assert svc.record("bob@hue.gov.vn", "Q101", 1).status is Status.LOCKED


def test_the_window_slides_a_message_counts_for_exactly_30_minutes(redis_client) -> None:
    for delta, expected in ((0, Status.OK), (-1, Status.EXCEEDED)):
        clock = Clock()
        svc = service(redis_client, clock)
        account = f"slide{delta}@hue.gov.vn"
        start = clock.ms
        for i in range(100):
            clock.ms = start + i * 1000  # one message a second
        # 100 messages in [start, start + 99 s]; the first expires at start + 30 min.
            svc.record(account, f"Q{i}", 1)
        clock.ms = start + 30 * MIN + delta
        assert svc.record(account, "late", 1).status is expected


def test_no_fixed_bucket_reset_on_the_clock(redis_client) -> None:
    clock = Clock()
    clock.ms = 1_700_000_000_000 - (1_700_000_000_000 % (30 * MIN)) + 29 * MIN  # just before
    svc = service(redis_client, clock)
    for i in range(100):
        svc.record("edge@hue.gov.vn", f"Q{i}", 1)
    clock.ms += 2 * MIN  # a fixed 30-minute bucket would have reset here
    assert svc.record("edge@hue.gov.vn", "Q", 1).status is Status.EXCEEDED


def test_idle_accounts_cost_nothing(redis_client) -> None:
    svc = service(redis_client)
    svc.record("idle@hue.gov.vn", "Q", 1)
    ttl = redis_client.pttl(keys.messages("idle@hue.gov.vn"))
    assert 0 < ttl <= 30 * MIN


def test_registered_bulk_senders_have_their_own_limit_or_none(redis_client) -> None:
    clock = Clock()
    svc = service(redis_client, clock, bulk={"config-bulk@hue.gov.vn": 150})
    bulk = BulkSenders(redis_client, svc.audit)
    bulk.add("thongbao@hue.gov.vn", -1, actor="admin")
    bulk.add("baochi@hue.gov.vn", 120, actor="admin", note="press office")
    for i in range(300):
        assert svc.record("thongbao@hue.gov.vn", f"Q{i}", 1).status is Status.UNLIMITED
    results = [svc.record("baochi@hue.gov.vn", f"Q{i}", 1).status for i in range(121)]
    assert results[:120] == [Status.OK] * 120 and results[120] is Status.EXCEEDED
    results = [svc.record("config-bulk@hue.gov.vn", f"Q{i}", 1).status for i in range(151)]
    assert results.count(Status.OK) == 150
    assert set(bulk.list()) == {"thongbao@hue.gov.vn", "baochi@hue.gov.vn"}
    assert bulk.remove("thongbao@hue.gov.vn", actor="admin")
    assert not bulk.remove("thongbao@hue.gov.vn", actor="admin")


def test_recipients_are_a_second_configurable_limit(redis_client) -> None:
    svc = service(redis_client, max_recipients=50)
    assert svc.record("r@hue.gov.vn", "Q1", 30).status is Status.OK
    assert svc.record("r@hue.gov.vn", "Q2", 20).status is Status.OK
    r = svc.record("r@hue.gov.vn", "Q3", 1)
    assert r.status is Status.EXCEEDED and r.lock is not None
    assert r.lock.evidence["kind"] == "recipients"


def test_unlock_requires_reference_and_approver_and_clears_the_window(redis_client) -> None:
    svc = service(redis_client)
    for i in range(101):
        svc.record("u@hue.gov.vn", f"Q{i}", 1)
    with pytest.raises(LockError, match="reference"):
        svc.locks.unlock("u@hue.gov.vn", "", "Nguyen Van A", actor="op")
    with pytest.raises(LockError, match="approver"):
        svc.locks.unlock("u@hue.gov.vn", "CV-123/UBND", " ", actor="op")
    assert svc.locks.get("u@hue.gov.vn") is not None
    svc.locks.unlock("u@hue.gov.vn", "CV-123/UBND", "Nguyen Van A", actor="op")
    assert svc.locks.get("u@hue.gov.vn") is None
    assert svc.record("u@hue.gov.vn", "after", 1).status is Status.OK  # window cleared
    with pytest.raises(NotLocked):
        svc.locks.unlock("u@hue.gov.vn", "CV-1", "A", actor="op")


def test_audit_trail_has_every_lock_and_unlock_with_its_facts(redis_client) -> None:
    svc = service(redis_client)
    for i in range(101):
        svc.record("a@hue.gov.vn", f"Q{i}", 1)
    # The lock's audit entry is written off the mail path, in a background thread.
    deadline = time.monotonic() + 5
    while not svc.audit.entries(event="lock") and time.monotonic() < deadline:
        time.sleep(0.05)
    svc.locks.lock("b@hue.gov.vn", "HUE-13.2c", by="to-an-ninh", note="leaked password")
    svc.locks.unlock("a@hue.gov.vn", "CV-9/SoTTTT", "Tran Thi B", actor="op1")
    rows = svc.audit.entries()  # newest first
    events = [(r["event"], r["account"]) for r in rows]
    assert events == [("unlock", "a@hue.gov.vn"), ("lock", "b@hue.gov.vn"),
                      ("lock", "a@hue.gov.vn")]
    unlock = rows[0]
    assert unlock["reference"] == "CV-9/SoTTTT" and unlock["approver"] == "Tran Thi B"
    assert unlock["actor"] == "op1" and unlock["reason"] == "HUE-13.2d"
    assert json.loads(rows[-1]["detail"])["count"] == "100"
    assert svc.audit.entries(account="b@hue.gov.vn")[0]["reason"] == "HUE-13.2c"
    csv_text = to_csv(rows)
    assert csv_text.splitlines()[0].startswith("id,ts,event,account,reason")
    assert "CV-9/SoTTTT" in csv_text


def test_audit_trail_keeps_entries_younger_than_the_retention(redis_client) -> None:
    svc = service(redis_client, audit_retention_days=1)
    old = f"{int(time.time() * 1000) - 3 * 86400 * 1000}-0"
    for i in range(200):
        redis_client.xadd(keys.AUDIT_STREAM, {"event": "lock", "account": f"old{i}"},
                          id=f"{int(old.split('-')[0]) + i}-0")
    for i in range(50):
        svc.locks.lock(f"new{i}@hue.gov.vn", "HUE-13.2c", by="op")
    accounts = {r["account"] for r in svc.audit.entries()}
    assert {f"new{i}@hue.gov.vn" for i in range(50)} <= accounts


def test_lock_expiry_is_optional(redis_client) -> None:
    svc = service(redis_client, lock_expiry_seconds=60)
    for i in range(101):
        svc.record("e@hue.gov.vn", f"Q{i}", 1)
    lock = svc.locks.get("e@hue.gov.vn")
    assert lock is not None and lock.expires_at is not None
    assert 0 < redis_client.pttl(keys.lock("e@hue.gov.vn")) <= 60_000


def test_hooks_run_with_the_account_and_their_outcome_is_audited(redis_client,
                                                                  tmp_path: Path) -> None:
    out = tmp_path / "hook.out"
    script = f"import sys; open({str(out)!r}, 'a').write(sys.argv[1] + '\\n')"
    svc = service(redis_client, lock_hook=(sys.executable, "-c", script, "{account}"),
                  unlock_hook=(sys.executable, "-c", "import time; time.sleep(5)"),
                  hook_timeout_seconds=1)
    svc.hooks.fire("lock", "h@hue.gov.vn", wait=True)
    svc.hooks.fire("unlock", "h@hue.gov.vn", wait=True)
    assert out.read_text() == "h@hue.gov.vn\n"
    hooks = {r["reason"]: json.loads(r["detail"]) for r in svc.audit.entries(event="hook")}
    assert hooks["lock"]["status"] == "ok"
    assert hooks["unlock"]["status"] == "timeout"


def test_lock_list_is_exported_for_postfix_and_dovecot(redis_client, tmp_path: Path) -> None:
    pf, dc = tmp_path / "locked-sasl", tmp_path / "locked-dovecot"
    svc = service(redis_client, export_postfix=str(pf), export_dovecot=str(dc))
    svc.locks.lock("x@hue.gov.vn", "BP-6.2d", by="monitor")
    svc.locks.lock("y@hue.gov.vn", "HUE-13.2d", by="milter")
    svc.refresh_exports()
    assert "x@hue.gov.vn REJECT 5.7.1" in pf.read_text()
    assert "y@hue.gov.vn:" in dc.read_text().splitlines()
    svc.locks.unlock("x@hue.gov.vn", "CV-1", "A", actor="op")
    svc.refresh_exports()
    assert "x@hue.gov.vn" not in pf.read_text() and "x@hue.gov.vn" not in dc.read_text()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


def test_redis_down_falls_back_to_a_per_process_window_and_recovers(redis_tcp: str) -> None:
    dead = redis.Redis(port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    svc = service(dead, max_messages=3)
    results = [svc.record("f@hue.gov.vn", f"Q{i}", 1) for i in range(4)]
    assert [r.status for r in results] == [Status.OK] * 3 + [Status.EXCEEDED]
    assert all(r.fallback for r in results)
    assert svc.metrics.ratelimit_fallback._value.get() == 1
    assert svc.lock_reason("f@hue.gov.vn") == ("HUE-13.2d", Status.LOCKED)
    # Recovery: point it at a live Redis once the breaker has expired.
    live = redis.Redis.from_url(redis_tcp)
    svc2 = service(live, max_messages=3)
    svc2.memory = svc.memory
    assert svc2.record("g@hue.gov.vn", "Q", 1).status is Status.OK
    assert svc2.metrics.ratelimit_fallback._value.get() == 0


def test_redis_down_can_tempfail_instead(redis_tcp: str) -> None:
    dead = redis.Redis(port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    svc = service(dead, on_redis_down="tempfail")
    assert svc.record("t@hue.gov.vn", "Q", 1).status is Status.UNAVAILABLE
    assert svc.lock_reason("t@hue.gov.vn") == (None, Status.UNAVAILABLE)
