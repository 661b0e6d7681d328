"""The admin API (JSON, described in openapi.json): locks, audit trail, bulk senders, IOC
blocklist, health. Bearer tokens, roles viewer < operator < admin; every write is audited
with the caller's name. Bad payloads get 400 with a message, unknown accounts 404."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..detectors.ioc import KINDS
from ..state.audit import PAGE_MAX, to_csv
from ..state.locks import LockError, NotLocked
from . import console_data, listing
from .auth import User
from .state import MonitorState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
STATE: web.AppKey[MonitorState] = web.AppKey("state", MonitorState)


_ERRORS: dict[int, type[web.HTTPException]] = {
    400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden,
    404: web.HTTPNotFound, 409: web.HTTPConflict, 503: web.HTTPServiceUnavailable,
}


def ApiError(status: int, message: str) -> web.HTTPException:
    """A JSON error response: {"error": "..."}."""
    return _ERRORS[status](text=json.dumps({"error": message}), content_type="application/json")


def bad(message: str) -> web.HTTPException:
    return ApiError(400, message)


def state_of(request: web.Request) -> MonitorState:
    return request.app[STATE]


def caller(request: web.Request, role: str) -> User:
    """The authenticated caller (bearer token, or the page's session) with at least role."""
    user: User | None = request.get("user")
    if user is None:
        auth = request.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            user = state_of(request).auth.by_token(auth[7:].strip())
    if user is None:
        raise ApiError(401, "authentication required (Authorization: Bearer TOKEN)")
    if not user.may(role):
        raise ApiError(403, f"{user.name} has role {user.role}; this needs {role}")
    return user


async def body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        raise bad("the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise bad("the body must be a JSON object")
    return data


def text_field(data: dict[str, Any], key: str, required: bool = True, limit: int = 500) -> str:
    value = data.get(key, "")
    if not isinstance(value, str):
        raise bad(f"{key}: expected a string")
    # The limit is on the value as sent, as the OpenAPI schema's maxLength says: checked
    # after the strip, 500 characters and a run of line breaks were accepted (schemathesis).
    if len(value) > limit:
        raise bad(f"{key}: longer than {limit} characters")
    value = value.strip()
    if required and not value:
        raise bad(f"{key}: required")
    return value


def int_field(data: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = data.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise bad(f"{key}: expected an integer from {low} to {high}")
    return value


async def run(fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    """The shared stores are synchronous: keep them off the event loop."""
    return await asyncio.to_thread(fn, *args, **kw)


def account_param(request: web.Request) -> str:
    account = request.match_info["account"].strip()
    if not account or len(account) > 320:
        raise bad("account: expected a login or mail address")
    return account


# -- handlers ------------------------------------------------------------------------------

async def health(request: web.Request) -> web.Response:
    ok = await run(state_of(request).redis_ok)
    return web.json_response({"status": "ok" if ok else "degraded", "redis": ok},
                             status=200 if ok else 503)


INTERNAL = ("account", "rule", "text", "ts", "first_report", "title")


def list_query(request: web.Request, default_size: int = listing.MAX_SIZE) -> listing.Query:
    """The list filters of the page, for the API (issue 21): q, account, rule, status,
    from, to (dates, Vietnam's days), sort (new/old), page, size."""
    try:
        return listing.parse(request.query, default_size)
    except listing.QueryError as e:
        raise bad(str(e)) from None


def paged(rows: list[dict[str, Any]], query: listing.Query,
          shape: Callable[[dict[str, Any]], dict[str, Any]]) -> web.Response:
    pg = listing.select(rows, query)
    return web.json_response([shape(r) for r in pg.rows],
                             headers={"X-Total-Count": str(pg.total)})


def _lock_shape(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in (*INTERNAL, "status")} | {
        "account": row["account"]}


async def list_locks(request: web.Request) -> web.Response:
    caller(request, "viewer")
    query = list_query(request)
    rows = await run(console_data.locks, state_of(request).client)
    return paged(rows, query, _lock_shape)


async def show_lock(request: web.Request) -> web.Response:
    caller(request, "viewer")
    account = account_param(request)
    lock = await run(state_of(request).locks.get, account)
    if lock is None:
        raise ApiError(404, f"{account} is not locked")
    return web.json_response(lock.as_dict())


async def create_lock(request: web.Request) -> web.Response:
    user = caller(request, "operator")
    data = await body(request)
    account = text_field(data, "account", limit=320)
    reason = text_field(data, "reason", limit=40)
    note = text_field(data, "note", required=False)
    expires = int_field(data, "expires_seconds", 0, 0, 365 * 86400)
    st = state_of(request)
    try:
        lock = await run(st.locks.lock, account, reason, by=user.name, note=note,
                         expires_seconds=expires)
    except LockError as e:
        raise bad(str(e)) from None
    await run(st.after_lock_change, "lock", lock.account, user.name)
    return web.json_response(lock.as_dict(), status=201)


async def unlock(request: web.Request) -> web.Response:
    user = caller(request, "operator")
    account = account_param(request)
    data = await body(request)
    reference = text_field(data, "reference", limit=200)
    approver = text_field(data, "approver", limit=200)
    st = state_of(request)
    try:
        lock = await run(st.locks.unlock, account, reference, approver, actor=user.name)
    except NotLocked as e:
        raise ApiError(404, str(e)) from None
    except LockError as e:
        raise bad(str(e)) from None
    await run(st.after_lock_change, "unlock", lock.account, user.name)
    return web.json_response({"unlocked": lock.as_dict(), "reference": reference,
                              "approver": approver})


def _since(value: str) -> float:
    if not value:
        return 0.0
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # nan, inf and far-future values would make no stream ID (issue 15: 500 before).
        if not math.isfinite(seconds) or not 0 <= seconds < 1e11:
            raise bad("since: expected unix seconds from 0 to 1e11 or an ISO date/time")
        return seconds
    try:
        when = dt.datetime.fromisoformat(value)
        return (when if when.tzinfo else when.astimezone()).timestamp()
    except (ValueError, OverflowError, OSError):
        raise bad("since: expected an ISO date/time or unix seconds") from None


_STREAM_ID = re.compile(r"[0-9]{1,20}-[0-9]{1,20}\Z")


async def audit(request: web.Request) -> web.StreamResponse:
    """Newest first, one page (``limit``, default 100), older pages with ``before`` (the
    ``X-Next-Before`` header of the previous page)."""
    caller(request, "viewer")
    q = request.query
    fmt = q.get("format", "json")
    if fmt not in ("json", "csv"):
        raise bad("format: json or csv")
    stream = q.get("stream", "main")
    if stream not in ("main", "unauthenticated"):
        raise bad("stream: main or unauthenticated")
    before = q.get("before", "")
    # Both halves of a stream ID are 64-bit: Redis refuses a larger one (a 500 before).
    if "before" in q and not (_STREAM_ID.match(before) and all(
            int(x) < 1 << 64 for x in before.split("-"))):
        raise bad("before: expected an entry ID such as 1764560000000-0")
    try:
        limit = int(q.get("limit", "100"))
    except ValueError:
        raise bad("limit: expected an integer from 1 to 1000") from None
    if not 1 <= limit <= PAGE_MAX:
        raise bad("limit: expected an integer from 1 to 1000")
    account, event, query = q.get("account", ""), q.get("event", ""), q.get("q", "")
    if len(account) > 320 or len(event) > 40 or len(query) > 200:
        raise bad("account, event or q: too long")
    sort = q.get("sort", "new")
    if sort not in ("new", "old"):
        raise bad("sort: new or old")
    page = await run(state_of(request).audit.page, account=account,
                     since=_since(q.get("since", "")), event=event, limit=limit,
                     before=before, unauthenticated=stream == "unauthenticated",
                     query=query, oldest_first=sort == "old")
    headers = {"X-Next-Before": page.next_before} if page.next_before else {}
    if fmt == "csv":
        return web.Response(text=to_csv(page.rows), content_type="text/csv", headers=headers)
    return web.json_response(page.rows, headers=headers)


async def list_bulk(request: web.Request) -> web.Response:
    caller(request, "viewer")
    query = list_query(request)
    rows = await run(console_data.bulk, state_of(request).client)
    return paged(rows, query, lambda r: {"account": r["account"], "messages": r["messages"],
                                         "note": r["note"]})


async def add_bulk(request: web.Request) -> web.Response:
    user = caller(request, "admin")
    data = await body(request)
    account = text_field(data, "account", limit=320)
    limit = int_field(data, "limit", -1, -1, 10_000_000)
    note = text_field(data, "note", required=False)
    await run(state_of(request).bulk.add, account, limit, user.name, note)
    return web.json_response({"account": account.lower(), "messages": limit, "note": note},
                             status=201)


async def remove_bulk(request: web.Request) -> web.Response:
    user = caller(request, "admin")
    account = account_param(request)
    if not await run(state_of(request).bulk.remove, account, user.name):
        raise ApiError(404, f"{account} is not a registered bulk sender")
    return web.json_response({"removed": account})


async def list_ioc(request: web.Request) -> web.Response:
    caller(request, "viewer")
    query = list_query(request)
    rows = await run(console_data.ioc, state_of(request).client)
    return paged(rows, query, lambda r: {"type": r["type"], "value": r["value"],
                                         "note": r["note"]})


async def add_ioc(request: web.Request) -> web.Response:
    user = caller(request, "operator")
    data = await body(request)
    kind = text_field(data, "type", limit=10)
    if kind not in KINDS:
        raise bad(f"type: one of {', '.join(KINDS)}")
    note = text_field(data, "note", required=False)
    st = state_of(request)
    value = text_field(data, "value", limit=500)
    why = st.domain_guard.refusal(value) if kind == "domain" else None
    if why is not None:
        raise bad(f"value: {why}")
    try:
        value = await run(st.ioc.add, kind, value, note)
    except ValueError as e:
        raise bad(str(e)) from None
    await run(st.audit.append, "ioc-add", value, user.name, reason=kind, detail={"note": note})
    return web.json_response({"type": kind, "value": value, "note": note}, status=201)


async def remove_ioc(request: web.Request) -> web.Response:
    user = caller(request, "admin")
    kind = request.match_info["kind"]
    if kind not in KINDS:
        raise bad(f"type: one of {', '.join(KINDS)}")
    value = request.match_info["value"]
    st = state_of(request)
    try:
        removed = await run(st.ioc.remove, kind, value)
    except ValueError as e:
        raise bad(str(e)) from None
    if not removed:
        raise ApiError(404, f"{value} is not listed")
    await run(st.audit.append, "ioc-remove", value, user.name, reason=kind)
    return web.json_response({"removed": value, "type": kind})


def _limit(request: web.Request) -> int:
    raw = request.query.get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 500:
        raise bad("limit: expected 1..500")
    return int(raw)


async def top_senders(request: web.Request) -> web.Response:
    """HUE-13.2d: the busiest senders now (from every live milter; not in Prometheus)."""
    caller(request, "viewer")
    from ..state.top import top_senders as read

    return web.json_response(await run(read, state_of(request).client, _limit(request)))


async def top_forwarders(request: web.Request) -> web.Response:
    """HUE-11.6/HUE-12.4: the accounts with the most automatic forwards on a UTC day."""
    caller(request, "viewer")
    from ..state.top import top_forwarders as read

    day = request.query.get("day", dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"))
    try:
        dt.date.fromisoformat(day)
    except ValueError:
        raise bad("day: expected YYYY-MM-DD") from None
    if len(day) != 10:
        raise bad("day: expected YYYY-MM-DD")
    return web.json_response(await run(read, state_of(request).client, day, _limit(request)))


def routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/v1/health", health)
    r.add_get("/api/v1/locks", list_locks)
    r.add_post("/api/v1/locks", create_lock)
    r.add_get("/api/v1/locks/{account}", show_lock)
    r.add_post("/api/v1/locks/{account}/unlock", unlock)
    r.add_get("/api/v1/audit", audit)
    r.add_get("/api/v1/bulk-senders", list_bulk)
    r.add_post("/api/v1/bulk-senders", add_bulk)
    r.add_delete("/api/v1/bulk-senders/{account}", remove_bulk)
    r.add_get("/api/v1/ioc", list_ioc)
    r.add_post("/api/v1/ioc", add_ioc)
    r.add_delete("/api/v1/ioc/{kind}/{value}", remove_ioc)
    r.add_get("/api/v1/top/senders", top_senders)
    r.add_get("/api/v1/top/forwarders", top_forwarders)
