"""The fast parse of long runs of lines (message._skeleton: base64 bodies, and text that
turns out to be a part's body) must give exactly what the standard library's line-by-line
parse gives: same parts, payloads, names and defects."""

from __future__ import annotations

import base64
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from congvu_guard import message
from congvu_guard.message import ParsedMessage, parse_message
from tests import samples
from tests.helpers import CORPUS, eicar_message, simple_message


def _view(p: ParsedMessage) -> tuple[object, ...]:
    return (p.header_bytes, p.headers, p.parts, sorted(p.defects), p.decoded_bytes)


def _both(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> tuple[tuple[object, ...], ...]:
    with monkeypatch.context() as m:
        m.setattr(message, "_BLOB_MIN", 10**12)  # the standard library's way only
        m.setattr(message, "_TEXT_MIN", 10**12)
        slow = _view(parse_message(raw))
    with monkeypatch.context() as m:
        m.setattr(message, "_BLOB_MIN", 8)  # every run of lines takes the fast way
        m.setattr(message, "_TEXT_MIN", 8)
        fast = _view(parse_message(raw))
    return slow, fast


def _assert_same(raw: bytes) -> None:
    """Fast and standard-library parses agree (for hypothesis, which runs a test many times
    under one function-scoped fixture, so each example patches and undoes on its own)."""
    mp = pytest.MonkeyPatch()
    try:
        slow, fast = _both(raw, mp)
    finally:
        mp.undo()
    assert fast == slow


def _b64(data: bytes, line: int = 76, eol: bytes = b"\r\n") -> bytes:
    enc = base64.b64encode(data)
    return eol.join(enc[i:i + line] for i in range(0, len(enc), line))


TEXT = b"\r\n".join([b"Kinh gui cac don vi: van phong UBND tinh xin thong bao."] * 60)
HEADERS = b"From: x@hue.gov.vn\r\nSubject: y\r\nX-A: " + b"z" * 3000
VIETNAMESE = "\r\n".join(["Kính gửi các đơn vị: Văn phòng UBND tỉnh xin thông báo."] * 60).encode()


def _crafted() -> list[bytes]:
    rng = random.Random(7)
    blob = rng.randbytes(3000)
    b = _b64(blob)
    hdr = b"From: a@hue.gov.vn\r\nTo: b@hue.gov.vn\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
    multi = hdr + b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
    att = (b"--B\r\nContent-Type: application/pdf; name=a.pdf\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n")
    return [
        simple_message("plain"),
        eicar_message("eicar"),
        samples.macro_message("macro"),
        samples.mime_message("zip", [("a.zip", "application/zip",
                                      samples.zip_of({"x.txt": blob}))]),
        samples.mime_message("fwd", [("m.eml", "message/rfc822", eicar_message("in"))]),
        # single-part base64 message, with and without a trailing newline, LF line ends
        hdr + b"Content-Transfer-Encoding: base64\r\n\r\n" + b + b"\r\n",
        hdr + b"Content-Transfer-Encoding: base64\r\n\r\n" + b,
        (hdr + b"Content-Transfer-Encoding: base64\r\n\r\n").replace(b"\r\n", b"\n")
        + _b64(blob, eol=b"\n") + b"\n",
        # bad padding, '=' in the middle, invalid characters: defects must be the same
        multi + att + b[:-3] + b"\r\n--B--\r\n",
        multi + att + b[:100] + b"=" + b[100:] + b"\r\n--B--\r\n",
        multi + att + b[:200] + b"\r\n!!\r\n" + b[200:] + b"\r\n--B--\r\n",
        # missing close boundary, no start boundary, epilogue and preamble of base64 lines
        multi + att + b + b"\r\n",
        hdr + b'Content-Type: multipart/mixed; boundary="NOPE"\r\n\r\n' + b + b"\r\n",
        multi + b + b"\r\n" + att + b + b"\r\n--B--\r\n" + b + b"\r\n",
        # base64 lines where headers are expected (attached message without headers)
        multi + b"--B\r\nContent-Type: message/rfc822\r\n\r\n" + b + b"\r\n--B--\r\n",
        # a text part that is not declared base64 but looks like it
        multi + b"--B\r\nContent-Type: text/plain\r\n\r\n" + b + b"\r\n--B--\r\n",
        # undecodable bytes before a run (the parser keeps them as surrogate escapes)
        hdr + b"Content-Transfer-Encoding: base64\r\n\xff\xfe\r\nQQ==\r\n\r\n" + b + b"\r\n",
        # an attached message whose header section is empty (a blank line first)
        multi + b"--B\r\nContent-Type: message/rfc822\r\n\r\n\r\n" + b + b"\r\n--B--\r\n",
        # padding in the middle, odd quanta
        hdr + b"Content-Transfer-Encoding: base64\r\n\r\nQU\r\n" + b + b"\r\nQUJDRA=\r\n",
        # a forged token must stay text
        simple_message("CGBLOB0123456789abcdefN0"),
        simple_message("CGTEXT0123456789abcdefN0 and more text"),
        # text runs: a part's body, an attached message's headers, a delivery report's
        # blocks, a digest, bare CRs and form feeds before "--B", 8-bit bytes, "From " lines
        multi + b"--B\r\nContent-Type: text/plain\r\n\r\n" + TEXT + b"\r\n--B--\r\n",
        multi + b"--B\r\nContent-Type: message/rfc822\r\n\r\n" + HEADERS + b"\r\n\r\n"
        + TEXT + b"\r\n--B--\r\n",
        multi + b"--B\r\nContent-Type: message/rfc822\r\n\r\n" + TEXT + b"\r\n--B--\r\n",
        hdr + b'Content-Type: multipart/report; boundary="B"\r\n\r\n--B\r\n'
        b"Content-Type: message/delivery-status\r\n\r\n" + HEADERS + b"\r\n\r\n" + HEADERS
        + b"\r\n--B--\r\n",
        hdr + b'Content-Type: multipart/digest; boundary="B"\r\n\r\n--B\r\n\r\n' + HEADERS
        + b"\r\n\r\n" + TEXT + b"\r\n--B--\r\n",
        multi + b"--B\r\nContent-Type: text/plain\r\n\r\n" + TEXT + b"\rx\r--B\r\n"
        + TEXT + b"\r\n--B--\r\n",
        multi + b"--B\r\nContent-Type: text/plain\r\n\r\n\r--B\r\n" + TEXT + b"\r\n--B--\r\n",
        multi + b"--B\r\nContent-Type: text/plain\r\n\r\n" + TEXT + b"\x0c--B\r\n" + TEXT
        + b"\r\n--B--\r\n",
        multi + b"--B\r\nContent-Type: text/plain\r\n\r\nFrom x\r\n" + TEXT.replace(
            b"a", b"\xc3\xa1") + b"\r\n--B--\r\n",
        hdr + b"\r\n" + TEXT + b"\r\n-- \r\nsig\r\n\r\n" + TEXT,
        multi + TEXT + b"\r\n--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--\r\n" + TEXT,
        (multi + b"--B\r\nContent-Type: text/html\r\n\r\n" + TEXT
         + b"\r\n--B--\r\n").replace(b"\r\n", b"\n"),
        multi + b"--B\r\nContent-Type: multipart/alternative\r\n\r\n" + TEXT
        + b"\r\n--B--\r\n",
        # text runs in parts of every transfer encoding: taken as bytes where the standard
        # library returns the bytes as received, put back and decoded where it decodes
        *(multi + b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n"
          b"Content-Transfer-Encoding: " + cte + b"\r\n\r\n" + VIETNAMESE + b"\r\n--B--\r\n"
          for cte in (b"8bit", b" 8BIT", b"7bit", b"binary", b"x-unknown",
                      b"quoted-printable", b"base64", b"x-uuencode")),
        multi + b"--B\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: "
        b"quoted-printable\r\n\r\n" + TEXT.replace(b"a", b"=C3=A1") + b"=\r\n\r\n--B--\r\n",
        multi + b"--B\r\nContent-Type: text/plain\r\n\r\n\xff" + VIETNAMESE + b"\r\n"
        + TEXT + b"\r\n--B--\r\n",
    ]


@pytest.mark.parametrize("raw", _crafted(), ids=lambda r: str(len(r)))
def test_fast_parse_matches_the_standard_library_on_crafted_messages(
        raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    slow, fast = _both(raw, monkeypatch)
    assert fast == slow


def _corpus() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file()) if CORPUS.is_dir() else []


@pytest.mark.skipif(not _corpus(), reason=f"peer corpus not found at {CORPUS}")
def test_fast_parse_matches_the_standard_library_on_the_peer_corpus(
        monkeypatch: pytest.MonkeyPatch) -> None:
    differ = []
    for path in _corpus():
        raw = path.read_bytes()
        slow, fast = _both(raw, monkeypatch)
        if fast != slow:
            differ.append(path.name)
    assert not differ


_LINES = st.sampled_from([
    b"--B", b"--B--", b"--C", b"", b"QUJD", b"QUJDRA==", b"QQ==", b"=", b"AAAA=AAA",
    b"==", b"Q", b"QU", b"QUJ", b"QUJDRA=",
    b"Content-Type: multipart/mixed; boundary=C", b"Content-Type: message/rfc822",
    b"Content-Transfer-Encoding: base64", b"Content-Type: text/plain", b"From x",
    b" folded", b"!!", b"\x00", b"\xff\xfe",
    b"Kinh gui anh", b"Subject: y", b"a\rb", b"x\r--B", b"\xc3\xa1 text", b"-- ", b"\x0c--B",
    b"Content-Type: message/delivery-status", b"Content-Type: multipart/digest; boundary=C",
])


@settings(max_examples=500, deadline=None)
@given(st.lists(_LINES, max_size=60), st.sampled_from([b"\r\n", b"\n", b"\r"]),
       st.sampled_from([b'Content-Type: multipart/mixed; boundary="B"',
                        b"Content-Type: application/pdf"]))
def test_fast_parse_matches_the_standard_library_on_random_line_soup(
        lines: list[bytes], eol: bytes, ctype: bytes) -> None:
    hdr = ctype + b"\r\nContent-Transfer-Encoding: base64"
    raw = eol.join([hdr, *lines])
    _assert_same(raw)


_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.integers(0, 23), min_size=1, max_size=8), st.integers(0, 3),
       st.randoms(use_true_random=False))
def test_fast_base64_reports_the_padding_defects_the_standard_library_reports(
        lengths: list[int], pads: int, rnd: random.Random) -> None:
    # Lines of any length of the alphabet then 0-3 '=': whole quanta or not. The decoder
    # takes "QU" + "QUJDRA=" without complaint where the standard library records
    # InvalidBase64PaddingDefect; the fast path must decline those.
    lines = [bytes(rnd.choice(_ALPHABET) for _ in range(n)) for n in lengths]
    lines[-1] += b"=" * pads
    raw = (b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + b"\r\n".join(lines) + b"\r\n")
    _assert_same(raw)


def test_a_text_part_is_read_as_one_line_and_comes_back_whole() -> None:
    raw = (b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
           b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + TEXT + b"\r\n--B--\r\n")
    skeleton, blobs = message._skeleton(raw)
    assert [t[:6] for t in blobs] == ["CGTEXT"] and TEXT not in skeleton
    [part] = parse_message(raw).parts
    assert part.payload == TEXT


def test_text_where_a_header_section_starts_is_parsed_again_the_slow_way(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An attached message's headers look like any other text run to the skeleton; the
    parser puts that token in a header section, so the message is parsed without text
    runs and the attached message keeps its headers."""
    raw = (b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
           b"Content-Type: message/rfc822\r\n\r\n" + HEADERS + b"\r\n\r\n" + TEXT
           + b"\r\n--B--\r\n")
    again: list[dict[str, bytes]] = []
    real = message._without_text_runs

    def spy(skeleton: bytes, blobs: dict[str, bytes]) -> tuple[bytes, dict[str, bytes]]:
        again.append(blobs)
        return real(skeleton, blobs)

    monkeypatch.setattr(message, "_without_text_runs", spy)
    parsed = parse_message(raw)
    assert len(again) == 1 and any(t.startswith("CGTEXT") for t in again[0])
    assert any(p.payload == TEXT for p in parsed.parts)
    skeleton, blobs = message._skeleton(raw)
    assert real(skeleton, blobs) == (raw, {})  # every run here was text: raw again


def test_a_message_of_dash_lines_is_looked_at_a_bounded_number_of_times(
        monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = message._find_dash_line

    def counting(raw: bytes, pos: int) -> int:
        nonlocal calls
        calls += 1
        return real(raw, pos)

    monkeypatch.setattr(message, "_find_dash_line", counting)
    message._skeleton(b"Subject: x\r\n\r\n" + b"\n--" * 100_000)
    assert calls <= message._MAX_SEGMENTS
