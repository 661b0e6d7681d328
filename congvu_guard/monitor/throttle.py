"""Throttling of the page's login (issue 15): failures are counted per source address and
per user name in Redis; beyond ``login_throttle_limit`` each further attempt must wait
2, 4, 8 ... seconds (up to ``login_backoff_max_seconds``) after the last failure. A waiting
attempt is answered 429 before any password hashing, so guessing costs the guesser time
and the monitor nothing. Names are hashed in the key: unknown and real names are treated
alike."""

from __future__ import annotations

import time

from ..state.client import RedisClient
from ..state.throttle import ThrottleCounters, throttle_keys


class LoginThrottle:
    def __init__(self, client: RedisClient, limit: int, max_backoff: int) -> None:
        self.counters = ThrottleCounters(client)
        self.limit = limit
        self.max_backoff = max_backoff

    def wait_seconds(self, remote: str, name: str, now: float | None = None) -> int:
        """How long this address or name must still wait (0: it may try now)."""
        now = time.time() if now is None else now
        wait = 0.0
        for n, until in self.counters.read(remote, name):
            if n is not None and n > self.limit and until is not None:
                wait = max(wait, until - now)
        return int(wait + 0.999) if wait > 0 else 0

    def failed(self, remote: str, name: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for k in throttle_keys(remote, name):
            n = self.counters.count_failure(k)
            delay = min(2 ** min(n - self.limit, 30), self.max_backoff) if n > self.limit else 0
            self.counters.hold_until(k, now + delay, max(3600, 2 * self.max_backoff))

    def succeeded(self, remote: str, name: str) -> None:
        self.counters.forget_name(remote, name)
