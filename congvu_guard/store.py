"""The milter's view of the shared state: one small interface (:class:`Store`) for what
must be shared between mail servers, backed by the repositories of :mod:`congvu_guard.state`
(report stream, day counters, origin-stamp key). The milter's Redis errors end here: each
is logged and shown on the ``redis_up`` gauge, never turned into a mail failure.
"""

from __future__ import annotations

import logging
from typing import Protocol

import redis

from .metrics import Metrics, MonitorMetrics
from .model import Envelope, Verdict
from .state import daystats, keys
from .state.client import RedisClient
from .state.client import ping as ping_redis
from .state.reports import append_report
from .state.stamp_key import shared_key

log = logging.getLogger("congvu_guard.store")

REPORT_STREAM = keys.REPORT_STREAM  # read by the monitor through a consumer group


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
        self.day_counts = daystats.DayCounts(client)

    def _up(self, ok: bool) -> None:
        if self.metrics is not None:
            self.metrics.redis_up.set(1 if ok else 0)

    def ping(self) -> bool:
        try:
            ok = ping_redis(self.client)
        except redis.RedisError as e:
            log.warning("redis %s not reachable: %s", self.url, e)
            ok = False
        self._up(ok)
        return ok

    def record_report(self, kind: str, env: Envelope, verdict: Verdict,
                      raw: bytes | bytearray) -> None:
        """Hand what reaches the report box to the monitor (HUE-11.11): ``quarantine`` (the
        milter's own routing) or ``user-report`` (a user forwarded it there).

        Best effort from the milter's side: the message itself is safe in the report box,
        so a Redis outage is logged and counted, not turned into a mail failure.
        """
        try:
            append_report(self.client, kind, env, verdict, raw)
            self._up(True)
        except redis.RedisError as e:
            log.warning("could not record the %s of %s in redis: %s", kind, env.queue_id, e)
            self._up(False)

    def count_day(self, action: str) -> None:
        """Per-day counters for the page's overview (issue 21; :mod:`state.daystats`),
        written once a second by a thread of their own."""
        self.day_counts.count(action)

    def close(self) -> None:
        """Write what is still counted in memory (the milter calls this at stop)."""
        self.day_counts.stop()

    def stamp_key(self) -> bytes | None:
        """The origin-stamp key shared by every mail server; created once (SET NX)."""
        try:
            key = shared_key(self.client)
            self._up(True)
        except redis.RedisError as e:
            log.warning("could not read the origin-stamp key from redis: %s", e)
            self._up(False)
            return None
        return key
