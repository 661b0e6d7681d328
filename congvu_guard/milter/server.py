"""Start the milter: build the shared services, prepare the socket, run libmilter."""

from __future__ import annotations

import faulthandler
import grp
import logging
import os
import signal
import socket
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import Milter
import milter as libmilter

from ..config import Config
from ..detectors.yara_scan import YaraScanner
from ..engine import Engine
from ..metrics import Metrics
from ..ratelimit.service import RateLimitService
from ..sdnotify import Watchdog, notify
from ..services.clamd import Clamd
from ..services.ioc import IocService
from ..state import ioc, locks
from ..state.client import RedisClient
from ..state.embedded import open_redis
from ..state.ioc import IocStore, Listed
from ..state.local_copy import LocalCopy
from ..state.locks import Locked
from ..state.stamp_key import StampKeySource
from ..state.top import Publisher
from ..store import RedisStore
from ..validate import validate
from .adapter import GuardMilter, Services
from .gate import ScanGate
from .limits import raise_packet_limit
from .memory import tune_malloc
from .pool import ScanPool

log = logging.getLogger("congvu_guard.milter")

# libmilter's own signal thread waits for these; every other thread must block them.
_MILTER_SIGNALS = {signal.SIGTERM, signal.SIGHUP, signal.SIGINT}


def unix_socket_path(spec: str) -> Path | None:
    if spec.startswith(("unix:", "local:")):
        return Path(spec.split(":", 1)[1])
    return None


def prepare_socket_dir(path: Path, group: str) -> None:
    """Create the socket's directory (setgid, group ``group``) so Postfix can reach it.

    A directory that already exists (e.g. systemd's RuntimeDirectory) is left as it is.
    """
    parent = path.parent
    try:
        gid = grp.getgrnam(group).gr_gid if group else -1
    except KeyError:
        log.warning("socket group %r does not exist; socket group left as is", group)
        gid = -1
    if parent.exists():
        st = parent.stat()
        inherits = st.st_mode & stat.S_ISGID and st.st_gid == gid
        if gid >= 0 and not inherits and os.getegid() != gid:
            log.warning("socket directory %s is not setgid %s: the socket will belong to "
                        "group %d and Postfix may be unable to connect", parent, group,
                        os.getegid())
        return
    parent.mkdir(parents=True, mode=0o750)
    if gid >= 0:
        os.chown(parent, -1, gid)
        os.chmod(parent, 0o2750)


def _local_copies(client: RedisClient, metrics: Metrics,
                  ) -> tuple[LocalCopy[Locked], LocalCopy[Listed]]:
    """The locks and the IOC blocklist, read locally instead of once per message."""

    def made(name: str, load: Callable[[Any], Any]) -> LocalCopy[Any]:
        gauge = metrics.local_copy_fresh.labels(name)
        return LocalCopy(client, name, load,
                         on_fresh=lambda fresh: gauge.set(1 if fresh else 0)).start()

    return made(locks.COPY_NAME, locks.load_locked), made(ioc.COPY_NAME, ioc.load_listed)


def run(config: Config) -> int:
    validate(config, ("milter",))  # the same checks as check-config, before anything starts
    faulthandler.enable()  # a crash in C code (libmilter, yara, redis) leaves a traceback
    tune_malloc()
    metrics = Metrics()
    metrics.set_scan_budget(config.scan.time_budget_seconds, config.scan.max_expanded_bytes)
    yara = YaraScanner(config.scan.yara_rules_dirs, config.scan.yara_timeout_seconds)
    clamd: Clamd | None = None
    copies: tuple[LocalCopy[Locked], LocalCopy[Listed]] | tuple[()] = ()
    publisher: Publisher | None = None
    pool: ScanPool | None = None
    store: RedisStore | None = None
    opened = open_redis(config.redis)  # [redis] url, else the embedded Redis, started
    client, url = opened.client, opened.url
    try:
        store = RedisStore(client, url, metrics)
        redis_status = "redis answered"
        if not store.ping():
            log.warning("redis at %s is down; starting anyway, shared state is unavailable", url)
            redis_status = "redis DOWN (fallback limits)"
        hostname = socket.getfqdn()
        copies = _local_copies(client, metrics)
        publisher = Publisher(client, hostname, metrics.top_senders,
                              metrics.top_forwarders).start()
        limiter = RateLimitService(config, client, metrics, actor=f"milter@{hostname}",
                                   lock_copy=copies[0])
        ioc_lookup = IocService(IocStore(client, copies[1]), config.ratelimit.on_redis_down,
                                metrics)
        if config.clamav.enabled:
            metrics.clamd_enabled.set(1)
            clamd = Clamd(config.clamav, metrics)
            clamd.start_probing()
        engine = Engine(config, stamp_key=StampKeySource(config.forwarding, store),
                        stamping=True, limiter=limiter, yara=yara, clamd=clamd, ioc=ioc_lookup)
        sock_path = unix_socket_path(config.milter.socket)
        if sock_path is not None:
            prepare_socket_dir(sock_path, config.milter.socket_group)
            os.umask(0o777 & ~int(config.milter.socket_mode, 8))
        if not config.report.address:
            log.warning("[report] address is empty: suspect mail will be rejected, not "
                        "routed to a report box (HUE-11.11)")
        if config.scan.workers:  # forked now: the engine and its YARA rules are built
            pool = ScanPool(engine, config.scan.workers, metrics, after_fork=(
                *(copy.after_fork for copy in copies),
                *((clamd.after_fork,) if clamd is not None else ())))
        GuardMilter.services = Services(
            engine, metrics, store, hostname,
            ScanGate(config.scan.large_scan_concurrency, config.scan.large_scan_bytes),
            config.scan.spool_threshold_bytes, config.scan.spool_dir, pool)
        Milter.factory = GuardMilter
        raise_packet_limit()
        return _serve(config, metrics, yara, redis_status, pool)
    finally:
        if pool is not None:
            pool.close()
        if publisher is not None:
            publisher.stop()
        if store is not None:
            store.close()  # the day counters still in memory
        for copy in copies:
            copy.stop()
        if clamd is not None:
            clamd.stop()
        opened.close()


def _serve(config: Config, metrics: Metrics, yara: YaraScanner, redis_status: str,
           pool: ScanPool | None = None) -> int:
    """Run libmilter in a thread of its own; the main thread handles the signals.

    libmilter stops on SIGHUP, so it must never see one: every thread but this one blocks
    SIGHUP/SIGTERM/SIGINT (Linux gives a process signal to the main thread first when it
    accepts it). SIGHUP reloads the YARA rules without dropping connections (and replaces
    the scan workers, which fork with the new rules); SIGTERM and
    SIGINT stop libmilter, which finishes the connections in progress.

    Under systemd (Type=notify) READY=1 goes out once libmilter's socket listens (Redis was
    asked before), so ``Before=postfix.service`` really makes Postfix wait for it; the loop
    below sends the watchdog keep-alives while libmilter's thread lives.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, _MILTER_SIGNALS)
    if config.metrics.listen:
        metrics.serve(config.metrics.listen)
    failure: list[BaseException] = []
    listening = _watch_opensocket()

    def milter_main() -> None:
        try:
            Milter.runmilter(config.milter.name, config.milter.socket,
                             config.milter.timeout_seconds)
        except BaseException as e:  # noqa: BLE001 - handed to the main thread, which reports it
            failure.append(e)

    worker = threading.Thread(target=milter_main, name="libmilter", daemon=True)
    worker.start()
    reload_wanted = threading.Event()
    stop_wanted = threading.Event()
    signal.signal(signal.SIGHUP, lambda *_: reload_wanted.set())
    signal.signal(signal.SIGTERM, lambda *_: stop_wanted.set())
    signal.signal(signal.SIGINT, lambda *_: stop_wanted.set())
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _MILTER_SIGNALS)
    log.info("congvu-guard milter listening on %s (config %s)", config.milter.socket,
             config.source)
    stopping = False
    ready = False
    watchdog = Watchdog()
    while worker.is_alive():
        worker.join(0.2)
        if not ready and listening.is_set():
            ready = True
            notify("READY=1", f"STATUS=listening on {config.milter.socket}; {redis_status}")
        if ready and not stopping:
            watchdog.tick()
        if reload_wanted.is_set():
            reload_wanted.clear()
            log.info("SIGHUP: reloading YARA rules")
            if yara.reload() and pool is not None:
                pool.recycle()
        if stop_wanted.is_set() and not stopping:
            stopping = True
            log.info("stopping: finishing the connections in progress")
            notify("STOPPING=1")
            libmilter.stop()
    if failure:
        log.error("libmilter failed: %s", failure[0])
        return 1
    log.info("congvu-guard milter stopped")
    return 0


def _watch_opensocket() -> threading.Event:
    """An event set once libmilter's listening socket is open.

    ``Milter.runmilter`` calls ``milter.opensocket`` (smfi_opensocket: socket, bind,
    listen) and then ``milter.main``; wrapping opensocket is the one exact moment Postfix
    can connect, without a probe connection that libmilter would log as a failed session.
    """
    listening = threading.Event()
    real = getattr(libmilter.opensocket, "__wrapped__", libmilter.opensocket)

    def opensocket(rmsock: bool) -> Any:
        result = real(rmsock)
        listening.set()
        return result

    opensocket.__wrapped__ = real  # type: ignore[attr-defined]
    libmilter.opensocket = opensocket
    return listening
