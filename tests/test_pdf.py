"""HUE-11.5 PDFs judged on their structure (congvu_guard/detectors/pdf.py): active content
found wherever the objects are kept (plain or in compressed object streams), embedded files
taken out and judged, no false alarm on scanned, signed or text PDFs, and hostile PDFs
become a finding or nothing, never an error or a hang.

The PDFs are made by real programs (tests/pdf_corpus.py: img2pdf, pikepdf on libqpdf, the
qpdf command, Ghostscript); a few hostile ones are written byte by byte on purpose."""

from __future__ import annotations

import random
import zlib

import pytest

from congvu_guard.detectors import pdf
from congvu_guard.engine import Engine
from congvu_guard.model import Action, Severity, Verdict
from tests import helpers, samples
from tests import pdf_corpus as corpus

MIB = 1024 * 1024
# What searching raw bytes (the scanner before this module) looked for.
OLD_SEARCH = (b"/JS", b"/JavaScript", b"/Launch", b"/EmbeddedFile")


def judge(engine: Engine, name: str, data: bytes) -> Verdict:
    raw = samples.mime_message("s", [(name, "application/pdf", data)])
    return helpers.judge(engine, raw)


def risks(data: bytes) -> list[str]:
    return [r.label for r in pdf.analyse(data).risks]


# Detections ---------------------------------------------------------------------------------
@pytest.mark.parametrize("objstm", [False, True], ids=["plain", "object-streams"])
def test_javascript_open_action_is_found_plain_and_in_object_streams(objstm: bool) -> None:
    data = corpus.js_open_action(objstm)
    if objstm:  # the catalog and the action are compressed: invisible to a byte search
        assert not any(w in data for w in OLD_SEARCH)
    assert risks(data) == ["automatic JavaScript"]


@pytest.mark.skipif(not corpus.HAVE_QPDF, reason="qpdf not installed (scripts/setup)")
def test_javascript_moved_into_object_streams_by_the_qpdf_command_is_found() -> None:
    data = corpus.qpdf_object_streams(corpus.js_open_action(objstm=False))
    assert b"/ObjStm" in data and b"/JavaScript" not in data
    assert risks(data) == ["automatic JavaScript"]


@pytest.mark.parametrize("objstm", [False, True], ids=["plain", "object-streams"])
def test_document_level_javascript_in_the_names_tree_is_found(objstm: bool) -> None:
    assert risks(corpus.js_name_tree(objstm)) == ["JavaScript"]


def test_hex_escaped_names_are_decoded() -> None:
    data = corpus.js_name_tree(objstm=False).replace(b"/S /JavaScript", b"/S /J#61vaScript")
    data = data.replace(b"/JavaScript", b"/Java#53cript")
    assert b"/JavaScript" not in data
    assert risks(data) == ["JavaScript"]


@pytest.mark.parametrize("objstm", [False, True], ids=["plain", "object-streams"])
def test_launch_action_is_high(objstm: bool) -> None:
    report = pdf.analyse(corpus.launch(objstm))
    assert [(r.label, r.severity) for r in report.risks] == [("automatic Launch",
                                                              Severity.HIGH)]


@pytest.mark.parametrize("objstm", [False, True], ids=["plain", "object-streams"])
def test_page_that_opens_a_web_address_by_itself_is_found(objstm: bool) -> None:
    assert risks(corpus.page_open_uri(objstm)) == ["automatic URI"]


@pytest.mark.parametrize("objstm", [False, True], ids=["plain", "object-streams"])
def test_xfa_form_is_found(objstm: bool) -> None:
    assert risks(corpus.xfa(objstm)) == ["XFA"]


def test_rich_media_is_found() -> None:
    assert risks(corpus.rich_media()) == ["RichMedia"]


def test_form_submitting_to_an_outside_address_is_found() -> None:
    report = pdf.analyse(corpus.submit_form("http://thu-thap.example/gui"))
    assert [r.label for r in report.risks] == ["SubmitForm"]
    assert "http://thu-thap.example/gui" in report.risks[0].detail


@pytest.mark.parametrize(("url", "outside"), [
    ("mailto:thu-thap@example.net", True), ("\\\\10.0.0.9\\share\\f.fdf", True),
    ("file://10.0.0.9/share/f.fdf", True), ("file:///C:/Users/a/form.html", False),
    ("form.fdf", False), ("C:\\form.fdf", False)])
def test_submit_target_outside_means_a_scheme_or_a_remote_host(url: str, outside: bool) -> None:
    assert bool(risks(corpus.submit_form(url))) is outside


def test_embedded_executable_is_taken_out_and_judged_as_an_executable(engine: Engine) -> None:
    v = judge(engine, "hoa-don.pdf", corpus.attachment("hoa-don.exe", samples.pe_exe()))
    assert v.action is Action.REJECT
    assert {"HUE-11.5/exec", "HUE-11.5/pdf-embedded-file"} <= set(v.rules)
    exe = next(f for f in v.findings if f.rule == "HUE-11.5/exec")
    assert dict(exe.facts)["path"].endswith("hoa-don.pdf:hoa-don.exe")


def test_embedded_file_stream_without_its_optional_type_is_still_taken_out(
        engine: Engine) -> None:
    data = corpus.attachment("hoa-don.exe", samples.pe_exe(), objstm=True, typed=False)
    assert b"/EmbeddedFile" not in data
    v = judge(engine, "hoa-don.pdf", data)
    assert "HUE-11.5/exec" in v.rules and v.action is Action.REJECT


def test_embedded_file_rule_set_to_tag_still_rejects_an_embedded_executable() -> None:
    """An operator who tags PDFs with attachments (PDF/A-3 e-invoices carry their XML) keeps
    the judgement of what is inside."""
    tagging = helpers.box_engine({"actions": {"HUE-11.5/pdf-embedded-file": "tag"}})
    invoice = corpus.attachment("hoa-don.xml", b"<?xml version='1.0'?><HDon><DLHDon/></HDon>")
    assert judge(tagging, "hoa-don.pdf", invoice).action is Action.TAG
    exe = corpus.attachment("hoa-don.exe", samples.pe_exe())
    assert judge(tagging, "hoa-don.pdf", exe).action is Action.REJECT


def test_embedded_script_in_an_object_stream_pdf_is_judged_as_a_script(engine: Engine) -> None:
    script = b'Set o = CreateObject("WScript.Shell")\r\no.Run "calc"'
    v = judge(engine, "thu-moi.pdf", corpus.attachment("tai-lieu.txt", script, objstm=True))
    assert "HUE-11.5/script" in v.rules and v.action is Action.REJECT


def test_embedded_zip_bomb_is_a_bomb_finding_not_an_expansion(engine: Engine) -> None:
    bomb = corpus.attachment("data.bin", b"\0" * (80 * MIB))
    v = judge(engine, "bao-cao.pdf", bomb)
    assert "HUE-11.5/archive-bomb" in v.rules
    assert v.action is Action.QUARANTINE


def test_every_risky_pdf_gets_at_least_quarantine(engine: Engine) -> None:
    missed = []
    for name, data in corpus.risky_pdfs():
        v = judge(engine, f"{name}.pdf", data)
        if v.action not in (Action.QUARANTINE, Action.REJECT):
            missed.append((name, v.action, v.rules))
    assert missed == []


# No false alarms ----------------------------------------------------------------------------
def test_scanned_letters_do_not_alarm_even_when_their_image_bytes_hold_the_words() -> None:
    """The image data is bytes inside a stream: a scan whose random data happens to contain
    /JS (the byte search's false alarm) stays clean."""
    seed = next(s for s in range(1000)
                if any(w in corpus.scanned_letter(s, 1_500_000) for w in OLD_SEARCH))
    data = corpus.scanned_letter(seed, 1_500_000)
    assert pdf.analyse(data).risks == [] and pdf.analyse(data).problems == []


def test_no_false_alarm_on_the_benign_pdf_corpus() -> None:
    """The benign corpus (README: measured false-alarm rate): 100 seeded scanned letters, 95
    of 0.2-4 MB and five of 6-15 MB made by img2pdf, then text, link, form and Ghostscript
    PDFs, each also signed and copy-protected; judged by the whole engine. A 15 MB scan is
    20.5 MB in base64, past HUE-14's 20 MB on the wire: the size is counted decoded here so
    the scanner, not the size rule, is what is measured."""
    engine = helpers.box_engine({"limits": {"size_basis": "decoded"}})
    alarms, count = [], 0
    for name, data in corpus.benign_pdfs(100):
        count += 1
        v = judge(engine, f"{name}.pdf", data)
        if v.action is not Action.ACCEPT:
            alarms.append((name, v.rules))
    assert alarms == [] and count >= 112  # 121 with Ghostscript, qpdf and LibreOffice


def test_signed_scans_and_signed_text_pdfs_do_not_alarm(engine: Engine) -> None:
    for i, base in enumerate((corpus.scanned_letter(7, 2 * MIB),
                              corpus.mentions_javascript(objstm=True),
                              corpus.benign_links_and_destination())):
        data = corpus.signed(base, seed=i)
        assert b"/ByteRange" in data
        assert judge(engine, "cong-van-da-ky.pdf", data).action is Action.ACCEPT


@pytest.mark.parametrize("objstm", [False, True], ids=["plain", "object-streams"])
def test_text_about_javascript_and_content_stream_names_do_not_alarm(engine: Engine,
                                                                     objstm: bool) -> None:
    data = corpus.mentions_javascript(objstm)
    assert b"/JavaScript" in data and b"/Launch" in data  # in the content stream, as text
    assert judge(engine, "canh-bao.pdf", data).action is Action.ACCEPT


@pytest.mark.parametrize("revision", [3, 4, 6], ids=["RC4", "AES-128", "AES-256"])
def test_copy_protected_pdfs_that_open_without_a_password_do_not_alarm(
        engine: Engine, revision: int) -> None:
    for base in (corpus.benign_links_and_destination(), corpus.scanned_letter(9, 300_000),
                 corpus.mentions_javascript(objstm=True)):
        data = corpus.encrypted(base, revision)
        assert judge(engine, "cong-van.pdf", data).action is Action.ACCEPT


def test_links_and_a_go_to_page_open_action_do_not_alarm(engine: Engine) -> None:
    assert judge(engine, "thong-bao.pdf", corpus.benign_links_and_destination()).action \
        is Action.ACCEPT


@pytest.mark.skipif(not corpus.HAVE_GS, reason="ghostscript not installed (scripts/setup)")
def test_ghostscript_letters_plain_and_with_qpdf_object_streams_do_not_alarm(
        engine: Engine) -> None:
    letter = corpus.ps2pdf_letter(["Huong dan: tat JavaScript (/JS, /Launch) trong trinh doc",
                                   "Kinh gui cac don vi truc thuoc"])
    variants = [letter] + ([corpus.qpdf_object_streams(letter)] if corpus.HAVE_QPDF else [])
    for data in variants:
        assert pdf.analyse(data).objects > 3
        assert judge(engine, "huong-dan.pdf", data).action is Action.ACCEPT


@pytest.mark.skipif(not corpus.HAVE_SOFFICE, reason="LibreOffice not installed")
def test_libreoffice_form_with_links_and_a_submit_button_does_not_alarm(engine: Engine) -> None:
    data = corpus.libreoffice_form_letter()
    assert b"/AA" in data and b"/SubmitForm" in data  # the button submits on a click
    assert judge(engine, "don-dang-ky.pdf", data).action is Action.ACCEPT


# Hostile input -------------------------------------------------------------------------------
def _objstm_pdf(payload: bytes, n: int = 1) -> bytes:
    z = zlib.compress(payload, 9)
    return (b"%PDF-1.5\n1 0 obj\n<< /Type /ObjStm /N " + str(n).encode() + b" /First 4 "
            b"/Filter /FlateDecode /Length " + str(len(z)).encode() + b" >>\nstream\n" + z
            + b"\nendstream\nendobj\ntrailer\n<< /Root 2 0 R >>\n%%EOF\n")


def test_zlib_bomb_in_an_object_stream_is_a_limit_finding(engine: Engine) -> None:
    data = _objstm_pdf(b"2 0 << /Type /Catalog >>" + b" " * (60 * MIB))
    report = pdf.analyse(data)
    assert [p.label for p in report.problems] == ["unreadable"]
    assert "expands past" in report.problems[0].detail
    v = judge(engine, "bom.pdf", data)
    assert "HUE-11.5/pdf-limit" in v.rules and v.action is Action.QUARANTINE


def test_object_stream_that_is_not_zlib_is_a_limit_finding() -> None:
    data = _objstm_pdf(b"").replace(b"x\xda", b"QQ", 1)
    assert [p.label for p in pdf.analyse(data).problems] == ["unreadable"]


def test_deeply_nested_dictionaries_are_a_limit_finding() -> None:
    data = b"%PDF-1.7\n1 0 obj\n" + b"<< /A " * 100_000 + b">>" * 100_000 + b"\nendobj\n"
    report = pdf.analyse(data)
    assert [p.label for p in report.problems] == ["limit"]
    assert "nesting" in report.problems[0].detail


def test_huge_or_indirect_length_falls_back_to_endstream() -> None:
    for length in (b"999999999999", b"-5", b"9 0 R", b"12"):
        data = (b"%PDF-1.4\n1 0 obj\n<< /Length " + length + b" >>\nstream\n"
                + b"/JS /Launch (junk)" * 1000 + b"\nendstream\nendobj\n"
                b"2 0 obj\n<< /Type /Catalog /OpenAction << /S /JavaScript /JS (x) >> >>\n"
                b"endobj\n")
        assert risks(data) == ["automatic JavaScript"], length


def test_unterminated_string_does_not_hide_the_objects_after_it() -> None:
    data = (b"%PDF-1.4\n1 0 obj\n<< /Title (no end >>\nendobj\n"
            b"2 0 obj\n<< /Type /Catalog /OpenAction << /S /JavaScript /JS (x) >> >>\nendobj\n")
    assert risks(data) == ["automatic JavaScript"]


def test_object_hidden_inside_a_stream_body_of_a_pdf_without_xref_is_found() -> None:
    """No xref: readers rebuild it by scanning the file for objects, so they see it."""
    hidden = b"endstream\nendobj\n5 0 obj\n<< /S /JavaScript /JS (app.alert(1)) >>\nendobj\n"
    body = b"x" * 100 + b"\n" + hidden + b"y" * 100
    data = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /OpenAction 5 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Length " + str(len(body)).encode() + b" >>\nstream\n" + body
            + b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
    assert risks(data) == ["automatic JavaScript"]


def test_object_hidden_inside_a_stream_body_is_found_through_the_xref() -> None:
    """A /Length that covers a second object: readers find it by its xref offset."""
    hidden = b"5 0 obj\n<< /S /JavaScript /JS (app.alert(1)) >>\nendobj\n"
    head = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /OpenAction 5 0 R >>\nendobj\n"
    body = b"x" * 100 + b"\n" + hidden + b"y" * 100
    obj2 = b"2 0 obj\n<< /Length " + str(len(body)).encode() + b" >>\nstream\n"
    offset = len(head) + len(obj2) + 101
    data = (head + obj2 + body + b"\nendstream\nendobj\nxref\n0 1\n"
            + f"{offset:010d} 00000 n \n".encode() + b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
    assert risks(data) == ["automatic JavaScript"]
    # The same with a compressed cross-reference stream (PDF 1.5) and a PNG Up predictor.
    row = b"\x02\x01" + offset.to_bytes(4, "big") + b"\x00"  # Up from a zero row: as is
    xref = zlib.compress(row)
    data = (head + obj2 + body + b"\nendstream\nendobj\n9 0 obj\n<< /Type /XRef /W [1 4 1] "
            b"/Size 10 /Root 1 0 R /Filter /FlateDecode /DecodeParms << /Predictor 12 "
            b"/Columns 6 >> /Length " + str(len(xref)).encode() + b" >>\nstream\n" + xref
            + b"\nendstream\nendobj\n%%EOF\n")
    assert risks(data) == ["automatic JavaScript"]


def test_pdf_past_the_messages_time_budget_is_a_limit_finding_not_read() -> None:
    report = pdf.analyse(corpus.js_open_action(True), deadline=0.0)  # monotonic: long past
    assert report.risks == [] and [p.label for p in report.problems] == ["limit"]
    assert "time for PDFs is spent" in report.problems[0].detail


def test_garbage_after_the_header_is_an_unreadable_finding_of_low_severity() -> None:
    report = pdf.analyse(b"%PDF-1.7\n" + random.Random(3).randbytes(200_000))
    assert [(p.label, p.severity) for p in report.problems] == [("unreadable", Severity.LOW)]


def test_text_that_mentions_the_pdf_header_is_not_an_unreadable_pdf(engine: Engine) -> None:
    text = b"Loi mo tep: tep bat dau bang %PDF-1.7 nhung bi hong. Vui long gui lai.\r\n"
    raw = samples.mime_message("s", [("ghi-chu.txt", "text/plain", text)])
    assert helpers.judge(engine, raw).action is Action.ACCEPT
    v = judge(engine, "cong-van.pdf", b"%PDF-1.7\n" + random.Random(3).randbytes(5000))
    assert "HUE-11.5/pdf-unreadable" in v.rules and v.action is Action.TAG


@pytest.mark.parametrize("junk", [
    b"(" * 200_000, b"[" * 60 + b"(" * 200_000, b"<" * 200_000, b"\\" * 200_000,
    b"1 0 obj " * 50_000, b"%" * 200_000, b"/" * 200_000, b"1 " * 200_000,
    b"1 0 obj << /Length 5 >> stream\n" * 20_000, b"xref\n0 99999999\n" + b"0 " * 100_000,
])
def test_pathological_token_runs_end_in_a_report(junk: bytes) -> None:
    report = pdf.analyse(b"%PDF-1.7\n" + junk)
    assert isinstance(report, pdf.PdfReport)


def test_truncated_and_mutated_real_pdfs_never_raise() -> None:
    rng = random.Random(11)
    bases = [corpus.js_open_action(True), corpus.attachment("a.exe", samples.pe_exe()),
             corpus.xfa(True), corpus.signed(corpus.scanned_letter(1, 20_000)),
             corpus.encrypted(corpus.js_open_action(False), 4),
             corpus.encrypted(corpus.attachment("a.exe", samples.pe_exe()), 6)]
    for base in bases:
        for cut in range(0, len(base), max(1, len(base) // 60)):
            pdf.analyse(base[:cut])
        for _ in range(150):
            b = bytearray(base)
            for _ in range(rng.randrange(1, 20)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            pdf.analyse(bytes(b))


def test_truncated_active_pdf_through_the_engine_is_judged_not_an_error(engine: Engine) -> None:
    data = corpus.js_open_action(objstm=False)
    v = judge(engine, "cat.pdf", data[:len(data) * 2 // 3])
    assert v.action in (Action.ACCEPT, Action.TAG, Action.QUARANTINE)
