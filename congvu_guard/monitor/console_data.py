"""What the console's lists and overview show, read through the state repositories in a
few pipelined round trips (issue 21: with 500 reports and 200 locks, one HGETALL per row
cost ~50 ms).

Rows are plain dicts for :mod:`listing` (``ts``, ``account``, ``rule``, ``status``,
``text``) carrying the values the page and the API show."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any

from ..state import daystats
from ..state.audit import locks_per_day
from ..state.bulk import bulk_entries
from ..state.campaigns import Campaigns
from ..state.client import RedisClient
from ..state.ioc import all_listed
from ..state.locks import current_locks
from ..state.reports import LIST_FIELDS, Reports
from .mailtext import decode_header_text

MAX_REPORTS = 5000  # the newest this many reports are listed and searched


def _float(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def locks(client: RedisClient) -> list[dict[str, Any]]:
    out = []
    for lock in current_locks(client):
        row = lock.as_dict()
        ev = " ".join(f"{k}={v}" for k, v in sorted(lock.evidence.items()))
        row.update(ts=lock.at, rule=lock.reason, status="locked",
                   text=f"{lock.account} {lock.reason} {lock.by} {ev} {lock.note}")
        out.append(row)
    return out


def reports(client: RedisClient, limit: int = MAX_REPORTS) -> list[dict[str, Any]]:
    store = Reports(client)
    out = []
    for data in store.fields_of(store.newest_ids(limit)):
        if not data:
            continue
        r: dict[str, Any] = dict(data)
        for k in LIST_FIELDS:
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
    out = []
    for cid, data in zip(cids, Campaigns(client).fields_of(cids), strict=True):
        c: dict[str, Any] = dict(data) if data else {"id": cid}
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
    return Campaigns(client).indicators_of(cids)


def bulk(client: RedisClient) -> list[dict[str, Any]]:
    out = []
    for account, entry in bulk_entries(client):
        try:
            data = json.loads(entry)
        except ValueError:
            data = {}
        out.append({"account": account, "messages": data.get("messages"),
                    "note": data.get("note", ""), "ts": None, "rule": "", "status": "",
                    "text": f"{account} {data.get('note', '')}"})
    return out


def ioc(client: RedisClient) -> list[dict[str, Any]]:
    return [{"type": kind, "value": v, "note": n, "ts": None, "rule": kind, "status": "",
             "account": v if kind == "sender" else "", "text": f"{kind} {v} {n}"}
            for kind, v, n in all_listed(client)]


# -- overview ------------------------------------------------------------------------------

def locks_by_day(client: RedisClient, days: list[dt.date]) -> dict[str, list[int]]:
    """Locks placed per day of ``days`` (consecutive, oldest first), per rule."""
    return locks_per_day(client, _day_start(days[0]), len(days))


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
    days = last_days(now)
    counted = daystats.read(client, days, ("judged", "reject", "quarantine"))
    received = Reports(client).count_between(
        [(_day_start(d), _day_start(d + dt.timedelta(days=1))) for d in days])
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
