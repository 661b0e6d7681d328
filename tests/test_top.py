"""Top senders and forwarders (issue 16) go from the milters to the monitor's API through a
real Redis, not through Prometheus labels."""

from __future__ import annotations

import json

import redis

from congvu_guard.state.top import (
    SENDERS_KEY,
    STALE_SECONDS,
    ForwarderCounts,
    TopSenders,
    day_key,
    publish,
    top_forwarders,
    top_senders,
)

NOW = 1_780_000_000.0  # 2026-05-28 UTC


def test_each_milter_keeps_only_its_busiest_senders() -> None:
    t = TopSenders(keep=3)
    for i, n in enumerate((5, 50, 7, 90, 1)):
        t.set(f"u{i}@hue.gov.vn", n)
    assert t.snapshot() == {"u1@hue.gov.vn": 50, "u2@hue.gov.vn": 7, "u3@hue.gov.vn": 90}


def test_published_counts_of_every_milter_merge_in_the_api_view(redis_client) -> None:
    a, b = TopSenders(), TopSenders()
    a.set("x@hue.gov.vn", 40)
    a.set("y@hue.gov.vn", 3)
    b.set("x@hue.gov.vn", 41)  # the same account seen by two milters: its window count
    fa, fb = ForwarderCounts(), ForwarderCounts()
    fa.add("f@hue.gov.vn", 2)
    fb.add("f@hue.gov.vn")
    fb.add("g@hue.gov.vn")
    assert publish(redis_client, "mx1", a, fa, now=NOW)
    assert publish(redis_client, "mx2", b, fb, now=NOW)
    assert top_senders(redis_client, 10, now=NOW + 1) == [
        {"account": "x@hue.gov.vn", "messages": 41}, {"account": "y@hue.gov.vn", "messages": 3}]
    day = day_key(NOW).rsplit(":", 1)[1]
    assert top_forwarders(redis_client, day, 10) == [
        {"account": "f@hue.gov.vn", "forwards": 3}, {"account": "g@hue.gov.vn", "forwards": 1}]
    assert 0 < redis_client.ttl(day_key(NOW)) <= 8 * 86400
    # Forwards are handed over once: the next publication adds only new ones.
    assert publish(redis_client, "mx1", a, fa, now=NOW + 30)
    assert top_forwarders(redis_client, day, 1) == [{"account": "f@hue.gov.vn", "forwards": 3}]


def test_a_stopped_milter_and_garbage_entries_drop_out(redis_client) -> None:
    t = TopSenders()
    t.set("old@hue.gov.vn", 99)
    publish(redis_client, "gone", t, ForwarderCounts(), now=NOW)
    redis_client.hset(SENDERS_KEY, "bad", "{not json")
    redis_client.hset(SENDERS_KEY, "bad2", json.dumps({"at": "x"}))
    assert top_senders(redis_client, 10, now=NOW + STALE_SECONDS + 1) == []


def test_forwards_are_kept_for_the_next_publication_while_redis_is_down(redis_client) -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1)
    f = ForwarderCounts()
    f.add("f@hue.gov.vn", 4)
    assert not publish(dead, "mx1", TopSenders(), f, now=NOW)
    assert publish(redis_client, "mx1", TopSenders(), f, now=NOW)
    day = day_key(NOW).rsplit(":", 1)[1]
    assert top_forwarders(redis_client, day, 5) == [{"account": "f@hue.gov.vn", "forwards": 4}]
