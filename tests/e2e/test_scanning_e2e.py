"""Attachment scanning through a real Postfix: reject, quarantine, untouched delivery, the
report box, and a YARA reload on SIGHUP while connections stay open."""

from __future__ import annotations

import signal
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import samples
from tests.helpers import EICAR, token, wait_until

from .conftest import REPORT_BOX, MailSystem, MilterUnderTest, milter_with_local_rules
from .harness import Sink, send

OUTSIDE = "127.0.0.2"


def test_eicar_in_a_nested_zip_is_rejected(mail: MailSystem) -> None:
    t = token()
    z = samples.zip_of({"ho-so/chung-tu.zip": samples.zip_of({"eicar.com": EICAR})})
    r = send(mail.inbound_port, "x@example.net", ["bob@thuathienhue.gov.vn"],
             samples.mime_message(f"nested {t}", [("ho-so.zip", "application/zip", z)]))
    assert r.code == 550 and "5.7.1" in r.text and "HUE-11.5" in r.text, r
    assert r.text.isascii()
    assert not mail.sink.wait_for(t, timeout=3)


def test_macro_document_goes_to_the_report_box_with_original_recipients(
    mail: MailSystem,
) -> None:
    t = token()
    rcpts = ["bob@thuathienhue.gov.vn", "carol@thuathienhue.gov.vn"]
    r = send(mail.inbound_port, "x@example.net", rcpts, samples.macro_message(f"macro {t}"))
    assert r.code == 250, r
    [got] = mail.sink.wait_for(t)
    assert got.rcpt_tos == (REPORT_BOX,)
    original = got.message["X-Congvu-Guard-Original-Recipients"]
    assert all(f"<{x}>" in original for x in rcpts)
    assert "HUE-11.5/macro" in got.message["X-Congvu-Guard"]


def test_clean_message_with_a_pdf_is_delivered_untouched(mail: MailSystem) -> None:
    t = token()
    raw = samples.mime_message(f"pdf {t}", [("cong-van.pdf", "application/pdf",
                                              samples.pdf(js=False))])
    r = send(mail.inbound_port, "x@example.net", ["bob@thuathienhue.gov.vn"], raw)
    assert r.code == 250, r
    [got] = mail.sink.wait_for(t)
    assert got.rcpt_tos == ("bob@thuathienhue.gov.vn",)
    assert got.message["X-Congvu-Guard"].startswith("accept;")
    body_sent = raw.split(b"\r\n\r\n", 1)[1]
    body_got = got.data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[1]
    assert body_got == body_sent.replace(b"\r\n", b"\n")


def test_a_users_forward_of_suspect_mail_to_the_report_box_is_delivered(
    mail: MailSystem,
) -> None:
    t = token()
    suspect = samples.macro_message("Hoa don")
    fwd = samples.mime_message(f"Fwd: nghi ngo {t}", [("", "message/rfc822", suspect)],
                               sender="bob@thuathienhue.gov.vn", to=REPORT_BOX)
    r = send(mail.inbound_port, "bob@thuathienhue.gov.vn", [REPORT_BOX], fwd)
    assert r.code == 250, r
    [got] = mail.sink.wait_for(t)
    assert got.rcpt_tos == (REPORT_BOX,)
    assert "exempt=report-box" in got.message["X-Congvu-Guard"]


@pytest.fixture
def reloadable(lab_dir: Path, redis_url: str, sink: Sink) -> Iterator[tuple[MilterUnderTest,
                                                                        int, Path]]:
    with milter_with_local_rules(lab_dir, "yara", redis_url, sink) as lab:
        yield lab


def _marker_message(t: str, marker: str) -> bytes:
    return samples.mime_message(f"yara {t}", [("note.txt", "text/plain", marker.encode())])


def test_sighup_reloads_yara_rules_without_dropping_connections(
    reloadable: tuple[MilterUnderTest, int, Path], sink: Sink,
) -> None:
    milter, port, rules = reloadable
    t = token()
    # A connection opened before the reload, used after it.
    held = smtplib.SMTP("127.0.0.1", port, timeout=60)
    held.ehlo("client.test")
    assert send(port, "x@example.net", ["bob@thuathienhue.gov.vn"],
                _marker_message(t + "1", "MARKER-BBB")).code == 250
    (rules / "local.yar").write_text(
        'rule Local_A { meta: severity = "medium" strings: $a = "MARKER-AAA" condition: $a }\n'
        'rule Local_B { meta: severity = "critical" strings: $b = "MARKER-BBB" condition: $b }')
    milter.process.signal(signal.SIGHUP)
    assert wait_until(lambda: "YARA rules reloaded" in milter.process.log())
    code, _ = held.mail("x@example.net")
    held.rcpt("bob@thuathienhue.gov.vn")
    code, text = held.data(_marker_message(t + "2", "MARKER-BBB"))
    assert code == 550 and b"HUE-11.5" in text
    held.quit()
    # A broken rule file on reload: the old rules stay, the milter keeps running.
    (rules / "broken.yar").write_text("rule Broken { condition: $x }")
    milter.process.signal(signal.SIGHUP)
    assert wait_until(lambda: "keeping the previous rules" in milter.process.log())
    r = send(port, "x@example.net", ["bob@thuathienhue.gov.vn"], _marker_message(t + "3",
                                                                                 "MARKER-BBB"))
    assert r.code == 550
    assert milter.process.proc is not None and milter.process.proc.poll() is None
    assert len(sink.wait_for(f"yara {t}1")) == 1

