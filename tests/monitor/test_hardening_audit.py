"""Issue 15, the audit trail on a real Redis and through the running monitor: newest first,
paginated, filtered in Redis; unauthenticated events in a capped stream of their own; CSV
cells that a spreadsheet cannot run; bad query values get 400, never 500."""

from __future__ import annotations

import csv
import io
import urllib.parse

import redis

from congvu_guard.state import keys
from congvu_guard.state.audit import UNAUTH_MAXLEN, AuditTrail, to_csv
from congvu_guard.state.locks import LockStore

from .conftest import Monitor


def flood(client: redis.Redis, n: int, stream: str = keys.AUDIT_STREAM) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        pipe.xadd(stream, {"event": "login-failed", "account": f"guess{i}", "actor": "x"})
    pipe.execute()


def test_a_new_lock_is_first_after_a_flood_of_old_entries(monitor: Monitor) -> None:
    client = redis.Redis.from_url(monitor.redis_url)
    flood(client, 12_000)
    LockStore(client, AuditTrail(client, 30)).lock("moi@hue.gov.vn", "HUE-13.2c", by="op")
    status, rows = monitor.call("GET", "/api/v1/audit?limit=5", "viewer")
    assert status == 200 and rows[0]["account"] == "moi@hue.gov.vn" and len(rows) == 5
    status, csv_text = monitor.call("GET", "/api/v1/audit?format=csv&limit=3", "viewer")
    assert next(iter(csv.DictReader(io.StringIO(csv_text))))["account"] == "moi@hue.gov.vn"


def test_pages_go_back_in_time_and_filters_run_in_redis(redis_client) -> None:
    trail = AuditTrail(redis_client, 30)
    trail.append("lock", "old@hue.gov.vn", "op", reason="HUE-13.2c")
    flood(redis_client, 7000)
    for i in range(5):
        trail.append("lock", f"n{i}@hue.gov.vn", "op")
    page = trail.page(limit=3)
    assert [r["account"] for r in page.rows] == ["n4@hue.gov.vn", "n3@hue.gov.vn",
                                                 "n2@hue.gov.vn"]
    older = trail.page(limit=3, before=page.next_before)
    assert [r["account"] for r in older.rows] == ["n1@hue.gov.vn", "n0@hue.gov.vn", "guess6999"]
    # A filter that matches one entry 7,000 entries back: found by the script, a page of
    # budgeted work at a time, never by shipping the stream to the client.
    found = trail.entries(account="OLD@hue.gov.vn")
    assert [r["reason"] for r in found] == ["HUE-13.2c"]
    first = trail.page(account="old@hue.gov.vn", limit=10)
    assert first.rows == [] and first.next_before  # budget spent: a cursor to go on from
    assert trail.page(event="lock", limit=100).rows[0]["account"] == "n4@hue.gov.vn"


def test_unauthenticated_events_go_to_a_capped_stream(redis_client) -> None:
    trail = AuditTrail(redis_client, 30)
    trail.append("lock", "kept@hue.gov.vn", "op")
    for i in range(UNAUTH_MAXLEN + 1500):
        trail.append_unauthenticated("login-failed", f"guess{i}", remote="203.0.113.1")
    assert redis_client.xlen(keys.AUDIT_STREAM) == 1
    assert redis_client.xlen("congvu:audit-unauth") < UNAUTH_MAXLEN + 200
    assert trail.page(unauthenticated=True, limit=1).rows[0]["account"] == "guess11499"


def test_csv_cells_cannot_start_a_formula() -> None:
    rows = [{"id": "1-0", "ts": "1", "event": "lock", "account": "=HYPERLINK(\"http://x\")",
             "reason": "+1", "actor": "-2+3", "reference": "@SUM(A1)", "approver": "\tx",
             "detail": "\r=1"}]
    [row] = list(csv.DictReader(io.StringIO(to_csv(rows))))
    assert row["account"] == "'=HYPERLINK(\"http://x\")"
    assert [row[k][0] for k in ("reason", "actor", "reference", "approver", "detail")] == \
        ["'"] * 5


def test_bad_since_before_and_limit_get_400_not_500(monitor: Monitor) -> None:
    for q in ("since=nan", "since=inf", "since=-1", "since=1e300", "since=9999-99-99",
              "before=abc", "before=", "limit=0", "limit=x", "limit=5000", "stream=other"):
        status, body = monitor.call("GET", "/api/v1/audit?" + q, "viewer")
        assert status == 400 and body["error"], q
    assert monitor.call("GET", "/api/v1/audit?before=0-0", "viewer") == (200, [])
    q = urllib.parse.urlencode({"since": "2026-01-01T00:00:00"})
    assert monitor.call("GET", "/api/v1/audit?" + q, "viewer")[0] == 200
