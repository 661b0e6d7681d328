"""Failed-login counters (BP-6.2d; issue 15): per account within the window (a sorted set
of failures), per (account, source address) for the tarpit, and per source address for
names that are not known accounts. Every counter lives for the window after its last
failure. What the counts mean (lock, tarpit) is ``monitor/logins.py``'s."""

from __future__ import annotations

import secrets

from . import keys
from .client import RedisClient


class LoginCounters:
    def __init__(self, client: RedisClient) -> None:
        self.client = client

    def unknown_failures(self, remote: str) -> int:
        """Failures of names that are not known accounts, from this address."""
        return int(self.client.get(keys.login_unknown(remote)) or 0)

    def tarpit_failures(self, account: str, remote: str) -> int:
        return int(self.client.get(keys.login_tarpit(account, remote)) or 0)

    def count_unknown(self, remote: str, window: int) -> None:
        uk = keys.login_unknown(remote)
        self.client.incr(uk)
        self.client.expire(uk, window)

    def count_tarpit(self, account: str, remote: str, window: int) -> None:
        tk = keys.login_tarpit(account, remote)
        self.client.incr(tk)
        self.client.expire(tk, window)

    def count_failure(self, account: str, remote: str, now: float, window: int) -> int:
        """One failure of the account; its failures within the window, this one included."""
        k = keys.login_fails(account)
        self.client.zremrangebyscore(k, "-inf", now - window)
        self.client.zadd(k, {f"{now:.6f}:{remote}:{secrets.token_hex(3)}": now})
        self.client.expire(k, window)
        return int(self.client.zcard(k))

    def forget_failures(self, account: str) -> None:
        self.client.delete(keys.login_fails(account))

    def forget_tarpit(self, account: str, remote: str) -> None:
        self.client.delete(keys.login_tarpit(account, remote))
