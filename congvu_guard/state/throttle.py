"""Counters of the page's failed logins (issue 15), per source address and per user name:
one hash per key with ``n`` (failures) and ``until`` (the time the next attempt may come).
The back-off policy is ``monitor/throttle.py``'s; this repository only keeps the counters.
Names are hashed in the key, so unknown and real names are treated alike."""

from __future__ import annotations

import hashlib

from . import keys
from .client import RedisClient


def throttle_keys(remote: str, name: str) -> list[str]:
    """The address's key, then the name's."""
    digest = hashlib.sha256(name.strip().lower().encode("utf-8", "surrogatepass")).hexdigest()
    return [keys.login_throttle_ip(remote), keys.login_throttle_name(digest[:32])]


class ThrottleCounters:
    def __init__(self, client: RedisClient) -> None:
        self.client = client

    def read(self, remote: str, name: str) -> list[tuple[int | None, float | None]]:
        """(failures, until) of the address and the name; None where nothing is kept."""
        pipe = self.client.pipeline(transaction=False)
        for k in throttle_keys(remote, name):
            pipe.hmget(k, ["n", "until"])
        return [(None if n is None else int(n), None if until is None else float(until))
                for n, until in pipe.execute()]

    def count_failure(self, key: str) -> int:
        """One more failure under ``key``; the new count."""
        return int(self.client.hincrby(key, "n", 1))

    def hold_until(self, key: str, until: float, ttl: int) -> None:
        self.client.hset(key, "until", f"{until:.3f}")
        self.client.expire(key, ttl)

    def forget_name(self, remote: str, name: str) -> None:
        """A success clears the name's failures (the address keeps its own)."""
        self.client.delete(throttle_keys(remote, name)[1])
