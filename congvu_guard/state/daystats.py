"""Per-day message counters for the security team's overview (issue 21).

The milter adds one to ``congvu:day:YYYYMMDD`` (fields ``judged`` and the action, e.g.
``reject``, ``quarantine``) for every message it decides; the monitor reads the last days
with one HMGET each. The milter counts in memory and :class:`DayCounts` writes the sums once
a second: a round trip per message held every milter thread at the end of each message
(py-spy on bench/throughput's text mix: 11 % of the milter's samples, a third of its
end-of-message time), for a page that shows whole days. Days are Vietnam's (UTC+7, no daylight
saving time), the day the page shows. Keys expire after ``KEEP_DAYS``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

import redis

from .. import forksafe
from . import keys
from .client import RedisClient

log = logging.getLogger("congvu_guard.daystats")

VN = dt.timezone(dt.timedelta(hours=7), "ICT")  # Asia/Ho_Chi_Minh has had no DST since 1975
KEEP_DAYS = 35


def day_of(ts: float) -> dt.date:
    return dt.datetime.fromtimestamp(ts, VN).date()


def key(day: dt.date) -> str:
    return keys.day(day)


def count(client: RedisClient, action: str, ts: float) -> None:
    """One decided message, written now; best effort: a Redis outage never touches the
    mail flow."""
    add(client, {(day_of(ts), action): 1})


def add(client: RedisClient, counts: dict[tuple[dt.date, str], int]) -> bool:
    """Add (day, action) -> messages in one pipelined round trip; False when Redis failed."""
    pipe = client.pipeline(transaction=False)
    days: set[dt.date] = set()
    for (day, action), n in counts.items():
        pipe.hincrby(key(day), "judged", n)
        if action != "accept":
            pipe.hincrby(key(day), action, n)
        days.add(day)
    for day in days:
        pipe.expire(key(day), KEEP_DAYS * 86400)
    try:
        pipe.execute()
    except redis.RedisError as e:
        log.debug("day counters not written: %s", e)
        return False
    return True


class DayCounts:
    """The milter's counts, added in memory per message and written every ``interval``
    seconds by a thread of its own (and by :meth:`flush` at stop). Sums that Redis refused
    are kept for the next write, up to ``MAX_PENDING`` (day, action) pairs."""

    MAX_PENDING = 1000

    def __init__(self, client: RedisClient, interval: float = 1.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.interval = interval
        self.clock = clock
        self._pending: Counter[tuple[dt.date, str]] = Counter()
        self._lock = forksafe.lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def count(self, action: str) -> None:
        with self._lock:
            self._pending[(day_of(self.clock()), action)] += 1
        if self._thread is None:
            self.start()

    def start(self) -> DayCounts:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="day-counts",
                                                daemon=True)
                self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            taken, self._pending = self._pending, Counter()
        if taken and not add(self.client, dict(taken)):
            with self._lock:  # Redis down: try again with the next write
                taken.update(self._pending)
                self._pending = Counter(dict(taken.most_common(self.MAX_PENDING)))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()


def read(client: RedisClient, days: list[dt.date], fields: tuple[str, ...]) -> list[dict[str, int]]:
    """The counters of ``days`` (0 where nothing was counted)."""
    pipe = client.pipeline(transaction=False)
    for d in days:
        pipe.hmget(key(d), list(fields))
    out = []
    for values in pipe.execute():
        out.append({f: int(v or 0) for f, v in zip(fields, values, strict=True)})
    return out
