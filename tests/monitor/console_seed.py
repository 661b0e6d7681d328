"""A real day's worth of state for the console's tests (issue 21), written through the
monitor's own state layer into a real Redis: reports ingested by ReportStore.ingest (the
monitor's parser and campaign grouping), locks by LockStore, audit lines in one pipeline
(the AuditTrail's stream and fields), and the milter's day counters (daystats)."""

from __future__ import annotations

import base64
import email.header
import time
import unicodedata
from dataclasses import dataclass

import redis

from congvu_guard.config import from_mapping
from congvu_guard.monitor.reports import ReportStore
from congvu_guard.monitor.state import MonitorState
from congvu_guard.state import daystats, keys
from tests import samples

LOCK_RULES = ("HUE-13.2d", "HUE-13.2c", "BP-6.2d")
LONG_TOKEN = "#" * 300
SUBJECTS = [
    "Thông báo nộp thuế quý IV",  # sent as RFC 2047 UTF-8 base64
    "Giấy mời họp khẩn",  # RFC 2047 windows-1258 quoted-printable
    "Cập nhật mật khẩu hộp thư công vụ",
    "Hoa don dien tu thang 11",
    "Urgent: verify your account " + LONG_TOKEN,
]


@dataclass
class Seeded:
    accounts: list[str]  # locked
    report_ids: list[str]
    long_report: str  # the report whose subject holds a 300-character token
    seconds: float


def _cp1258(ch: str) -> bytes:
    """Windows-1258 has a few precomposed letters and combining tone marks."""
    try:
        return ch.encode("cp1258")
    except UnicodeEncodeError:
        d = unicodedata.normalize("NFD", ch)
        return unicodedata.normalize("NFC", d[:-1]).encode("cp1258", "replace") + \
            d[-1].encode("cp1258", "replace")


def _subject(i: int) -> str:
    text = SUBJECTS[i % len(SUBJECTS)]
    if i % len(SUBJECTS) == 0:
        return email.header.Header(text, "utf-8").encode()
    if i % len(SUBJECTS) == 1:
        # Vietnamese in Windows-1258, as some old clients still send it (decomposed tones).
        data = b"".join(_cp1258(ch) for ch in text)
        return "=?windows-1258?B?" + base64.b64encode(data).decode() + "?="
    return text


def _report(i: int) -> bytes:
    campaign = i % 25  # 25 campaigns sharing an attachment
    files = [(f"hoadon-{campaign}.html", "text/html", f"<p>lure {campaign}</p>".encode())]
    inner = samples.mime_message(_subject(i), files, body=f"https://lure{campaign}.example/x",
                                 sender=f"boss{campaign}@phish{campaign}.example")
    return samples.mime_message("Fwd: nghi ngo", [("", "message/rfc822", inner)],
                                sender=f"nv{i % 40}@thuathienhue.gov.vn",
                                to="tiepnhan@hue.gov.vn")


def seed(client: redis.Redis, reports: int = 500, locks: int = 200,
         audit_lines: int = 5000) -> Seeded:
    started = time.perf_counter()
    cfg = from_mapping({"report": {"address": "tiepnhan@hue.gov.vn"},
                        "monitor": {"users_file": "/nonexistent"}})
    state = MonitorState(cfg, client)
    store = ReportStore(state)
    now = time.time()
    ids = []
    long_report = ""
    raw_cache: dict[int, bytes] = {}
    for i in range(reports):
        raw = raw_cache.setdefault(i % 50, _report(i % 50))
        ts = now - i * 1200  # one every 20 minutes: a week holds 500
        kind = "quarantine" if i % 7 == 0 else "user-report"
        rid = store.ingest(f"{int(ts * 1000)}-{i}", {
            "kind": kind, "ts": f"{ts:.3f}", "queue_id": f"Q{i}",
            "sender": f"boss{i % 25}@phish{i % 25}.example",
            "auth_user": f"nv{i % 40}@thuathienhue.gov.vn",
            "recipients": "bob@hue.gov.vn", "rules": "HUE-11.11" if kind == "quarantine"
            else "", "reasons": "HUE-11.11 lookalike" if kind == "quarantine" else "",
            "raw": raw})
        ids.append(rid)
        if i % len(SUBJECTS) == 4 and not long_report:
            long_report = rid
    dated = client.xlen(keys.AUDIT_STREAM) == 0  # IDs in the past only on an empty trail
    pipe = client.pipeline(transaction=False)
    for i in range(audit_lines):
        ts = now - (audit_lines - i) * 60  # one a minute, oldest first: IDs in order
        pipe.xadd(keys.AUDIT_STREAM, {"ts": f"{ts:.3f}",
                                      "event": "lock" if i % 2 else "unlock",
                                      "account": f"old{i % 300}@thuathienhue.gov.vn",
                                      "actor": "milter@mx1", "reason": LOCK_RULES[i % 3]},
                  id=f"{int(ts * 1000)}-{i}" if dated else "*")
    pipe.execute()
    accounts = [f"lock{i:03d}@thuathienhue.gov.vn" for i in range(locks)]
    for i, account in enumerate(accounts):
        state.locks.lock(account, LOCK_RULES[i % 3], by="milter@mx1",
                         evidence={"messages": str(101 + i), "window": "3600"})
    for i in range(25):  # a blocklist of a few campaigns' indicators
        state.ioc.add("domain", f"lure{i}.example", f"campaign {i}")
        state.ioc.add("sender", f"boss{i}@phish{i}.example", f"campaign {i}")
    for day in range(7):
        ts = now - day * 86400
        for action, n in (("accept", 40 + day), ("reject", 5 + day), ("quarantine", 2)):
            for _ in range(n):
                daystats.count(client, action, ts)
    return Seeded(accounts, ids, long_report, time.perf_counter() - started)
