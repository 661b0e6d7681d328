"""Worker processes for the end-of-message scan of large messages (``[scan] workers``,
issue 17).

Parsing, archive expansion and most detectors hold the GIL, so one milter process scans
on about one core however many threads libmilter runs. With ``workers = N`` the scan of a
*spooled* message (larger than ``spool_threshold_bytes``) runs in one of N processes
forked from the milter after the engine is built: the YARA rules are compiled once and
shared copy-on-write. Smaller mail stays in the milter's threads (the measurement is in
``GuardMilter.judge``, adapter.py).

- **What crosses.** The envelope and the header section are pickled; the body is not: the
  spool file's descriptor is passed over the worker's unix socket (SCM_RIGHTS) and read
  with ``pread`` at offset 0, so the milter never copies a large body to send it.
- **Failures never lose mail.** A worker that dies (SIGKILL, OOM killer, a crash in C), a
  worker that does not answer within ``answer_seconds``, or an exception in the scan ends
  that message with :class:`PoolError`; the adapter's ``guarded`` path answers 451 and the
  dead or stuck worker is killed and replaced by a fresh fork. The next message is served.
- **SIGHUP.** The milter reloads YARA in the parent, then :meth:`ScanPool.recycle`: idle
  workers are stopped at once, busy ones when their scan ends, and the new ones fork with
  the new rules. No scan in progress is interrupted by a reload.
- **Fork safety.** Workers are forked (``os.fork``) only by the pool's own Python thread,
  never by a libmilter thread (pymilter manages thread states by hand, see yara_scan.py).
  A new worker first lets go of the descriptors it inherited and must not hold
  (:func:`_let_go_of_inherited`). Threads do not survive a fork, so each worker restarts
  what ran on threads in the parent: YARA's scanning thread pool (always) and the
  ``after_fork`` hooks the server gives (the local copies' refresh threads, clamd's
  probe). redis-py pools notice the new pid and open the worker's own connections: no
  socket is shared with the parent (tests/test_scan_pool.py). A lock that another thread
  held at the fork would stay held in the worker: the locks on the scan path come from
  ``forksafe`` and are released in the child; any other would hang that worker until
  ``answer_seconds`` (451, and a new fork).
- **State per process.** Whatever the engine keeps in memory is per worker: the verdict
  cache (a repeated attachment is judged once per worker), the DNS cache, and, while Redis
  is down with ``on_redis_down = "fallback"``, the in-memory send-rate window (each worker
  then counts the large messages it judged; the Redis window, the normal case, is shared).
- **Metrics.** Workers keep no Prometheus state: :class:`MetricJournal` stands in for every
  metric of the worker's copy of :class:`Metrics`, records each call (``labels(...).inc()``,
  ``observe(x)``, ``top_senders.set(...)``) and the list goes back with the verdict; the
  parent replays it on its real metrics, and records the verdict's own metrics as for an
  in-thread scan. prometheus-client's multiprocess mode was not used: it needs a directory
  set before the library is imported and wiped at every start, changes how every gauge is
  aggregated, does not carry the custom top-senders collectors, and makes every scrape read
  one file per process that ever lived.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import stat
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe
from multiprocessing.reduction import recv_handle, send_handle
from typing import Any

from ..engine import Engine
from ..metrics import Metrics
from ..model import Envelope, Verdict

log = logging.getLogger("congvu_guard.milter.pool")

# A worker that has not answered by then is taken for stuck (a deadlock inherited from a
# fork, a scan that ignores its budget): killed, and the message gets 451. The scan budget
# is 2 s by default (60 s at most); 240 s stays under Postfix's milter_content_timeout
# (300 s), so the 451 is ours, logged and counted, and not Postfix's default action.
ANSWER_SECONDS = 240.0

# Signals for the milter's main thread only: a worker must not stop on the SIGTERM that
# systemd sends to the whole cgroup while the parent finishes the connections in progress.
_PARENT_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


class PoolError(RuntimeError):
    """The pool could not judge this message: the caller answers 451 (never lose mail)."""


@dataclass(frozen=True)
class ScanRequest:
    envelope: Envelope
    head: bytes  # the header section and the blank line after it
    body_size: int  # bytes of body in the spool file passed with the request
    transmitted_size: int


Op = tuple[Any, ...]  # attribute names (str) and calls ((args, kwargs)) from the Metrics


class _Recorder:
    """Stands in for one metric (or its labelled child) in a worker."""

    def __init__(self, ops: list[Op | None], path: Op, made_by: int | None = None) -> None:
        self._ops = ops
        self._path = path
        self._made_by = made_by  # the op of the call that returned this object

    def __getattr__(self, name: str) -> _Recorder:
        if name.startswith("__"):
            raise AttributeError(name)
        at = self._made_by
        if at is not None and at < len(self._ops) and self._ops[at] is self._path:
            self._ops[at] = None  # labels(...) was a step, not a metric update
        return _Recorder(self._ops, (*self._path, name))

    def __call__(self, *args: Any, **kwargs: Any) -> _Recorder:
        path = (*self._path, (args, kwargs))
        self._ops.append(path)
        return _Recorder(self._ops, path, len(self._ops) - 1)


class MetricJournal:
    """Every metric update made in a worker, replayed by the parent on its own metrics."""

    def __init__(self) -> None:
        self._ops: list[Op | None] = []

    def install(self, metrics: Metrics) -> None:
        """Replace the metrics of this (forked) process's copy by recorders."""
        for name in list(vars(metrics)):
            if name != "registry":
                setattr(metrics, name, _Recorder(self._ops, (name,)))

    def take(self) -> list[Op]:
        """The updates so far; those a thread of the worker (clamd's probe) records
        meanwhile stay for the next message's reply."""
        n = len(self._ops)
        ops = [op for op in self._ops[:n] if op is not None]
        del self._ops[:n]
        return ops

    @staticmethod
    def replay(metrics: Metrics, ops: Sequence[Op]) -> None:
        for op in ops:
            target: Any = metrics
            try:
                for step in op:
                    if isinstance(step, str):
                        target = getattr(target, step)
                    else:
                        args, kwargs = step
                        target = target(*args, **kwargs)
            except Exception:  # a metric must never cost a verdict
                log.exception("cannot replay a worker's metric update %r", op)


def read_body(fd: int, head: bytes, size: int) -> bytearray:
    """The header section and the spooled body in one buffer; ``pread`` at absolute
    offsets leaves the file position the parent shares with this descriptor alone."""
    buf = bytearray(len(head) + size)
    buf[: len(head)] = head
    view = memoryview(buf)[len(head):]
    done = 0
    while done < size:
        n = os.preadv(fd, [view[done:]], done)
        if n == 0:
            raise PoolError(f"spool file ended at {done} of {size} bytes")
        done += n
    return buf


def _worker_main(conn: Connection, engine: Engine, metrics: Metrics | None,
                 after_fork: Sequence[Callable[[], None]]) -> None:
    for sig in _PARENT_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _PARENT_SIGNALS)
    journal = MetricJournal()
    if metrics is not None:
        journal.install(metrics)
    engine.yara.after_fork()
    for hook in after_fork:
        hook()
    while True:
        try:
            request = conn.recv()
        except (EOFError, OSError):
            return  # the milter went away
        if request is None:
            return
        try:
            fd = recv_handle(conn)
            try:
                raw = read_body(fd, request.head, request.body_size)
            finally:
                os.close(fd)
            verdict = engine.check_message(request.envelope, raw, request.transmitted_size)
            reply: tuple[Any, ...] = ("ok", verdict, journal.take())
        except Exception:  # noqa: BLE001 - reported to the parent, which answers 451
            reply = ("error", traceback.format_exc(), journal.take())
        conn.send(reply)


def _let_go_of_inherited(keep: int) -> None:
    """In a new worker: point every descriptor the fork copied and this process must not
    hold at /dev/null: pipes (a fork in the middle of another thread's ``subprocess`` start
    kept its exec-error pipe open, and ``Popen`` waited for EOF until the worker exited:
    the milter hung at start in the first version of this pool), sockets (Postfix's
    connections, the listening socket, the parent's Redis connections: closed by the
    parent, they must not live on in a worker), and deleted files (other messages' spool
    files: their space must come back when the parent closes them). ``dup2`` rather than
    ``close``: the Python objects that own these numbers may close them later, and must
    not close a descriptor this process opened since under the same number."""
    devnull = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd <= 2 or fd in (keep, devnull):
            continue
        try:
            st = os.fstat(fd)
        except OSError:
            continue  # the directory listing's own descriptor
        if stat.S_ISFIFO(st.st_mode) or stat.S_ISSOCK(st.st_mode) or (
                stat.S_ISREG(st.st_mode) and st.st_nlink == 0):
            os.dup2(devnull, fd, inheritable=False)
    os.close(devnull)


class _Worker:
    """One forked process and the parent's end of its unix socket pair. ``os.fork``
    rather than multiprocessing's Process: its sentinel pipe is one more inherited
    descriptor, and the pool reaps its workers itself."""

    def __init__(self, pool: ScanPool, generation: int) -> None:
        self.generation = generation
        self.exitcode: int | None = None
        self.conn, child = Pipe(duplex=True)
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                self.conn.close()
                _let_go_of_inherited(child.fileno())
                _worker_main(child, pool.engine, pool.metrics, pool.after_fork)
                code = 0
            except BaseException:  # noqa: BLE001 - the parent sees the worker gone
                traceback.print_exc()
            finally:
                os._exit(code)
        self.pid = pid
        child.close()

    def is_alive(self) -> bool:
        if self.exitcode is not None:
            return False
        try:
            done, status = os.waitpid(self.pid, os.WNOHANG)
        except ChildProcessError:
            self.exitcode = -1
            return False
        if done == 0:
            return True
        self.exitcode = os.waitstatus_to_exitcode(status)
        return False

    def call(self, request: ScanRequest, fd: int, timeout: float) -> tuple[Any, ...]:
        self.conn.send(request)
        send_handle(self.conn, fd, self.pid)
        if not self.conn.poll(timeout):
            raise PoolError(f"scan worker {self.pid} did not answer within {timeout:g} s")
        reply: tuple[Any, ...] = self.conn.recv()  # EOFError when the worker died
        return reply

    def stop(self) -> None:
        """Ask the worker to exit; killed if it has not within 2 s."""
        with contextlib.suppress(OSError):
            self.conn.send(None)
        deadline = time.monotonic() + 2
        while self.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.kill()

    def kill(self) -> None:
        if self.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                _, status = os.waitpid(self.pid, 0)
                self.exitcode = os.waitstatus_to_exitcode(status)
        self.conn.close()


class ScanPool:
    """``size`` worker processes that run ``engine.check_message`` on spooled messages."""

    def __init__(self, engine: Engine, size: int, metrics: Metrics | None = None,
                 after_fork: Sequence[Callable[[], None]] = (),
                 answer_seconds: float = ANSWER_SECONDS) -> None:
        if size < 1:
            raise ValueError("a scan pool needs at least one worker")
        self.engine = engine
        self.size = size
        self.metrics = metrics
        self.after_fork = tuple(after_fork)
        self.answer_seconds = answer_seconds
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._live = 0  # idle + busy workers of any generation
        self._retire: list[_Worker] = []
        self._generation = 1
        self._closed = False
        self._forker = threading.Thread(target=self._keep_full, name="scan-pool", daemon=True)
        self._forker.start()

    # -- the milter's side -------------------------------------------------------------------

    def scan(self, envelope: Envelope, head: bytes, body_fd: int, body_size: int,
             transmitted_size: int) -> Verdict:
        """The verdict of a worker on the message whose body is in file ``body_fd``."""
        worker = self._take()
        request = ScanRequest(envelope, head, body_size, transmitted_size)
        try:
            reply = worker.call(request, body_fd, self.answer_seconds)
        except BaseException as e:
            self._lost(worker)
            if isinstance(e, PoolError):
                raise
            raise PoolError(f"scan worker {worker.pid} failed: {type(e).__name__}: {e}") from e
        self._give_back(worker)
        kind, value, ops = reply
        if self.metrics is not None:
            MetricJournal.replay(self.metrics, ops)
        if kind != "ok":
            raise PoolError(f"scan failed in worker {worker.pid}:\n{value}")
        verdict: Verdict = value
        return verdict

    def recycle(self) -> None:
        """After a rule reload: every worker is replaced by one forked from now on."""
        with self._cond:
            self._generation += 1
            old, self._idle = self._idle, []
            self._live -= len(old)
            self._retire.extend(old)
            self._cond.notify_all()
        log.info("scan workers recycled (generation %d)", self._generation)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers, self._idle = self._idle, []
            self._live -= len(workers)
            self._cond.notify_all()
        self._forker.join(5)
        for w in workers:
            w.stop()

    @property
    def pids(self) -> list[int]:
        """The idle workers' process ids (for tests and the log)."""
        with self._cond:
            return [w.pid for w in self._idle]

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Until every worker of the current generation is forked and idle."""
        with self._cond:
            return self._cond.wait_for(
                lambda: len(self._idle) == self.size
                and all(w.generation == self._generation for w in self._idle), timeout)

    # -- bookkeeping ---------------------------------------------------------------------------

    def _take(self) -> _Worker:
        """An idle worker that is alive: one killed while idle is replaced and costs no
        message a 451 (unless it dies between this check and the request)."""
        deadline = time.monotonic() + self.answer_seconds
        while True:
            with self._cond:
                while not self._idle:
                    if self._closed:
                        raise PoolError("the scan pool is closed")
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._cond.wait(left):
                        raise PoolError("no scan worker became free")
                worker = self._idle.pop()
            if worker.is_alive():
                return worker
            self._lost(worker)

    def _give_back(self, worker: _Worker) -> None:
        with self._cond:
            if worker.generation == self._generation and not self._closed:
                self._idle.append(worker)
            else:
                self._live -= 1
                self._retire.append(worker)
            self._cond.notify_all()

    def _lost(self, worker: _Worker) -> None:
        """A worker died, hung or broke its protocol: kill it; the forker replaces it."""
        worker.kill()
        log.error("scan worker %d lost (exit code %s); a new one is forked", worker.pid,
                  worker.exitcode)
        with self._cond:
            self._live -= 1
            self._cond.notify_all()

    def _keep_full(self) -> None:
        """The pool's own thread: stops retired workers, replaces idle ones that died
        (checked every second), and forks new ones."""
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or self._retire
                                    or self._live < self.size, timeout=1.0)
                dead = [w for w in self._idle if not w.is_alive()]
                for w in dead:
                    self._idle.remove(w)
                self._live -= len(dead)
                retire, self._retire = self._retire + dead, []
                closed = self._closed
                wanted = 0 if closed else self.size - self._live
                generation = self._generation
                self._live += wanted
            for w in dead:
                log.error("scan worker %d died while idle (exit code %s); a new one is forked",
                          w.pid, w.exitcode)
            for w in retire:
                w.stop()
            for _ in range(wanted):
                try:
                    worker = _Worker(self, generation)
                except OSError:
                    log.exception("cannot fork a scan worker; trying again in 1 s")
                    with self._cond:
                        self._live -= 1
                    time.sleep(1)
                    continue
                self._give_back(worker)
            if closed:
                return
