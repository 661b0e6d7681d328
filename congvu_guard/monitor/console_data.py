"""What the console's lists and overview show, read from Redis in a few pipelined round
trips (issue 21: with 500 reports and 200 locks, one HGETALL per row cost ~50 ms).

Rows are plain dicts for :mod:`listing` (``ts``, ``account``, ``rule``, ``status``,
``text``) carrying the values the page and the API show."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

from ..detectors.ioc import KINDS
from ..state import daystats, keys
from ..state.client import RedisClient
from ..state.locks import lock_from_hash
from .mailtext import decode_header_text

MAX_REPORTS = 5000  # the newest this many reports are listed and searched


def _t(v: Any) -> str:
    return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)


def _float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def locks(client: RedisClient) -> list[dict[str, Any]]:
    accounts = sorted(_t(a) for a in client.smembers(keys.LOCK_INDEX))
    pipe = client.pipeline(transaction=False)
    for a in accounts:
        pipe.hgetall(keys.lock(a))
    out = []
    for account, data in zip(accounts, pipe.execute(), strict=True):
        lock = lock_from_hash(account, data)
        if lock is None:
            continue  # expired by itself; LockStore.list tidies the index
        row = lock.as_dict()
        ev = " ".join(f"{k}={v}" for k, v in sorted(lock.evidence.items()))
        row.update(ts=lock.at, rule=lock.reason, status="locked",
                   text=f"{lock.account} {lock.reason} {lock.by} {ev} {lock.note}")
        out.append(row)
    return out


def reports(client: RedisClient, limit: int = MAX_REPORTS) -> list[dict[str, Any]]:
    from .reports import INDEX  # reports imports this module for its API

    ids = [_t(i) for i in client.zrevrange(INDEX, 0, limit - 1)]
    pipe = client.pipeline(transaction=False)
    for rid in ids:
        pipe.hgetall(keys.report(rid))
    out = []
    for data in pipe.execute():
        if not data:
            continue
        r: dict[str, Any] = {_t(k): _t(v) for k, v in data.items()}
        for k in ("domains", "sha256", "urls", "files"):
            try:
                r[k] = json.loads(r.get(k) or "[]")
            except ValueError:
                r[k] = []
        r["subject"] = decode_header_text(r.get("subject", ""))
        r["ts"] = _float(r.get("ts"))
        r["account"] = f"{r.get('sender', '')} {r.get('reporter', '')} " \
                       f"{r.get('envelope_sender', '')}"
        r["rule"] = r.get("rules", "")
        names = " ".join(f.get("name", "") for f in r["files"] if isinstance(f, dict))
        r["text"] = " ".join((r["subject"], r["account"], r["rule"], r.get("reasons", ""),
                              r.get("campaign", ""), r.get("id", ""), names,
                              " ".join(r["sha256"]), " ".join(r["domains"])))
        out.append(r)
    return out


def report_status(r: dict[str, Any]) -> str:
    return r.get("status", "")


def campaigns(client: RedisClient, reps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Campaigns of the listed reports; the title is their most common subject."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for r in reps:
        if r.get("campaign"):
            grouped.setdefault(r["campaign"], []).append(r)
    cids = sorted(grouped)
    pipe = client.pipeline(transaction=False)
    for cid in cids:
        pipe.hgetall(keys.campaign(cid))
    out = []
    for cid, data in zip(cids, pipe.execute(), strict=True):
        c: dict[str, Any] = {_t(k): _t(v) for k, v in data.items()} if data else {"id": cid}
        c.setdefault("status", "")
        members = grouped[cid]  # newest first, as listed
        subjects = Counter(r["subject"] for r in members if r["subject"])
        c["title"] = subjects.most_common(1)[0][0] if subjects else ""
        c["reports"] = [r["id"] for r in members]
        c["first_report"] = members[0]
        c["ts"] = _float(c.get("last_seen")) or members[0].get("ts")
        c["account"] = " ".join(sorted({a for r in members for a in r["account"].split()}))
        c["rule"] = " ".join(sorted({r["rule"] for r in members if r["rule"]}))
        c["text"] = f"{cid} {c['title']} {c['account']} {c['rule']}"
        out.append(c)
    return out


def indicators(client: RedisClient, cids: list[str]) -> dict[str, list[str]]:
    pipe = client.pipeline(transaction=False)
    for cid in cids:
        pipe.smembers(keys.campaign_indicators(cid))
    return {cid: sorted(_t(i) for i in found)
            for cid, found in zip(cids, pipe.execute(), strict=True)}


def bulk(client: RedisClient) -> list[dict[str, Any]]:
    out = []
    for k, v in sorted(client.hgetall(keys.BULK_INDEX).items()):
        try:
            data = json.loads(_t(v))
        except ValueError:
            data = {}
        account = _t(k)
        out.append({"account": account, "messages": data.get("messages"),
                    "note": data.get("note", ""), "ts": None, "rule": "", "status": "",
                    "text": f"{account} {data.get('note', '')}"})
    return out


def ioc(client: RedisClient) -> list[dict[str, Any]]:
    pipe = client.pipeline(transaction=False)
    for kind in KINDS:
        pipe.hgetall(keys.ioc(kind))
    out = []
    for kind, found in zip(KINDS, pipe.execute(), strict=True):
        for value, note in sorted(found.items()):
            v, n = _t(value), _t(note)
            out.append({"type": kind, "value": v, "note": n, "ts": None, "rule": kind,
                        "status": "", "account": v if kind == "sender" else "",
                        "text": f"{kind} {v} {n}"})
    return out


# -- overview ------------------------------------------------------------------------------

# Lock events of the audit trail counted per day and rule inside Redis: only the counts
# cross the network. At most LOCK_SCAN entries are read (the trail holds every event; a
# week of a busy province is a few thousand); beyond it the oldest days are undercounted.
LOCK_SCAN = 20_000
_LOCKS_BY_DAY = """
local from, day_ms, days = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local budget = tonumber(ARGV[4])
local counts, cursor, scanned = {}, ARGV[1] .. '-0', 0
while scanned < budget do
  local rows = redis.call('XRANGE', KEYS[1], cursor, '+', 'COUNT', 500)
  for _, row in ipairs(rows) do
    scanned = scanned + 1
    local f, ev, reason = row[2], '', ''
    for j = 1, #f, 2 do
      if f[j] == 'event' then ev = f[j + 1] elseif f[j] == 'reason' then reason = f[j + 1] end
    end
    if ev == 'lock' then
      local d = math.floor((tonumber(string.match(row[1], '^%d+')) - from) / day_ms)
      if d >= 0 and d < days then
        local k = d .. ' ' .. reason
        counts[k] = (counts[k] or 0) + 1
      end
    end
  end
  if #rows < 500 then break end
  cursor = '(' .. rows[#rows][1]
end
local out = {}
for k, v in pairs(counts) do
  out[#out + 1] = k
  out[#out + 1] = v
end
return out
"""


def locks_by_day(client: RedisClient, days: list[dt.date]) -> dict[str, list[int]]:
    """Locks placed per day of ``days`` (consecutive, oldest first), per rule."""
    start_ms = int(_day_start(days[0]) * 1000)
    flat = client.eval(_LOCKS_BY_DAY, 1, keys.AUDIT_STREAM, start_ms, 86_400_000,
                       len(days), LOCK_SCAN)
    out: dict[str, list[int]] = {}
    for k, n in zip(flat[::2], flat[1::2], strict=True):
        day, _, rule = _t(k).partition(" ")
        out.setdefault(rule, [0] * len(days))[int(day)] += int(n)
    return out

def last_days(now: float, n: int = 7) -> list[dt.date]:
    today = daystats.day_of(now)
    return [today - dt.timedelta(days=i) for i in range(n - 1, -1, -1)]


def _day_start(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(), daystats.VN).timestamp()


def overview(client: RedisClient, now: float, lock_rows: list[dict[str, Any]],
             report_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per day of the last 7 (oldest first): messages judged, rejected, quarantined
    (the milter's day counters), locks placed (the audit trail), reports received; locks
    by rule (today, 7 days, now) and untriaged reports."""
    from .reports import INDEX

    days = last_days(now)
    counted = daystats.read(client, days, ("judged", "reject", "quarantine"))
    pipe = client.pipeline(transaction=False)
    for d in days:
        pipe.zcount(INDEX, _day_start(d), f"({_day_start(d + dt.timedelta(days=1))}")
    received = [int(n) for n in pipe.execute()]
    per_rule = locks_by_day(client, days)
    placed = [sum(counts[i] for counts in per_rule.values()) for i in range(len(days))]
    current = Counter(lk["rule"] for lk in lock_rows)
    rules = sorted(set(per_rule) | set(current))
    by_rule = [(r, per_rule.get(r, [0])[-1], sum(per_rule.get(r, [0])), current.get(r, 0))
               for r in rules]
    return {
        "days": days,
        "judged": [c["judged"] for c in counted],
        "rejected": [c["reject"] for c in counted],
        "quarantined": [c["quarantine"] for c in counted],
        "counted": any(c["judged"] for c in counted),
        "locks": placed,
        "reports": received,
        "locks_by_rule": by_rule,  # (rule, today, 7 days, locked now)
        "untriaged": sum(1 for r in report_rows if r.get("status") == "open"),
    }
