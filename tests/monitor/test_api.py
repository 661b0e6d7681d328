"""The admin API against the running monitor and a real Redis."""

from __future__ import annotations

import redis

from congvu_guard.state.audit import AuditTrail
from congvu_guard.state.locks import LockStore

from .conftest import Monitor


def test_health_needs_no_token_and_everything_else_does(monitor: Monitor) -> None:
    assert monitor.call("GET", "/api/v1/health", role=None) == (200, {"status": "ok",
                                                                       "redis": True})
    status, body = monitor.call("GET", "/api/v1/locks", role=None)
    assert status == 401 and "Bearer" in body["error"]
    req_status, _ = monitor.call("GET", "/api/v1/locks", role=None)
    assert req_status == 401


def test_roles_are_enforced(monitor: Monitor) -> None:
    lock = {"account": "role@hue.gov.vn", "reason": "HUE-13.2c"}
    assert monitor.call("POST", "/api/v1/locks", "viewer", lock)[0] == 403
    assert monitor.call("POST", "/api/v1/locks", "operator", lock)[0] == 201
    bulk = {"account": "tb@hue.gov.vn", "limit": 500}
    assert monitor.call("POST", "/api/v1/bulk-senders", "operator", bulk)[0] == 403
    assert monitor.call("POST", "/api/v1/bulk-senders", "admin", bulk)[0] == 201
    assert monitor.call("GET", "/api/v1/bulk-senders", "viewer")[1] == [
        {"account": "tb@hue.gov.vn", "messages": 500, "note": ""}]


def test_lock_unlock_workflow_is_audited_with_the_callers_name(monitor: Monitor) -> None:
    status, lock = monitor.call("POST", "/api/v1/locks", "operator",
                                {"account": "Nv@Hue.gov.vn", "reason": "HUE-13.2c",
                                 "note": "leaked password"})
    assert status == 201 and lock["account"] == "nv@hue.gov.vn"
    assert lock["by"] == "operator-client"
    assert monitor.call("GET", "/api/v1/locks/nv@hue.gov.vn", "viewer")[1]["reason"] == \
        "HUE-13.2c"
    status, body = monitor.call("POST", "/api/v1/locks/nv@hue.gov.vn/unlock", "operator",
                                {"reference": "", "approver": "A"})
    assert status == 400 and "reference" in body["error"]
    status, body = monitor.call("POST", "/api/v1/locks/nv@hue.gov.vn/unlock", "operator",
                                {"reference": "12/UBND", "approver": "Le Van C"})
    assert status == 200 and body["reference"] == "12/UBND"
    assert monitor.call("GET", "/api/v1/locks/nv@hue.gov.vn", "viewer")[0] == 404
    assert monitor.call("POST", "/api/v1/locks/nv@hue.gov.vn/unlock", "operator",
                        {"reference": "x", "approver": "y"})[0] == 404
    status, rows = monitor.call("GET", "/api/v1/audit?account=nv@hue.gov.vn", "viewer")
    assert [(r["event"], r["actor"]) for r in rows] == [("unlock", "operator-client"),
                                                        ("lock", "operator-client")]
    status, csv_text = monitor.call("GET", "/api/v1/audit?format=csv&account=nv@hue.gov.vn",
                                    "viewer")
    assert status == 200 and "12/UBND" in csv_text


def test_a_lock_made_by_the_milter_is_listed(monitor: Monitor) -> None:
    client = redis.Redis.from_url(monitor.redis_url)
    LockStore(client, AuditTrail(client, 30)).lock("bulk@hue.gov.vn", "HUE-13.2d",
                                                    by="milter@mx1")
    _, locks = monitor.call("GET", "/api/v1/locks", "viewer")
    assert any(lk["account"] == "bulk@hue.gov.vn" and lk["by"] == "milter@mx1" for lk in locks)


def test_bad_payloads_get_400_with_a_message_never_500(monitor: Monitor) -> None:
    for raw in (b"not json", b"[1,2]", b'{"account": 5, "reason": "x"}',
                b'{"account": "a", "reason": "x", "expires_seconds": -1}', b"\xff\xfe"):
        status, body = monitor.call("POST", "/api/v1/locks", "admin", raw=raw)
        assert status == 400 and isinstance(body, dict) and body["error"], (raw, body)
    status, body = monitor.call("POST", "/api/v1/ioc", "admin", {"type": "sha256",
                                                                  "value": "nothex"})
    assert status == 400 and "SHA-256" in body["error"]
    assert monitor.call("GET", "/api/v1/audit?since=yesterday", "viewer")[0] == 400
    assert monitor.call("DELETE", "/api/v1/ioc/sha256/" + "0" * 64, "admin")[0] == 404


def test_a_text_field_over_its_limit_is_refused_even_when_the_excess_is_white_space(
        monitor: Monitor) -> None:
    bulk = {"account": "bantin@hue.gov.vn", "limit": 5000, "note": "x" * 500 + "\n" * 20}
    status, body = monitor.call("POST", "/api/v1/bulk-senders", "admin", bulk)
    assert status == 400 and "note: longer than 500" in body["error"], body
    bulk["note"] = "  ban tin hang tuan  "
    status, body = monitor.call("POST", "/api/v1/bulk-senders", "admin", bulk)
    assert status == 201 and body["note"] == "ban tin hang tuan", body


def test_ioc_through_the_api(monitor: Monitor) -> None:
    assert monitor.call("POST", "/api/v1/ioc", "operator",
                        {"type": "domain", "value": "Phish.Example", "note": "CERT"})[0] == 201
    _, items = monitor.call("GET", "/api/v1/ioc", "viewer")
    assert {"type": "domain", "value": "phish.example", "note": "CERT"} in items
    assert monitor.call("DELETE", "/api/v1/ioc/domain/phish.example", "operator")[0] == 403
    assert monitor.call("DELETE", "/api/v1/ioc/domain/phish.example", "admin")[0] == 200


def test_metrics_and_openapi_are_served(monitor: Monitor) -> None:
    status, text = monitor.call("GET", "/metrics", role=None)
    assert status == 200 and "congvu_guard_auth_checks_total" in text
    status, spec = monitor.call("GET", "/api/v1/openapi.json", role=None)
    assert status == 200 and spec["openapi"].startswith("3.")
