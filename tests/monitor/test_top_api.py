"""GET /api/v1/top/senders and /top/forwarders (issue 16): the per-account view that left
Prometheus, served to authenticated users of the monitor from what the milters published."""

from __future__ import annotations

import time

import redis

from congvu_guard.state.top import ForwarderCounts, TopSenders, publish

from .conftest import Monitor


def test_top_senders_and_forwarders_are_served_to_authenticated_users(monitor: Monitor) -> None:
    client = redis.Redis.from_url(monitor.redis_url)
    senders, forwarders = TopSenders(), ForwarderCounts()
    senders.set("busy@hue.gov.vn", 87)
    forwarders.add("fw@hue.gov.vn", 2)
    now = time.time()
    assert publish(client, "mx-api-test", senders, forwarders, now=now)
    status, rows = monitor.call("GET", "/api/v1/top/senders?limit=5", role="viewer")
    assert status == 200 and {"account": "busy@hue.gov.vn", "messages": 87} in rows
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    status, rows = monitor.call("GET", f"/api/v1/top/forwarders?day={day}", role="viewer")
    assert status == 200 and {"account": "fw@hue.gov.vn", "forwards": 2} in rows
    assert monitor.call("GET", "/api/v1/top/senders", role=None)[0] == 401
    assert monitor.call("GET", "/api/v1/top/forwarders?day=2026-13-40")[0] == 400
    assert monitor.call("GET", "/api/v1/top/forwarders?day=")[0] == 400
    assert monitor.call("GET", "/api/v1/top/senders?limit=0")[0] == 400
    status, text = monitor.call("GET", "/metrics", role=None)
    assert "busy@hue.gov.vn" not in text and "fw@hue.gov.vn" not in text
