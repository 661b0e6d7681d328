"""The report stream and the stored reports (HUE-11.11): what reaches the report box,
handed from the milter to the monitor through ``keys.REPORT_STREAM``.

The milter appends (:func:`append_report`); the monitor reads it through the consumer group
``GROUP`` (:class:`ReportStream`) and keeps each report under ``keys.report(ID)``, indexed
by time in ``keys.REPORT_INDEX`` (:class:`Reports`), and its body in :mod:`.report_bodies`.
Parsing, campaigns and triage are ``monitor/reports.py``'s.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any

import redis

from ..model import Envelope, Verdict
from . import keys
from .client import RedisClient, hashes, text

GROUP = "monitor"  # the monitor's consumer group on the report stream
LIST_FIELDS = ("domains", "sha256", "urls", "files")  # JSON lists in a report's hash

REPORT_STREAM_MAXLEN = 100_000
REPORT_RAW_LIMIT = 10 * 1024 * 1024  # larger messages are recorded without their content


def report_fields(kind: str, env: Envelope, verdict: Verdict,
                  raw: bytes | bytearray) -> dict[str, str | bytes]:
    """One stream entry: the envelope, the rules and the message (up to the limit)."""
    fields: dict[str, str | bytes] = {
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
    return {k: v.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            if isinstance(v, str) else v for k, v in fields.items()}


def append_report(client: RedisClient, kind: str, env: Envelope, verdict: Verdict,
                  raw: bytes | bytearray) -> None:
    """Append one report. The stream keeps entries until the monitor's consumer group
    acknowledges them, so reports survive restarts of either side. Redis errors raise."""
    client.xadd(keys.REPORT_STREAM, report_fields(kind, env, verdict, raw),
                maxlen=REPORT_STREAM_MAXLEN, approximate=True)



class ReportStream:
    """The monitor's side of the stream: an entry is acknowledged (and deleted) only after
    its report is stored, so a restart of either side loses nothing."""

    def __init__(self, client: RedisClient) -> None:
        self.client = client

    def ensure_group(self) -> None:
        try:
            self.client.xgroup_create(keys.REPORT_STREAM, GROUP, id="0", mkstream=True)
        except redis.ResponseError as e:
            if "BUSYGROUP" not in str(e):
                raise

    def claim_stale(self, consumer: str, min_idle_ms: int = 300_000) -> None:
        """Take over entries another consumer read but never acknowledged (it died)."""
        with contextlib.suppress(redis.ResponseError):  # Redis < 6.2 has no XAUTOCLAIM
            self.client.xautoclaim(keys.REPORT_STREAM, GROUP, consumer,
                                   min_idle_time=min_idle_ms, start_id="0-0", count=50)

    def read(self, consumer: str, start: str, block_ms: int | None
             ) -> list[tuple[Any, dict[Any, Any]]]:
        """Up to 50 entries (id, fields): ``start`` "0" this consumer's pending ones, ">"
        new ones (waiting up to ``block_ms``). Fields are empty for a deleted entry."""
        resp = self.client.xreadgroup(GROUP, consumer, {keys.REPORT_STREAM: start}, count=50,
                                      block=block_ms)
        return [(entry_id, fields) for _stream, entries in resp or []
                for entry_id, fields in entries]

    def done(self, entry_id: Any) -> None:
        """Acknowledge and delete: the body is kept once (report_bodies), not in the stream."""
        pipe = self.client.pipeline()
        pipe.xack(keys.REPORT_STREAM, GROUP, entry_id)
        pipe.xdel(keys.REPORT_STREAM, entry_id)
        pipe.execute()


class Reports:
    """The stored reports: one hash each, indexed by time; kept until deleted by hand."""

    def __init__(self, client: RedisClient) -> None:
        self.client = client

    def put(self, rid: str, record: dict[str, Any]) -> None:
        """Store a report (its ``ts`` orders the index), hash and index together."""
        pipe = self.client.pipeline()
        pipe.hset(keys.report(rid), mapping=record)
        pipe.zadd(keys.REPORT_INDEX, {rid: float(record["ts"])})
        pipe.execute()

    def get(self, rid: str) -> dict[str, Any] | None:
        data = self.client.hgetall(keys.report(rid))
        if not data:
            return None
        rec: dict[str, Any] = {text(k): text(v) for k, v in data.items()}
        for k in LIST_FIELDS:
            rec[k] = json.loads(rec.get(k) or "[]")
        return rec

    def set_status(self, rid: str, status: str) -> None:
        self.client.hset(keys.report(rid), "status", status)

    def newest_ids(self, limit: int) -> list[str]:
        return [text(i) for i in self.client.zrevrange(keys.REPORT_INDEX, 0, limit - 1)]

    def fields_of(self, ids: list[str]) -> list[dict[str, str]]:
        """Each report's hash as text (empty when gone), in one round trip."""
        return hashes(self.client, [keys.report(rid) for rid in ids])

    def count_between(self, ranges: list[tuple[float, float]]) -> list[int]:
        """Reports received in each [start, end) of ``ranges``, in one round trip."""
        pipe = self.client.pipeline(transaction=False)
        for start, end in ranges:
            pipe.zcount(keys.REPORT_INDEX, start, f"({end}")
        return [int(n) for n in pipe.execute()]
