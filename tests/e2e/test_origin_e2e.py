"""HUE-11.11 (origin) end to end: Postfix, the milter and a DNS server on loopback.

A message claiming our own domain from an outside client (127.0.0.2, outside the
milter's internal networks) without our DKIM signature lands in the report box; one
signed by our own server's key is delivered, with its Authentication-Results: signed by
dkimpy, and signed by a second Postfix ("our other site") through OpenDKIM, whose
opendkim-genkey record is published in the DNS; our users' SASL submission and our
internal hosts are not judged.

    client --> [own site Postfix + OpenDKIM, sends from 127.0.0.2] --> [inbound + milter]
"""

from __future__ import annotations

import email.utils
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from congvu_guard.auth.service import read_key_record
from congvu_guard.lab.postfix import Listener, PostfixInstance
from tests.dkim_keys import DkimKey, make_key, sign
from tests.dns_server import ZoneServer
from tests.helpers import free_port, token, wait_until
from tests.monitor.conftest import PASSWORD as MONITOR_PASSWORD
from tests.monitor.conftest import Monitor

from .conftest import REPORT_BOX
from .harness import MilterProcess, Sink, send

OUTSIDE = "127.0.0.2"
USER, PASSWORD = "vanphong@thuathienhue.gov.vn", "mat-khau-thu-nghiem"


@dataclass
class OriginLab:
    inbound_port: int
    submission_port: int
    own_site_port: int  # a Postfix of ours that signs with OpenDKIM (0: not installed)
    key: DkimKey
    sink: Sink
    milter: MilterProcess


def start_opendkim(keys: Path) -> tuple[subprocess.Popen[bytes], int, bytes]:
    """OpenDKIM signing for thuathienhue.gov.vn with a key from opendkim-genkey; returns
    the process, its milter port and the DNS record text of the key. ``keys`` must not be
    under a directory others can write (OpenDKIM refuses its files there, e.g. /tmp)."""
    subprocess.run(["opendkim-genkey", "-D", str(keys), "-d", "thuathienhue.gov.vn", "-s",
                    "site2"], check=True, capture_output=True, timeout=60)
    port = free_port()
    conf = keys / "opendkim.conf"
    conf.write_text(f"""Mode s
Domain thuathienhue.gov.vn
Selector site2
KeyFile {keys}/site2.private
Socket inet:{port}@127.0.0.1
Canonicalization relaxed/relaxed
InternalHosts 127.0.0.1
PidFile {keys}/opendkim.pid
Syslog no
""")
    proc = subprocess.Popen(["opendkim", "-f", "-x", str(conf)], stdin=subprocess.DEVNULL,
                            stdout=(keys / "log").open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, (keys / "log").read_text()
            time.sleep(0.1)
    return proc, port, read_key_record(str(keys / "site2.txt"))


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
    opendkim = None
    if shutil.which("opendkim") and shutil.which("opendkim-genkey"):
        keys = Path(tempfile.mkdtemp(prefix="cg-opendkim-", dir="/run"))
        opendkim, opendkim_port, record = start_opendkim(keys)
        zone.add("site2._domainkey.thuathienhue.gov.vn", "TXT", record.decode())
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
    own_site = None
    if opendkim is not None:
        # Our other site: signs with OpenDKIM and relays to the inbound door from 127.0.0.2.
        own_site = PostfixInstance(
            base=base / "own-site", sink_port=inbound,
            listeners=[Listener("own-site", free_port(), f"inet:127.0.0.1:{opendkim_port}")],
            main={"smtp_bind_address": OUTSIDE, "myhostname": "mx2.thuathienhue.gov.vn"})
        own_site.start()
    yield OriginLab(inbound, submission,
                    own_site.listeners[0].port if own_site else 0, key, sink, milter)
    if own_site is not None:
        own_site.stop()
    if opendkim is not None:
        opendkim.terminate()
        opendkim.wait(15)
        shutil.rmtree(keys, ignore_errors=True)
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


def test_spoofed_own_domain_from_outside_lands_in_the_report_box(lab: OriginLab,
                                                                  monitor: Monitor) -> None:
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

    # The security team sees it as a report, with the evidence, in the API and on the page.
    def report() -> dict | None:
        _, reports = monitor.call("GET", "/api/v1/reports", "viewer")
        return next((x for x in reports if subject in x.get("subject", "")), None)

    assert wait_until(lambda: report() is not None, timeout=30), monitor.log.read_text()
    rep = report()
    assert rep["kind"] == "quarantine" and "HUE-11.11/own-domain-spoof" in rep["reasons"]
    assert "from outside (127.0.0.2)" in rep["reasons"]
    assert "HUE-11.11/own-domain-spoof" in dashboard(monitor)


def dashboard(monitor: Monitor) -> str:
    import http.client
    import urllib.parse

    host, port = urllib.parse.urlsplit(monitor.url).netloc.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("POST", "/login", body=f"user=xem.nv&password={urllib.parse.quote(MONITOR_PASSWORD)}",
              headers={"Content-Type": "application/x-www-form-urlencoded"})
    cookie = c.getresponse().getheader("Set-Cookie", "").split(";", 1)[0]
    c = http.client.HTTPConnection(host, int(port), timeout=10)
    c.request("GET", "/", headers={"Cookie": cookie})
    return c.getresponse().read().decode()


def test_dkim_signed_mail_from_our_own_server_is_delivered(lab: OriginLab) -> None:
    subject = f"Giay moi hop {token()}"
    raw = sign(message(subject), lab.key, "thuathienhue.gov.vn", "mail")
    r = send(lab.inbound_port, USER, ["bob@thuathienhue.gov.vn"], raw, source=OUTSIDE)
    assert r.code == 250, r
    [got] = lab.sink.wait_for(subject)
    assert got.rcpt_tos == ("bob@thuathienhue.gov.vn",)
    ar = got.message["Authentication-Results"]
    assert "dkim=pass header.d=thuathienhue.gov.vn" in ar and "dmarc=pass" in ar, ar


def test_mail_signed_by_our_other_site_with_opendkim_is_delivered(lab: OriginLab) -> None:
    if not lab.own_site_port:
        pytest.skip("OpenDKIM is not installed (opendkim opendkim-tools)")
    subject = f"Cong van lien thong {token()}"
    r = send(lab.own_site_port, USER, ["bob@thuathienhue.gov.vn"], message(subject))
    assert r.code == 250, r
    [got] = lab.sink.wait_for(subject)
    assert got.message["DKIM-Signature"] is not None  # signed by OpenDKIM on the way
    assert got.rcpt_tos == ("bob@thuathienhue.gov.vn",), got.message["X-Congvu-Guard"]
    ar = got.message["Authentication-Results"]
    assert "dkim=pass header.d=thuathienhue.gov.vn header.s=site2" in ar, ar
    assert "smtp.mailfrom=thuathienhue.gov.vn" in ar


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
