"""The sliding window: in Redis (one Lua script, atomic, shared by every mail server) and
in process memory (the fallback while Redis is unreachable: per server, not global)."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable, Mapping
from importlib import resources

from .. import forksafe
from ..config import RateLimitConfig
from ..ratelimit.model import Lock, RateResult, Status
from . import keys
from .client import RedisClient, text
from .locks import lock_from_hash

RULE = "HUE-13.2d"
_SCRIPT = resources.files(__package__).joinpath("window.lua").read_text(encoding="utf-8")
ClockMs = Callable[[], int | None]  # None = use Redis server time



class RedisWindow:
    """Check and count in one atomic step; the message that crosses the limit locks."""

    def __init__(self, client: RedisClient, cfg: RateLimitConfig, bulk: Mapping[str, int],
                 clock_ms: ClockMs = lambda: None) -> None:
        self.client = client
        self.cfg = cfg
        self.bulk = {keys.normalize(k): v for k, v in bulk.items()}
        self.clock_ms = clock_ms
        self.script = client.register_script(_SCRIPT)

    def record(self, account: str, member: str, nrcpt: int, by: str) -> RateResult:
        acct = keys.normalize(account)
        now = self.clock_ms()
        limit = self.bulk.get(acct, self.cfg.max_messages)
        window_ms = self.cfg.window_seconds * 1000
        res = self.script(
            keys=[keys.messages(acct), keys.recipients(acct), keys.lock(acct), keys.bulk(acct)],
            args=["" if now is None else str(now), window_ms, limit, self.cfg.max_recipients,
                  nrcpt, member, RULE, by, self.cfg.lock_expiry_seconds * 1000],
        )
        status = Status(text(res[0]))
        count, limit = int(res[1]), int(res[3])
        lock = None
        if status is Status.EXCEEDED:
            lock = Lock(
                account=acct, reason=RULE, by=by, at=int(res[5]) / 1000,
                evidence={"kind": text(res[6]), "count": str(count),
                          "recipients": str(res[2]), "limit": str(limit),
                          "window_ms": str(window_ms), "sample": text(res[7]),
                          "trigger": member},
                expires_at=(int(res[5]) / 1000 + self.cfg.lock_expiry_seconds)
                if self.cfg.lock_expiry_seconds else None,
            )
        elif status is Status.LOCKED:
            lock = lock_from_hash(acct, self.client.hgetall(keys.lock(acct)))
        return RateResult(status, acct, count, limit, self.cfg.window_seconds, lock)


class MemoryWindow:
    """The same rule in one process's memory: used only while Redis is unreachable."""

    def __init__(self, cfg: RateLimitConfig, bulk: Mapping[str, int],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.bulk = {keys.normalize(k): v for k, v in bulk.items()}
        self.clock = clock
        self.windows: dict[str, collections.deque[float]] = {}
        self.locks: dict[str, Lock] = {}
        self.mutex = forksafe.lock()

    def lock_of(self, account: str) -> Lock | None:
        with self.mutex:
            return self.locks.get(keys.normalize(account))

    def record(self, account: str, member: str, nrcpt: int, by: str) -> RateResult:
        acct = keys.normalize(account)
        limit = self.bulk.get(acct, self.cfg.max_messages)
        with self.mutex:
            if acct in self.locks:
                return RateResult(Status.LOCKED, acct, 0, limit, self.cfg.window_seconds,
                                  self.locks[acct], fallback=True)
            if limit < 0:
                return RateResult(Status.UNLIMITED, acct, fallback=True)
            now = self.clock()
            q = self.windows.setdefault(acct, collections.deque())
            while q and now - q[0] >= self.cfg.window_seconds:
                q.popleft()
            if len(q) + 1 > limit:
                lock = Lock(acct, RULE, by, time.time(),
                            {"kind": "messages", "count": str(len(q)), "limit": str(limit),
                             "trigger": member, "fallback": "in-memory"})
                self.locks[acct] = lock
                return RateResult(Status.EXCEEDED, acct, len(q), limit,
                                  self.cfg.window_seconds, lock, fallback=True)
            q.append(now)
            self._forget_idle(now)
            return RateResult(Status.OK, acct, len(q), limit, self.cfg.window_seconds,
                              fallback=True)

    def _forget_idle(self, now: float) -> None:
        if len(self.windows) > 10_000:
            for acct in [a for a, q in self.windows.items()
                         if not q or now - q[-1] >= self.cfg.window_seconds]:
                del self.windows[acct]
