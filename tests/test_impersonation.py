"""HUE-11.11 (origin): look-alike domains, official display names on other addresses and
deceptive links go to the report box; the benign neighbours do not."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path

import pytest

from congvu_guard.config import Config, from_mapping
from congvu_guard.detectors.impersonation import Impersonation
from congvu_guard.detectors.lookalike import within
from congvu_guard.engine import Engine
from congvu_guard.message import parse_message
from congvu_guard.model import Action, Envelope, Finding, Severity

CORPUS = Path("/work/shared/corpus/rspamd-functional")
BOX = "tiepnhan@thuathienhue.gov.vn"


def config(**origin: object) -> Config:
    return from_mapping({
        "domains": {"own": ["thuathienhue.gov.vn", "*.thuathienhue.gov.vn"]},
        "report": {"address": BOX}, "origin": dict(origin)})


def message(sender: str, display: str = "", html: str = "", text: str = "Kinh gui anh chi.",
            reply_to: str = "", subject: str = "Thong bao") -> bytes:
    m = EmailMessage()
    m["From"] = Address(display, addr_spec=sender) if display.isascii() and "@" not in display \
        else f'"{display}" <{sender}>' if display else sender
    m["To"] = "bob@thuathienhue.gov.vn"
    m["Subject"] = subject
    if reply_to:
        m["Reply-To"] = reply_to
    m.set_content(text)
    if html:
        m.add_alternative(html, subtype="html")
    return m.as_bytes()


def run(raw: bytes, sender: str = "", cfg: Config | None = None, hop: str = "inbound",
        ) -> list[Finding]:
    det = Impersonation(cfg or config())
    return list(det.detect(Envelope(sender=sender, recipients=["bob@thuathienhue.gov.vn"],
                                    hop=hop), parse_message(raw)))


def rules(findings: list[Finding]) -> set[str]:
    return {f.rule for f in findings}


@pytest.mark.parametrize("sender", [
    "vanphong@thuathienhue-gov.vn",                      # -gov costume
    "thongbao@thuathienhue.gov.vn.thongbao-example.com",  # gov.vn. as a label
    "vanphong@thuathlenhue.gov.vn",                      # one letter off, under gov.vn
    "vanphong@thuathienhue.com.vn",                      # same name, other suffix
    "vanphong@thuathienhuee.com",                        # two edits outside the list
    "vanphong@portal-govvn.com",
    "vanphong@xn--thuthienhue-8zg.gov.vn".replace(       # Cyrillic a, as punycode
        "xn--thuthienhue-8zg", "thu\u0430thienhue".encode("idna").decode()),
])
def test_lookalike_sender_domains_go_to_the_report_box(sender: str) -> None:
    [f] = run(message(sender, "Van phong"), sender)
    assert f.rule == "HUE-11.11/lookalike" and f.severity is Severity.HIGH
    assert f.action is Action.QUARANTINE


def test_lookalike_in_reply_to_and_envelope_sender_only() -> None:
    raw = message("news@partner.example", reply_to="hoidap@thuathienhue-gov.vn")
    assert [f.fact("where") for f in run(raw)] == ["Reply-To"]
    raw = message("news@partner.example")
    assert [f.fact("where") for f in run(raw, "bounce@thuathlenhue.gov.vn")] == \
        ["envelope sender"]


def test_vietnamese_idn_spelling_of_the_province_is_a_lookalike() -> None:
    raw = message("a@partner.example", html='<p><a href="https://thừathiênhuế.vn/dang-nhap">'
                  "Dang nhap</a></p>")
    [f] = run(raw)
    assert f.rule == "HUE-11.11/lookalike" and f.fact("where") == "link"


@pytest.mark.parametrize("sender", [
    "vanphong@hanoi.gov.vn",           # another province's official mail
    "sotttt@haiphong.gov.vn",
    "news@baothuathienhue.vn",         # the provincial newspaper: not an imitation
    "no-reply@vnexpress.net",
    "bob@thuathienhue.gov.vn",          # our own domain: the origin check's business
    "x@stttt.thuathienhue.gov.vn",
])
def test_real_neighbour_domains_are_not_lookalikes(sender: str) -> None:
    assert run(message(sender, "Ban tin"), sender) == []


@pytest.mark.parametrize(("display", "sender"), [
    ("UBND tỉnh Thừa Thiên Huế", "ubndtinh.tthue@gmail.com"),
    ("UBND tinh Thua Thien Hue", "ubndtinh.tthue@gmail.com"),
    ("Ủy ban nhân dân tỉnh", "vanthu@company.example"),
    ("Văn phòng UBND tỉnh", "vp@yahoo.com.vn"),
    ("Sở Tài chính", "sotaichinh@outlook.com"),
    ("Phó Chủ tịch tỉnh", "pct@gmail.com"),
    ("HĐND tỉnh", "hdnd@mail.example"),
    ("ubnd@thuathienhue.gov.vn", "x@gmail.com"),
])
def test_official_display_names_on_other_addresses(display: str, sender: str) -> None:
    [f] = run(message(sender, display), sender)
    assert f.rule == "HUE-11.11/display-name" and f.severity is Severity.HIGH


def test_configured_leader_names_match_without_diacritics() -> None:
    cfg = config(leader_names=["Nguyễn Văn Phương"])
    [f] = run(message("nvp@gmail.com", "Nguyen Van Phuong"), cfg=cfg)
    assert f.rule == "HUE-11.11/display-name"
    assert run(message("nvp@gmail.com", "Nguyen Van Phu"), cfg=cfg) == []


@pytest.mark.parametrize(("display", "sender", "text"), [
    ("UBND tỉnh Thừa Thiên Huế", "vanphong@thuathienhue.gov.vn", "x"),  # the real one
    ("UBND thành phố Hà Nội", "vanthu@hanoi.gov.vn", "x"),              # another province
    ("Công ty ABC", "sales@abc.example",                                # a partner writing
     "Kính gửi UBND tỉnh Thừa Thiên Huế, Sở Tài chính, Chủ tịch UBND tỉnh..."),
    ("Chủ tịch HĐQT Công ty ABC", "ceo@abc.example", "x"),
    ("Nguyễn Văn Số", "so@gmail.com", "x"),
    ("Văn phòng luật sư Minh", "luatsu@gmail.com", "x"),
    # The province's education department writes from edu.vn, a vetted suffix.
    ("Sở Giáo dục và Đào tạo tỉnh Thừa Thiên Huế", "sgddt@thuathienhue.edu.vn", "x"),
])
def test_benign_display_names_and_partners_mentioning_the_ubnd(
        display: str, sender: str, text: str) -> None:
    assert run(message(sender, display, text=text), sender) == []


@pytest.mark.parametrize("html", [
    '<a href="https://login-hopthu.example/x">https://mail.thuathienhue.gov.vn/</a>',
    '<a href="http://203.0.113.5/owa">mail.thuathienhue.gov.vn</a>',
    '<a href="javascript:go()">https://dichvucong.gov.vn</a>',
    '<A HREF="https://evil.example"><b>https://thuathienhue.gov.vn/</b></A>',
    # Attribute tricks: a ">" or an "href=" inside a quoted value, data-href first.
    '<a title=">" href="https://evil.example">https://thuathienhue.gov.vn</a>',
    """<a title=' href="https://thuathienhue.gov.vn"' href=https://evil.example>"""
    "https://thuathienhue.gov.vn</a>",
    '<a data-href="https://thuathienhue.gov.vn" href="https://evil.example">'
    "mail.thuathienhue.gov.vn</a>",
])
def test_links_showing_an_official_address_but_leading_elsewhere(html: str) -> None:
    found = run(message("a@partner.example", html=f"<p>Dang nhap: {html}</p>"))
    assert "HUE-11.11/deceptive-link" in rules(found)


@pytest.mark.parametrize("html", [
    '<a href="https://www.thuathienhue.gov.vn/tin-tuc">thuathienhue.gov.vn</a>',
    '<a href="https://dichvucong.gov.vn/p">https://thuathienhue.gov.vn</a>',  # official both
    '<a href="https://partner.example/x">Xem them</a>',
    '<a href="mailto:bob@thuathienhue.gov.vn">bob@thuathienhue.gov.vn</a>',
    '<a href="https://vnexpress.net/a">vnexpress.net</a>',
    '<a href="https://thuathienhue.edu.vn/tuyen-sinh">Tuyen sinh</a>',
])
def test_newsletter_links_are_not_deceptive(html: str) -> None:
    assert run(message("news@partner.example", "Ban tin", html=html)) == []


def test_only_the_inbound_door_is_judged() -> None:
    raw = message("ubndtinh.tthue@gmail.com", "UBND tinh")
    assert run(raw, hop="submission") == [] and run(raw, hop="internal") == []


def test_impersonation_reaches_the_report_box_through_the_policy() -> None:
    engine = Engine(config())
    raw = message("ubndtinh.tthue@gmail.com", "UBND tỉnh Thừa Thiên Huế")
    env = Envelope(sender="ubndtinh.tthue@gmail.com", recipients=["bob@thuathienhue.gov.vn"],
                   client_addr="198.51.100.7")
    v = engine.check_message(env, raw, len(raw))
    assert v.action is Action.QUARANTINE and v.quarantine_to == BOX
    assert "HUE-11.11/display-name" in v.rules


def test_bounded_edit_distance() -> None:
    assert within("thuathienhue", "thuathlenhue", 1)
    assert not within("haiduong", "haiphong", 1) and within("haiduong", "haiphong", 2)
    assert not within("a" * 60, "b" * 60, 2)


def test_hostile_html_is_read_in_one_pass_and_the_link_after_it_still_counts() -> None:
    # html.parser rescanned the unfinished tag at every "<": 206 s for 800 KB of this.
    html = ("<a" * 200_000 + "<a href=x>" + "<a >" * 20_000
            + '<a href="https://evil.example" data-pad="' + "A" * 5000 + '">'
            + "<b>https://thuathienhue.gov.vn/" + "x" * 5000 + "</b></a>")
    found = run(message("x@partner.example", html=html))
    assert "HUE-11.11/deceptive-link" in rules(found)


def test_anchor_text_with_letters_that_change_length_in_lower_case() -> None:
    html = ('<p>İİİ</p><A HREF="https://evil.example/">'
            "https://mail.thuathienhue.gov.vn/</A>")
    [f] = [f for f in run(message("x@partner.example", html=html))
           if f.rule == "HUE-11.11/deceptive-link"]
    assert f.fact("domain") == "evil.example"


def test_no_false_alarms_on_the_peer_corpus() -> None:
    files = sorted(CORPUS.glob("*.eml"))
    if not files:
        pytest.skip("corpus not present")
    cfg = config()
    alarms = [(p.name, f.detail) for p in files for f in run(p.read_bytes(), cfg=cfg)]
    assert alarms == []
