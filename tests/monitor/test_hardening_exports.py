"""Issue 15, locks and their export files on a real Redis: a name that cannot be written
unchanged is refused at lock time with the reason and never folded into another name; the
files are written from one pipelined read and rewrites are coalesced."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from congvu_guard.config import from_mapping
from congvu_guard.monitor.state import MonitorState
from congvu_guard.ratelimit.export import ExportScheduler, write_exports
from congvu_guard.ratelimit.model import Lock
from congvu_guard.state import keys
from congvu_guard.state.audit import AuditTrail
from congvu_guard.state.locks import LockError, LockStore, export_from_redis

from .conftest import Monitor


@pytest.mark.parametrize("name", ["victim@hue.gov.vn#", "victim@hue.gov.vn:x", "a b@hue.gov.vn",
                                  "v\u00ed@hue.gov.vn", "x@hue.gov.vn\nroot", "{x}@hue.gov.vn",
                                  "x@-bad-.vn"])
def test_names_that_cannot_be_exported_are_refused_with_the_reason(redis_client,
                                                                   name: str) -> None:
    store = LockStore(redis_client, AuditTrail(redis_client, 30))
    with pytest.raises(LockError) as e:
        store.lock(name, "HUE-13.2c", by="op")
    assert "cannot be locked" in str(e.value)
    assert redis_client.scard(keys.LOCK_INDEX) == 0


def test_the_api_refuses_such_a_lock_with_400(monitor: Monitor) -> None:
    status, body = monitor.call("POST", "/api/v1/locks", "operator",
                                {"account": "victim@hue.gov.vn#", "reason": "HUE-13.2c"})
    assert status == 400 and "cannot be locked" in body["error"]


def test_export_never_folds_a_name_into_another(tmp_path: Path) -> None:
    pf, dc = tmp_path / "sasl", tmp_path / "deny"
    # A lock written by another component with a name the files cannot hold.
    write_exports([Lock("victim@hue.gov.vn#", "HUE-13.2d", "milter", 1.0),
                   Lock("ok@hue.gov.vn", "HUE-13.2d", "milter", 1.0)], str(pf), str(dc))
    assert "victim@hue.gov.vn" not in pf.read_text()
    assert dc.read_text().splitlines()[1:] == ["ok@hue.gov.vn:"]


def test_exports_take_one_pipelined_read_and_rewrites_are_coalesced(redis_client,
                                                                   tmp_path: Path) -> None:
    store = LockStore(redis_client, AuditTrail(redis_client, 30))
    for i in range(300):
        store.lock(f"u{i}@hue.gov.vn", "BP-6.2d", by="monitor")
    pf, dc = tmp_path / "sasl", tmp_path / "deny"
    before = redis_client.info("commandstats").get("cmdstat_hgetall", {}).get("calls", 0)
    export_from_redis(redis_client, str(pf), str(dc))
    after = redis_client.info("commandstats").get("cmdstat_hgetall", {}).get("calls", 0)
    assert after == before  # no HGETALL per lock
    assert len(dc.read_text().splitlines()) == 301

    cfg = from_mapping({"monitor": {"users_file": "/nonexistent"},
                        "ratelimit": {"export_postfix": str(pf), "export_dovecot": str(dc)}})
    st = MonitorState(cfg, redis_client)
    for i in range(300, 500):  # a burst of locks, as a guessing run makes them
        store.lock(f"u{i}@hue.gov.vn", "BP-6.2d", by="monitor")
        st.after_lock_change("lock", f"u{i}@hue.gov.vn", "monitor")
    assert st.exports.flush(30)
    assert 1 <= st.exports.writes <= 5  # not 200 rewrites
    assert len(dc.read_text().splitlines()) == 501


def test_the_scheduler_writes_again_after_a_change_during_a_write() -> None:
    calls: list[float] = []

    def slow() -> None:
        calls.append(time.monotonic())
        time.sleep(0.05)

    s = ExportScheduler(slow, min_interval=0.01)
    s.request()
    time.sleep(0.01)
    s.request()  # arrives while the first write runs
    assert s.flush(5)
    assert len(calls) == 2


def test_the_milters_export_refresh_takes_no_hgetall_per_lock(redis_client,
                                                             tmp_path: Path) -> None:
    from congvu_guard.metrics import Metrics
    from congvu_guard.ratelimit.service import RateLimitService

    pf, dc = tmp_path / "sasl", tmp_path / "deny"
    cfg = from_mapping({"ratelimit": {"export_postfix": str(pf), "export_dovecot": str(dc)}})
    svc = RateLimitService(cfg, redis_client, Metrics(), "milter@test")
    for i in range(50):
        svc.locks.lock(f"m{i}@hue.gov.vn", "HUE-13.2d", by="milter")
    before = redis_client.info("commandstats").get("cmdstat_hgetall", {}).get("calls", 0)
    svc.refresh_exports()
    assert redis_client.info("commandstats").get("cmdstat_hgetall", {}).get("calls", 0) == before
    assert len(dc.read_text().splitlines()) == 51


def test_imports_skip_names_that_cannot_be_locked_and_the_sweep_goes_on(redis_client) -> None:
    from congvu_guard.monitor.inactivity import import_accounts, sweep

    assert import_accounts(redis_client, ["ok@hue.gov.vn", "bad@hue.gov.vn#"],
                           now=time.time() - 400 * 86400) == 1
    redis_client.hset(keys.KNOWN_ACCOUNTS, "legacy bad@hue.gov.vn", int(time.time() - 400 * 86400))
    cfg = from_mapping({"monitor": {"users_file": "/nonexistent"}})
    result = sweep(MonitorState(cfg, redis_client), dry_run=False)
    assert result.locked == ["ok@hue.gov.vn"]
