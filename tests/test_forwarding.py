"""HUE-11.6 / HUE-12.4 / HUE-11.7 on crafted messages: every signal in both modes, the
origin stamp (genuine, forged, truncated, other key), hops, manual forwards."""

from __future__ import annotations

import pytest

from congvu_guard import stamp
from congvu_guard.config import (
    Config,
    DomainsConfig,
    ForwardingConfig,
    HopsConfig,
    ReportConfig,
)
from congvu_guard.engine import Engine
from congvu_guard.explain import OWN_HEADERS
from congvu_guard.hops import Hop, HopClassifier
from congvu_guard.model import Action, Envelope
from congvu_guard.scan import wire_size
from tests.helpers import simple_message

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
OFFICIAL = ("thuathienhue.gov.vn", "*.thuathienhue.gov.vn", "*.gov.vn")
BOX = "tiepnhan@thuathienhue.gov.vn"
MID = "<abc123@sender.example>"


def engine(mode: str = "non-official", key: bytes | None = KEY, stamping: bool = False,
           **kw) -> Engine:
    cfg = Config(domains=DomainsConfig(official=OFFICIAL), report=ReportConfig(address=BOX),
                 forwarding=ForwardingConfig(mode=mode), **kw)  # type: ignore[arg-type]
    return Engine(cfg, stamp_key=lambda: key, stamping=stamping, clock=lambda: 1_700_000_000)


def message(extra: str = "", mid: str = MID) -> bytes:
    return simple_message("forward test", sender="someone@example.net",
                          to="bob@thuathienhue.gov.vn", extra_headers=extra, message_id=mid)


def judge(e: Engine, raw: bytes, *rcpts: str, hop: str = "gate", sender: str = "s@example.net",
          **kw):
    env = Envelope(sender=sender, recipients=list(rcpts), hop=hop, **kw)
    return e.check_message(env, raw, wire_size(raw))


SIGNALS = [
    "X-Sieve-Redirected-From: bob@thuathienhue.gov.vn",
    "X-Zimbra-Forwarded: bob@thuathienhue.gov.vn",
    "Auto-Submitted: auto-forwarded",
    "Auto-Submitted: Auto-Forwarded; owner-email=bob@thuathienhue.gov.vn",
    "X-MS-Exchange-Organization-AutoForwarded: true",
    "X-MS-Exchange-Inbox-Rules-Loop: bob@thuathienhue.gov.vn",
    "Delivered-To: bob@thuathienhue.gov.vn",
]


@pytest.mark.parametrize("signal", SIGNALS)
@pytest.mark.parametrize("hop", ["gate", "internal", "submission", "inbound"])
def test_each_header_signal_blocks_a_forward_to_gmail_in_both_modes(signal: str, hop: str) -> None:
    for mode in ("non-official", "public-providers"):
        v = judge(engine(mode), message(signal + "\r\n"), "bob.personal@gmail.com", hop=hop)
        assert v.action is Action.REJECT, (mode, v)
        assert v.smtp_reply.startswith("550 5.7.1 ") and "HUE-11.6" in v.smtp_reply
        assert v.smtp_reply.isascii()


@pytest.mark.parametrize("signal", SIGNALS)
def test_each_signal_to_a_non_official_non_public_domain_depends_on_the_mode(signal: str) -> None:
    raw = message(signal + "\r\n")
    assert judge(engine("non-official"), raw, "x@company.example").action is Action.REJECT
    v = judge(engine("public-providers"), raw, "x@company.example")
    assert v.action is Action.ACCEPT
    assert [f.rule for f in v.findings] == ["HUE-11.6"]  # recorded, not blocked


@pytest.mark.parametrize("signal", SIGNALS)
def test_forwarding_between_official_domains_passes(signal: str) -> None:
    v = judge(engine(), message(signal + "\r\n"), "bob@sotttt.quangtri.gov.vn")
    assert v.action is Action.ACCEPT
    assert [f.rule for f in v.findings] == ["HUE-12.4"]


def test_srs_sender_is_a_forward_signal() -> None:
    srs = "SRS0=HHH=TT=example.net=someone@hue.gov.vn"
    v = judge(engine(), message(), "x@gmail.com", sender=srs)
    assert v.action is Action.REJECT


def test_refused_recipient_is_removed_and_the_others_still_get_the_message() -> None:
    raw = message("X-Sieve-Redirected-From: bob@thuathienhue.gov.vn\r\n")
    v = judge(engine(), raw, "carol@thuathienhue.gov.vn", "bob@gmail.com")
    assert v.action is Action.TAG
    assert v.removed_recipients == ("bob@gmail.com",)
    blocked = [f for f in v.findings if f.rule == "HUE-11.6"]
    assert blocked[0].fact("account") == "bob@thuathienhue.gov.vn"
    assert blocked[0].fact("destination") == "gmail.com"


def stamped(key: bytes = KEY, mid: str = MID, value: str | None = None) -> bytes:
    v = value if value is not None else stamp.make(key, mid, 1_700_000_000)
    return message(f"{stamp.HEADER}: {v}\r\n", mid=mid)


def test_genuine_stamp_at_the_gate_is_a_forward() -> None:
    v = judge(engine(), stamped(), "bob@gmail.com",
              original_recipients=["bob@thuathienhue.gov.vn"])
    assert v.action is Action.REJECT
    [f] = [f for f in v.findings if f.rule == "HUE-11.6"]
    assert "origin stamp" in f.detail
    assert f.fact("account") == "bob@thuathienhue.gov.vn"  # from ORCPT


def test_stamp_is_only_checked_at_the_gate() -> None:
    assert judge(engine(), stamped(), "bob@gmail.com", hop="submission").action is Action.ACCEPT


@pytest.mark.parametrize(
    "raw",
    [
        stamped(key=OTHER_KEY),  # another province's key
        # a genuine stamp moved onto another message
        message(f"{stamp.HEADER}: {stamp.make(KEY, '<other@x>', 1_700_000_000)}\r\n"),
        stamped(value=stamp.make(KEY, MID, 1_700_000_000)[:-5]),  # truncated
        stamped(value="v=1; id=abc; t=1700000000; mac=AAAAAAAAAAAAAAAAAAAAAA"),  # forged
        stamped(value="v=2; id=abc; t=x; mac=!!"),
        stamped(value="garbage \u00ff\u00fe; ;;; ==="),
        stamped(value="v=1; id=" + "A" * 5000 + "; t=1; mac=A"),
        stamped(value=""),
    ],
)
def test_bad_stamps_count_as_absent_never_as_a_crash(raw: bytes) -> None:
    assert judge(engine(), raw, "bob@gmail.com").action is Action.ACCEPT


def test_stamp_without_a_key_counts_as_absent() -> None:
    assert judge(engine(key=None), stamped(), "bob@gmail.com").action is Action.ACCEPT


def test_manual_forward_as_a_new_message_passes() -> None:
    raw = simple_message("Fwd: hop dong", sender="bob@thuathienhue.gov.vn",
                         body="---------- Forwarded message ---------\r\n"
                              "X-Sieve-Redirected-From: nobody\r\nDelivered-To: bob@x\r\n")
    assert judge(engine(), raw, "bob@gmail.com", hop="submission",
                 auth_user="bob").action is Action.ACCEPT


def test_forward_as_attachment_passes_even_with_a_stamp_inside() -> None:
    inner = stamped().decode()
    raw = (
        "From: bob@thuathienhue.gov.vn\r\nTo: bob@gmail.com\r\nSubject: Fwd\r\n"
        "Message-ID: <new@thuathienhue.gov.vn>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
        "Content-Type: text/plain\r\n\r\nxem\r\n--B\r\nContent-Type: message/rfc822\r\n\r\n"
        + inner + "\r\n--B--\r\n"
    ).encode()
    assert judge(engine(), raw, "bob@gmail.com").action is Action.ACCEPT


def test_auto_replies_are_not_forwards() -> None:
    raw = message("Auto-Submitted: auto-replied\r\n")
    assert judge(engine(), raw, "someone@gmail.com").action is Action.ACCEPT


def test_mail_to_public_providers_is_counted_not_blocked() -> None:
    v = judge(engine(), message(), "a@gmail.com", "b@yahoo.com.vn", "c@gmail.com",
              hop="submission", auth_user="bob")
    assert v.action is Action.ACCEPT
    providers = sorted(f.fact("provider") for f in v.findings if f.rule == "HUE-11.7")
    assert providers == ["gmail.com", "yahoo.com.vn"]
    inbound = judge(engine(), message(), "bob@thuathienhue.gov.vn", hop="inbound",
                    sender="x@gmail.com")
    assert [(f.rule, f.fact("direction")) for f in inbound.findings] == [("HUE-11.7", "from")]


def test_inbound_mail_gets_a_fresh_verifiable_stamp_and_loses_old_ones() -> None:
    v = judge(engine(stamping=True), stamped(key=OTHER_KEY), "bob@thuathienhue.gov.vn",
              hop="inbound")
    assert v.action is Action.ACCEPT
    assert stamp.HEADER in v.strip_headers
    [(name, value)] = v.add_headers
    assert name == stamp.HEADER
    assert stamp.verify(KEY, value, MID) is not None
    assert "thuathienhue" not in value  # no recipients in the stamp


@pytest.mark.parametrize("hop", ["gate", "internal"])
def test_internal_hops_and_the_gate_keep_stamps_and_add_none(hop: str) -> None:
    v = judge(engine(stamping=True), message(), "bob@thuathienhue.gov.vn", hop=hop)
    assert stamp.HEADER not in v.strip_headers
    assert set(OWN_HEADERS) <= set(v.strip_headers)
    assert v.add_headers == ()


def test_submission_strips_stamps_from_what_users_send() -> None:
    v = judge(engine(stamping=True), stamped(), "x@thuathienhue.gov.vn", hop="submission")
    assert stamp.HEADER in v.strip_headers and v.add_headers == ()


def test_inbound_mail_is_tempfailed_while_the_stamp_key_is_unavailable() -> None:
    v = judge(engine(key=None, stamping=True), message(), "bob@thuathienhue.gov.vn",
              hop="inbound")
    assert v.action is Action.TEMPFAIL and v.smtp_reply.startswith("451 4.3.0")


def test_hops_are_classified_from_daemon_login_and_client() -> None:
    c = HopClassifier(HopsConfig(internal_networks=("10.0.0.0/8",)))
    assert c.classify(Envelope(daemon_name="outbound-gate", client_addr="10.1.1.1")) is Hop.GATE
    assert c.classify(Envelope(auth_user="bob", client_addr="203.0.113.9")) is Hop.SUBMISSION
    assert c.classify(Envelope(daemon_name="submission")) is Hop.SUBMISSION
    assert c.classify(Envelope(client_addr="10.2.3.4")) is Hop.INTERNAL
    assert c.classify(Envelope(client_addr="203.0.113.9")) is Hop.INBOUND
    assert c.classify(Envelope(client_addr="garbage")) is Hop.INBOUND
