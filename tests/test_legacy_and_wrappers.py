"""HUE-5.3 legacy encodings; files hidden in TNEF (winmail.dat) and uuencoded text; the
tag action's subject prefix."""

from __future__ import annotations

import io
import re

import Milter
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from Milter.testctx import TestCtx as MilterCtx

from congvu_guard.config import Config, ConfigError, ScanConfig, from_mapping
from congvu_guard.detectors import legacy_encoding
from congvu_guard.detectors.legacy_encoding import classify
from congvu_guard.engine import Engine
from congvu_guard.metrics import Metrics
from congvu_guard.milter.adapter import GuardMilter, Services
from congvu_guard.model import Action
from tests import samples
from tests.helpers import judge

TCVN3 = "Céng hoµ x· héi chñ nghÜa ViÖt Nam. §éc lËp - Tù do - H¹nh phóc. KÝnh göi c¸c ®¬n vÞ"
VNI = ("Coäng hoøa xaõ hoäi chuû nghóa Vieät Nam. Ñoäc laäp - Töï do - Haïnh phuùc. "
       "Kính gôûi caùc ñôn vò")
UNICODE = ("Cộng hòa xã hội chủ nghĩa Việt Nam. Độc lập - Tự do - Hạnh phúc. Kính gửi các "
           "đơn vị, hồ sơ đầy đủ, rõ ràng, tùy ý")
WESTERN = [
    "Où est la bibliothèque ? Je ne sais pas où il habite. Voilà, naïf, où, en août.",
    "Die Bäume sind grün und schön. Über die Brücke zur Straße. Größe, Fußgänger.",
    "La acción de la organización está en línea. Mañana, la canción, el corazón.",
    "Søster bor i København, og hun kører til Århus. Grøn, rød, blå.",
    "As ações e as informações são importantes. Não, mãe, pães, põe.",
]


def text_message(body: str, charset: str) -> bytes:
    return (f"From: a@hue.gov.vn\r\nSubject: x\r\nContent-Type: text/plain; charset={charset}"
            "\r\n\r\n").encode() + body.encode(charset if charset != "viscii" else "latin-1")


def test_legacy_encodings_are_recognised_and_unicode_is_not() -> None:
    assert classify(TCVN3) == "tcvn3"
    assert classify(VNI) == "vni"
    assert classify(UNICODE) == ""
    assert all(classify(t) == "" for t in WESTERN)
    assert classify("Anything", "VISCII") == "viscii"


@pytest.mark.parametrize(("body", "charset", "enc"), [
    (TCVN3, "windows-1252", "tcvn3"), (TCVN3, "utf-8", "tcvn3"), (VNI, "iso-8859-1", "vni")])
def test_legacy_text_is_tagged_never_blocked_and_counted(body: str, charset: str,
                                                         enc: str) -> None:
    v = judge(Engine(Config()), text_message(body, charset))
    assert v.action is Action.TAG
    [f] = [f for f in v.findings if f.rule == "HUE-5.3"]
    assert f.fact("encoding") == enc
    m = Metrics()
    m.record_verdict(v, 100)
    assert m.legacy_encoding.labels(enc)._value.get() == 1


def test_unicode_and_western_mail_is_not_tagged() -> None:
    e = Engine(Config())
    for body in (UNICODE, *WESTERN):
        assert judge(e, text_message(body, "utf-8")).action is Action.ACCEPT


def test_hue_5_3_can_never_be_made_a_block() -> None:
    with pytest.raises(ConfigError, match="never blocked"):
        Engine(from_mapping({"actions": {"HUE-5.3": "reject"}}))


def test_files_inside_winmail_dat_are_scanned() -> None:
    raw = samples.mime_message("x", [("winmail.dat", "application/ms-tnef",
                                      samples.tnef({"hoadon.exe": samples.pe_exe()}))])
    v = judge(Engine(Config()), raw)
    assert any(f.rule == "HUE-11.5/exec" and f.fact("path") == "2/winmail.dat:hoadon.exe"
               for f in v.findings)


def test_uuencoded_files_in_text_are_scanned() -> None:
    raw = (b"From: a@b.vn\r\nSubject: uu\r\nContent-Type: text/plain\r\n\r\n"
           + samples.uuencoded_text("setup.exe", samples.pe_exe()))
    v = judge(Engine(Config()), raw)
    assert any(f.rule == "HUE-11.5/exec" and "setup.exe" in f.fact("path") for f in v.findings)


def test_tag_action_prefixes_the_subject_when_configured(monkeypatch) -> None:
    cfg = Config(scan=ScanConfig(subject_prefix="[NGHI NGO]"),
                 policy={"inbound": {"medium": Action.TAG}, "outbound": {}})
    engine = Engine(cfg)
    monkeypatch.setattr(GuardMilter, "services", Services(engine, Metrics(), None, "mx"),
                        raising=False)
    monkeypatch.setattr(Milter, "factory", GuardMilter)
    # pymilter's test context stops a message at a NOREPLY answer: the MTA here offers
    # no reply-less steps (the milter's own no-reply callbacks then answer CONTINUE).
    opts = [Milter.CURR_ACTS, 0x1FFFFF & ~(Milter.P_NR_CONN | Milter.P_NR_RCPT
                                           | Milter.P_NR_HDR | Milter.P_NR_BODY), 0, 0]
    monkeypatch.setattr(MilterCtx, "default_opts", opts)
    ctx = MilterCtx()
    ctx._connect(ip="203.0.113.4")
    changed: list[tuple[str, int, str]] = []
    monkeypatch.setattr(ctx, "chgheader", lambda f, i, v: changed.append((f, i, v)))
    raw = samples.macro_message("Bao cao thang")
    assert ctx._feedFile(io.BytesIO(raw), "x@example.net", "bob@hue.gov.vn") == Milter.ACCEPT
    assert ("Subject", 1, "[NGHI NGO] Bao cao thang") in changed


def test_subject_prefix_must_be_ascii() -> None:
    with pytest.raises(ConfigError, match="subject_prefix"):
        from_mapping({"scan": {"subject_prefix": "[NGHI NGỜ]"}})


# The patterns as they were before they started with the symbol they count (issue 17).
_OLD_TCVN3 = re.compile(r"(?<=[A-Za-z])[\u00a8-\u00ae\u00b5-\u00b9\u00bb-\u00be]|"
                        r"[\u00a8-\u00ae\u00b5-\u00b9\u00bb-\u00be](?=[A-Za-z])")
_OLD_VNI_MARK = re.compile(r"(?<=[aeiouyAEIOUY])([\u00f8\u00f9\u00fb\u00f5\u00ef\u00e4])")


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="aeoAyxZ ñøùûõïä\u00a8\u00aa\u00ae\u00b5\u00b9\u00ba\u00bb\u00be.\n",
               max_size=80))
def test_legacy_patterns_count_what_the_look_behind_patterns_counted(text: str) -> None:
    assert legacy_encoding._TCVN3.findall(text) == _OLD_TCVN3.findall(text)
    assert legacy_encoding._VNI_MARK.findall(text) == _OLD_VNI_MARK.findall(text)
