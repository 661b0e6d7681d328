"""Issue 15, the report box on a real Redis: campaigns merge on strong indicators only;
triage adds only the indicators the operator picks and never an official, own or public
provider domain; stream entries are deleted once stored; bodies are stored once under a
total-bytes cap."""

from __future__ import annotations

import http.client as http_client
import re
import urllib.parse

import redis

from congvu_guard.config import from_mapping
from congvu_guard.model import Action, Envelope, Verdict
from congvu_guard.monitor.reports import ReportStore
from congvu_guard.monitor.state import MonitorState
from congvu_guard.store import REPORT_STREAM, RedisStore
from tests import samples
from tests.helpers import wait_until

from .conftest import PASSWORD, Monitor

BOX = "tiepnhan@thuathienhue.gov.vn"


def setup(client: redis.Redis, **monitor) -> tuple[ReportStore, RedisStore]:
    cfg = from_mapping({"report": {"address": BOX},
                        "monitor": {"users_file": "/nonexistent",
                                    "own_domains": ["hue.vn"], **monitor}})
    store = ReportStore(MonitorState(cfg, client))
    store.ensure_group()
    return store, RedisStore(client, "test")


def report(milter: RedisStore, body: str, attachment: bytes | None = None,
           sender: str = "x@phish.example", reporter: str = "an@thuathienhue.gov.vn") -> None:
    files = [("hoadon.html", "text/html", attachment)] if attachment else []
    inner = samples.mime_message("Thong bao", files, body=body, sender=sender)
    outer = samples.mime_message("Fwd: nghi ngo", [("", "message/rfc822", inner)],
                                 sender=reporter, to=BOX)
    env = Envelope(sender=reporter, recipients=[BOX], auth_user=reporter, queue_id="Q")
    milter.record_report("user-report", env, Verdict(Action.TAG, exempt=True), outer)


def test_campaigns_merge_on_a_full_url_or_hash_never_on_a_domain_alone(redis_client) -> None:
    store, milter = setup(redis_client)
    report(milter, "Nop ho so tai https://dichvucong.gov.vn/p/home va https://evil.example/a")
    report(milter, "Tra cuu https://dichvucong.gov.vn/p/other", sender="y@other.example")
    report(milter, "Lai nua https://evil.example/a", sender="z@third.example")
    report(milter, "Tep", attachment=b"<form action=x>", sender="q@fourth.example")
    report(milter, "Tep nua", attachment=b"<form action=x>", sender="r@fifth.example")
    assert store.consume_once("c1", block_ms=100) == 5
    by_body = {r["urls"][0] if r["urls"] else r["sha256"][0]: r for r in store.recent()}
    first = by_body["https://dichvucong.gov.vn/p/home"]
    assert by_body["https://dichvucong.gov.vn/p/other"]["campaign"] != first["campaign"]
    assert by_body["https://evil.example/a"]["campaign"] == first["campaign"]  # same URL
    hashed = [r for r in store.recent() if r["sha256"]]
    assert len(hashed) == 2 and hashed[0]["campaign"] == hashed[1]["campaign"]
    # Stored once: the stream keeps nothing after the reports are stored.
    assert redis_client.xlen(REPORT_STREAM) == 0
    assert redis_client.xpending(REPORT_STREAM, "monitor")["pending"] == 0


def test_triage_adds_only_picked_indicators_and_never_protected_domains(redis_client) -> None:
    store, milter = setup(redis_client)
    report(milter, "https://evil.example/login https://dichvucong.gov.vn/ https://hue.vn/x "
                   "https://drive.gmail.com/y https://vn/z", attachment=b"<form>")
    store.consume_once("c1", block_ms=100)
    [rec] = store.recent()
    camp = store.campaign(rec["campaign"])
    assert {"domain:dichvucong.gov.vn", "domain:evil.example", "domain:hue.vn",
            "url:https://evil.example/login"} <= set(camp["indicators"])
    nothing = store.triage(rec["id"], "malicious", "soc1")  # nothing picked: nothing added
    assert nothing["ioc_added"] == [] and store.state.ioc.list("domain") == {}
    picked = ["domain:evil.example", f"sha256:{rec['sha256'][0]}", "domain:dichvucong.gov.vn",
              "domain:hue.vn", "domain:drive.gmail.com", "url:https://evil.example/login"]
    result = store.triage(rec["id"], "malicious", "soc1", picked)
    assert result["ioc_added"] == ["domain:evil.example", f"sha256:{rec['sha256'][0]}"]
    why = {r["indicator"]: r["reason"] for r in result["ioc_refused"]}
    assert "official" in why["domain:dichvucong.gov.vn"]
    assert "own domains" in why["domain:hue.vn"]
    assert "public mail provider" in why["domain:drive.gmail.com"]
    assert "only group reports" in why["url:https://evil.example/login"]
    assert list(store.state.ioc.list("domain")) == ["evil.example"]


def test_protected_domains_are_refused_through_the_api_with_the_reason(
        monitor: Monitor) -> None:
    for value, word in (("gov.vn", "official"), ("sotttt.hue.gov.vn", "official"),
                        ("vn", "top-level"), ("gmail.com", "public"),
                        ("thuathienhue.gov.vn", "official")):
        status, body = monitor.call("POST", "/api/v1/ioc", "operator",
                                    {"type": "domain", "value": value})
        assert status == 400 and word in body["error"], (value, body)
    status, body = monitor.call("POST", "/api/v1/reports/rnone/triage", "operator",
                                {"verdict": "malicious", "indicators": "domain:x"})
    assert status == 400 and "indicators" in body["error"]


def test_raw_bodies_are_capped_in_total_and_the_oldest_go_first(redis_client) -> None:
    mib = 1024 * 1024
    store, milter = setup(redis_client, report_raw_max_bytes=mib)
    for i in range(6):
        report(milter, f"Lan {i} https://evil{i}.example/", attachment=b"A" * 200_000)
    assert store.consume_once("c1", block_ms=100) == 6
    assert store.raw.total() <= mib
    stored = [r["id"] for r in store.recent() if store.raw.get(r["id"])]
    newest = store.recent()[0]["id"]
    assert newest in stored and 3 <= len(stored) < 6
    assert sum(len(store.raw.get(r) or b"") for r in stored) == store.raw.total()
    assert redis_client.xlen(REPORT_STREAM) == 0


def test_the_page_shows_every_indicator_unticked_and_adds_only_the_ticked(
        monitor: Monitor) -> None:
    client = redis.Redis.from_url(monitor.redis_url)
    links = " ".join(f"https://lure{i}.phish-page.example/p{i}" for i in range(10))
    report(RedisStore(client, "test"), f"Dang nhap {links}", sender="boss@phish-page.example")
    assert wait_until(lambda: "lure9" in str(monitor.call("GET", "/api/v1/reports",
                                                          "viewer")[1]), timeout=20)
    cookie = session_cookie(monitor, "an.nv")
    _, html = http(monitor, "GET", "/", cookie=cookie)
    boxes = re.findall(r"<input type='checkbox'[^>]*name='indicator' value='([^']*)'([^>]*)>",
                       html)
    values = {v for v, _ in boxes}
    assert {f"domain:lure{i}.phish-page.example" for i in range(10)} <= values
    assert {f"url:https://lure{i}.phish-page.example/p{i}" for i in range(10)} <= values
    assert all("checked" not in rest for _, rest in boxes)
    csrf = re.search(r"name='csrf' value='([^']*)'", html).group(1)
    rid = re.search(r"name='report' value='([^']*)'", html).group(1)
    form = urllib.parse.urlencode([("csrf", csrf), ("report", rid), ("verdict", "malicious"),
                                   ("indicator", "domain:lure3.phish-page.example"),
                                   ("indicator", "sender:boss@phish-page.example")])
    status, _ = http(monitor, "POST", "/ui/triage", form, cookie)
    assert status == 303
    _, iocs = monitor.call("GET", "/api/v1/ioc", "viewer")
    listed = {(i["type"], i["value"]) for i in iocs}
    assert {("domain", "lure3.phish-page.example"), ("sender", "boss@phish-page.example")} \
        <= listed
    assert ("domain", "lure4.phish-page.example") not in listed


def http(mon: Monitor, method: str, path: str, form: str = "", cookie: str = ""
         ) -> tuple[int, str]:
    u = urllib.parse.urlsplit(mon.url)
    conn = http_client.HTTPConnection(u.hostname, u.port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    if form:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, form.encode() if form else None, headers)
    r = conn.getresponse()
    out = r.status, r.read().decode()
    conn.close()
    return out


def session_cookie(mon: Monitor, user: str) -> str:
    u = urllib.parse.urlsplit(mon.url)
    conn = http_client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("POST", "/login", urllib.parse.urlencode({"user": user, "password": PASSWORD}),
                 {"Content-Type": "application/x-www-form-urlencoded"})
    r = conn.getresponse()
    assert r.status == 303
    cookie = r.getheader("Set-Cookie", "").split(";")[0]
    conn.close()
    return cookie


def test_the_ioc_command_refuses_protected_domains_too(redis_tcp: str, tmp_path, capsys
                                                       ) -> None:
    from congvu_guard import cli

    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[redis]\nurl = "{redis_tcp}"\n[monitor]\nown_domains = ["hue.vn"]\n')
    assert cli.main(["ioc", "add", "--type", "domain", "portal.hue.vn", "--config",
                     str(cfg)]) == 2
    assert "own domains" in capsys.readouterr().err
    assert cli.main(["ioc", "add", "--type", "domain", "lure.example", "--config",
                     str(cfg)]) == 0
