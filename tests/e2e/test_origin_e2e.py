"""HUE-11.11 (origin) end to end: Postfix, the milter and a DNS server on loopback.

A message claiming our own domain from an outside client (127.0.0.2, outside the
milter's internal networks) without our DKIM signature lands in the report box; one
signed by our own server's key is delivered, with its Authentication-Results; our users'
SASL submission and our internal hosts are not judged.
"""

from __future__ import annotations

import email.utils
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from congvu_guard.lab.postfix import Listener, PostfixInstance
from tests.dkim_keys import DkimKey, make_key, sign
from tests.dns_server import ZoneServer
from tests.helpers import free_port, token

from .conftest import REPORT_BOX
from .harness import MilterProcess, Sink, send

OUTSIDE = "127.0.0.2"
USER, PASSWORD = "vanphong@thuathienhue.gov.vn", "mat-khau-thu-nghiem"


@dataclass
class OriginLab:
    inbound_port: int
    submission_port: int
    key: DkimKey
    sink: Sink
    milter: MilterProcess


@pytest.fixture(scope="module")
def lab(lab_dir: Path, redis_url: str, sink: Sink) -> Iterator[OriginLab]:
    base = lab_dir / "origin"
    base.mkdir(mode=0o755)
    key = make_key(base)
    zone = ZoneServer([
        ("thuathienhue.gov.vn", "TXT", "v=spf1 ip4:127.0.0.1 -all"),
        ("_dmarc.thuathienhue.gov.vn", "TXT", "v=DMARC1; p=reject"),
        ("mail._domainkey.thuathienhue.gov.vn", "TXT", key.record),
    ]).start()
    sock = base / "run" / "milter.sock"
    cfg = base / "congvu-guard.toml"
    cfg.write_text(f"""
[milter]
socket = "unix:{sock}"
socket_group = "postfix"
[redis]
url = "{redis_url}"
[domains]
official = ["gov.vn", "*.gov.vn"]
own = ["thuathienhue.gov.vn", "*.thuathienhue.gov.vn"]
[report]
address = "{REPORT_BOX}"
[hops]
internal_networks = ["127.0.0.1/32"]
[origin]
authentication = true
authserv_id = "mx.thuathienhue.gov.vn"
[dns]
nameservers = ["{zone.nameserver}"]
[metrics]
listen = "127.0.0.1:{free_port()}"
""")
    milter = MilterProcess(cfg, sock, base / "milter.log")
    milter.start()
    inbound, submission = free_port(), free_port()
    spec = f"unix:{sock}"
    pf = PostfixInstance(
        base=base / "postfix", sink_port=sink.port,
        listeners=[Listener("inbound", inbound, spec),
                   Listener("submission", submission, spec, PostfixInstance.sasl_options())],
        sasl_users={USER: PASSWORD})
    pf.start()
    yield OriginLab(inbound, submission, key, sink, milter)
    pf.stop()
    milter.stop()
    zone.stop()


def message(subject: str, sender: str = USER, extra: str = "") -> bytes:
    return (f"{extra}From: =?utf-8?b?VsSDbiBwaMOybmc=?= <{sender}>\r\n"
            "To: <bob@thuathienhue.gov.vn>\r\n"
            f"Subject: {subject}\r\nDate: {email.utils.formatdate()}\r\n"
            f"Message-ID: <{token()}@thuathienhue.gov.vn>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n"
            "Kinh gui anh chi,\r\n\r\nDe nghi xem va cho y kien.\r\n").encode()


def test_spoofed_own_domain_from_outside_lands_in_the_report_box(lab: OriginLab) -> None:
    subject = f"Khan: cap nhat mat khau {token()}"
    forged = "Authentication-Results: mx.thuathienhue.gov.vn; dkim=pass header.d=x\r\n"
    r = send(lab.inbound_port, USER, ["bob@thuathienhue.gov.vn"], message(subject, extra=forged),
             source=OUTSIDE)
    assert r.code == 250, r
    [got] = lab.sink.wait_for(subject)
    assert got.rcpt_tos == (REPORT_BOX,)
    assert "HUE-11.11/own-domain-spoof" in got.message["X-Congvu-Guard"]
    [ar] = got.message.get_all("Authentication-Results")  # the forged one is gone
    assert "dkim=none" in ar


def test_dkim_signed_mail_from_our_own_server_is_delivered(lab: OriginLab) -> None:
    subject = f"Giay moi hop {token()}"
    raw = sign(message(subject), lab.key, "thuathienhue.gov.vn", "mail")
    r = send(lab.inbound_port, USER, ["bob@thuathienhue.gov.vn"], raw, source=OUTSIDE)
    assert r.code == 250, r
    [got] = lab.sink.wait_for(subject)
    assert got.rcpt_tos == ("bob@thuathienhue.gov.vn",)
    ar = got.message["Authentication-Results"]
    assert "dkim=pass header.d=thuathienhue.gov.vn" in ar and "dmarc=pass" in ar, ar


def test_sasl_submission_and_internal_hosts_are_not_judged(lab: OriginLab) -> None:
    s1, s2 = f"Bao cao tuan {token()}", f"Thong bao noi bo {token()}"
    assert send(lab.submission_port, USER, ["bob@thuathienhue.gov.vn"], message(s1),
                auth=(USER, PASSWORD), source=OUTSIDE).code == 250
    assert send(lab.inbound_port, USER, ["bob@thuathienhue.gov.vn"], message(s2),
                source="127.0.0.1").code == 250
    for s in (s1, s2):
        [got] = lab.sink.wait_for(s)
        assert got.rcpt_tos == ("bob@thuathienhue.gov.vn",)
        assert got.message["Authentication-Results"] is None
