"""The rate limiter as the milter's engine sees it: who is counted, is the account locked,
count this message. Redis failures switch to the in-memory fallback (or a tempfail) for a
few seconds at a time and recover by themselves."""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from .. import forksafe
from ..addresses import DomainSet
from ..config import Config
from ..hops import Hop
from ..metrics import Metrics
from ..model import Envelope
from ..state import keys
from ..state.audit import AuditTrail
from ..state.client import RedisClient
from ..state.local_copy import LocalCopy
from ..state.locks import LockChanges, Locked, LockStore, reason_in
from ..state.window import ClockMs, MemoryWindow, RedisWindow
from .model import Lock, RateResult, Status

log = logging.getLogger("congvu_guard.ratelimit")

# The sliding window's member for one message: unique across servers and processes without
# a getrandom() call per message (a system call releases the GIL, and getting it back behind
# busy scan threads cost the end of message up to a switch interval: py-spy showed 4 % of
# the milter's samples there). A random prefix per process, renewed in a forked scan worker
# (milter/pool.py), then a counter.
_member_ids = itertools.count()
_member_prefix = secrets.token_hex(6)


def _renew_member_prefix() -> None:
    global _member_prefix
    _member_prefix = secrets.token_hex(6)


os.register_at_fork(after_in_child=_renew_member_prefix)


def window_member(queue_id: str) -> str:
    return f"{queue_id or 'noqueue'}:{_member_prefix}{next(_member_ids):x}"


BREAKER_SECONDS = 5.0
GAUGE_REFRESH_SECONDS = 30.0


class RateLimitService:
    def __init__(self, config: Config, client: RedisClient, metrics: Metrics, actor: str,
                 clock_ms: ClockMs = lambda: None,
                 lock_copy: LocalCopy[Locked] | None = None) -> None:
        """``lock_copy`` (the milter's) answers the MAIL FROM lock check locally while it
        is fresh; the count at end of message always asks Redis, which also refuses a
        locked account, so a lock made elsewhere a moment ago is never missed."""
        self.cfg = config.ratelimit
        self.lock_copy = lock_copy
        self.official = DomainSet(config.domains.official)
        self.client = client
        self.metrics = metrics
        self.actor = actor  # "milter@mx1": who locks when the limit is crossed
        self.audit = AuditTrail(client, self.cfg.audit_retention_days)
        self.locks = LockStore(client, self.audit)
        self.window = RedisWindow(client, self.cfg, config.bulk_senders, clock_ms)
        self.memory = MemoryWindow(self.cfg, config.bulk_senders)
        self.changes = LockChanges(client, self.cfg, self.audit, actor)
        self.hooks = self.changes.hooks
        self._breaker_until = 0.0
        self._fallback = False
        self._gauge_at = 0.0
        self._mutex = forksafe.lock()
        metrics.ratelimit_limit.set(self.cfg.max_messages)

    # -- who is counted ------------------------------------------------------------------

    def account_for(self, env: Envelope, hop: Hop) -> str:
        """The SASL login; for internal hosts without one, the official envelope sender."""
        if not self.cfg.enabled:
            return ""
        if env.auth_user:
            return env.auth_user
        if (hop is Hop.INTERNAL and self.cfg.unauthenticated == "envelope-sender"
                and self.official.matches_address(env.sender)):
            return env.sender
        return ""

    # -- Redis with a breaker ------------------------------------------------------------

    def _redis(self, op: str, fn: Callable[[], Any]) -> tuple[bool, Any]:
        if time.monotonic() < self._breaker_until:
            return False, None
        t0 = time.perf_counter()
        try:
            value = fn()
        except redis.RedisError as e:
            self.metrics.redis_errors.labels(op).inc()
            self._breaker_until = time.monotonic() + BREAKER_SECONDS
            self._set_fallback(True, f"{type(e).__name__}: {e}")
            return False, None
        self.metrics.redis_duration.labels(op).observe(time.perf_counter() - t0)
        self._set_fallback(False, "")
        return True, value

    def _set_fallback(self, active: bool, why: str) -> None:
        with self._mutex:
            if active == self._fallback:
                return
            self._fallback = active
        self.metrics.ratelimit_fallback.set(1 if active else 0)
        self.metrics.redis_up.set(0 if active else 1)
        if active:
            mode = ("in-memory per-server window" if self.cfg.on_redis_down == "fallback"
                    else "tempfail")
            log.error("redis unreachable (%s): rate limit falls back to %s", why, mode)
        else:
            log.warning("redis reachable again: rate limit is shared across servers again")

    # -- the two questions of the milter -------------------------------------------------

    def lock_reason(self, account: str) -> tuple[str | None, Status]:
        """At MAIL FROM: the reason the account is locked (None when it is not)."""
        locked = self.lock_copy.get() if self.lock_copy is not None else None
        if locked is not None:
            reason = reason_in(locked, account, time.time())
            return reason, Status.LOCKED if reason else Status.OK
        ok, reason = self._redis("lock_check", lambda: self.locks.reason_of(account))
        if ok:
            return reason, Status.LOCKED if reason else Status.OK
        if self.cfg.on_redis_down == "tempfail":
            return None, Status.UNAVAILABLE
        lock = self.memory.lock_of(account)
        return (lock.reason if lock else None), Status.LOCKED if lock else Status.OK

    def record(self, account: str, queue_id: str, nrcpt: int) -> RateResult:
        """At end of message, for mail about to be accepted: count it, or lock."""
        member = window_member(queue_id)
        ok, result = self._redis("record",
                                 lambda: self.window.record(account, member, nrcpt, self.actor))
        if not ok:
            if self.cfg.on_redis_down == "tempfail":
                result = RateResult(Status.UNAVAILABLE, keys.normalize(account))
            else:
                result = self.memory.record(account, member, nrcpt, self.actor)
        self.metrics.ratelimit_checks.labels(result.status.value).inc()
        if result.status is Status.OK:
            self._export_busiest(result.account, result.count)
        if result.status is Status.EXCEEDED and result.lock is not None:
            self.metrics.locks.labels(result.lock.reason).inc()
            log.warning("account %s locked (%s): %s messages in %s s, limit %s%s",
                        result.account, result.lock.reason, result.count,
                        result.window_seconds, result.limit,
                        " [in-memory fallback]" if result.fallback else "")
            if not result.fallback:
                lock = result.lock
                ok, _ = self._redis("announce", lambda: self.locks.announce(lock))
                if not ok:
                    log.error("lock of %s could not be announced to the other servers "
                              "(their end-of-message check still refuses it)", lock.account)
                self._after_lock(lock)
        self._refresh_gauge()
        return result

    def lock_for_malware(self, account: str, detail: str, queue_id: str) -> None:
        """HUE-13.2c: an authenticated user sent malware: lock the account now."""
        acct = keys.normalize(account)

        def lock() -> Lock | None:
            if self.locks.get(acct) is not None:
                return None
            return self.locks.lock(acct, "HUE-13.2c", by=self.actor,
                                   note=f"malware sent: {detail}"[:500],
                                   evidence={"queue_id": queue_id})

        ok, lock_made = self._redis("lock", lock)
        if ok and lock_made is not None:
            self.metrics.locks.labels("HUE-13.2c").inc()
            log.warning("account %s locked (HUE-13.2c): sent malware (%s)", acct, detail)
            # Off the mail path: a hook queue writes its request file and audits it.
            threading.Thread(target=self.changes.after, args=("lock", acct),
                             name="after-lock", daemon=True).start()

    def _export_busiest(self, account: str, count: int) -> None:
        """The busiest accounts go to the monitor's API (state/top.py), never to metric labels."""
        self.metrics.top_senders.set(account, count)

    # -- side effects of a lock, off the mail path ---------------------------------------

    def _after_lock(self, lock: Lock) -> None:
        def work() -> None:
            ok, _ = self._redis("audit", lambda: self.locks.record_automatic(lock))
            if not ok:
                log.error("lock of %s could not be written to the audit trail", lock.account)
            self.changes.after("lock", lock.account)

        threading.Thread(target=work, name="after-lock", daemon=True).start()

    def refresh_exports(self) -> None:
        """Rewrite the export files now, through the breaker (one pipelined read)."""
        if not self.changes.exporting:
            return
        try:
            self._redis("list_locks", self.changes.write_exports)
        except (OSError, RuntimeError) as e:
            log.error("could not refresh the lock export files: %s", e)

    def _refresh_gauge(self) -> None:
        now = time.monotonic()
        if now - self._gauge_at < GAUGE_REFRESH_SECONDS:
            return
        self._gauge_at = now
        ok, n = self._redis("count_locks", self.locks.count)
        if ok:
            self.metrics.locked_accounts.set(n)
