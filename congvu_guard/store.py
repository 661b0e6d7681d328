"""All Redis access goes through this one small interface.

The milter uses it for what must be shared between mail servers; the rate limiter (issue 4)
and the monitor extend it. Keys use the ``congvu:`` prefix.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Protocol

import redis

from . import daystats
from .metrics import Metrics, MonitorMetrics
from .model import Envelope, Verdict
from .state import keys
from .state.client import RedisClient

log = logging.getLogger("congvu_guard.store")

REPORT_STREAM = keys.REPORT_STREAM  # read by the monitor through a consumer group
REPORT_STREAM_MAXLEN = 100_000
REPORT_RAW_LIMIT = 10 * 1024 * 1024  # larger messages are recorded without their content
STAMP_KEY = keys.STAMP_KEY


class Store(Protocol):
    def ping(self) -> bool: ...

    def record_report(self, kind: str, env: Envelope, verdict: Verdict,
                      raw: bytes | bytearray) -> None: ...

    def stamp_key(self) -> bytes | None: ...


class RedisStore:
    """Redis-backed store. Thread-safe: redis-py's connection pool serves every thread."""

    def __init__(self, client: RedisClient, url: str,
                 metrics: Metrics | MonitorMetrics | None = None) -> None:
        self.url = url
        self.client = client
        self.metrics = metrics

    def _up(self, ok: bool) -> None:
        if self.metrics is not None:
            self.metrics.redis_up.set(1 if ok else 0)

    def ping(self) -> bool:
        try:
            ok = bool(self.client.ping())
        except redis.RedisError as e:
            log.warning("redis %s not reachable: %s", self.url, e)
            ok = False
        self._up(ok)
        return ok

    def record_report(self, kind: str, env: Envelope, verdict: Verdict,
                      raw: bytes | bytearray) -> None:
        """Hand what reaches the report box to the monitor (HUE-11.11): ``quarantine`` (the
        milter's own routing) or ``user-report`` (a user forwarded it there).

        The stream keeps entries until the monitor's consumer group acknowledges them, so
        reports survive restarts of either side. Best effort from the milter's side: the
        message itself is safe in the report box, so a Redis outage is logged and counted,
        not turned into a mail failure.
        """
        fields = {
            "kind": kind,
            "ts": f"{time.time():.3f}",
            "queue_id": env.queue_id,
            "sender": env.sender,
            "recipients": ",".join(env.recipients),
            "auth_user": env.auth_user,
            "rules": ",".join(verdict.rules),
            "reasons": "; ".join(f"{f.rule} {f.detail}" for f in verdict.findings),
            "report_box": verdict.quarantine_to,
            "raw": bytes(raw) if len(raw) <= REPORT_RAW_LIMIT else b"",
            "raw_size": str(len(raw)),
        }
        # Envelope strings keep undecodable bytes as surrogates, which Redis cannot take.
        fields = {k: v.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                  if isinstance(v, str) else v for k, v in fields.items()}
        try:
            self.client.xadd(REPORT_STREAM, fields, maxlen=REPORT_STREAM_MAXLEN,
                             approximate=True)
            self._up(True)
        except redis.RedisError as e:
            log.warning("could not record the %s of %s in redis: %s", kind, env.queue_id, e)
            self._up(False)

    def count_day(self, action: str) -> None:
        """Per-day counters for the page's overview (issue 21; :mod:`daystats`)."""
        daystats.count(self.client, action, time.time())

    def stamp_key(self) -> bytes | None:
        """The origin-stamp key shared by every mail server; created once (SET NX)."""
        try:
            self.client.set(STAMP_KEY, secrets.token_bytes(32), nx=True)
            key = self.client.get(STAMP_KEY)
            self._up(True)
        except redis.RedisError as e:
            log.warning("could not read the origin-stamp key from redis: %s", e)
            self._up(False)
            return None
        return key if isinstance(key, bytes) and len(key) >= 32 else None
