"""The monitor's page sessions in Redis (``keys.session``): a random ID in the cookie; who,
the CSRF token, when the session began and when it was last used here."""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from typing import Protocol

from . import keys
from .client import RedisClient


class Named(Protocol):
    @property
    def name(self) -> str: ...


class Sessions:
    """Server-side sessions: the cookie holds a random ID, Redis holds who, the CSRF token,
    when the session began and when it was last used (unix seconds).

    A session ends ``ttl`` seconds after login however busy (absolute timeout) and ``idle``
    seconds after its last request (ASVS 3.3.2, issue 15). ``get`` checks both against the
    stored times and refreshes the last use; the key's own expiry follows the earlier of the
    two, so an abandoned session leaves Redis by itself."""

    def __init__(self, client: RedisClient, ttl: int, idle: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.ttl = ttl
        self.idle = idle
        self.clock = clock

    def _expire_in(self, began: float, now: float) -> int:
        return max(1, math.ceil(min(self.idle, began + self.ttl - now)))

    def create(self, user: Named) -> tuple[str, str]:
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        key = keys.session(sid)
        now = self.clock()
        pipe = self.client.pipeline()
        pipe.hset(key, mapping={"user": user.name, "csrf": csrf, "began": repr(now),
                                "seen": repr(now)})
        pipe.expire(key, self._expire_in(now, now))
        pipe.execute()
        return sid, csrf

    def get(self, sid: str) -> tuple[str, str] | None:
        """Who and the CSRF token of a live session (its last use refreshed), else None
        (an ended session is deleted)."""
        if not sid or len(sid) > 100 or not sid.isascii():
            return None
        key = keys.session(sid)
        data = self.client.hgetall(key)
        if not data:
            return None
        text = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes)
                                                               else v) for k, v in data.items()}
        now = self.clock()
        began, seen = _seconds(text.get("began")), _seconds(text.get("seen"))
        # A session without its times (written before the idle timeout) has ended too.
        if began is None or seen is None or now - seen > self.idle or now - began > self.ttl:
            self.drop(sid)
            return None
        pipe = self.client.pipeline()
        pipe.hset(key, "seen", repr(now))
        pipe.expire(key, self._expire_in(began, now))
        pipe.execute()
        return text.get("user", ""), text.get("csrf", "")

    def drop(self, sid: str) -> None:
        self.client.delete(keys.session(sid))

    def set_flash(self, sid: str, message: str) -> None:
        """The outcome of a form, shown once by the next page (issue 21): kept in the
        session, never in the URL, so a crafted link cannot show a forged message."""
        self.client.hset(keys.session(sid), "flash", message)

    def pop_flash(self, sid: str) -> str:
        pipe = self.client.pipeline()
        pipe.hget(keys.session(sid), "flash")
        pipe.hdel(keys.session(sid), "flash")
        value = pipe.execute()[0]
        return value.decode("utf-8", "replace") if isinstance(value, bytes) else value or ""


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
