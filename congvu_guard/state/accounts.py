"""Known accounts and their last logins (HUE-13.2a, BP-5.3c; issue 15): which accounts
exist (imported, or seen logging in) and since when, the last successful login of each,
and the list due for revocation the inactivity sweep leaves for the operator. The rules
(who may be locked, when an account is idle) are the monitor's: ``monitor/logins.py`` and
``monitor/inactivity.py``."""

from __future__ import annotations

from typing import Any

from . import keys
from .client import RedisClient


def _t(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


class KnownAccounts:
    def __init__(self, client: RedisClient) -> None:
        self.client = client

    def mark_known(self, account: str, when: int) -> bool:
        """Known from ``when`` unless already known (HSETNX); True when it is new."""
        return bool(self.client.hsetnx(keys.KNOWN_ACCOUNTS, account, when))

    def is_known(self, account: str) -> bool:
        return bool(self.client.hexists(keys.KNOWN_ACCOUNTS, account))

    def logged_in(self, account: str, when: int) -> None:
        """A successful login: the last login, and known from now if not before."""
        self.client.hset(keys.LAST_LOGIN, account, when)
        self.client.hsetnx(keys.KNOWN_ACCOUNTS, account, when)

    def last_logins(self) -> dict[str, float]:
        return {_t(k): float(_t(v)) for k, v in self.client.hgetall(keys.LAST_LOGIN).items()}

    def known_since(self) -> dict[str, float]:
        return {_t(k): float(_t(v))
                for k, v in self.client.hgetall(keys.KNOWN_ACCOUNTS).items()}

    def set_revocation_due(self, accounts: list[str]) -> None:
        """The sweep's list for the operator (BP-5.3c), one account a line; replaced whole."""
        self.client.set(keys.REVOCATION_DUE, "\n".join(accounts))
