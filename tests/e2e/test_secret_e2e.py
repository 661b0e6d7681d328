"""HUE-11.2 end to end: a user mails a DOCX stamped "TỐI MẬT" (made by LibreOffice) to an
outside address and to an official one through Postfix; both are delivered to the security
officer only, the sender gets a notice, and the officer releases one through the monitor
(audited), which reaches its original recipient."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from congvu_guard.explain import HEADER_ORIGINAL_RCPT, HEADER_QUARANTINE
from congvu_guard.lab.postfix import Listener, PostfixInstance
from tests import samples
from tests.helpers import free_port, token, wait_until
from tests.monitor.conftest import Monitor

from .conftest import start_milter
from .harness import Delivered, Sink, send

pytestmark = pytest.mark.e2e

OFFICER = "baomat@thuathienhue.gov.vn"
USER = "nva@snv.thuathienhue.gov.vn"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MARKED = Path(__file__).parents[1] / "data" / "secret" / "marked" / "header-toi-mat.docx"


@pytest.fixture(scope="module")
def port(lab_dir: Path, redis_url: str, sink: Sink) -> Iterator[int]:
    """A milter with a security officer configured, behind a Postfix of its own."""
    name = f"secret-{token()}"
    milter = start_milter(lab_dir, name, redis_url, f'[secret]\nofficer = "{OFFICER}"\n')
    p = free_port()
    pf = PostfixInstance(base=lab_dir / f"{name}-postfix", sink_port=sink.port,
                         listeners=[Listener("secret", p, milter.socket_spec)],
                         non_smtpd_milters=milter.socket_spec)
    pf.start()
    yield p
    milter.process.stop()
    pf.stop()


def notices(sink: Sink, t: str) -> list[Delivered]:
    out = []
    for m in sink.matching("Your message is held"):
        body = m.message.get_payload(decode=True) or b""
        if USER in m.rcpt_tos and t.encode() in body:
            out.append(m)
    return out


def test_marked_docx_is_held_for_the_officer_the_sender_told_and_one_released(
    port: int, sink: Sink, monitor: Monitor,
) -> None:
    t = token()
    doc = MARKED.read_bytes()
    targets = {"out": "ban.be@gmail.com", "off": "vanthu@hue.gov.vn"}
    for tag, rcpt in targets.items():
        raw = samples.mime_message(f"Ke hoach {t} {tag}", [("ke-hoach.docx", DOCX, doc)],
                                   sender=USER, to=rcpt)
        # From 127.0.0.1, one of our own hosts: the outbound direction.
        assert send(port, USER, [rcpt], raw).code == 250
        [held] = sink.wait_for(f"Ke hoach {t} {tag}")
        assert held.rcpt_tos == (OFFICER,)  # not the recipient, not the report box
        assert rcpt in held.message[HEADER_ORIGINAL_RCPT]
        assert "HUE-11.2" in held.message[HEADER_QUARANTINE]
        assert "TOI MAT" in held.message[HEADER_QUARANTINE]

    def report(tag: str) -> dict | None:
        _, reports = monitor.call("GET", "/api/v1/reports", "viewer")
        return next((x for x in reports if x["kind"] == "quarantine"
                     and f"{t} {tag}" in x.get("subject", "")), None)

    assert wait_until(lambda: report("out") and report("off"), timeout=30), \
        monitor.log.read_text()[-3000:]
    # The sender is told, once per held message, in Vietnamese and English.
    assert wait_until(lambda: len(notices(sink, t)) == 2, timeout=30), \
        monitor.log.read_text()[-3000:]
    text = notices(sink, t)[0].message.get_payload(decode=True).decode()
    assert "kênh mật" in text and "secret channel" in text and OFFICER in text

    rid = report("off")["id"]
    status, result = monitor.call("POST", f"/api/v1/reports/{rid}/release", "operator")
    assert status == 200 and result["recipients"] == [targets["off"]]
    copies = sink.wait_for(f"Ke hoach {t} off", count=2)
    assert len(copies) == 2 and copies[1].rcpt_tos == (targets["off"],)
    assert "exempt=released" in copies[1].message["X-Congvu-Guard"]
    # The outside copy stays with the officer.
    time.sleep(0.5)
    assert len(sink.matching(f"Ke hoach {t} out")) == 1
    _, audit = monitor.call("GET", "/api/v1/audit", "viewer")
    events = {(a["event"], a.get("account", "")) for a in audit}
    assert ("secret-hold", USER) in events and ("release", rid) in events
