"""The one-time parse: every leaf part decoded, malformed input recorded, never raising."""

from __future__ import annotations

from congvu_guard.config import Config
from congvu_guard.detectors import mime
from congvu_guard.engine import Engine
from congvu_guard.message import ParseLimits, parse_message
from congvu_guard.model import Action, Envelope
from congvu_guard.scan import wire_size
from tests.helpers import EICAR, eicar_message, simple_message

ENV = Envelope(sender="a@hue.gov.vn", recipients=["b@hue.gov.vn"])


def findings(raw: bytes):
    return list(mime.detect(ENV, parse_message(raw)))


def test_attachment_is_decoded_and_named() -> None:
    msg = parse_message(eicar_message("x"))
    [att] = list(msg.attachments())
    assert att.filename == "eicar.com"
    assert att.payload.startswith(EICAR)
    assert not msg.defects


def test_eicar_inside_a_forwarded_message_is_found() -> None:
    inner = eicar_message("inner")
    outer = (
        b"From: a@hue.gov.vn\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="OUT"\r\n\r\n'
        b"--OUT\r\nContent-Type: text/plain\r\n\r\nxem\r\n"
        b"--OUT\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--OUT--\r\n"
    )
    v = Engine(Config()).check_message(ENV, outer, wire_size(outer))
    [f] = [f for f in v.findings if f.rule == "HUE-11.5/yara"]
    assert v.action is Action.REJECT and f.action is Action.REJECT
    assert "EICAR" in f.detail and "eicar.com" in f.fact("path")


def test_missing_close_boundary_is_a_finding_not_a_crash() -> None:
    raw = (b"From: a@b.vn\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
           b"--B\r\nContent-Type: text/plain\r\n\r\nhello\r\n")
    rules = {f.rule for f in findings(raw)}
    assert "CG-MIME" in rules


def test_bad_base64_is_a_finding_not_a_crash() -> None:
    raw = (b"From: a@b.vn\r\nMIME-Version: 1.0\r\nContent-Type: application/pdf\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n@@@!!!not*base64===\r\nQUJD\r\n")
    msg = parse_message(raw)
    assert msg.parts and isinstance(msg.parts[0].payload, bytes)
    assert any(f.rule == "CG-MIME" for f in findings(raw))


def test_8bit_and_non_utf8_headers_are_read() -> None:
    raw = ("Subject: Gi\u1ea5y m\u1eddi h\u1ecdp\r\nFrom: a@b.vn\r\n").encode() + \
        b"X-Legacy: \xc7\xe1y m\xf5i\r\n" + \
        b"Content-Type: text/plain; charset=windows-1258\r\n\r\nN\xf4\xef dung\r\n"
    msg = parse_message(raw)
    assert msg.header("Subject") is not None
    assert msg.header("X-Legacy") is not None
    assert "\ufffd" in msg.header("X-Legacy")  # undecodable bytes shown, not fatal
    assert findings(raw) == [] or all(f.action is not Action.REJECT for f in findings(raw))


def test_rfc2047_filename_is_decoded() -> None:
    raw = (b"From: a@b.vn\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
           b"--B\r\nContent-Type: application/pdf; name=\"=?utf-8?b?Q8O0bmcgdsSDbi5wZGY=?=\"\r\n"
           b"Content-Disposition: attachment; filename=\"=?utf-8?b?Q8O0bmcgdsSDbi5wZGY=?=\"\r\n"
           b"\r\nJVBERg==\r\n--B--\r\n")
    [att] = list(parse_message(raw).attachments())
    assert att.filename == "C\u00f4ng v\u0103n.pdf"


def test_empty_body_and_empty_message_are_judged() -> None:
    assert findings(simple_message("x", body="")) == []
    empty = parse_message(b"")
    assert "EmptyMessage" in empty.defects
    assert [f.rule for f in findings(b"")] == ["CG-MIME"]


def test_headers_only_message_without_separator() -> None:
    msg = parse_message(b"From: a@b.vn\r\nSubject: x")
    assert msg.header("subject") == "x"


def test_nesting_deeper_than_the_limit_is_a_limit_finding() -> None:
    raw = b"From: a@b.vn\r\nMIME-Version: 1.0\r\n"
    body = b"leaf\r\n"
    for i in range(30):
        body = (f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
                + body + f"\r\n--b{i}--\r\n".encode())
    parsed = parse_message(raw + body, ParseLimits(max_depth=10))
    assert any("depth>10" in d for d in parsed.defects)
    assert any(f.rule == "CG-MIME-LIMIT" for f in mime.detect(ENV, parsed))


def test_too_many_parts_is_a_limit_finding() -> None:
    parts = b"".join(b"--B\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(50))
    raw = (b"From: a@b.vn\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n' + parts + b"--B--\r\n")
    parsed = parse_message(raw, ParseLimits(max_parts=10))
    assert len(parsed.parts) == 10
    assert any("parts>10" in d for d in parsed.defects)


def test_decoded_size_counts_decoded_attachments() -> None:
    content = b"x" * 30000
    from tests.helpers import message_with_attachment

    raw = message_with_attachment("s", "a.bin", content)
    parsed = parse_message(raw)
    assert parsed.decoded_bytes >= len(content)
    assert parsed.decoded_bytes < len(raw)


def test_nesting_that_exhausts_the_parser_is_a_limit_finding_not_a_crash() -> None:
    body = b"X5O leaf\r\n"
    for i in range(3000):
        body = (f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode()
                + body + f"\r\n--b{i}--\r\n".encode())
    parsed = parse_message(b"From: a@b.vn\r\nSubject: deep\r\nMIME-Version: 1.0\r\n" + body)
    assert parsed.header("Subject") == "deep"
    assert any("nesting>parser" in d for d in parsed.defects)
    assert parsed.parts and b"X5O leaf" in parsed.parts[0].payload
