"""The audit trail (HUE-13.3): every lock, unlock, hook run and bulk-sender change, in a
Redis Stream. Entries younger than the retention are never trimmed.

Read newest first, a page at a time, filtered inside Redis (a Lua script walks the stream
with XREVRANGE), so the latest entries are always the ones shown, however long the trail.
Events nobody authenticated for (failed page logins) go to a separate stream capped by
length: outsiders cannot push the operators' entries out of sight (issue 15)."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from . import keys
from .client import RedisClient, text

FIELDS = ("id", "ts", "event", "account", "reason", "actor", "reference", "approver",
          "detail")
UNAUTH_STREAM = keys.AUDIT_UNAUTH_STREAM  # failed page logins (capped)
UNAUTH_MAXLEN = 10_000
PAGE_MAX = 1000
# Entries the script reads per call at most: a filter that matches nothing returns after
# this much work with a cursor to go on from (one call stays well under 10 ms).
SCAN_BUDGET = 5000

_PAGE = """
local account, event = ARGV[3], ARGV[4]
local limit, budget = tonumber(ARGV[5]), tonumber(ARGV[6])
local query, forward = ARGV[7] or '', ARGV[8] == 'fwd'
local out, scanned, cursor, last, more = {}, 0, ARGV[1], '', true
while more and #out < limit and scanned < budget do
  local rows
  if forward then
    rows = redis.call('XRANGE', KEYS[1], cursor, ARGV[2], 'COUNT', 200)
  else
    rows = redis.call('XREVRANGE', KEYS[1], cursor, ARGV[2], 'COUNT', 200)
  end
  if #rows < 200 then more = false end
  for i, row in ipairs(rows) do
    scanned = scanned + 1
    last = row[1]
    local f, acc, ev, hay = row[2], '', '', ''
    for j = 1, #f, 2 do
      if f[j] == 'account' then acc = f[j + 1] elseif f[j] == 'event' then ev = f[j + 1] end
      if query ~= '' and f[j] ~= 'ts' and f[j] ~= 'detail' then
        hay = hay .. string.lower(f[j + 1]) .. ' '
      end
    end
    if (account == '' or acc == account) and (event == '' or ev == event)
        and (query == '' or string.find(hay, query, 1, true)) then
      out[#out + 1] = row
      if #out >= limit then
        if i < #rows then more = true end
        break
      end
    end
  end
  if last ~= '' then cursor = '(' .. last end
end
if not more then last = '' end
return {out, last}
"""


@dataclass
class Page:
    rows: list[dict[str, str]]
    next_before: str  # pass as ``before`` for the next (older) page; "" at the end


# Lock events of the trail counted per day and rule inside Redis: only the counts cross the
# network (issue 21). At most LOCK_SCAN entries are read (the trail holds every event; a
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


def locks_per_day(client: RedisClient, start: float, days: int) -> dict[str, list[int]]:
    """Locks placed per rule in each of ``days`` consecutive days from ``start`` (unix
    time of the first day's start): rule -> counts, oldest day first."""
    flat = client.eval(_LOCKS_BY_DAY, 1, keys.AUDIT_STREAM, int(start * 1000), 86_400_000,
                       days, LOCK_SCAN)
    out: dict[str, list[int]] = {}
    for k, n in zip(flat[::2], flat[1::2], strict=True):
        day, _, rule = text(k).partition(" ")
        out.setdefault(rule, [0] * days)[int(day)] += int(n)
    return out


class AuditTrail:
    def __init__(self, client: RedisClient, retention_days: int) -> None:
        self.client = client
        self.retention_ms = retention_days * 86400 * 1000
        self._page = client.register_script(_PAGE)

    def _entry(self, event: str, account: str, actor: str,
               fields: Mapping[str, object]) -> dict[str, str]:
        entry = {"ts": f"{time.time():.3f}", "event": event, "account": account,
                 "actor": actor}
        entry.update({k: (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                      for k, v in fields.items() if v is not None and v != ""})
        return entry

    def append(self, event: str, account: str, actor: str, **fields: object) -> str:
        entry = self._entry(event, account, actor, fields)
        entry_id = text(self.client.xadd(keys.AUDIT_STREAM, entry))
        # Only entries older than the retention go, and only approximately (cheap).
        min_id = f"{int(time.time() * 1000) - self.retention_ms}-0"
        self.client.xtrim(keys.AUDIT_STREAM, minid=min_id, approximate=True)
        return entry_id

    def append_unauthenticated(self, event: str, account: str, **fields: object) -> str:
        """Events anyone can cause without a login (failed page logins): a capped stream
        of their own, never the operators' trail."""
        entry = self._entry(event, account, "(unauthenticated)", fields)
        return text(self.client.xadd(UNAUTH_STREAM, entry, maxlen=UNAUTH_MAXLEN,
                                      approximate=True))

    def page(self, account: str = "", since: float = 0.0, until: float = 0.0,
             event: str = "", limit: int = 100, before: str = "",
             unauthenticated: bool = False, query: str = "",
             oldest_first: bool = False) -> Page:
        """One page, newest first: entries older than ``before`` (an entry ID, exclusive)
        and not older than ``since``, matching ``account`` and ``event``, and ``query``
        (part of any value but the time and detail; ASCII case-insensitive). With
        ``oldest_first`` the page goes forward in time and ``before`` is the entry to
        continue after (the console's "oldest first", issue 21)."""
        limit = max(1, min(limit, PAGE_MAX))
        if before and before.replace("-", "").strip("0") == "" and not oldest_first:
            return Page([], "")  # nothing is older than 0-0 (and "(0-0" is no interval)
        start = f"{int(since * 1000)}-0" if since else "-"
        end = f"{int(until * 1000)}-0" if until else "+"
        if oldest_first:
            cursor, bound, direction = (f"({before}" if before else start), end, "fwd"
        else:
            cursor, bound, direction = (f"({before}" if before else end), start, "rev"
        stream = UNAUTH_STREAM if unauthenticated else keys.AUDIT_STREAM
        found, last = self._page(keys=[stream], args=[
            cursor, bound, keys.normalize(account) if account else "", event, limit,
            SCAN_BUDGET, query.lower()[:200], direction])
        rows = []
        for entry_id, data in found:
            pairs = iter(data)
            row = {text(k): text(v) for k, v in zip(pairs, pairs, strict=True)}
            row["id"] = text(entry_id)
            rows.append(row)
        return Page(rows, text(last))

    def iterate(self, **filters: Any) -> Iterator[dict[str, str]]:
        """Every matching entry, newest first, a page at a time."""
        before = ""
        while True:
            page = self.page(limit=PAGE_MAX, before=before, **filters)
            yield from page.rows
            if not page.next_before:
                return
            before = page.next_before

    def entries(self, account: str = "", since: float = 0.0, until: float = 0.0,
                event: str = "", count: int = 10_000) -> list[dict[str, str]]:
        """The newest ``count`` matching entries, newest first."""
        out: list[dict[str, str]] = []
        for row in self.iterate(account=account, since=since, until=until, event=event):
            out.append(row)
            if len(out) >= count:
                break
        return out


def to_json_lines(rows: Iterable[Mapping[str, str]]) -> str:
    return "".join(json.dumps(dict(r), ensure_ascii=False) + "\n" for r in rows)


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """A spreadsheet opening the export must not run a cell as a formula (OWASP CSV
    injection): a leading =, +, -, @, tab or CR is neutralised with a quote."""
    return "'" + value if value.startswith(_FORMULA) else value


def to_csv(rows: Iterable[Mapping[str, str]]) -> str:
    buf = io.StringIO()
    # CRLF (RFC 4180): a CR or LF inside a value is then always quoted, never a new row.
    w = csv.DictWriter(buf, fieldnames=FIELDS, extrasaction="ignore", lineterminator="\r\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: csv_cell(r.get(k, "")) for k in FIELDS})
    return buf.getvalue()
