"""Report-box ingestion on a real Redis: the forms users' clients produce, campaigns,
triage, and no report lost across a restart of the monitor."""

from __future__ import annotations

import redis

from congvu_guard.config import from_mapping
from congvu_guard.model import Action, Envelope, Verdict
from congvu_guard.monitor.reports import ReportStore
from congvu_guard.monitor.state import MonitorState
from congvu_guard.store import REPORT_STREAM, RedisStore
from tests import samples
from tests.helpers import simple_message

BOX = "tiepnhan@hue.gov.vn"


def setup(client: redis.Redis) -> tuple[ReportStore, RedisStore]:
    cfg = from_mapping({"report": {"address": BOX},
                        "monitor": {"users_file": "/nonexistent"}})
    store = ReportStore(MonitorState(cfg, client))
    store.ensure_group()
    return store, RedisStore(client, "test")


def user_report(milter: RedisStore, raw: bytes, reporter: str = "an@hue.gov.vn") -> None:
    env = Envelope(sender=reporter, recipients=[BOX], auth_user=reporter, queue_id="Q1")
    milter.record_report("user-report", env, Verdict(Action.TAG, exempt=True), raw)


PHISH = samples.mime_message("Hop thu sap day", [("x.html", "text/html", b"<form>")],
                             body="Dang nhap http://verify.mailbox-phish.example/a",
                             sender="admin@mailbox-phish.example")


def test_attached_inline_and_tagged_forms_are_understood(redis_client) -> None:
    store, milter = setup(redis_client)
    user_report(milter, samples.mime_message("Fwd: nghi ngo", [("", "message/rfc822", PHISH)],
                                             sender="an@hue.gov.vn", to=BOX))
    inline = simple_message(
        "Fwd: Hop thu sap day", sender="binh@hue.gov.vn", to=BOX,
        body="Xem giup.\r\n\r\n---------- Forwarded message ---------\r\n"
             "From: Quan tri <admin@mailbox-phish.example>\r\nSubject: Hop thu sap day\r\n\r\n"
             "Dang nhap http://verify.mailbox-phish.example/a\r\n")
    user_report(milter, inline, reporter="binh@hue.gov.vn")
    tagged = samples.mime_message("Phishing: Hop thu sap day", [("", "message/rfc822", PHISH)],
                                  sender="chi@hue.gov.vn", to=BOX)
    user_report(milter, tagged, reporter="chi@hue.gov.vn")
    assert store.consume_once("c1", block_ms=100) == 3
    reports = {r["reporter"]: r for r in store.recent()}
    a, b, c = reports["an@hue.gov.vn"], reports["binh@hue.gov.vn"], reports["chi@hue.gov.vn"]
    assert a["form"] == "attached" and a["sender"] == "admin@mailbox-phish.example"
    assert a["domains"] == ["verify.mailbox-phish.example"] and len(a["sha256"]) == 1
    assert b["form"] == "inline" and b["sender"] == "admin@mailbox-phish.example"
    assert b["subject"] == "Hop thu sap day"
    assert c["tag"] == "phishing" and c["form"] == "attached"
    # One campaign: they share the sender and the link.
    assert a["campaign"] == b["campaign"] == c["campaign"]
    [campaign] = [x for x in store.campaigns() if x["id"] == a["campaign"]]
    assert len(campaign["reports"]) == 3
    result = store.triage(b["id"], "benign", "soc1")
    assert result["status"] == "benign" and result["ioc_added"] == []
    assert all(store.get(r)["status"] == "benign" for r in campaign["reports"])


def test_no_report_is_lost_when_the_monitor_dies_before_acknowledging(redis_client) -> None:
    store, milter = setup(redis_client)
    user_report(milter, samples.mime_message("Fwd", [("", "message/rfc822", PHISH)], to=BOX))
    # A monitor read the entry and died before storing it: the entry stays pending.
    redis_client.xreadgroup("monitor", "monitor@host", {REPORT_STREAM: ">"}, count=10)
    assert redis_client.xpending(REPORT_STREAM, "monitor")["pending"] == 1
    assert store.recent() == []
    # The restarted monitor (same consumer name) finds it.
    assert store.consume_once("monitor@host", block_ms=100) == 1
    assert len(store.recent()) == 1
    assert redis_client.xpending(REPORT_STREAM, "monitor")["pending"] == 0
