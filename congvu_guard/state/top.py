"""Top senders and top forwarding accounts, kept out of Prometheus (issue 16).

Accounts are personal data: as metric labels they would sit in the metrics database for
its whole retention, copied to every Prometheus that scrapes, and one series per account
is what Prometheus' naming guidance warns against. So the milter keeps them in memory,
bounded, and publishes them to Redis every ``PUBLISH_SECONDS``; the monitor serves them to
the security team's authenticated API (``GET /api/v1/top/senders``, ``/top/forwarders``).

Redis keys:
- ``congvu:top-senders`` (hash): field = milter host, value = JSON ``{"at": unix time,
  "counts": {account: messages in its current 30-minute window}}`` (HUE-13.2d), the
  ``KEEP_SENDERS`` busiest of that milter. Entries older than ``STALE_SECONDS`` are ignored
  (a milter that stopped).
- ``congvu:top-forwarders:YYYY-MM-DD`` (sorted set, UTC day, kept ``FORWARDER_DAYS``):
  account -> automatic forwards seen that day (HUE-11.6/HUE-12.4), from every milter.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
import time
from typing import Any

import redis

from . import keys
from .client import RedisClient

log = logging.getLogger("congvu_guard.top")

SENDERS_KEY = keys.TOP_SENDERS
KEEP_SENDERS = 20
# Forwarding accounts come from headers of mail from anywhere: at most this many distinct
# accounts are counted between two publications, the rest as "other" (bounded memory).
MAX_FORWARDERS = 500
PUBLISH_SECONDS = 30
STALE_SECONDS = 120
FORWARDER_DAYS = 8


def day_key(when: float) -> str:
    return keys.top_forwarders(dt.datetime.fromtimestamp(when, dt.UTC).strftime("%Y-%m-%d"))


class TopSenders:
    """The ``KEEP_SENDERS`` accounts with the most messages in their window, this milter."""

    def __init__(self, keep: int = KEEP_SENDERS) -> None:
        self.keep = keep
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def set(self, account: str, count: int) -> None:
        with self._lock:
            self._counts[account] = count
            if len(self._counts) > self.keep:
                del self._counts[min(self._counts, key=self._counts.__getitem__)]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class ForwarderCounts:
    """Automatic forwards per account since the last publication (then handed over)."""

    def __init__(self, limit: int = MAX_FORWARDERS) -> None:
        self.limit = limit
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def add(self, account: str, n: int = 1) -> None:
        with self._lock:
            if account not in self._counts and len(self._counts) >= self.limit:
                account = "other"
            self._counts[account] = self._counts.get(account, 0) + n

    def take(self) -> dict[str, int]:
        with self._lock:
            taken, self._counts = self._counts, {}
            return taken

    def give_back(self, counts: dict[str, int]) -> None:
        for account, n in counts.items():
            self.add(account, n)


def publish(client: RedisClient, host: str, senders: TopSenders, forwarders: ForwarderCounts,
            now: float | None = None) -> bool:
    """One publication; False (counts kept for the next one) when Redis failed."""
    now = time.time() if now is None else now
    taken = forwarders.take()
    try:
        client.hset(SENDERS_KEY, host, json.dumps({"at": now, "counts": senders.snapshot()}))
        if taken:
            key = day_key(now)
            pipe = client.pipeline(transaction=False)
            for account, n in taken.items():
                pipe.zincrby(key, n, account)
            pipe.expire(key, FORWARDER_DAYS * 86400)
            pipe.execute()
    except redis.RedisError as e:
        log.debug("top counts not published: %s", e)
        forwarders.give_back(taken)
        return False
    return True


class Publisher:
    """The milter's daemon thread that publishes every ``PUBLISH_SECONDS``."""

    def __init__(self, client: RedisClient, host: str, senders: TopSenders,
                 forwarders: ForwarderCounts) -> None:
        self._args = (client, host, senders, forwarders)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="top-publisher", daemon=True)

    def start(self) -> Publisher:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(PUBLISH_SECONDS):
            publish(*self._args)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        with contextlib.suppress(Exception):  # last counts: best effort at shutdown
            publish(*self._args)


def top_senders(client: RedisClient, limit: int, now: float | None = None) -> list[dict[str, Any]]:
    """Busiest senders of every live milter (the largest window count of an account)."""
    now = time.time() if now is None else now
    merged: dict[str, int] = {}
    for raw in client.hgetall(SENDERS_KEY).values():
        try:
            entry = json.loads(raw)
            fresh = now - float(entry["at"]) <= STALE_SECONDS
            counts = entry["counts"] if fresh else {}
        except (ValueError, KeyError, TypeError):
            continue
        for account, n in counts.items():
            merged[str(account)] = max(merged.get(str(account), 0), int(n))
    ranked = sorted(merged.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [{"account": a, "messages": n} for a, n in ranked]


def top_forwarders(client: RedisClient, day: str, limit: int) -> list[dict[str, Any]]:
    """Accounts with the most automatic forwards on ``day`` (YYYY-MM-DD, UTC)."""
    rows = client.zrevrange(keys.top_forwarders(day), 0, limit - 1, withscores=True)
    return [{"account": a.decode() if isinstance(a, bytes) else a, "forwards": int(n)}
            for a, n in rows]
