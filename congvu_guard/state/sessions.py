"""The monitor's page sessions in Redis (``keys.session``): a random ID in the cookie, who
and the CSRF token here, expiring after ``[monitor] session_ttl_seconds``."""

from __future__ import annotations

import secrets
from typing import Protocol

from . import keys
from .client import RedisClient


class Named(Protocol):
    @property
    def name(self) -> str: ...


class Sessions:
    """Server-side sessions: the cookie holds a random ID, Redis holds who and the CSRF."""

    def __init__(self, client: RedisClient, ttl: int) -> None:
        self.client = client
        self.ttl = ttl

    def create(self, user: Named) -> tuple[str, str]:
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        key = keys.session(sid)
        self.client.hset(key, mapping={"user": user.name, "csrf": csrf})
        self.client.expire(key, self.ttl)
        return sid, csrf

    def get(self, sid: str) -> tuple[str, str] | None:
        if not sid or len(sid) > 100 or not sid.isascii():
            return None
        data = self.client.hgetall(keys.session(sid))
        if not data:
            return None
        text = {(k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes)
                                                               else v) for k, v in data.items()}
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
