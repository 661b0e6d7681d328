"""Carriers through a real Postfix and milter (HUE-11.5): a RAR 5 whose member is an
executable named .pdf is refused at end of data, an SVG with script goes to the report box,
and a OneNote section holding only a picture is delivered."""

from __future__ import annotations

from tests import carrier_samples as cs
from tests import samples
from tests.helpers import token

from .conftest import REPORT_BOX, MailSystem
from .harness import send

RCPT = "bob@thuathienhue.gov.vn"


def test_rar5_member_executable_is_rejected_at_end_of_data(mail: MailSystem) -> None:
    t = token()
    rar = cs.rar5({"ho-so/hoa-don.pdf": samples.pe_exe()})
    r = send(mail.inbound_port, "x@example.net", [RCPT],
             samples.mime_message(f"rar {t}", [("ho-so.rar", "application/x-rar", rar)]))
    assert r.code == 550 and "HUE-11.5" in r.text and r.text.isascii(), r
    assert not mail.sink.wait_for(t, timeout=3)


def test_svg_with_script_goes_to_the_report_box(mail: MailSystem) -> None:
    t = token()
    raw = samples.mime_message(f"svg {t}", [("logo.svg", "image/svg+xml",
                                             cs.SVG_ACTIVE["script"])])
    r = send(mail.inbound_port, "x@example.net", [RCPT], raw)
    assert r.code == 250, r
    [got] = mail.sink.wait_for(t)
    assert got.rcpt_tos == (REPORT_BOX,)
    assert "HUE-11.5/svg-active" in got.message["X-Congvu-Guard"]


def test_onenote_with_a_picture_is_delivered(mail: MailSystem) -> None:
    t = token()
    raw = samples.mime_message(f"one {t}", [("ghi-chu.one", "application/onenote",
                                             cs.onenote(cs.samples_png(16, 16)))])
    r = send(mail.inbound_port, "x@example.net", [RCPT], raw)
    assert r.code == 250, r
    [got] = mail.sink.wait_for(t)
    assert got.rcpt_tos == (RCPT,)
    assert got.message["X-Congvu-Guard"].startswith("accept;")
