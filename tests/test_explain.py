"""Every decision explains itself: header and log line."""

from __future__ import annotations

from congvu_guard import explain
from congvu_guard.model import Action, Envelope, Finding, Verdict


def verdict(detail: str = "EICAR test file in attachment 'Cong van.com'") -> Verdict:
    return Verdict(Action.QUARANTINE, (Finding("HUE-11.5", detail, Action.QUARANTINE),),
                   quarantine_to="tiepnhan@hue.gov.vn")


def test_header_names_action_rule_and_reason() -> None:
    h = explain.verdict_header(verdict(), "mx1")
    assert h.startswith("quarantine; rules=HUE-11.5; reasons=")
    assert "host=mx1" in h


def test_header_with_unicode_file_name_is_ascii_encoded() -> None:
    h = explain.verdict_header(verdict("EICAR in 'C\u00f4ng v\u0103n.com'"), "mx1")
    assert h.isascii() and "=?utf-8?" in h


def test_header_is_bounded() -> None:
    assert len(explain.verdict_header(verdict("x" * 5000), "mx1")) < 1000


def test_decision_line_is_one_logfmt_line_with_the_facts() -> None:
    env = Envelope(sender="a@hue.gov.vn", recipients=["b@hue.gov.vn", "c@gmail.com"],
                   queue_id="4AB12", auth_user="a", client_addr="10.0.0.1")
    line = explain.decision_line(env, verdict(), "eom", 1234)
    assert "\n" not in line
    for part in ("queue_id=4AB12", "action=quarantine", "rules=HUE-11.5", "from=<a@hue.gov.vn>",
                 "rcpt=<b@hue.gov.vn>,<c@gmail.com>", "auth=a", "size=1234",
                 "quarantine_to=<tiepnhan@hue.gov.vn>"):
        assert part in line


def test_decision_line_escapes_hostile_values() -> None:
    env = Envelope(sender='x"y\n@evil', recipients=["b@hue.gov.vn"])
    line = explain.decision_line(env, verdict(), "eom")
    assert "\n" not in line and '\\"' in line


def test_decision_line_carries_file_type_and_sha256() -> None:
    f = Finding("HUE-11.5/exec", "pe executable in 2/a.zip:b.exe", Action.REJECT,
                facts=(("path", "2/a.zip:b.exe"), ("type", "pe"), ("sha256", "ab" * 32)))
    line = explain.decision_line(Envelope(), Verdict(Action.REJECT, (f,)), "eom")
    assert "2/a.zip:b.exe" in line and "type=pe" in line and "sha256=" + "ab" * 32 in line
