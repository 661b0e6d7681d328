"""HUE-11.6 end to end: every forwarding path out of a real Postfix + Dovecot is stopped.

Hops in this lab (see README, "Auto-forwarding"):

  client 127.0.0.2 --> [inbound smtpd + milter: stamps] --> queue
      queue --lmtp--> Dovecot (Sieve)          --redirect--> [internal smtpd + milter]
      queue --local--> ~/.forward               --requeue--> queue
      queue: virtual_alias_maps rewrite         ---------->  queue
      queue --default_transport--> [outbound-gate smtpd + milter] --content_filter--> sink
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from congvu_guard.lab.postfix import Listener, PostfixInstance
from tests.helpers import free_port, simple_message, token, wait_until
from tests.lab.dovecot import DovecotInstance

from .conftest import REPORT_BOX, MilterUnderTest, write_milter_config
from .harness import MilterProcess, Sink, send

OUTSIDE = "127.0.0.2"  # the test client's address: not in the milter's internal networks
FWD_USER = "cgfwd"
SIEVE_GMAIL = 'require ["copy"];\nredirect :copy "bob.personal@gmail.com";\n'
SIEVE_OFFICIAL = 'require ["copy"];\nredirect :copy "carol@sotttt.quangtri.gov.vn";\n'


@dataclass
class ForwardingLab:
    postfix: PostfixInstance
    dovecot: DovecotInstance
    milter: MilterUnderTest
    sink: Sink
    inbound_port: int
    internal_port: int


def _local_user(home: Path) -> None:
    """A Unix account for Postfix local(8) delivery with a .forward file."""
    try:
        pwd.getpwnam(FWD_USER)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell",
                        "/usr/sbin/nologin", FWD_USER], check=True)
    subprocess.run(["usermod", "--home", str(home), FWD_USER], check=True)
    home.mkdir(parents=True)
    (home / ".forward").write_text("cgfwd.personal@gmail.com\n")
    pw = pwd.getpwnam(FWD_USER)
    for p in (home, home / ".forward"):
        os.chown(p, pw.pw_uid, pw.pw_gid)


@pytest.fixture(scope="module")
def fw(lab_dir: Path, redis_url: str, sink: Sink) -> Iterator[ForwardingLab]:
    if shutil.which("dovecot") is None:
        pytest.skip("Dovecot is not installed (dovecot-core dovecot-lmtpd dovecot-sieve)")
    base = lab_dir / "fw"
    base.mkdir(mode=0o755)
    inbound, internal, gate = free_port(), free_port(), free_port()
    sock = base / "milter" / "milter.sock"
    metrics_port = free_port()
    cfg = write_milter_config(
        base / "congvu-guard.toml", sock, redis_url, metrics_port,
        extra='[hops]\ngate = ["outbound-gate"]\ninternal_networks = ["127.0.0.1/32"]\n')
    milter = MilterUnderTest(MilterProcess(cfg, sock, base / "milter.log"), f"unix:{sock}",
                             metrics_port)
    milter.process.start()
    dovecot = DovecotInstance(
        base / "dovecot",
        users={"bob@thuathienhue.gov.vn": SIEVE_GMAIL,
               "carol@thuathienhue.gov.vn": SIEVE_OFFICIAL,
               REPORT_BOX: ""},
        submission_host=f"127.0.0.1:{internal}",
    )
    dovecot.start()
    _local_user(base / "home" / FWD_USER)
    spec = milter.socket_spec
    pf = PostfixInstance(
        base=base / "postfix",
        sink_port=sink.port,
        listeners=[
            Listener("inbound", inbound, spec),
            Listener("internal", internal, spec),
            Listener("outbound-gate", gate, spec, {
                "content_filter": f"smtp:[127.0.0.1]:{sink.port}",
                "receive_override_options": "no_address_mappings",
            }),
        ],
        non_smtpd_milters=spec,
        main={
            "relayhost": "",
            "default_transport": f"smtp:[127.0.0.1]:{gate}",
            "mydestination": "hue.gov.vn",
            "home_mailbox": "Maildir/",
            "relay_domains": "thuathienhue.gov.vn",
            "transport_maps": f"inline:{{ thuathienhue.gov.vn=lmtp:unix:{dovecot.lmtp_socket} }}",
            "virtual_alias_maps":
                "inline:{ alias@thuathienhue.gov.vn=alias.personal@gmail.com }",
        },
    )
    pf.start()
    yield ForwardingLab(pf, dovecot, milter, sink, inbound, internal)
    pf.stop()
    dovecot.stop()
    milter.process.stop()
    subprocess.run(["userdel", FWD_USER], check=False, capture_output=True)


def from_outside(lab: ForwardingLab, rcpt: str, subject: str) -> None:
    r = send(lab.inbound_port, "sender@example.net", [rcpt],
             simple_message(subject, sender="sender@example.net", to=rcpt), source=OUTSIDE)
    assert r.code == 250, r


def in_mailbox(lab: ForwardingLab, address: str, needle: str) -> list[bytes]:
    return [m for m in lab.dovecot.messages(address) if needle.encode() in m]


def test_sieve_redirect_to_gmail_is_blocked_and_the_copy_stays_in_the_mailbox(
    fw: ForwardingLab,
) -> None:
    t = token()
    from_outside(fw, "bob@thuathienhue.gov.vn", f"sieve-gmail {t}")
    assert wait_until(lambda: bool(in_mailbox(fw, "bob@thuathienhue.gov.vn", t)))
    [copy] = in_mailbox(fw, "bob@thuathienhue.gov.vn", t)
    assert b"X-Congvu-Origin: v=1;" in copy  # stamped at the inbound door
    # Dovecot's redirect reached the milter, which refused it synchronously (550).
    assert wait_until(lambda: "rcpt=<bob.personal@gmail.com>" in fw.milter.process.log())
    assert "failed to redirect message to <bob.personal@gmail.com>" in fw.dovecot.log_text()
    assert "550 5.7.1" in fw.dovecot.log_text()
    decision = next(line for line in fw.milter.process.log().splitlines()
                    if "rcpt=<bob.personal@gmail.com>" in line)
    assert "action=reject" in decision and "rules=HUE-11.6" in decision
    assert "X-Sieve-Redirected-From" in decision
    assert not fw.sink.wait_for(t, timeout=3)  # nothing left for gmail.com


def test_sieve_redirect_to_another_official_domain_passes(fw: ForwardingLab) -> None:
    t = token()
    from_outside(fw, "carol@thuathienhue.gov.vn", f"sieve-official {t}")
    [out] = fw.sink.wait_for(t)
    assert out.rcpt_tos == ("carol@sotttt.quangtri.gov.vn",)
    assert "HUE-12.4" in out.message["X-Congvu-Guard"]
    # Dovecot redirects before it stores the kept copy: the sink can see the forward first.
    assert wait_until(lambda: bool(in_mailbox(fw, "carol@thuathienhue.gov.vn", t)))


def _bounce_for(lab: ForwardingLab, needle: str) -> list:
    return [m for m in lab.sink.matching(needle)
            if m.rcpt_tos == ("sender@example.net",) and m.mail_from in ("", "<>")]


def test_dot_forward_to_gmail_is_stopped_at_the_gate_and_the_sender_is_told(
    fw: ForwardingLab,
) -> None:
    t = token()
    from_outside(fw, f"{FWD_USER}@hue.gov.vn", f"dotforward {t}")
    assert wait_until(lambda: bool(_bounce_for(fw, t)), timeout=60), fw.postfix.log_text()[-3000:]
    [dsn] = _bounce_for(fw, t)
    assert b"HUE-11.6" in dsn.data and b"5.7.1" in dsn.data
    assert not [m for m in fw.sink.matching(t) if "cgfwd.personal@gmail.com" in m.rcpt_tos]


def test_virtual_alias_to_gmail_is_stopped_at_the_gate_and_the_sender_is_told(
    fw: ForwardingLab,
) -> None:
    t = token()
    from_outside(fw, "alias@thuathienhue.gov.vn", f"alias {t}")
    assert wait_until(lambda: bool(_bounce_for(fw, t)), timeout=60), fw.postfix.log_text()[-3000:]
    assert not [m for m in fw.sink.matching(t) if "alias.personal@gmail.com" in m.rcpt_tos]
    log = fw.milter.process.log()
    assert "origin stamp" in log and "alias@thuathienhue.gov.vn" in log  # who forwarded


def test_manual_forward_and_forward_as_attachment_pass(fw: ForwardingLab) -> None:
    t = token()
    manual = simple_message(f"Fwd: manual {t}", sender="bob@thuathienhue.gov.vn",
                            to="bob.personal@gmail.com",
                            body="---------- Forwarded message ----------\r\nxem\r\n")
    r = send(fw.internal_port, "bob@thuathienhue.gov.vn", ["bob.personal@gmail.com"], manual)
    assert r.code == 250, r
    [got] = fw.sink.wait_for(f"manual {t}")
    assert got.rcpt_tos == ("bob.personal@gmail.com",)

    # Attach a genuinely stamped message that arrived from outside.
    from_outside(fw, "bob@thuathienhue.gov.vn", f"original {t}")
    assert wait_until(lambda: bool(in_mailbox(fw, "bob@thuathienhue.gov.vn", f"original {t}")))
    [inner] = in_mailbox(fw, "bob@thuathienhue.gov.vn", f"original {t}")
    assert b"X-Congvu-Origin" in inner
    attached = (
        f"From: bob@thuathienhue.gov.vn\r\nTo: bob.personal@gmail.com\r\n"
        f"Subject: Fwd as attachment {t}\r\nMessage-ID: <{t}@thuathienhue.gov.vn>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nxem\r\n"
        "--B\r\nContent-Type: message/rfc822\r\n\r\n"
    ).encode() + inner.replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n") + b"\r\n--B--\r\n"
    r = send(fw.internal_port, "bob@thuathienhue.gov.vn", ["bob.personal@gmail.com"], attached)
    assert r.code == 250, r
    [got] = fw.sink.wait_for(f"Fwd as attachment {t}")
    assert got.rcpt_tos == ("bob.personal@gmail.com",)


def test_metrics_record_who_forwarded_where_and_public_provider_mail(fw: ForwardingLab) -> None:
    import urllib.request

    t = token()
    from_outside(fw, "bob@thuathienhue.gov.vn", f"metrics {t}")  # Sieve -> gmail, refused
    r = send(fw.internal_port, "bob@thuathienhue.gov.vn", ["friend@yahoo.com.vn"],
             simple_message(f"by hand {t}", sender="bob@thuathienhue.gov.vn",
                            to="friend@yahoo.com.vn"))
    assert r.code == 250
    fw.sink.wait_for(f"by hand {t}")
    url = f"http://127.0.0.1:{fw.milter.metrics_port}/metrics"

    def scrape() -> str:
        return urllib.request.urlopen(url, timeout=10).read().decode()

    # Who forwarded is personal data: the monitor's /api/v1/top/forwarders, not a label.
    blocked = 'congvu_guard_autoforward_total{destination="gmail.com",outcome="blocked"}'
    assert wait_until(lambda: blocked in scrape())
    assert "bob@thuathienhue.gov.vn" not in scrape()
    assert ('congvu_guard_public_provider_mail_total{direction="to",provider="yahoo.com.vn"}'
            in scrape())
