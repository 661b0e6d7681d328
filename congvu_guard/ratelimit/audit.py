"""The audit trail (HUE-13.3): every lock, unlock, hook run and bulk-sender change, in a
Redis Stream. Entries younger than the retention are never trimmed."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

from . import keys

FIELDS = ("id", "ts", "event", "account", "reason", "actor", "reference", "approver",
          "detail")


def _text(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


class AuditTrail:
    def __init__(self, client: Any, retention_days: int) -> None:
        self.client = client
        self.retention_ms = retention_days * 86400 * 1000

    def append(self, event: str, account: str, actor: str, **fields: object) -> str:
        entry = {"ts": f"{time.time():.3f}", "event": event, "account": account,
                 "actor": actor}
        entry.update({k: (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                      for k, v in fields.items() if v is not None and v != ""})
        entry_id = _text(self.client.xadd(keys.AUDIT_STREAM, entry))
        # Only entries older than the retention go, and only approximately (cheap).
        min_id = f"{int(time.time() * 1000) - self.retention_ms}-0"
        self.client.xtrim(keys.AUDIT_STREAM, minid=min_id, approximate=True)
        return entry_id

    def entries(self, account: str = "", since: float = 0.0, until: float = 0.0,
                event: str = "", count: int = 10_000) -> list[dict[str, str]]:
        start = f"{int(since * 1000)}-0" if since else "-"
        end = f"{int(until * 1000)}-0" if until else "+"
        out = []
        for entry_id, data in self.client.xrange(keys.AUDIT_STREAM, start, end, count=count):
            row = {_text(k): _text(v) for k, v in data.items()}
            row["id"] = _text(entry_id)
            if account and row.get("account", "") != keys.normalize(account):
                continue
            if event and row.get("event") != event:
                continue
            out.append(row)
        return out


def to_json_lines(rows: Iterable[Mapping[str, str]]) -> str:
    return "".join(json.dumps(dict(r), ensure_ascii=False) + "\n" for r in rows)


def to_csv(rows: Iterable[Mapping[str, str]]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in FIELDS})
    return buf.getvalue()
