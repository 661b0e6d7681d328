"""One page of a list (issue 21): filters, search, sort by time and server-side paging,
the same for the page and the API. Pure functions over plain rows; the rows come from
:mod:`console_data`.

A row is a dict with ``ts`` (unix seconds or None) and the text fields the filters look
at: ``account`` (one or more addresses, space-separated), ``rule``, ``status`` and
``text`` (everything the search box may find)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..state.daystats import VN

SIZES = (10, 20, 50, 100)
MAX_SIZE = 500
MAX_PAGE = 100_000
LIMITS = {"q": 200, "account": 320, "rule": 60, "status": 40}


class QueryError(ValueError):
    """A filter value that is not accepted; ``field`` names the parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class Query:
    q: str = ""
    account: str = ""
    rule: str = ""
    status: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    sort: str = "new"  # new: newest first; old: oldest first
    page: int = 1
    size: int = 20

    def params(self, **changes: Any) -> dict[str, str]:
        """The query string of this query (with changes), defaults left out."""
        q = replace(self, **changes)
        out = {"q": q.q, "account": q.account, "rule": q.rule, "status": q.status,
               "from": q.date_from.isoformat() if q.date_from else "",
               "to": q.date_to.isoformat() if q.date_to else "",
               "sort": "" if q.sort == "new" else q.sort,
               "page": "" if q.page == 1 else str(q.page), "size": str(q.size)}
        return {k: v for k, v in out.items() if v}

    def bounds(self) -> tuple[float, float]:
        """[since, until) in unix seconds of the date filters (Vietnam's days)."""
        since = (dt.datetime.combine(self.date_from, dt.time(), VN).timestamp()
                 if self.date_from else 0.0)
        until = (dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time(),
                                     VN).timestamp() if self.date_to else 0.0)
        return since, until


def _date(field: str, value: str, strict: bool) -> dt.date | None:
    try:
        if len(value) == 10 and value[4] == "-" and value[:4].isdigit():
            return dt.date.fromisoformat(value)
        if not strict:  # the page also takes dates as it shows them
            return dt.datetime.strptime(value, "%d/%m/%Y").date()
    except ValueError:
        pass
    raise QueryError(field, "expected a date YYYY-MM-DD")


def _int(field: str, value: str, low: int, high: int) -> int:
    if not value.isascii() or not value.isdigit() or not low <= int(value) <= high:
        raise QueryError(field, f"expected an integer from {low} to {high}")
    return int(value)


def parse(params: Mapping[str, str], default_size: int = 20, strict: bool = True) -> Query:
    """The query of a request. ``strict`` (the API) refuses bad values with QueryError; the
    page ignores them (an empty form field is "no filter" there)."""
    values: dict[str, Any] = {}
    for key, limit in LIMITS.items():
        v = params.get(key, "")
        if len(v) > limit:
            if strict:
                raise QueryError(key, f"longer than {limit} characters")
            v = v[:limit]
        values[key] = v.strip()
    checks = {
        "date_from": ("from", lambda v: _date("from", v, strict)),
        "date_to": ("to", lambda v: _date("to", v, strict)),
        "page": ("page", lambda v: _int("page", v, 1, MAX_PAGE)),
        "size": ("size", lambda v: _int("size", v, 1, MAX_SIZE)),
        "sort": ("sort", lambda v: v if v in ("new", "old") else _bad_sort()),
    }
    for name, (param, check) in checks.items():
        if name in ("page", "size", "sort"):
            values[name] = {"page": 1, "size": default_size, "sort": "new"}[name]
        if param not in params or (not strict and not params[param]):
            continue
        try:
            values[name] = check(params[param])
        except QueryError:
            if strict:
                raise
    return Query(**values)


def _bad_sort() -> str:
    raise QueryError("sort", "new or old")


@dataclass
class Page:
    rows: list[dict[str, Any]]
    total: int  # matching rows over all pages
    query: Query

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.size))


def matches(row: Mapping[str, Any], query: Query, since: float, until: float) -> bool:
    if query.account and query.account.lower() not in str(row.get("account", "")).lower():
        return False
    if query.rule and query.rule.lower() not in str(row.get("rule", "")).lower():
        return False
    # A report's kind (quarantine, user-report) is offered beside its status.
    if query.status and query.status not in (row.get("status", ""), row.get("kind")):
        return False
    ts = row.get("ts")
    if ts is None:
        return not (since or until) and (not query.q
                                         or query.q.lower() in str(row.get("text", "")).lower())
    if since and ts < since:
        return False
    if until and ts >= until:
        return False
    return not query.q or query.q.lower() in str(row.get("text", "")).lower()


def select(rows: Sequence[dict[str, Any]], query: Query) -> Page:
    """The matching rows of ``query``'s page, sorted by time (then as given)."""
    since, until = query.bounds()
    found = [r for r in rows if matches(r, query, since, until)]
    found.sort(key=lambda r: r.get("ts") or 0.0, reverse=query.sort == "new")
    start = (query.page - 1) * query.size
    return Page(found[start:start + query.size], len(found), query)
