"""Issue 21, the security team's console without a browser: one catalogue per language,
Vietnam's dates, subjects decoded whatever the charset, the list filters of the page and
the API, the milter's day counters, a report's detail page and its safe download."""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import re
import time
import urllib.parse

import pytest
import redis

from congvu_guard.monitor import listing
from congvu_guard.monitor.i18n import EN, VI, fields_of, local_time
from congvu_guard.monitor.mailtext import decode_header_text, raw_header
from congvu_guard.state import daystats

from .conftest import PASSWORD, Monitor
from .console_seed import LONG_TOKEN, seed


def test_both_catalogues_have_the_same_keys_and_placeholders() -> None:
    assert VI.keys() == EN.keys()
    for key in VI:
        assert fields_of(VI[key]) == fields_of(EN[key]), key
        assert VI[key].strip() and EN[key].strip(), key


def test_dates_are_shown_in_vietnams_time_and_format() -> None:
    ts = dt.datetime(2026, 11, 30, 17, 5, tzinfo=dt.UTC).timestamp()
    assert local_time(ts) == "01/12/2026 00:05"  # already the next day in Hanoi
    assert local_time("not a time") == ""


def test_subjects_are_decoded_in_any_charset() -> None:
    cp1258 = "=?windows-1258?B?" + base64.b64encode(
        b"Gia\xcc\xecy mo\xcc\x80i").decode() + "?="
    assert decode_header_text(cp1258).startswith("Gi")
    assert "\ufffd" not in decode_header_text(cp1258)
    assert decode_header_text("=?utf8?B?" + base64.b64encode(
        "Thông báo".encode()).decode() + "?=") == "Thông báo"  # label Python lacks
    assert decode_header_text("=?x-nonsense?Q?abc?=") == "abc"
    raw = "Subject: Cập nhật\r\n mật khẩu\r\nFrom: a@b\r\n\r\nbody".encode()
    assert raw_header(raw, "subject") == "Cập nhật mật khẩu"
    assert raw_header("Subject: H\xf4m nay\r\n\r\n".encode("latin-1"), "Subject") == "Hôm nay"


def test_hostile_header_values_are_bounded_and_never_raise() -> None:
    assert len(decode_header_text("=?" * 500_000 + "?=")) <= 2000
    assert decode_header_text("=?utf-8?B?####?= \udcff\udcfe") is not None
    flood = b"X-A: " + b"=?a?b?" * 200_000 + b"\r\n" + b"Y: b\r\n" * 100_000
    assert raw_header(flood, "Subject") is None  # past the 64 KiB header block
    assert raw_header(b"Subject: =?utf-8?q?=E1?=\r\n\r\n", "subject") is not None


def rows() -> list[dict]:
    base = dt.datetime(2026, 12, 1, 9, 0, tzinfo=daystats.VN).timestamp()
    return [{"ts": base - i * 86400, "account": f"a{i}@hue.gov.vn", "rule": "HUE-13.2d"
             if i % 2 else "BP-6.2d", "status": "open" if i % 3 else "benign",
             "text": f"a{i}@hue.gov.vn subject {i}"} for i in range(30)]


def test_lists_are_filtered_sorted_by_time_and_paged_on_the_server() -> None:
    pg = listing.select(rows(), listing.parse({"size": "10", "page": "2"}))
    assert pg.total == 30 and pg.pages == 3 and len(pg.rows) == 10
    assert pg.rows[0]["account"] == "a10@hue.gov.vn"  # newest first
    old = listing.select(rows(), listing.parse({"sort": "old", "size": "5"}))
    assert old.rows[0]["account"] == "a29@hue.gov.vn"
    q = listing.parse({"rule": "hue-13.2D", "status": "open", "q": "SUBJECT 1"})
    assert {r["account"] for r in listing.select(rows(), q).rows} == {
        f"a{i}@hue.gov.vn" for i in (1, 11, 13, 17, 19)}
    day = listing.parse({"from": "2026-11-29", "to": "2026-11-30"})
    assert [r["account"] for r in listing.select(rows(), day).rows] == [
        "a1@hue.gov.vn", "a2@hue.gov.vn"]
    assert listing.parse({"from": "29/11/2026"}, strict=False).date_from == dt.date(
        2026, 11, 29)


@pytest.mark.parametrize("params", [{"page": "0"}, {"size": "501"}, {"sort": "up"},
                                    {"from": "29/11/2026"}, {"to": ""}, {"q": "x" * 201}])
def test_the_api_refuses_bad_filters_the_page_ignores_them(params: dict) -> None:
    with pytest.raises(listing.QueryError):
        listing.parse(params)
    assert listing.parse(params, strict=False).page == 1


def test_the_milters_day_counters_are_read_per_vietnamese_day(redis_client) -> None:
    now = dt.datetime(2026, 12, 1, 23, 30, tzinfo=daystats.VN).timestamp()
    for action in ("accept", "accept", "reject", "quarantine"):
        daystats.count(redis_client, action, now)
    daystats.count(redis_client, "reject", now + 3600)  # 00:30 the next day in Hanoi
    got = daystats.read(redis_client, [dt.date(2026, 12, 1), dt.date(2026, 12, 2)],
                        ("judged", "reject", "quarantine"))
    assert got == [{"judged": 4, "reject": 1, "quarantine": 1},
                   {"judged": 1, "reject": 1, "quarantine": 0}]
    assert 0 < redis_client.ttl("congvu:day:20261201") <= daystats.KEEP_DAYS * 86400


def test_the_audit_trail_is_searched_and_read_oldest_first_inside_redis(redis_client) -> None:
    from congvu_guard.state.audit import AuditTrail

    trail = AuditTrail(redis_client, 30)
    for i in range(450):
        trail.append("lock", f"a{i}@hue.gov.vn", "milter@mx1", reason="HUE-13.2d")
    trail.append("unlock", "a7@hue.gov.vn", "an.nv", reference="45/UBND-VP",
                 approver="Ho Van D")
    found = trail.page(query="45/ubnd-vp", limit=10)
    assert [(r["event"], r["account"]) for r in found.rows] == [("unlock", "a7@hue.gov.vn")]
    first = trail.page(oldest_first=True, limit=200)
    assert first.rows[0]["account"] == "a0@hue.gov.vn" and len(first.rows) == 200
    second = trail.page(oldest_first=True, limit=200, before=first.next_before)
    assert second.rows[0]["account"] == "a200@hue.gov.vn"
    assert [r["account"] for r in trail.page(query="A44", limit=20).rows][-1] == \
        "a44@hue.gov.vn"


# -- on a running monitor (after the tests above: redis_client empties the shared Redis) --

def request(mon: Monitor, method: str, path: str, form: str = "", cookie: str = ""
            ) -> http.client.HTTPResponse:
    u = urllib.parse.urlsplit(mon.url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
    if cookie:
        headers["Cookie"] = cookie
    c.request(method, path, body=form or None, headers=headers)
    return c.getresponse()


@pytest.fixture(scope="module")
def seeded(monitor: Monitor):
    return seed(redis.Redis.from_url(monitor.redis_url), reports=60, locks=30,
                audit_lines=300)


@pytest.fixture(scope="module")
def cookie(monitor: Monitor) -> str:
    r = request(monitor, "POST", "/login", urllib.parse.urlencode(
        {"user": "an.nv", "password": PASSWORD}))
    return r.getheader("Set-Cookie", "").split(";")[0]


def test_the_report_page_shows_headers_escaped_and_the_whole_subject(
        monitor: Monitor, seeded, cookie: str) -> None:
    html = request(monitor, "GET", f"/ui/reports/{seeded.long_report}", cookie=cookie
                   ).read().decode()
    assert LONG_TOKEN in html  # whole on the detail page
    assert "&lt;boss4@phish4.example&gt;" in html  # the From header, escaped
    listed = request(monitor, "GET", "/ui/reports?size=100", cookie=cookie).read().decode()
    assert LONG_TOKEN not in listed and "#" * 40 + "…" in listed  # shortened in the list
    assert "Giấy mời họp khẩn" in listed  # Windows-1258 encoded word
    assert "Cập nhật mật khẩu hộp thư công vụ" in listed  # raw 8-bit UTF-8
    assert "\ufffd" not in listed


def test_the_raw_message_downloads_as_an_attachment_never_rendered(
        monitor: Monitor, seeded, cookie: str) -> None:
    r = request(monitor, "GET", f"/ui/reports/{seeded.report_ids[3]}/raw", cookie=cookie)
    body = r.read()
    assert r.status == 200 and body.startswith(b"From: ")
    assert r.getheader("Content-Disposition") == \
        f'attachment; filename="{seeded.report_ids[3]}.eml"'
    assert r.getheader("Content-Type") == "application/octet-stream"
    assert r.getheader("X-Content-Type-Options") == "nosniff"
    assert request(monitor, "GET", f"/ui/reports/{seeded.report_ids[3]}/raw").status == 303
    assert request(monitor, "GET", "/ui/reports/r1/raw", cookie=cookie).status == 404
    assert request(monitor, "GET", "/ui/reports/..%2Fx/raw", cookie=cookie).status == 404


def test_flash_messages_and_errors_speak_the_pages_language(
        monitor: Monitor, seeded, cookie: str) -> None:
    html = request(monitor, "GET", "/", cookie=cookie).read().decode()
    csrf = re.search(r"name='csrf' value='([^']*)'", html).group(1)
    form = urllib.parse.urlencode({"csrf": csrf, "account": seeded.accounts[0],
                                   "reference": "45/UBND-VP", "approver": "Ho Van D"})
    r = request(monitor, "POST", "/ui/unlock", form, cookie)
    assert r.status == 303
    html = request(monitor, "GET", r.getheader("Location"), cookie=cookie).read().decode()
    assert f"Đã khôi phục hộp thư <bdi>{seeded.accounts[0]}</bdi>." in html
    r = request(monitor, "POST", "/ui/unlock", form, cookie)  # not locked any more
    assert r.getheader("Location") == "/"  # the message waits in the session, not the URL
    html = request(monitor, "GET", "/?lang=en",
                   cookie=cookie).read().decode()
    assert f"Account <bdi>{seeded.accounts[0]}</bdi> is not locked." in html
    r = request(monitor, "POST", "/ui/unlock", "csrf=wrong&account=x", cookie)
    assert r.status == 403 and "Biểu mẫu đã hết hạn" in r.read().decode()


def test_the_api_filters_and_pages_like_the_page(monitor: Monitor, seeded) -> None:
    status, found = monitor.call("GET", f"/api/v1/locks?account={seeded.accounts[7]}",
                                 "viewer")
    assert status == 200 and [lk["account"] for lk in found] == [seeded.accounts[7]]
    status, page = monitor.call("GET", "/api/v1/reports?size=4&page=2&status=quarantine",
                                "viewer")
    assert status == 200 and len(page) == 4 and {r["kind"] for r in page} == {"quarantine"}
    status, camps = monitor.call("GET", "/api/v1/campaigns?size=3", "viewer")
    assert status == 200 and len(camps) == 3 and all(c["title"] for c in camps)
    assert monitor.call("GET", "/api/v1/locks?size=0", "viewer")[0] == 400
    assert monitor.call("GET", "/api/v1/ioc?from=2026-02-30", "viewer")[0] == 400


def test_the_overview_draws_seven_day_charts_and_links_to_grafana() -> None:
    from congvu_guard.monitor.auth import User
    from congvu_guard.monitor.console_views import Ctx, overview
    from congvu_guard.monitor.i18n import Words

    days = [dt.date(2026, 11, 25) + dt.timedelta(days=i) for i in range(7)]
    ov = {"days": days, "judged": [5, 0, 7, 9, 1, 2, 40], "rejected": [0] * 6 + [3],
          "quarantined": [1] * 7, "counted": True, "locks": [0] * 7,
          "reports": [2] * 7, "locks_by_rule": [("HUE-13.2d", 1, 4, 2)], "untriaged": 6}
    ctx = Ctx(Words("vi"), User("an.nv", "viewer", ""), "", None, 20,
              "https://grafana.hue.gov.vn/d/cg")
    html = overview(ctx, ov)
    assert html.count("<svg") == 5 and html.count("<rect") == 35
    assert "<script" not in html and "style=" not in html  # the CSP allows neither
    assert html.count("href='https://grafana.hue.gov.vn/d/cg'") == 6  # each chart, and below
    assert "href='/ui/locks?rule=HUE-13.2d'" in html
    assert "<bdi>40</bdi></span> Hôm nay" in html and "<bdi>64</bdi> 7 ngày" in html
    ov["counted"] = False  # a milter without day counters: said, not shown as zero
    assert VI["not_counted"] in overview(ctx, ov)


def test_the_audit_api_searches_and_sorts(monitor: Monitor, seeded) -> None:
    status, rows = monitor.call("GET", "/api/v1/audit?q=OLD1&sort=old&limit=3", "viewer")
    assert status == 200 and len(rows) == 3
    assert [r["account"].split("@")[0] for r in rows] == ["old1", "old10", "old11"]
    assert float(rows[0]["ts"]) < float(rows[1]["ts"])
    assert monitor.call("GET", "/api/v1/audit?sort=up", "viewer")[0] == 400


def test_locks_are_counted_per_day_and_rule_from_the_audit_trail(monitor: Monitor,
                                                                 seeded) -> None:
    """Locks since lifted count too: the trail, not the current locks, is the source."""
    from congvu_guard.monitor import console_data

    client = redis.Redis.from_url(monitor.redis_url)
    days = console_data.last_days(time.time())
    per_rule = console_data.locks_by_day(client, days)
    # The seed: 30 locks now (10 per rule) and 150 older lock lines a minute apart.
    assert sum(per_rule["HUE-13.2d"]) >= 10 and sum(map(sum, per_rule.values())) >= 180
    ov = console_data.overview(client, time.time(), console_data.locks(client), [])
    assert ov["locks"] == [sum(c[i] for c in per_rule.values()) for i in range(7)]


def test_a_crafted_link_cannot_show_a_forged_message(monitor: Monitor, cookie: str) -> None:
    html = request(monitor, "GET", "/?flash=flash_unlocked&account=boss%40evil.example",
                   cookie=cookie).read().decode()
    assert "boss@evil.example" not in html and "id='flash'" not in html


def test_a_report_is_triaged_from_its_own_page(monitor: Monitor, seeded, cookie: str) -> None:
    rid = seeded.report_ids[11]
    html = request(monitor, "GET", f"/ui/reports/{rid}", cookie=cookie).read().decode()
    csrf = re.search(r"name='csrf' value='([^']*)'", html).group(1)
    ticks = re.findall(r"name='indicator' value='([^']*)'", html)
    domain = next(i for i in ticks if i.startswith("domain:lure"))
    form = urllib.parse.urlencode([("csrf", csrf), ("report", rid), ("verdict", "malicious"),
                                   ("indicator", domain)])
    assert request(monitor, "POST", "/ui/triage", form, cookie).status == 303
    html = request(monitor, "GET", "/", cookie=cookie).read().decode()
    assert "đã chặn <bdi>1</bdi> dấu hiệu" in html
    _, report = monitor.call("GET", f"/api/v1/reports/{rid}", "viewer")
    assert report["status"] == "malicious"
