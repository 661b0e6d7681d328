"""Scan worker processes (``[scan] workers``, milter/pool.py): the same verdicts as the
milter's own threads, a dead or stuck worker costs its message a 451 and nothing else, a
rules reload replaces the workers, Redis connections and metrics stay the parent's."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import Milter
import pytest
import redis
from Milter.testctx import TestCtx as MilterCtx

from congvu_guard.config import (
    Config,
    ConfigError,
    ReportConfig,
    ScanConfig,
    default_scan_workers,
    from_mapping,
)
from congvu_guard.detectors import Detector, default_detectors
from congvu_guard.detectors.yara_scan import YaraScanner
from congvu_guard.engine import Engine
from congvu_guard.metrics import Metrics
from congvu_guard.milter.adapter import GuardMilter, Services
from congvu_guard.milter.pool import MetricJournal, PoolError, ScanPool
from congvu_guard.milter.spool import BodySpool
from congvu_guard.model import Action, Envelope, Finding, Severity, Verdict
from congvu_guard.scan import wire_size
from tests import samples
from tests.helpers import EICAR, message_with_attachment, simple_message

BOX = "tiepnhan@thuathienhue.gov.vn"
NO_REPLY_BITS = (Milter.P_NR_CONN | Milter.P_NR_HELO | Milter.P_NR_MAIL | Milter.P_NR_RCPT
                 | Milter.P_NR_DATA | Milter.P_NR_UNKN | Milter.P_NR_EOH | Milter.P_NR_BODY
                 | Milter.P_NR_HDR)

# Read by the test detectors below in the worker, which inherits them at the fork.
_STALL_FILE: list[Path] = []
_REDIS: list[redis.Redis] = []
_METRICS: list[Metrics] = []


def _stall(env: Envelope, parsed: object) -> list[Finding]:
    """A scan that never ends, for senders named stall@: writes its pid, then sleeps."""
    if env.sender.startswith("stall@"):
        _STALL_FILE[0].write_text(str(os.getpid()))
        time.sleep(600)
    return []


def _redis_identity(env: Envelope, parsed: object) -> list[Finding]:
    """Which Redis connection and process served this scan, as a finding's facts."""
    if not _REDIS:
        return []
    client_id = _REDIS[0].client_id()
    return [Finding("TEST-redis", "identity", Action.TAG, Severity.INFO, "test",
                    facts=(("client_id", str(client_id)), ("pid", str(os.getpid()))))]


def _count_a_metric(env: Envelope, parsed: object) -> list[Finding]:
    """A service-backed detector's metric update (clamd and the IOC store do the like)."""
    _METRICS[0].errors.labels("test-detector").inc(2)
    _METRICS[0].stage_duration.labels("test-detector").observe(0.5)
    return []


def engine(*extra: Detector, config: Config | None = None) -> Engine:
    config = config or Config(report=ReportConfig(address=BOX))
    return Engine(config, [*default_detectors(config), *extra])


def env(sender: str = "alice@hue.gov.vn", *rcpts: str) -> Envelope:
    return Envelope(sender=sender, recipients=list(rcpts or ["bob@hue.gov.vn"]))


def spooled(raw: bytes) -> tuple[bytes, BodySpool]:
    """The header section (with the blank line) and the body in a spool file, as the
    milter holds a large message at end of message."""
    cut = raw.index(b"\r\n\r\n") + 4
    spool = BodySpool(threshold=0)
    spool.write(raw[cut:])
    return raw[:cut], spool


def pool_verdict(pool: ScanPool, envelope: Envelope, raw: bytes) -> Verdict:
    head, spool = spooled(raw)
    try:
        return pool.scan(envelope, head, spool.flushed_fileno(), spool.size, wire_size(raw))
    finally:
        spool.close()


def without_timings(v: Verdict) -> Verdict:
    return replace(v, timings=())


@pytest.fixture
def make_pool() -> Iterator:
    pools: list[ScanPool] = []

    def make(e: Engine, size: int = 1, **kw: object) -> ScanPool:
        pool = ScanPool(e, size, **kw)  # type: ignore[arg-type]
        pools.append(pool)
        assert pool.wait_ready()
        return pool

    yield make
    for p in pools:
        p.close()


def test_a_worker_gives_the_verdict_the_milter_thread_gives(make_pool) -> None:
    e = engine()
    pool = make_pool(e)
    big_zip = samples.zip_of({f"doc{i}.txt": os.urandom(200_000) for i in range(5)})
    cases = [
        (env(), simple_message("plain")),
        (env(), message_with_attachment("eicar", "eicar.com", EICAR)),
        (env("x@example.net", "bob@hue.gov.vn", "carol@gmail.com"),
         samples.macro_message("macro")),
        (env(), samples.mime_message("zip", [("a.zip", "application/zip", big_zip)])),
    ]
    actions = set()
    for envelope, raw in cases:
        in_thread = e.check_message(envelope, raw, wire_size(raw))
        in_worker = pool_verdict(pool, envelope, raw)
        assert without_timings(in_worker) == without_timings(in_thread)
        assert in_worker.timings  # the worker's timings come back for the metrics
        actions.add(in_worker.action)
    assert actions == {Action.ACCEPT, Action.REJECT, Action.QUARANTINE}


def test_a_worker_killed_mid_scan_costs_that_message_a_451_and_the_next_is_served(
    make_pool, tmp_path: Path,
) -> None:
    _STALL_FILE[:] = [tmp_path / "pid"]
    pool = make_pool(engine(Detector("stall", (), _stall)))
    first = pool.pids

    def kill_when_scanning() -> None:
        while not _STALL_FILE[0].exists() or not _STALL_FILE[0].read_text():
            time.sleep(0.01)
        os.kill(int(_STALL_FILE[0].read_text()), signal.SIGKILL)

    killer = threading.Thread(target=kill_when_scanning)
    killer.start()
    with pytest.raises(PoolError, match="failed"):
        pool_verdict(pool, env("stall@hue.gov.vn"), simple_message("stuck"))
    killer.join()
    verdict = pool_verdict(pool, env(), message_with_attachment("eicar", "e.com", EICAR))
    assert verdict.action is Action.REJECT
    assert pool.pids and pool.pids != first


def test_a_worker_killed_while_idle_costs_no_message_a_451(make_pool) -> None:
    pool = make_pool(engine())
    [pid] = pool.pids
    os.kill(pid, signal.SIGKILL)
    while Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z":
        time.sleep(0.01)  # dead (a zombie until the pool reaps it)
    assert pool_verdict(pool, env(), simple_message("next")).action is Action.ACCEPT
    assert pool.pids and pool.pids != [pid]


def test_a_worker_that_does_not_answer_is_killed_and_replaced(make_pool,
                                                              tmp_path: Path) -> None:
    _STALL_FILE[:] = [tmp_path / "pid"]
    pool = make_pool(engine(Detector("stall", (), _stall)), answer_seconds=1.0)
    with pytest.raises(PoolError, match="did not answer"):
        pool_verdict(pool, env("stall@hue.gov.vn"), simple_message("stuck"))
    stuck = int(_STALL_FILE[0].read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(stuck, 0)  # killed and reaped
    assert pool_verdict(pool, env(), simple_message("next")).action is Action.ACCEPT


def test_a_lock_another_thread_holds_at_the_fork_is_free_in_the_worker(make_pool) -> None:
    e = Engine(Config(report=ReportConfig(address=BOX)))  # its detectors use e.yara
    raw = message_with_attachment("eicar", "eicar.com", EICAR)
    expected = e.check_message(env(), raw, wire_size(raw))
    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # a milter thread inside the YARA verdict cache when the pool forks
        with e.yara.cache._lock:
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        pool = make_pool(e, answer_seconds=20.0)
        verdict = pool_verdict(pool, env(), raw)
    finally:
        release.set()
        holder.join()
    assert without_timings(verdict) == without_timings(expected)


def test_a_scan_error_in_a_worker_is_a_pool_error_and_the_worker_stays(make_pool) -> None:
    def broken(env: Envelope, parsed: object) -> list[Finding]:
        raise RuntimeError("detector bug")

    pool = make_pool(engine(Detector("broken", (), broken)))
    before = pool.pids
    with pytest.raises(PoolError, match="detector bug"):
        pool_verdict(pool, env(), simple_message("x"))
    assert pool.pids == before


def test_a_rules_reload_replaces_the_workers_which_judge_with_the_new_rules(
    make_pool, tmp_path: Path,
) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "local.yar").write_text('rule Local_A { strings: $a = "MARKER-AAA" condition: $a }')
    config = Config(report=ReportConfig(address=BOX),
                    scan=ScanConfig(yara_rules_dirs=(str(rules),)))
    yara = YaraScanner(config.scan.yara_rules_dirs, 5)
    e = Engine(config, yara=yara)
    pool = make_pool(e, size=2)
    old = set(pool.pids)
    raw = samples.mime_message("m", [("note.txt", "text/plain", b"MARKER-BBB")])
    assert "YARA" not in str(pool_verdict(pool, env(), raw).findings)
    (rules / "local.yar").write_text(
        'rule Local_B { meta: severity = "critical" strings: $b = "MARKER-BBB" condition: $b }')
    # What the milter's main thread does on SIGHUP (server._serve).
    assert yara.reload()
    pool.recycle()
    assert pool.wait_ready()
    assert not old & set(pool.pids)
    verdict = pool_verdict(pool, env(), raw)
    assert verdict.action is Action.REJECT
    assert "Local_B" in str(verdict.findings)


def test_workers_open_their_own_redis_connections(make_pool, redis_tcp: str) -> None:
    client = redis.Redis.from_url(redis_tcp)
    parent_id = client.client_id()  # a connection in the pool before the fork
    _REDIS[:] = [client]
    try:
        pool = make_pool(engine(Detector("redis-identity", ("TEST-redis",), _redis_identity)))
        verdict = pool_verdict(pool, env(), simple_message("redis"))
    finally:
        _REDIS.clear()
    [finding] = [f for f in verdict.findings if f.rule == "TEST-redis"]
    assert int(finding.fact("pid")) != os.getpid()
    assert int(finding.fact("client_id")) != parent_id
    assert client.client_id() == parent_id  # the parent's socket was not touched


def test_metrics_updated_in_a_worker_reach_the_parents_registry(make_pool) -> None:
    metrics = Metrics()
    _METRICS[:] = [metrics]
    pool = make_pool(engine(Detector("count", (), _count_a_metric)), metrics=metrics)
    pool_verdict(pool, env(), simple_message("one"))
    pool_verdict(pool, env(), simple_message("two"))
    assert metrics.errors.labels("test-detector")._value.get() == 4
    registry = metrics.registry
    assert registry.get_sample_value("congvu_guard_stage_duration_seconds_count",
                                     {"stage": "test-detector"}) == 2


@pytest.fixture
def milter_with_pool(monkeypatch, make_pool, tmp_path: Path) -> Iterator:
    def make(*extra: Detector) -> tuple[MilterCtx, Metrics, ScanPool]:
        metrics = Metrics()
        e = engine(*extra)
        pool = make_pool(e, metrics=metrics)
        services = Services(e, metrics, None, "mx.test", spool_threshold=64 * 1024,
                            scan_pool=pool)
        assert services.body_memory.limit == 0  # workers read large bodies from the file
        assert metrics.registry.get_sample_value("congvu_guard_body_memory_limit_bytes") == 0
        monkeypatch.setattr(GuardMilter, "services", services, raising=False)
        monkeypatch.setattr(Milter, "factory", GuardMilter)
        ctx = MilterCtx()
        ctx._opts = ctx.default_opts = [Milter.CURR_ACTS, 0x1FFFFF & ~NO_REPLY_BITS, 0, 0]
        monkeypatch.setattr(MilterCtx, "default_opts", ctx.default_opts)
        assert ctx._connect(ip="192.0.2.7") == Milter.CONTINUE
        return ctx, metrics, pool

    yield make


def _with_filler(raw: bytes) -> bytes:
    """The message with 300 KB of epilogue after it: spooled, so judged in a worker."""
    return raw + b"\r\n" + b"x" * 300_000


def test_the_milter_sends_spooled_messages_to_a_worker_and_carries_out_its_verdict(
    milter_with_pool, tmp_path: Path,
) -> None:
    _STALL_FILE[:] = [tmp_path / "pid"]
    ctx, metrics, pool = milter_with_pool(Detector("stall", (), _stall))
    rc = ctx._feedFile(io.BytesIO(_with_filler(samples.macro_message("macro"))),
                       "x@example.net", "bob@hue.gov.vn")
    assert rc == Milter.ACCEPT
    assert [r[0] for r in ctx._addrcpt] == [f"<{BOX}>"]  # quarantined by the worker's verdict
    assert metrics.messages.labels("quarantine")._value.get() == 1
    # A worker killed mid-scan: 451 by the guarded() path; the next message is served.
    worker = pool.pids[0]

    def kill_when_scanning() -> None:
        while not _STALL_FILE[0].exists() or not _STALL_FILE[0].read_text():
            time.sleep(0.01)
        os.kill(worker, signal.SIGKILL)

    killer = threading.Thread(target=kill_when_scanning)
    killer.start()
    rc = ctx._feedFile(io.BytesIO(_with_filler(simple_message("stuck"))),
                       "stall@hue.gov.vn", "bob@hue.gov.vn")
    killer.join()
    assert rc == Milter.TEMPFAIL
    assert ctx._reply[:2] == ("451", "4.3.0")
    assert metrics.errors.labels("eom")._value.get() == 1
    rc = ctx._feedFile(io.BytesIO(_with_filler(message_with_attachment("e", "e.com", EICAR))),
                       "alice@hue.gov.vn", "bob@hue.gov.vn")
    assert rc == Milter.REJECT
    assert metrics.messages.labels("reject")._value.get() == 1


def test_small_mail_stays_in_the_milter_thread(milter_with_pool, tmp_path: Path) -> None:
    _STALL_FILE[:] = [tmp_path / "pid"]
    ctx, _, pool = milter_with_pool(Detector("stall", (), _stall))
    pool.close()  # a small message never asks the pool: it would get a PoolError
    rc = ctx._feedFile(io.BytesIO(simple_message("small")), "alice@hue.gov.vn",
                       "bob@hue.gov.vn")
    assert rc == Milter.ACCEPT


def test_scan_workers_default_to_the_cores_beyond_what_postfix_needs() -> None:
    assert default_scan_workers(2) == 0
    assert default_scan_workers(1) == 0
    assert default_scan_workers(None) == 0
    assert default_scan_workers(8) == 6
    assert ScanConfig().workers == default_scan_workers(os.cpu_count())
    assert from_mapping({"scan": {"workers": 3}}).scan.workers == 3


def test_a_bad_workers_value_is_one_line_naming_the_key() -> None:
    with pytest.raises(ConfigError, match=r"^\[scan\] workers: must be 0\.\.64"):
        from_mapping({"scan": {"workers": -1}})
    with pytest.raises(ConfigError, match=r"^\[scan\] workers: expected an integer"):
        from_mapping({"scan": {"workers": "2"}})


def test_the_metric_journal_replays_updates_and_drops_the_steps_between() -> None:
    worker_copy, parent = Metrics(), Metrics()
    journal = MetricJournal()
    journal.install(worker_copy)
    child = worker_copy.errors.labels("eom")
    child.inc()
    worker_copy.clamd_up.set(1)
    first = journal.take()
    child.inc(3)  # a labelled child kept across messages
    worker_copy.top_senders.set("alice@hue.gov.vn", 7)
    second = journal.take()
    assert all(op[-1] != (("eom",), {}) for op in first + second)  # no bare labels() call
    MetricJournal.replay(parent, first)
    MetricJournal.replay(parent, second)
    assert parent.errors.labels("eom")._value.get() == 4
    assert parent.clamd_up._value.get() == 1
    assert parent.top_senders.snapshot() == {"alice@hue.gov.vn": 7}
    assert journal.take() == []
