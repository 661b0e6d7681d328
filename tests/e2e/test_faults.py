"""Fault injection under load (issue 8): nothing is lost, nothing is doubled.

Every test runs a real Postfix (own config, loopback port), the real milter process, a
real Redis and the sink, and keeps a background SMTP client sending while a fault
happens: the milter killed or hung, Redis stopped, clamd killed or frozen, the spool disk
full, SIGHUP reloads. Afterwards the client retries what was tempfailed, as a real MTA
would, and the books must balance:

- every message ends delivered (a 250 the client saw) or rejected (a 5xx it saw);
- the sink holds exactly the delivered ones, each exactly once when the client saw one
  250 and no failure after the data went out (only such an "uncertain" attempt may lead to
  an SMTP-legal duplicate), and nothing it was never sent;
- every delivered copy went through the milter (it carries X-Congvu-Guard).

No timing assertions: phases wait for events (so many accepted, so many tempfailed, a
metric flipping) with generous timeouts.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from congvu_guard.lab.postfix import Listener, PostfixInstance
from congvu_guard.state import keys
from congvu_guard.state.embedded import EmbeddedRedis
from tests.helpers import free_port, message_with_attachment, simple_message, token, wait_until
from tests.lab.clamd import ClamdLab

from .conftest import MilterUnderTest, start_milter, write_milter_config
from .harness import Sink

SENDER = "load@hue.gov.vn"
RCPT = "bob@thuathienhue.gov.vn"
TOKEN_HEADER = "X-Fault-Token"
_TOKEN_RE = re.compile(rb"X-Fault-Token: (f[0-9a-f]+-\d+)")

# Postfix gives up on a silent milter after a few seconds (the hung-milter case) ...
SHORT_TIMEOUTS = {
    "milter_connect_timeout": "3s",
    "milter_command_timeout": "3s",
    "milter_content_timeout": "3s",
}
# ... or waits long enough that only the milter's own timeouts (clamd) can answer.
PATIENT_TIMEOUTS = {
    "milter_connect_timeout": "10s",
    "milter_command_timeout": "60s",
    "milter_content_timeout": "120s",
}
# The load is one account; the HUE-13.2d limit must not lock it during a test.
NO_LOCKING = "[ratelimit]\nmax_messages = 1000000\n"


@dataclass(frozen=True)
class Scale:
    cycles: int  # how many times the fault is injected
    per_phase: int  # messages accepted before, during (where mail flows) and after each
    threads: int  # concurrent SMTP senders


SHORT = Scale(cycles=1, per_phase=10, threads=3)
LONG = Scale(cycles=5, per_phase=150, threads=6)


# -- the lab -------------------------------------------------------------------------------


@dataclass
class Lab:
    name: str
    milter: MilterUnderTest
    postfix: PostfixInstance
    port: int

    def metric(self, name: str) -> float | None:
        url = f"http://127.0.0.1:{self.milter.metrics_port}/metrics"
        text = urllib.request.urlopen(url, timeout=10).read().decode()
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def alive(self) -> bool:
        proc = self.milter.process.proc
        return proc is not None and proc.poll() is None


class Labs:
    """Makes milter + Postfix pairs of their own, so a fault disturbs no other test."""

    def __init__(self, base: Path, sink: Sink) -> None:
        self.base = base
        self.sink = sink
        self.made: list[Lab] = []

    def make(self, redis_url: str, extra: str = "",
             timeouts: dict[str, str] | None = None) -> Lab:
        name = f"fault-{token()}"
        milter = start_milter(self.base, name, redis_url, NO_LOCKING + extra)
        opts = dict(timeouts if timeouts is not None else SHORT_TIMEOUTS)
        port = free_port()
        pf = PostfixInstance(
            base=self.base / f"{name}-postfix",
            sink_port=self.sink.port,
            listeners=[Listener("faults", port, milter.socket_spec, opts)],
            main={**opts, "smtpd_client_connection_count_limit": "0",
                  "smtpd_client_connection_rate_limit": "0"},
        )
        lab = Lab(name, milter, pf, port)
        self.made.append(lab)
        pf.start()
        return lab

    def close(self) -> None:
        for lab in self.made:
            lab.postfix.stop()
            # Killed, not stopped: libmilter's graceful stop costs ~5 s and is not under test.
            lab.milter.process.kill()


@pytest.fixture
def labs(lab_dir: Path, sink: Sink) -> Iterator[Labs]:
    made = Labs(lab_dir, sink)
    yield made
    made.close()


# -- one SMTP attempt, and the record of every message ------------------------------------


@dataclass(frozen=True)
class Attempt:
    code: int  # 0: no SMTP reply (connection lost, timeout)
    text: str
    stage: str
    uncertain: bool = False  # failed after the data went out: the server may have it


@dataclass
class Msg:
    token: str
    data: bytes
    expect_reject: bool = False
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def final(self) -> str | None:
        for a in self.attempts:
            if a.code == 250:
                return "delivered"
            if 500 <= a.code < 600:
                return "rejected"
        return None

    @property
    def uncertain(self) -> int:
        return sum(a.uncertain for a in self.attempts)


def attempt(port: int, data: bytes, sender: str = SENDER) -> Attempt:
    """One SMTP transaction on a new connection, never raising."""
    stage = "connect"
    smtp: smtplib.SMTP | None = None
    try:
        smtp = smtplib.SMTP("127.0.0.1", port, timeout=180)
        stage = "ehlo"
        smtp.ehlo("load.test")
        stage = "mail"
        code, text = smtp.mail(sender)
        if code != 250:
            return Attempt(code, text.decode(errors="replace"), stage)
        stage = "rcpt"
        code, text = smtp.rcpt(RCPT)
        if code not in (250, 251):
            return Attempt(code, text.decode(errors="replace"), stage)
        stage = "data"
        try:
            code, text = smtp.data(data)
        except smtplib.SMTPDataError as e:  # DATA itself refused: nothing was sent
            return Attempt(e.smtp_code, e.smtp_error.decode(errors="replace"), stage)
        result = Attempt(code, text.decode(errors="replace"), "done")
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()
        return result
    except (smtplib.SMTPException, OSError) as e:
        code = getattr(e, "smtp_code", 0) if stage != "data" else 0
        return Attempt(code if isinstance(code, int) else 0, f"{type(e).__name__}: {e}",
                       stage, uncertain=stage == "data")
    finally:
        if smtp is not None:
            smtp.close()


MessageMaker = Callable[[str, int], Msg]


def plain(tok: str, i: int) -> Msg:
    return Msg(tok, simple_message(f"fault load {tok}", sender=SENDER, to=RCPT,
                                   extra_headers=f"{TOKEN_HEADER}: {tok}\r\n"))


class Load:
    """Background senders: each new message is tried once; what gets a 4xx (or no answer)
    waits for :meth:`retry_pending`, the client's retry after recovery."""

    def __init__(self, port: int, make: MessageMaker = plain, threads: int = 3,
                 pause: float = 0.1, cap: int = 20000) -> None:
        self.port = port
        self.make = make
        self.run = f"f{token()}"
        self.pause = pause  # between two messages of one sender: at most ~10/s each
        self.cap = cap
        self.msgs: list[Msg] = []
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._work, daemon=True, name=f"load-{i}")
                        for i in range(threads)]

    def new(self, make: MessageMaker | None = None) -> Msg:
        with self.lock:
            n = len(self.msgs)
            msg = (make or self.make)(f"{self.run}-{n}", n)
            self.msgs.append(msg)
        return msg

    def send(self, msg: Msg) -> Attempt:
        a = attempt(self.port, msg.data)
        with self.cond:
            msg.attempts.append(a)
            self.cond.notify_all()
        return a

    def _work(self) -> None:
        while not self.stopping.is_set():
            with self.lock:
                if len(self.msgs) >= self.cap:
                    break
            a = self.send(self.new())
            failed = a.code != 250 and not 500 <= a.code < 600
            # A real client would not hammer a failing server either.
            self.stopping.wait(self.pause * (3 if failed else 1))

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(240)

    def count(self, pred: Callable[[Attempt], bool]) -> int:
        with self.lock:
            return sum(pred(a) for m in self.msgs for a in m.attempts)

    def accepted(self) -> int:
        return self.count(lambda a: a.code == 250)

    def tempfailed(self) -> int:
        return self.count(lambda a: not (a.code == 250 or 500 <= a.code < 600))

    def wait(self, pred: Callable[[], bool], timeout: float = 60.0) -> bool:
        deadline = time.monotonic() + timeout
        with self.cond:
            while not pred():
                assert len(self.msgs) < self.cap, f"the load hit its cap of {self.cap} messages"
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.5))
        return True

    def wait_accepted(self, more: int, timeout: float = 60.0) -> bool:
        target = self.accepted() + more
        return self.wait(lambda: self._count_locked(lambda a: a.code == 250) >= target,
                         timeout)

    def wait_tempfailed(self, more: int, timeout: float = 60.0) -> bool:
        target = self.tempfailed() + more
        return self.wait(lambda: self._count_locked(
            lambda a: not (a.code == 250 or 500 <= a.code < 600)) >= target, timeout)

    def _count_locked(self, pred: Callable[[Attempt], bool]) -> int:
        return sum(pred(a) for m in self.msgs for a in m.attempts)

    def attempts(self) -> list[Attempt]:
        with self.lock:
            return [a for m in self.msgs for a in m.attempts]

    def retry_pending(self, timeout: float = 120.0) -> None:
        """The client's retries once the fault is over, until every message has an answer."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pending = [m for m in self.msgs if m.final is None]
            if not pending:
                return
            with ThreadPoolExecutor(max_workers=3) as pool:
                list(pool.map(self.send, pending))
            if any(m.final is None for m in self.msgs):
                time.sleep(1)
        left = [(m.token, m.attempts[-3:]) for m in self.msgs if m.final is None]
        raise AssertionError(f"{len(left)} messages never got a final answer: {left[:5]}")


def sink_copies(sink: Sink, run: str) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    with sink.collector.cond:
        items = list(sink.collector.messages)
    for item in items:
        m = _TOKEN_RE.search(item.data[:20000])
        if m and m.group(1).decode().startswith(run + "-"):
            out.setdefault(m.group(1).decode(), []).append(item.data)
    return out


def assert_nothing_lost(load: Load, lab: Lab, sink: Sink) -> dict[str, int]:
    """The books balance: sink (unique tokens) + permanent rejects == sent, no doubles."""
    msgs = list(load.msgs)
    assert all(m.final is not None for m in msgs)
    delivered = {m.token for m in msgs if m.final == "delivered"}
    rejected = [m for m in msgs if m.final == "rejected"]
    assert wait_until(lambda: delivered <= set(sink_copies(sink, load.run)), timeout=120), (
        f"missing at the sink: {sorted(delivered - set(sink_copies(sink, load.run)))[:10]}")
    # Nothing more can arrive once the Postfix queue is empty: then count the copies.
    assert wait_until(lambda: not lab.postfix.queue_ids(), timeout=120), "queue never drained"
    copies = sink_copies(sink, load.run)
    assert set(copies) <= {m.token for m in msgs}
    for m in msgs:
        n = len(copies.get(m.token, []))
        seen_250 = sum(a.code == 250 for a in m.attempts)
        assert seen_250 <= 1, (m.token, m.attempts)  # the client stops at the first 250
        if m.final == "delivered":
            assert 1 <= n <= 1 + m.uncertain, (m.token, n, m.attempts)
        else:
            assert n <= m.uncertain, (m.token, n, m.attempts)
        assert m.expect_reject == (m.final == "rejected"), (m.token, m.attempts)
    for data in (d for ds in copies.values() for d in ds):
        assert b"\nX-Congvu-Guard: " in data, "a copy reached the sink without the milter"
    assert len(copies) + len(rejected) == len(msgs)
    books = {"sent": len(msgs), "delivered": len(copies), "rejected": len(rejected),
             "tempfailed": load.tempfailed(), "uncertain": sum(m.uncertain for m in msgs)}
    print(f"books of {load.run}: {books}")  # shown with -s, and on failure
    return books


def postfix_tempfails(load: Load) -> list[Attempt]:
    return [a for a in load.attempts() if 400 <= a.code < 500]


# -- 1 and 4: the milter killed (kill -9) or hung (SIGSTOP) under load --------------------


def _kill(lab: Lab) -> None:
    lab.milter.process.kill()


def _restart(lab: Lab) -> None:
    lab.milter.process.start()


def _freeze(lab: Lab) -> None:
    lab.milter.process.signal(signal.SIGSTOP)


def _thaw(lab: Lab) -> None:
    lab.milter.process.signal(signal.SIGCONT)


@pytest.mark.parametrize(
    ("fault", "scale"),
    [pytest.param("kill", SHORT, id="kill-9"),
     pytest.param("hang", SHORT, id="sigstop"),
     pytest.param("kill", LONG, id="kill-9-long", marks=pytest.mark.long),
     pytest.param("hang", LONG, id="sigstop-long", marks=pytest.mark.long)],
)
def test_milter_killed_or_hung_under_load_postfix_tempfails_and_every_message_arrives_once(
    labs: Labs, redis_url: str, sink: Sink, fault: str, scale: Scale,
) -> None:
    lab = labs.make(redis_url)
    down, up = (_kill, _restart) if fault == "kill" else (_freeze, _thaw)
    cycles = scale.cycles
    with Load(lab.port, threads=scale.threads) as load:
        assert load.wait_accepted(scale.per_phase, timeout=180), load.attempts()[-5:]
        for _ in range(cycles):
            down(lab)
            try:
                assert load.wait_tempfailed(4, timeout=90), load.attempts()[-5:]
            finally:
                up(lab)
            assert load.wait_accepted(scale.per_phase, timeout=180), load.attempts()[-5:]
    assert lab.alive()
    # While the milter was away Postfix answered for it: 4xx, never an unchecked accept.
    assert all(a.code in (421, 451) for a in postfix_tempfails(load)), postfix_tempfails(load)
    assert any("4.7.1" in a.text for a in postfix_tempfails(load))
    load.retry_pending()
    books = assert_nothing_lost(load, lab, sink)
    assert books["rejected"] == 0 and books["tempfailed"] >= 4 * cycles, books


# -- 2: Redis stopped and restarted under load --------------------------------------------


def _redis_count(url: str, account: str) -> int:
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        return int(client.zcard(keys.messages(account)))
    finally:
        client.close()


def _hard_stop(server: EmbeddedRedis) -> None:
    assert server.proc is not None
    server.proc.kill()
    server.proc.wait(10)
    server.proc = None


@pytest.mark.parametrize(
    ("mode", "scale"),
    [pytest.param("fallback", SHORT, id="fallback"),
     pytest.param("tempfail", SHORT, id="tempfail"),
     pytest.param("fallback", LONG, id="fallback-long", marks=pytest.mark.long),
     pytest.param("tempfail", LONG, id="tempfail-long", marks=pytest.mark.long)],
)
def test_redis_down_under_load_follows_on_redis_down_and_counts_in_redis_again_after(
    labs: Labs, lab_dir: Path, sink: Sink, mode: str, scale: Scale,
) -> None:
    server = EmbeddedRedis(lab_dir / f"redis-{token()}")
    url = server.start()
    try:
        lab = labs.make(url, f'on_redis_down = "{mode}"\n')  # continues [ratelimit]
        with Load(lab.port, threads=scale.threads) as load:
            assert load.wait_accepted(scale.per_phase, timeout=180), load.attempts()[-5:]
            assert _redis_count(url, SENDER) >= scale.per_phase
            for _ in range(scale.cycles):
                _hard_stop(server)
                try:
                    assert wait_until(
                        lambda: lab.metric("congvu_guard_ratelimit_fallback_active") == 1,
                        timeout=60)
                    if mode == "fallback":  # mail keeps flowing on the per-process window
                        assert load.wait_accepted(scale.per_phase, timeout=180), \
                            load.attempts()[-5:]
                    else:  # mail that must be counted is tempfailed by the milter itself
                        assert load.wait_tempfailed(4, timeout=90), load.attempts()[-5:]
                finally:
                    server.start()
                # The breaker retries Redis after 5 s; then the shared window is back.
                assert wait_until(
                    lambda: lab.metric("congvu_guard_ratelimit_fallback_active") == 0,
                    timeout=90)
                assert load.wait_accepted(scale.per_phase, timeout=180), load.attempts()[-5:]
        assert lab.alive()
        # Counting in Redis again: a fresh account's messages land in its Redis window.
        probe = f"probe-{token()}@hue.gov.vn"
        for i in range(3):
            msg = load.new(lambda tok, n, i=i: Msg(tok, simple_message(
                f"probe {i}", sender=probe, to=RCPT, extra_headers=f"{TOKEN_HEADER}: {tok}\r\n")))
            assert attempt_as(load, msg, probe).code == 250, msg.attempts
        assert _redis_count(url, probe) == 3
        assert lab.metric("congvu_guard_redis_up") == 1
        fails = postfix_tempfails(load)
        if mode == "fallback":
            assert fails == [], fails[:5]
        else:
            assert fails and all(a.code == 451 and "4.3.0" in a.text for a in fails), fails[:5]
        load.retry_pending()
        books = assert_nothing_lost(load, lab, sink)
        assert books["rejected"] == 0, books
    finally:
        server.stop()


def attempt_as(load: Load, msg: Msg, sender: str) -> Attempt:
    a = attempt(load.port, msg.data, sender)
    with load.cond:
        msg.attempts.append(a)
    return a


# -- 3: clamd killed, clamd frozen ----------------------------------------------------------

CLAM_MARKER = b"CONGVU-FAULT-CLAMAV-ONLY-MARKER-3c9e"


@pytest.fixture
def clamd_lab(lab_dir: Path) -> Iterator[ClamdLab]:
    if shutil.which("clamd") is None:
        pytest.skip("clamd is not installed (clamav-daemon)")
    lab = ClamdLab(lab_dir / f"clamd-{token()}", ndb={"Congvu.Fault.Marker": CLAM_MARKER})
    lab.start()
    yield lab
    if lab.proc is not None:
        lab.proc.send_signal(signal.SIGCONT)
    lab.stop()


def clamav_extra(clamd: ClamdLab) -> str:
    return (f'[clamav]\nenabled = true\nsocket = "{clamd.spec}"\ntimeout_seconds = 2\n'
            'on_failure = "tempfail"\nprobe_interval_seconds = 10\n')


def with_clam_marker(tok: str, i: int) -> Msg:
    """Every 5th message carries a signature only clamd knows: it must end rejected."""
    if i % 5 != 4:
        return plain(tok, i)
    body = f"Bao cao.\r\n{CLAM_MARKER.decode()}\r\n"
    return Msg(tok, simple_message(f"fault clam {tok}", sender=SENDER, to=RCPT, body=body,
                                   extra_headers=f"{TOKEN_HEADER}: {tok}\r\n"),
               expect_reject=True)


def _clamd_kill(clamd: ClamdLab) -> None:
    assert clamd.proc is not None
    clamd.proc.kill()
    clamd.proc.wait(10)
    clamd.proc = None


def _clamd_restart(clamd: ClamdLab) -> None:
    clamd.socket_path.unlink(missing_ok=True)
    clamd.start()


def _clamd_freeze(clamd: ClamdLab) -> None:
    assert clamd.proc is not None
    clamd.proc.send_signal(signal.SIGSTOP)


def _clamd_thaw(clamd: ClamdLab) -> None:
    assert clamd.proc is not None
    clamd.proc.send_signal(signal.SIGCONT)


@pytest.mark.parametrize(
    ("fault", "scale"),
    [pytest.param("killed", SHORT, id="killed"),
     pytest.param("frozen", SHORT, id="frozen"),
     pytest.param("killed", LONG, id="killed-long", marks=pytest.mark.long),
     pytest.param("frozen", LONG, id="frozen-long", marks=pytest.mark.long)],
)
def test_clamd_killed_or_frozen_under_load_tempfails_never_accepts_unscanned_then_recovers(
    labs: Labs, redis_url: str, sink: Sink, clamd_lab: ClamdLab, fault: str, scale: Scale,
) -> None:
    # Postfix waits up to 120 s for the milter: a 4xx can only come from the milter's own
    # clamd timeout (2 s), not from Postfix giving up on a hung milter.
    lab = labs.make(redis_url, clamav_extra(clamd_lab), PATIENT_TIMEOUTS)
    assert wait_until(lambda: lab.metric("congvu_guard_clamd_up") == 1, timeout=60)
    down, up = ((_clamd_kill, _clamd_restart) if fault == "killed"
                else (_clamd_freeze, _clamd_thaw))
    with Load(lab.port, with_clam_marker, threads=scale.threads) as load:
        assert load.wait(lambda: load._count_locked(lambda a: a.code == 250) >= scale.per_phase
                         and load._count_locked(lambda a: a.code == 550) >= 1, timeout=180)
        for _ in range(scale.cycles):
            down(clamd_lab)
            try:
                assert load.wait_tempfailed(4, timeout=90), load.attempts()[-5:]
                assert lab.metric("congvu_guard_clamd_up") == 0
            finally:
                up(clamd_lab)
            # The probe finds clamd again (every 10 s while down), then mail flows.
            assert wait_until(lambda: lab.metric("congvu_guard_clamd_up") == 1, timeout=90)
            assert load.wait_accepted(scale.per_phase, timeout=180), load.attempts()[-5:]
    assert lab.alive()
    fails = postfix_tempfails(load)
    # The milter's own 451 (clamd unavailable), never Postfix's "milter timed out" 4.7.1.
    assert fails and all(a.code == 451 and "4.3.0" in a.text for a in fails), fails[:5]
    if fault == "frozen":
        assert (lab.metric("congvu_guard_clamd_errors_total") or 0) >= 1  # a scan timed out
    load.retry_pending()
    books = assert_nothing_lost(load, lab, sink)
    assert books["rejected"] >= 1, books
    rejects = [a for m in load.msgs for a in m.attempts if 500 <= a.code < 600]
    assert all(a.code == 550 and "HUE-11.5/clamav" in a.text for a in rejects), rejects[:3]
    for copies in sink_copies(sink, load.run).values():
        assert b"clamav-unavailable" not in copies[0]  # nothing delivered unscanned


# -- 5: the spool directory runs out of space ----------------------------------------------


@pytest.fixture
def tiny_spool(lab_dir: Path) -> Iterator[Path]:
    d = lab_dir / f"spool-{token()}"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(d)],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a 1 MiB tmpfs as the spool directory: {r.stderr.strip()}")
    yield d
    r = subprocess.run(["umount", str(d)], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        subprocess.run(["umount", "-l", str(d)], capture_output=True, timeout=30, check=False)


def _used_bytes(d: Path) -> int:
    st = os.statvfs(d)
    return (st.f_blocks - st.f_bfree) * st.f_frsize


def medium(tok: str, i: int) -> Msg:
    """About 100 KB: over the 64 KiB threshold, so each one is spooled to the tmpfs."""
    return Msg(tok, simple_message(f"fault spool {tok}", sender=SENDER, to=RCPT,
                                   body=("Bao cao quy " + "x" * 64 + "\r\n") * 1300,
                                   extra_headers=f"{TOKEN_HEADER}: {tok}\r\n"))


@pytest.mark.parametrize("scale", [pytest.param(SHORT, id="short"),
                                   pytest.param(LONG, id="long", marks=pytest.mark.long)])
def test_full_spool_disk_answers_452_frees_the_space_and_the_milter_keeps_serving(
    labs: Labs, redis_url: str, sink: Sink, tiny_spool: Path, scale: Scale,
) -> None:
    # body_memory_bytes = 0: every large body goes to the spool disk (none kept in memory).
    extra = (f'[scan]\nspool_threshold_bytes = 65536\nbody_memory_bytes = 0\n'
             f'spool_dir = "{tiny_spool}"\n')
    lab = labs.make(redis_url, extra, PATIENT_TIMEOUTS)
    big_replies: list[Attempt] = []
    with Load(lab.port, medium, threads=scale.threads) as load:
        assert load.wait_accepted(5), load.attempts()[-5:]
        for _ in range(3 * scale.cycles):
            big = load.new(lambda tok, n: Msg(tok, simple_message(
                f"fault big {tok}", sender=SENDER, to=RCPT, body=("Z" * 998 + "\r\n") * 3000,
                extra_headers=f"{TOKEN_HEADER}: {tok}\r\n")))
            big_replies.append(load.send(big))
            assert load.wait_accepted(max(1, scale.per_phase // 15), timeout=180), \
                load.attempts()[-5:]
        assert load.wait_accepted(5), load.attempts()[-5:]
    for a in big_replies:  # 3 MB does not fit in 1 MiB: temporary, with the reason
        assert a.code == 452 and "4.3.1" in a.text and "disk full" in a.text, a
        assert "het dung luong dia" in a.text, a
    assert lab.alive()
    # The failed spool files were given back at once (the load has stopped).
    assert wait_until(lambda: _used_bytes(tiny_spool) < 64 * 1024, timeout=30), \
        _used_bytes(tiny_spool)
    # The next message is served as usual, a spooled one too.
    for make in (plain, medium):
        msg = load.new(make)
        assert load.send(msg).code == 250, msg.attempts
    # The big ones are retried after the operator made room: a bigger spool disk.
    subprocess.run(["mount", "-o", "remount,size=64m", str(tiny_spool)], check=True,
                   timeout=30)
    load.retry_pending()
    books = assert_nothing_lost(load, lab, sink)
    assert books["rejected"] == 0, books
    assert "cannot spool the message body" in lab.milter.process.log()


def _start_with_spool_dir(tmp_path: Path, spool_dir: str) -> subprocess.CompletedProcess[str]:
    cfg = write_milter_config(tmp_path / "c.toml", tmp_path / "run" / "m.sock",
                              "redis://127.0.0.1:1", free_port(),
                              f'[scan]\nspool_dir = "{spool_dir}"\n')
    return subprocess.run(
        [sys.executable, "-m", "congvu_guard", "milter", "--config", str(cfg)],
        capture_output=True, text=True, timeout=120)


def test_a_spool_dir_that_does_not_exist_stops_the_start_with_one_line(tmp_path: Path) -> None:
    r = _start_with_spool_dir(tmp_path, "/nonexistent/spool")
    assert r.returncode == 2, r
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert "[scan] spool_dir: /nonexistent/spool does not exist" in r.stderr


def test_a_read_only_spool_dir_stops_the_start_with_one_line(tmp_path: Path) -> None:
    d = tmp_path / "ro"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(d)],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a read-only tmpfs: {r.stderr.strip()}")
    try:
        r = _start_with_spool_dir(tmp_path, str(d))
    finally:
        subprocess.run(["umount", str(d)], capture_output=True, timeout=30, check=False)
    assert r.returncode == 2, r
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert f"[scan] spool_dir: {d} is not writable" in r.stderr


# -- 6: SIGHUP reloads under load ----------------------------------------------------------

RULE_TEMPLATE = """rule {name}
{{
    meta:
        description = "fault-injection test rule"
        severity = "high"
    strings:
        $m = "{marker}"
    condition:
        $m
}}
"""


def _write_rule(d: Path, name: str, marker: str) -> None:
    tmp = d / "fault.yar.tmp"
    tmp.write_text(RULE_TEMPLATE.format(name=name, marker=marker))
    tmp.rename(d / "fault.yar")


def _with_marker(marker: str) -> MessageMaker:
    def make(tok: str, n: int) -> Msg:
        data = message_with_attachment(f"fault yara {tok}", "ghi-chu.txt",
                                       f"Ghi chu {marker}\n".encode(), sender=SENDER, to=RCPT)
        data = f"{TOKEN_HEADER}: {tok}\r\n".encode() + data
        return Msg(tok, data)
    return make


@pytest.mark.parametrize(("hups", "scale"),
                         [pytest.param(3, SHORT, id="3-hups"),
                          pytest.param(30, LONG, id="30-hups", marks=pytest.mark.long)])
def test_sighup_reloads_under_load_answer_every_message_and_the_new_rule_judges_after(
    labs: Labs, redis_url: str, sink: Sink, lab_dir: Path, hups: int, scale: Scale,
) -> None:
    rules = lab_dir / f"yara-{token()}"
    rules.mkdir()
    t = token()
    old, new = f"CONGVU-FAULT-OLD-{t}", f"CONGVU-FAULT-NEW-{t}"
    _write_rule(rules, "congvu_fault_old", old)
    lab = labs.make(redis_url, f'[scan]\nyara_rules_dirs = ["{rules}"]\n', PATIENT_TIMEOUTS)
    with Load(lab.port, threads=scale.threads) as load:
        assert load.wait_accepted(scale.per_phase, timeout=180), load.attempts()[-5:]
        before = load.new(_with_marker(new))
        assert load.send(before).code == 250, before.attempts  # not known yet
        for i in range(hups):
            if i == hups // 2:
                _write_rule(rules, "congvu_fault_new", new)
            lab.milter.process.signal(signal.SIGHUP)
            assert load.wait_accepted(scale.per_phase // 3, timeout=90), load.attempts()[-5:]

        def new_rule_rejects() -> bool:
            msg = load.new(_with_marker(new))
            a = load.send(msg)
            msg.expect_reject = a.code != 250  # a 250: the reload was not through yet
            return 500 <= a.code < 600
        assert wait_until(new_rule_rejects, timeout=60, step=0.5)
        after_old = load.new(_with_marker(old))
        assert load.send(after_old).code == 250, after_old.attempts  # the old rule is gone
    assert lab.alive()
    rejected = [a for m in load.msgs for a in m.attempts if 500 <= a.code < 600]
    assert len(rejected) == 1 and rejected[0].code == 550, rejected
    assert "HUE-11.5/yara" in rejected[0].text and "congvu_fault_new" in rejected[0].text
    # Every message got an answer, and only the marker message was refused: no tempfail.
    assert postfix_tempfails(load) == [], postfix_tempfails(load)[:5]
    assert "YARA rules reloaded" in lab.milter.process.log()
    load.retry_pending()
    assert_nothing_lost(load, lab, sink)
