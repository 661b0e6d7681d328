"""Issue 14: a hostile report can neither crash nor hold the report stream, and no report
is acknowledged and then lost (real Redis)."""

from __future__ import annotations

import pytest
import redis

from congvu_guard.store import REPORT_STREAM
from tests import hostile_samples as hs
from tests import samples
from tests.helpers import simple_message
from tests.monitor.test_reports import BOX, setup, user_report


def pending(client: redis.Redis) -> int:
    return client.xpending(REPORT_STREAM, "monitor")["pending"]


def test_a_report_of_a_phish_nested_1200_levels_is_stored_with_a_note(redis_client) -> None:
    store, milter = setup(redis_client)
    report = samples.mime_message("Fwd: nghi ngo", [("", "message/rfc822", hs.deep_mime(1200))],
                                  sender="an@hue.gov.vn", to=BOX)
    user_report(milter, report)
    assert store.consume_once("c1", block_ms=100) == 1
    [rec] = store.recent()
    assert rec["note"].startswith("partly parsed"), rec
    assert redis_client.get(f"congvu:report-raw:{rec['id']}") == report
    assert pending(redis_client) == 0


def test_a_report_of_thirty_thousand_dashes_is_ingested(redis_client) -> None:
    store, milter = setup(redis_client)
    user_report(milter, simple_message("Fwd: x", to=BOX, body="-" * 30_000 + "\r\n"
                                       + "\r\n" * 30_000))
    assert store.consume_once("c1", block_ms=100) == 1
    assert [r["form"] for r in store.recent()] == ["plain"]


def test_a_report_whose_ingest_fails_is_stored_raw_not_lost(redis_client) -> None:
    store, _ = setup(redis_client)
    redis_client.xadd(REPORT_STREAM, {"kind": "user-report", "ts": "not a time",
                                      "sender": "an@hue.gov.vn", "raw": b"Subject: x\r\n\r\nx"})
    assert store.consume_once("c1", block_ms=100) == 1
    [rec] = store.recent()
    assert rec["form"] == "unparsed" and "ValueError" in rec["note"]
    assert redis_client.get(f"congvu:report-raw:{rec['id']}") == b"Subject: x\r\n\r\nx"


def test_a_transient_redis_error_during_ingest_leaves_the_report_pending(redis_client) -> None:
    store, milter = setup(redis_client)
    user_report(milter, simple_message("Fwd: x", to=BOX))
    # The real server refuses writes (out of memory) while the report is ingested.
    redis_client.config_set("maxmemory", "1")
    try:
        with pytest.raises(redis.RedisError):
            store.consume_once("c1", block_ms=100)
    finally:
        redis_client.config_set("maxmemory", "0")
    assert pending(redis_client) == 1 and store.recent() == []
    assert store.consume_once("c1", block_ms=100) == 1  # read again, then stored
    assert len(store.recent()) == 1 and pending(redis_client) == 0


def test_idle_report_reads_block_less_than_the_redis_socket_timeout() -> None:
    """A block longer than the socket timeout made every idle read a TimeoutError."""
    from congvu_guard.monitor.reports import block_for

    for timeout in (0.05, 0.5, 1.0, 30.0):
        assert 0 < block_for(timeout) < timeout * 1000
