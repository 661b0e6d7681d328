"""Message bodies of reports and quarantines, kept for release (issue 15; HUE-11.11).

Each body is stored once (``congvu:report-raw:ID``; the stream entry that brought it is
deleted once the report is stored) and the bodies together never exceed
``[monitor] report_raw_max_bytes``: beyond it the oldest go first. Outsiders can send
anything to the report box, and this Redis is the one every mail server shares."""

from __future__ import annotations

import logging
import time

from . import keys
from .client import RedisClient, text

# The monitor's report log: a body refused by the cap is met while it ingests a report.
log = logging.getLogger("congvu_guard.monitor.reports")

ORDER = keys.REPORT_RAW_ORDER  # zset report id -> time stored
SIZES = keys.REPORT_RAW_SIZES  # hash report id -> bytes
TOTAL = keys.REPORT_RAW_TOTAL  # bytes of the stored bodies
RETENTION = 90 * 86400


def raw_key(rid: str) -> str:
    return keys.report_raw(rid)



class RawStore:
    def __init__(self, client: RedisClient, max_bytes: int) -> None:
        self.client = client
        self.max_bytes = max_bytes

    def put(self, rid: str, raw: bytes, now: float | None = None) -> bool:
        """Store one body; False when it alone is larger than the cap (not stored)."""
        now = time.time() if now is None else now
        if len(raw) > self.max_bytes:
            log.warning("report %s: body of %d bytes exceeds report_raw_max_bytes; not kept",
                        rid, len(raw))
            return False
        self._drop_older_than(now - RETENTION)
        total = int(self.client.get(TOTAL) or 0)
        while total + len(raw) > self.max_bytes:
            oldest = self.client.zrange(ORDER, 0, 0)
            if not oldest:
                total = 0
                self.client.set(TOTAL, 0)
                break
            total -= self._drop(text(oldest[0]))
        pipe = self.client.pipeline()
        pipe.set(raw_key(rid), raw, ex=RETENTION)
        pipe.zadd(ORDER, {rid: now})
        pipe.hset(SIZES, rid, len(raw))
        pipe.incrby(TOTAL, len(raw))
        pipe.execute()
        return True

    def get(self, rid: str) -> bytes | None:
        raw = self.client.get(raw_key(rid))
        return bytes(raw) if raw else None

    def total(self) -> int:
        return int(self.client.get(TOTAL) or 0)

    def _drop(self, rid: str) -> int:
        size = int(self.client.hget(SIZES, rid) or 0)
        pipe = self.client.pipeline()
        pipe.delete(raw_key(rid))
        pipe.zrem(ORDER, rid)
        pipe.hdel(SIZES, rid)
        pipe.decrby(TOTAL, size)
        pipe.execute()
        return size

    def _drop_older_than(self, cutoff: float) -> None:
        for rid in self.client.zrangebyscore(ORDER, "-inf", cutoff, start=0, num=100):
            self._drop(text(rid))
