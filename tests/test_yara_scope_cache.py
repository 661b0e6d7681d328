"""Issue 17: YARA judges each file once (verdict cache by sha256, keyed by the rule-set
generation), over decoded leaf files; an opened archive's raw bytes and the XML parts of an
OOXML document only see the rules that ask for them (meta ``containers`` /
``document_parts``)."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import yara

from congvu_guard.config import Config
from congvu_guard.detectors.yara_scan import YaraScanner
from congvu_guard.engine import Engine
from congvu_guard.model import Verdict
from congvu_guard.verdict_cache import ENTRY_OVERHEAD, VerdictCache
from tests import helpers, samples
from tests.helpers import EICAR

REAL_DOCX = Path("/work/shared/corpus/office-real/msodde/harmless-clean.docx")
YARA = "HUE-11.5/yara"


class CountingScanner(YaraScanner):
    """A real scanner that records each file YARA is run over (size, full rule set?)."""

    def __init__(self, dirs: list[str]) -> None:
        super().__init__(dirs, timeout_seconds=10)
        self.scans: list[tuple[int, bool]] = []

    def _match(self, rules: yara.Rules, data: bytes) -> list[yara.Match] | None:
        self.scans.append((len(data), rules is self._set.full))
        return super()._match(rules, data)


def engine_with(scanner: YaraScanner) -> Engine:
    return helpers.box_engine(yara=scanner)


def judge(engine: Engine, raw: bytes, rcpt: str = "bob@hue.gov.vn") -> Verdict:
    return helpers.judge(engine, raw, replace(helpers.INBOUND, recipients=[rcpt]))


def yara_rules(v) -> set[str]:
    return {f.fact("yara_rule") for f in v.findings if f.rule == YARA}


def test_the_same_attachment_to_another_recipient_is_not_scanned_again() -> None:
    scanner = CountingScanner([])
    e = engine_with(scanner)
    attachment = [("goi.zip", "application/zip", samples.zip_of({"eicar.com": EICAR}))]
    first = judge(e, samples.mime_message("lan 1", attachment), "an@hue.gov.vn")
    assert yara_rules(first) == {"EICAR_Test_File"} and scanner.scans
    done = len(scanner.scans)
    second = judge(e, samples.mime_message("lan 2", attachment), "binh@hue.gov.vn")
    assert len(scanner.scans) == done  # every file came from the cache
    assert yara_rules(second) == {"EICAR_Test_File"}  # and the verdict is the same
    assert [f.fact("path") for f in second.findings if f.rule == YARA] == \
        [f.fact("path") for f in first.findings if f.rule == YARA]


def test_a_rules_reload_invalidates_the_cache(tmp_path: Path) -> None:
    (tmp_path / "local.yar").write_text('rule Local_One { strings: $a = "CONGVU-MARK" '
                                        "condition: $a }")
    scanner = CountingScanner([str(tmp_path)])
    e = engine_with(scanner)
    raw = samples.mime_message("s", [("a.txt", "text/plain", b"xx CONGVU-MARK xx")])
    assert yara_rules(judge(e, raw)) == {"Local_One"}
    (tmp_path / "local.yar").write_text('rule Local_Two { strings: $a = "CONGVU-MARK" '
                                        "condition: $a }")
    assert scanner.reload()
    done = len(scanner.scans)
    assert yara_rules(judge(e, raw)) == {"Local_Two"}  # not the old rule's cached result
    assert len(scanner.scans) > done


def test_a_timed_out_scan_is_not_remembered() -> None:
    class TimingOut(CountingScanner):
        def _match(self, rules: yara.Rules, data: bytes) -> list[yara.Match] | None:
            self.scans.append((len(data), True))
            return None

    scanner = TimingOut([])
    e = engine_with(scanner)
    raw = samples.mime_message("s", [("a.bin", "application/octet-stream", b"x" * 100)])
    judge(e, raw)
    done = len(scanner.scans)
    judge(e, raw)
    assert len(scanner.scans) == 2 * done and len(scanner.cache) == 0


def test_the_cache_is_bounded_by_entries_and_bytes_least_recent_out() -> None:
    c: VerdictCache[str] = VerdictCache(max_entries=2, max_bytes=10_000)
    c.put("a", "A")
    c.put("b", "B")
    assert c.get("a") == "A"  # a is now the most recent
    c.put("c", "C")
    assert c.get("b") is None and c.get("a") == "A" and c.get("c") == "C"
    c = VerdictCache(max_entries=100, max_bytes=3 * (ENTRY_OVERHEAD + 100))
    for k in "abcd":
        c.put(k, k, cost=100)
    assert len(c) == 3 and c.get("a") is None and c.bytes <= c.max_bytes
    c.put("huge", "x", cost=10 * c.max_bytes)  # larger than the whole cache: not kept
    assert c.get("huge") is None and len(c) == 3


def test_an_opened_zip_raw_bytes_see_only_rules_that_ask_for_containers(
        tmp_path: Path) -> None:
    # The member's name is in the zip's own bytes only, never in the member's data.
    (tmp_path / "names.yar").write_text(
        'rule Name_Any { strings: $a = "bang-luong-MARK.txt" condition: $a }\n'
        'rule Name_Container { meta: containers = true strings: $a = "bang-luong-MARK.txt" '
        "condition: $a }")
    e = engine_with(CountingScanner([str(tmp_path)]))
    z = samples.zip_of({"bang-luong-MARK.txt": b"so lieu"}, zipfile.ZIP_STORED)
    v = judge(e, samples.mime_message("s", [("goi.zip", "application/zip", z)]))
    assert yara_rules(v) == {"Name_Container"}


def test_an_archive_that_was_not_fully_opened_is_scanned_with_every_rule(
        tmp_path: Path) -> None:
    (tmp_path / "names.yar").write_text(
        'rule Name_Any { strings: $a = "bang-luong-MARK.txt" condition: $a }')
    e = engine_with(CountingScanner([str(tmp_path)]))
    z = samples.encrypted_zip("bang-luong-MARK.txt", b"so lieu")  # nothing taken out
    v = judge(e, samples.mime_message("s", [("goi.zip", "application/zip", z)]))
    assert yara_rules(v) == {"Name_Any"}


def test_ooxml_xml_parts_see_only_rules_that_ask_for_document_parts(tmp_path: Path) -> None:
    (tmp_path / "parts.yar").write_text(
        'rule Part_Any { strings: $a = "w:document" condition: $a }\n'
        'rule Part_Asked { meta: document_parts = true strings: $a = "w:document" '
        "condition: $a }")
    scanner = CountingScanner([str(tmp_path)])
    e = engine_with(scanner)
    docx = REAL_DOCX.read_bytes()  # written by Word
    v = judge(e, samples.mime_message("s", [("cong-van.docx", "application/vnd.openxmlformats-"
                                              "officedocument.wordprocessingml.document",
                                              docx)]))
    assert yara_rules(v) == {"Part_Asked"}
    # The shipped rules see neither the package (all parts were taken out) nor its XML.
    plain = CountingScanner([])
    judge(engine_with(plain), samples.mime_message("s", [("c.docx", "application/zip",
                                                          docx)]))
    assert not [size for size, full in plain.scans if full and size == len(docx)]


def test_eicar_as_a_part_of_a_docx_is_still_found() -> None:
    """A part that is not XML (here the EICAR text) is a leaf: every rule sees it."""
    docx = samples.zip_of({"[Content_Types].xml": b"<Types/>",
                           "word/document.xml": b"<w:document/>", "word/eicar.bin": EICAR})
    e = engine_with(YaraScanner([], timeout_seconds=10))
    v = judge(e, samples.mime_message("s", [("a.docx", "application/octet-stream", docx)]))
    assert "EICAR_Test_File" in yara_rules(v)


def test_default_config_engine_uses_one_cache_per_scanner() -> None:
    e = Engine(Config())
    assert isinstance(e.yara.cache, VerdictCache)


def test_a_stored_zip_of_documents_lists_each_document_part_once() -> None:
    """The local headers inside a stored .docx are the .docx's bytes, not members of the
    outer zip: each part is taken out (and judged) once, under its document."""
    from congvu_guard.detectors.content import expand
    from congvu_guard.message import parse_message

    docx = REAL_DOCX.read_bytes()
    z = samples.zip_of({"a.docx": docx, "b.docx": docx}, zipfile.ZIP_STORED)
    content = expand(parse_message(samples.mime_message("s", [("g.zip", "application/zip",
                                                                 z)])))
    parts = [f.path for f in content.files if f.path.endswith("word/document.xml")]
    assert parts == ["2/g.zip:a.docx:word/document.xml", "2/g.zip:b.docx:word/document.xml"]


def _stdlib_payloads(raw: bytes) -> list[bytes]:
    import email
    import email.policy

    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    return [p.get_payload(decode=True) for p in msg.walk() if not p.is_multipart()]


def _mime(cte: str, body: bytes) -> bytes:
    return (b"From: a@example.net\r\nTo: b@hue.gov.vn\r\nSubject: s\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n--XX\r\n'
            b"Content-Type: text/plain\r\n\r\nxin chao\r\n--XX\r\n"
            b"Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: "
            + cte.encode() + b"\r\n\r\n" + body + b"\r\n--XX--\r\n")


def test_long_runs_decode_as_the_standard_library_decodes_them() -> None:
    """The large-body fast path (no copies of the run) gives the standard library's bytes:
    clean base64, base64 with a bad tail (decoded the slow way) and base64-looking 7bit."""
    import base64

    from congvu_guard.message import parse_message

    data = bytes(range(256)) * 1024
    lines = base64.encodebytes(data).replace(b"\n", b"\r\n").rstrip()
    for cte, body in (("base64", lines), ("base64", lines[:-5] + b"=A=="),
                      ("7bit", lines)):
        raw = _mime(cte, body)
        got = [p.payload for p in parse_message(raw).parts]
        assert got == _stdlib_payloads(raw), cte


def test_a_member_name_with_a_colon_does_not_mark_a_sibling_archive_as_opened(
        tmp_path: Path) -> None:
    """x.zip holds "a" (a zip with nothing taken out: its raw bytes need every rule) and
    "a:b.txt"; the path "x.zip:a:b.txt" must not pass for a member of "x.zip:a"."""
    from congvu_guard.detectors.content import expand
    from congvu_guard.detectors.yara_scan import opened_archives
    from congvu_guard.message import parse_message

    inner = samples.zip_of({}) + b"EICAR hidden after an empty zip"
    z = samples.zip_of({"a": inner, "a:b.txt": b"text"}, zipfile.ZIP_STORED)
    content = expand(parse_message(samples.mime_message("s", [("x.zip", "application/zip",
                                                                 z)])))
    assert "2/x.zip:a" in {f.path for f in content.files}
    assert "2/x.zip:a" not in opened_archives(content)


def test_the_boundary_line_search_finds_what_bytes_find_finds() -> None:
    import random

    from congvu_guard.message import _find_dash_line

    rng = random.Random(17)
    for _ in range(3000):
        raw = bytes(rng.choice(b"\n---aQ") for _ in range(rng.randrange(0, 60)))
        for data in (raw, bytearray(raw)):
            for pos in range(len(raw) + 2):
                assert _find_dash_line(data, pos) == data.find(b"\n--", pos), (raw, pos)
