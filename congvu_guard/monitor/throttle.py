"""Throttling of the page's login (issue 15): failures are counted per source address and
per user name in Redis; beyond ``login_throttle_limit`` each further attempt must wait
2, 4, 8 ... seconds (up to ``login_backoff_max_seconds``) after the last failure. A waiting
attempt is answered 429 before any password hashing, so guessing costs the guesser time
and the monitor nothing. Names are hashed in the key: unknown and real names are treated
alike."""

from __future__ import annotations

import hashlib
import time

from ..state import keys
from ..state.client import RedisClient


def _keys(remote: str, name: str) -> list[str]:
    digest = hashlib.sha256(name.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()
    return [keys.login_throttle_ip(remote), keys.login_throttle_name(digest[:32])]


class LoginThrottle:
    def __init__(self, client: RedisClient, limit: int, max_backoff: int) -> None:
        self.client = client
        self.limit = limit
        self.max_backoff = max_backoff

    def wait_seconds(self, remote: str, name: str, now: float | None = None) -> int:
        """How long this address or name must still wait (0: it may try now)."""
        now = time.time() if now is None else now
        pipe = self.client.pipeline(transaction=False)
        for k in _keys(remote, name):
            pipe.hmget(k, ["n", "until"])
        wait = 0.0
        for n, until in pipe.execute():
            if n is not None and int(n) > self.limit and until is not None:
                wait = max(wait, float(until) - now)
        return int(wait + 0.999) if wait > 0 else 0

    def failed(self, remote: str, name: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        for k in _keys(remote, name):
            n = int(self.client.hincrby(k, "n", 1))
            delay = min(2 ** min(n - self.limit, 30), self.max_backoff) if n > self.limit else 0
            self.client.hset(k, "until", f"{now + delay:.3f}")
            self.client.expire(k, max(3600, 2 * self.max_backoff))

    def succeeded(self, remote: str, name: str) -> None:
        self.client.delete(_keys(remote, name)[1])
