"""The policy engine and the policy step, on plain objects."""

from __future__ import annotations

import pytest

from congvu_guard.config import Config, ConfigError, LimitsConfig, ReportConfig
from congvu_guard.detectors import Detector
from congvu_guard.engine import DetectorError, Engine
from congvu_guard.model import Action, Envelope, Finding
from congvu_guard.scan import wire_size
from tests.helpers import eicar_message, message_with_attachment, simple_message
from tests.samples import macro_message

BOX = "tiepnhan@thuathienhue.gov.vn"
MIB = 1024 * 1024


def engine(**kw) -> Engine:
    report = kw.pop("report", ReportConfig(address=BOX))
    return Engine(Config(report=report, **kw))


def env(*rcpts: str, **kw) -> Envelope:
    return Envelope(sender="a@hue.gov.vn", recipients=list(rcpts or ["b@hue.gov.vn"]), **kw)


def judge(e: Engine, raw: bytes, envelope: Envelope):
    return e.check_message(envelope, raw, wire_size(raw))


def test_declared_size_over_the_cap_is_rejected_with_552_5_3_4() -> None:
    v = engine().check_envelope(env(declared_size=20 * MIB + 1))
    assert v is not None and v.action is Action.REJECT
    assert v.smtp_reply.startswith("552 5.3.4 ")
    assert "HUE-14" in v.smtp_reply and "20 MB" in v.smtp_reply
    assert v.smtp_reply.isascii()
    assert engine().check_envelope(env(declared_size=20 * MIB)) is None


def test_counted_size_over_the_cap_is_rejected() -> None:
    v = engine().check_message(env(), b"", 20 * MIB + 1)
    assert v.action is Action.REJECT and v.rules == ("HUE-14",)


def test_cap_is_configurable() -> None:
    e = engine(limits=LimitsConfig(max_message_bytes=10 * MIB))
    v = e.check_envelope(env(declared_size=10 * MIB + 1))
    assert v is not None and "10 MB" in v.smtp_text


def test_decoded_basis_counts_decoded_content_not_base64() -> None:
    content = b"\0" * (2 * MIB)
    raw = message_with_attachment("s", "a.bin", content)
    assert len(raw) > 2.6 * MIB  # base64 made it bigger on the wire
    limits = LimitsConfig(max_message_bytes=int(2.5 * MIB), size_basis="decoded")
    e = engine(limits=limits)
    assert e.buffer_ceiling > len(raw)
    assert judge(e, raw, env()).action is Action.ACCEPT
    transmitted = engine(limits=LimitsConfig(max_message_bytes=int(2.5 * MIB)))
    assert judge(transmitted, raw, env()).action is Action.REJECT
    tight = engine(limits=LimitsConfig(max_message_bytes=int(1.5 * MIB), size_basis="decoded"))
    v = judge(tight, raw, env())
    assert v.action is Action.REJECT and "decoded" in v.smtp_text


def test_suspect_mail_is_quarantined_to_the_report_box() -> None:
    v = judge(engine(), macro_message("x"), env("b@hue.gov.vn", "c@gmail.com"))
    assert v.action is Action.QUARANTINE
    assert v.quarantine_to == BOX
    assert "HUE-11.5/macro" in v.rules


def test_mail_only_to_the_report_box_is_never_blocked() -> None:
    v = judge(engine(), eicar_message("x"), env(BOX.upper()))
    assert v.action is Action.TAG and v.exempt


def test_extra_report_addresses_are_exempt_too() -> None:
    e = engine(report=ReportConfig(address=BOX, extra_addresses=("hotro@binhphuoc.gov.vn",)))
    assert judge(e, eicar_message("x"), env("hotro@binhphuoc.gov.vn")).exempt


def test_report_box_among_recipients_turns_a_reject_into_quarantine() -> None:
    e = engine()
    assert judge(e, eicar_message("x"), env("b@hue.gov.vn")).action is Action.REJECT
    v = judge(e, eicar_message("x"), env("b@hue.gov.vn", BOX))
    assert v.action is Action.QUARANTINE and v.quarantine_to == BOX


def test_without_a_report_box_suspect_mail_is_rejected_not_delivered() -> None:
    v = judge(engine(report=ReportConfig()), macro_message("x"), env())
    assert v.action is Action.REJECT
    assert v.smtp_reply.startswith("550 5.7.1 ") and v.smtp_reply.isascii()


def test_action_overrides_apply_per_rule() -> None:
    e = engine(actions={"HUE-11.5/macro": Action.TAG, "HUE-11.5/yara": Action.TAG})
    assert judge(e, macro_message("x"), env()).action is Action.TAG
    v = judge(engine(actions={"HUE-11.5/macro": Action.REJECT, "HUE-11.5/yara": Action.REJECT}),
              macro_message("x"), env())
    assert v.action is Action.REJECT and "HUE-11.5/" in v.smtp_text


def test_unknown_rule_in_actions_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="HUE-99"):
        engine(actions={"HUE-99": Action.REJECT})


def test_clean_mail_is_accepted_with_timings() -> None:
    v = judge(engine(), simple_message("hello"), env())
    assert v.action is Action.ACCEPT and not v.findings
    assert {name for name, _ in v.timings} >= {"parse", "expand", "mime", "yara"}


def test_strongest_action_wins_and_reject_beats_tempfail() -> None:
    def two(envelope, msg):
        yield Finding("CG-MIME", "a", Action.TEMPFAIL)
        yield Finding("HUE-11.5", "b", Action.REJECT)

    e = Engine(Config(report=ReportConfig(address=BOX)), [Detector("t", ("CG-MIME",), two)])
    assert judge(e, simple_message("x"), env()).action is Action.REJECT


def test_a_failing_detector_is_reported_as_an_error_not_an_accept() -> None:
    def broken(envelope, msg):
        raise ValueError("boom")

    e = Engine(Config(), [Detector("broken", (), broken)])
    with pytest.raises(DetectorError, match="broken"):
        judge(e, simple_message("x"), env())
