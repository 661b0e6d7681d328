"""Per-day message counters for the security team's overview (issue 21).

The milter adds one to ``congvu:day:YYYYMMDD`` (fields ``judged`` and the action, e.g.
``reject``, ``quarantine``) for every message it decides, in one pipelined round trip; the
monitor reads the last days with one HMGET each. Days are Vietnam's (UTC+7, no daylight
saving time), the day the page shows. Keys expire after ``KEEP_DAYS``.
"""

from __future__ import annotations

import datetime as dt
import logging

import redis

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
    """One decided message; best effort: a Redis outage never touches the mail flow."""
    k = key(day_of(ts))
    try:
        pipe = client.pipeline(transaction=False)
        pipe.hincrby(k, "judged", 1)
        if action != "accept":
            pipe.hincrby(k, action, 1)
        pipe.expire(k, KEEP_DAYS * 86400)
        pipe.execute()
    except redis.RedisError as e:
        log.debug("day counter not written: %s", e)


def read(client: RedisClient, days: list[dt.date], fields: tuple[str, ...]) -> list[dict[str, int]]:
    """The counters of ``days`` (0 where nothing was counted)."""
    pipe = client.pipeline(transaction=False)
    for d in days:
        pipe.hmget(key(d), list(fields))
    out = []
    for values in pipe.execute():
        out.append({f: int(v or 0) for f, v in zip(fields, values, strict=True)})
    return out
