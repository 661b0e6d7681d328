"""The milter inside a real Postfix, with a real Redis and a real mail sink, over SMTP."""

from __future__ import annotations

import urllib.request

import redis

from congvu_guard.store import REPORT_STREAM
from tests.helpers import eicar_message, message_of_size, simple_message, token, wait_until
from tests.samples import macro_message

from .conftest import REPORT_BOX, MailSystem
from .harness import send

MIB = 1024 * 1024
LIMIT = 20 * MIB


def test_clean_mail_is_delivered_with_an_explaining_header(mail: MailSystem) -> None:
    t = token()
    r = send(mail.inbound_port, "alice@hue.gov.vn", ["bob@thuathienhue.gov.vn"],
             simple_message(f"clean {t}"))
    assert r.code == 250, r
    [got] = mail.sink.wait_for(t)
    assert got.rcpt_tos == ("bob@thuathienhue.gov.vn",)
    header = got.message["X-Congvu-Guard"]
    assert header.startswith("accept;"), header
    assert "host=" in header


def test_message_of_19_9_mib_passes(mail: MailSystem) -> None:
    t = token()
    data = message_of_size(int(19.9 * MIB), f"big {t}")
    r = send(mail.inbound_port, "alice@hue.gov.vn", ["bob@thuathienhue.gov.vn"], data)
    assert r.code == 250, r
    [got] = mail.sink.wait_for(t, timeout=120)
    assert len(got.data) >= len(data)


def test_over_20_mib_is_rejected_at_mail_from_by_declared_size(mail: MailSystem) -> None:
    t = token()
    data = message_of_size(LIMIT + 1, f"declared {t}")
    r = send(mail.inbound_port, "alice@hue.gov.vn", ["bob@thuathienhue.gov.vn"], data,
             declare_size=LIMIT + 1)
    assert r.stage == "mail", r
    assert r.code == 552, r
    assert "5.3.4" in r.text and "HUE-14" in r.text and "20 MB" in r.text
    assert r.text.isascii()
    assert not mail.sink.matching(t)


def test_over_20_mib_is_rejected_by_counting_without_size(mail: MailSystem) -> None:
    t = token()
    data = message_of_size(LIMIT + 1, f"counted {t}")
    r = send(mail.inbound_port, "alice@hue.gov.vn", ["bob@thuathienhue.gov.vn"], data)
    assert r.stage == "data", r
    assert r.code == 552, r
    assert "5.3.4" in r.text and "HUE-14" in r.text
    assert "Thu vuot qua" in r.text and "exceeds" in r.text
    assert not mail.sink.wait_for(t, timeout=3)


def test_suspect_mail_is_quarantined_to_the_report_box_with_original_recipients(
    mail: MailSystem,
) -> None:
    t = token()
    rcpts = ["bob@thuathienhue.gov.vn", "carol@gmail.com"]
    r = send(mail.inbound_port, "mallory@example.net", rcpts, macro_message(f"macro {t}"))
    assert r.code == 250, r
    [got] = mail.sink.wait_for(t)
    assert got.rcpt_tos == (REPORT_BOX,)
    msg = got.message
    original = msg["X-Congvu-Guard-Original-Recipients"]
    assert "<bob@thuathienhue.gov.vn>" in original and "<carol@gmail.com>" in original
    assert msg["X-Congvu-Guard"].startswith("quarantine;")
    assert "HUE-11.5/macro" in msg["X-Congvu-Guard"]
    assert "HUE-11.5/macro" in msg["X-Congvu-Guard-Quarantine"]
    # Only the report box received it.
    assert len(mail.sink.wait_for(t, count=2, timeout=2)) == 1
    # And the quarantine is on record in Redis for the security team's triage.
    # The entry is in the report stream until a monitor on the same Redis (the session's
    # e2e monitor) ingests it: then it is a stored report with its body kept once (issue 15).
    client = redis.Redis.from_url(_redis_url(mail))

    def on_record() -> bool:
        if any(e[b"kind"] == b"quarantine" and e[b"report_box"] == REPORT_BOX.encode()
               and b"carol@gmail.com" in e[b"recipients"] and t.encode() in e[b"raw"]
               for _, e in client.xrange(REPORT_STREAM)):
            return True
        for key in client.scan_iter(b"congvu:report:*"):
            if client.type(key) != b"hash":
                continue
            rec = client.hgetall(key)
            rid = key.split(b":")[-1].decode()
            if (rec.get(b"kind") == b"quarantine"
                    and b"carol@gmail.com" in rec.get(b"original_recipients", b"")
                    and t.encode() in (client.get(f"congvu:report-raw:{rid}") or b"")):
                return True
        return False

    assert wait_until(on_record)


def _redis_url(mail: MailSystem) -> str:
    text = mail.milter.process.config_path.read_text()
    return text.split('url = "', 1)[1].split('"', 1)[0]


def test_suspect_mail_sent_to_the_report_box_is_delivered_not_blocked(mail: MailSystem) -> None:
    t = token()
    r = send(mail.inbound_port, "bob@thuathienhue.gov.vn", [REPORT_BOX],
             eicar_message(f"report {t}", to=REPORT_BOX))
    assert r.code == 250, r
    [got] = mail.sink.wait_for(t)
    assert got.rcpt_tos == (REPORT_BOX,)
    header = got.message["X-Congvu-Guard"]
    assert header.startswith("tag;") and "exempt=report-box" in header
    assert got.message["X-Congvu-Guard-Original-Recipients"] is None


def test_forged_verdict_headers_are_removed(mail: MailSystem) -> None:
    t = token()
    forged = ("X-Congvu-Guard: accept; forged\r\n"
              "X-Congvu-Guard-Original-Recipients: <evil@example.net>\r\n")
    r = send(mail.inbound_port, "alice@hue.gov.vn", ["bob@thuathienhue.gov.vn"],
             simple_message(f"forged {t}", extra_headers=forged))
    assert r.code == 250, r
    [got] = mail.sink.wait_for(t)
    msg = got.message
    values = msg.get_all("X-Congvu-Guard")
    assert len(values) == 1 and "forged" not in values[0]
    assert msg["X-Congvu-Guard-Original-Recipients"] is None


def test_sendmail_submissions_pass_the_milter_too(mail: MailSystem) -> None:
    """non_smtpd_milters: mail re-injected with sendmail (Sieve redirects) is checked."""
    t = token()
    mail.postfix.sendmail(macro_message(f"pickup {t}"), "alice@thuathienhue.gov.vn",
                          ["bob@thuathienhue.gov.vn"])
    [got] = mail.sink.wait_for(t)
    assert got.rcpt_tos == (REPORT_BOX,)
    assert "<bob@thuathienhue.gov.vn>" in got.message["X-Congvu-Guard-Original-Recipients"]


def test_metrics_count_decisions_by_action_and_rule(mail: MailSystem) -> None:
    t = token()
    send(mail.inbound_port, "mallory@example.net", ["bob@thuathienhue.gov.vn"],
         macro_message(f"metrics {t}"))
    mail.sink.wait_for(t)
    url = f"http://127.0.0.1:{mail.milter.metrics_port}/metrics"
    text = urllib.request.urlopen(url, timeout=10).read().decode()
    assert 'congvu_guard_messages_total{action="quarantine"}' in text
    assert 'congvu_guard_rule_hits_total{action="quarantine",rule="HUE-11.5/macro"}' in text
    assert "congvu_guard_message_size_bytes_bucket" in text
    assert 'congvu_guard_stage_duration_seconds_count{stage="eom"}' in text
    assert "congvu_guard_redis_up 1.0" in text
