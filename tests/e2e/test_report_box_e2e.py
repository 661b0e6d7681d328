"""HUE-11.11 end to end: a user forwards a phishing message to the report box through
Postfix; the monitor turns it into a report; marking it malicious makes the milter stop the
next copy of that attachment."""

from __future__ import annotations

import time

from tests import samples
from tests.helpers import token, wait_until
from tests.monitor.conftest import Monitor

from .conftest import REPORT_BOX, MailSystem
from .harness import send


def phishing(t: str) -> bytes:
    invoice = samples.pdf(js=False) + f"% invoice {t}\n".encode()  # unique, harmless
    return samples.mime_message(
        f"Thong bao hoa don {t}",
        [("hoadon-thang-11.pdf", "application/pdf", invoice)],
        body=f"Vui long dang nhap tai http://dangnhap-hopthu-{t}.example/login de xem.",
        sender="ketoan@phish-sender.example")


def test_reported_phishing_becomes_a_report_and_triage_blocks_the_next_copy(
    mail: MailSystem, monitor: Monitor,
) -> None:
    t = token()
    original = phishing(t)
    # A first copy reaches a user: nothing is known about it yet.
    r = send(mail.inbound_port, "ketoan@phish-sender.example", ["bob@thuathienhue.gov.vn"],
             original, source="127.0.0.2")
    assert r.code == 250
    # The user forwards it, as an attachment, to the report box.
    forward = samples.mime_message(f"Fwd: nghi ngo lua dao {t}",
                                   [("", "message/rfc822", original)],
                                   sender="bob@thuathienhue.gov.vn", to=REPORT_BOX)
    assert send(mail.inbound_port, "bob@thuathienhue.gov.vn", [REPORT_BOX], forward).code == 250
    [delivered] = mail.sink.wait_for(f"nghi ngo lua dao {t}")
    assert delivered.rcpt_tos == (REPORT_BOX,)

    def report() -> dict | None:
        _, reports = monitor.call("GET", "/api/v1/reports", "viewer")
        return next((x for x in reports if t in x.get("subject", "")), None)

    assert wait_until(lambda: report() is not None, timeout=30), monitor.log.read_text()
    rep = report()
    assert rep["kind"] == "user-report" and rep["form"] == "attached"
    assert rep["sender"] == "ketoan@phish-sender.example"
    assert f"dangnhap-hopthu-{t}.example" in rep["domains"] and len(rep["sha256"]) == 1
    _, campaigns = monitor.call("GET", "/api/v1/campaigns", "viewer")
    assert any(rep["id"] in c["reports"] for c in campaigns)

    # The operator picks what goes on the blocklist (issue 15): here the attachment's hash.
    status, result = monitor.call("POST", f"/api/v1/reports/{rep['id']}/triage", "operator",
                                  {"verdict": "malicious",
                                   "indicators": [f"sha256:{rep['sha256'][0]}"]})
    assert status == 200 and result["status"] == "malicious"
    assert f"sha256:{rep['sha256'][0]}" in result["ioc_added"]

    # The next copy of that attachment, even with another text and sender, is stopped.
    t2 = token()
    again = samples.mime_message(
        f"Nhac lai {t2}", [("hoadon.pdf", "application/pdf",
                            samples.pdf(js=False) + f"% invoice {t}\n".encode())],
        sender="other@elsewhere.example")
    time.sleep(0.2)
    r = send(mail.inbound_port, "other@elsewhere.example", ["carol@thuathienhue.gov.vn"],
             again, source="127.0.0.2")
    assert r.code == 250
    [got] = mail.sink.wait_for(f"Nhac lai {t2}")
    assert got.rcpt_tos == (REPORT_BOX,)  # quarantined, per the default policy
    assert "HUE-11.11/ioc" in got.message["X-Congvu-Guard"]


def test_quarantined_mail_is_released_to_its_original_recipients(
    mail: MailSystem, monitor: Monitor,
) -> None:
    t = token()
    rcpts = ["bob@thuathienhue.gov.vn", "carol@thuathienhue.gov.vn"]
    r = send(mail.inbound_port, "partner@example.net", rcpts,
             samples.macro_message(f"release {t}"), source="127.0.0.2")
    assert r.code == 250
    [held] = mail.sink.wait_for(f"release {t}")
    assert held.rcpt_tos == (REPORT_BOX,)

    def report() -> dict | None:
        _, reports = monitor.call("GET", "/api/v1/reports", "viewer")
        return next((x for x in reports if x["kind"] == "quarantine"
                     and t in x.get("subject", "")), None)

    assert wait_until(lambda: report() is not None, timeout=30), monitor.log.read_text()
    rid = report()["id"]
    assert monitor.call("POST", f"/api/v1/reports/{rid}/release", "viewer")[0] == 403
    status, result = monitor.call("POST", f"/api/v1/reports/{rid}/release", "operator")
    assert status == 200 and sorted(result["recipients"]) == rcpts
    copies = mail.sink.wait_for(f"release {t}", count=2)
    assert len(copies) == 2
    released = copies[1]
    assert sorted(released.rcpt_tos) == rcpts
    assert "exempt=released" in released.message["X-Congvu-Guard"]
    assert released.message["X-Congvu-Release"] is None  # our header is removed
    assert monitor.call("POST", f"/api/v1/reports/{rid}/release", "operator")[0] in (200, 409)
