"""Property-based tests: the MIME walk, the archive readers and the whole engine never let
an exception escape, and stay within a time bound, whatever bytes arrive."""

from __future__ import annotations

import os
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from congvu_guard.config import Config
from congvu_guard.detectors.content import ScanLimits, expand
from congvu_guard.engine import Engine
from congvu_guard.message import parse_message
from tests import samples
from tests.helpers import EICAR, judge

ENGINE = Engine(Config())
EXAMPLES = int(os.environ.get("CONGVU_FUZZ_EXAMPLES", "150"))  # more locally: 1500
FUZZ = settings(max_examples=EXAMPLES, deadline=3000,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SEEDS = [
    samples.zip_of({"a.exe": samples.pe_exe(), "b.txt": b"hello"}),
    samples.seven_zip({"a.docm": samples.ooxml(macro=True)}),
    samples.tar_gz({"x.js": b"eval('1')"}),
    *[samples.compressed(samples.tar_gz({"a.exe": samples.pe_exe()}, ""), kind)
      for kind in ("bzip2", "xz", "zstd")],
    samples.encrypted_zip("a.pdf", b"%PDF-1.4 x"),
    samples.ooxml(macro=True),
    samples.xls_with_macros(),
    samples.tnef({"a.exe": samples.pe_exe()}),
    samples.pdf(js=True),
]


def judge_all(raw: bytes) -> None:
    t0 = time.monotonic()
    judge(ENGINE, raw)
    assert time.monotonic() - t0 < 3


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes_are_judged(raw: bytes) -> None:
    judge_all(raw)


_HEADER = st.sampled_from([b"Content-Type", b"Content-Transfer-Encoding", b"Content-Disposition",
                           b"Subject", b"From", b"MIME-Version", b"X-\xff\xfe"])
_VALUE = st.one_of(
    st.sampled_from([b"multipart/mixed; boundary=\"B\"", b"multipart/alternative; boundary=B",
                     b"message/rfc822", b"base64", b"quoted-printable", b"x-uuencode",
                     b"attachment; filename=\"a.exe\"", b"text/plain; charset=viscii",
                     b"attachment; filename*=utf-8''%E2%80%AE.exe", b"=?utf-8?b?invalid?=",
                     b"application/ms-tnef; name=winmail.dat"]),
    st.binary(max_size=60).filter(lambda b: b"\n" not in b and b"\r" not in b))
_BODY = st.lists(st.one_of(st.sampled_from([b"--B", b"--B--", b"begin 644 a.exe", b"end",
                                            b"QUJD====", b"\x00\xff", b"=3D=", b""]),
                           st.binary(max_size=80)), max_size=30)


@FUZZ
@given(st.lists(st.tuples(_HEADER, _VALUE), max_size=8), _BODY)
def test_hostile_mime_structures_are_judged(headers, body) -> None:
    raw = b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n" + b"\r\n".join(body)
    parsed = parse_message(raw)
    expand(parsed, ScanLimits())
    judge_all(raw)


@FUZZ
@given(st.sampled_from(SEEDS), st.data())
def test_damaged_archives_and_documents_never_raise(seed: bytes, data) -> None:
    b = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 20))):
        i = data.draw(st.integers(0, len(b) - 1))
        b[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(b)))
    damaged = bytes(b[:cut]) if data.draw(st.booleans()) else bytes(b)
    judge_all(samples.mime_message("x", [("f.bin", "application/octet-stream", damaged)]))


@settings(max_examples=20, deadline=5000)
@given(st.integers(1, 40))
def test_deep_nesting_stays_bounded(depth: int) -> None:
    data = EICAR
    for i in range(depth):
        data = samples.zip_of({f"l{i}.zip": data})
    judge_all(samples.mime_message("x", [("deep.zip", "application/zip", data)]))
