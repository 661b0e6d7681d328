"""Hostile input to the real milter process, through the milter-protocol client.

Each case opens its own milter connection, as Postfix's smtpd would, and feeds the milter
something an attacker (or a broken MTA) could: enormous headers, thousands of headers or
recipients, NUL bytes and invalid UTF-8 everywhere, MIME nested a thousand levels deep,
broken boundaries and base64, nothing at all, aborts and hang-ups half-way, bytes that are
not the milter protocol, and a seeded fuzzer of whole callback sequences. Issue 14: the
crafted attachments that blinded or held the scanner (tests/hostile_samples.py) are never
delivered as is, hypothesis-made archives (zips with corrupted headers, nested solid 7z, tar
with huge headers) always get a decision, and other connections are answered meanwhile.

After every case: the milter answered within the timeout (never a hang), its replies are
2xx/4xx/5xx with printable ASCII text, the process is alive, and an ordinary message still
gets an ordinary answer. At the end of the module: the milter's resident memory is bounded
and its log shows no native crash.

A connection the milter *closes* counts as an answer only where libmilter refuses the input
at the protocol level (a packet over its data limit, commands out of order, bytes that are
not the protocol): Postfix then applies ``milter_default_action = tempfail``.
"""

from __future__ import annotations

import base64
import io
import os
import random
import re
import socket
import struct
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import hostile_samples, samples
from tests.helpers import EICAR, message_with_attachment, simple_message
from tests.milter_client import (
    ALL_ACTIONS,
    ALL_PROTOCOL,
    MAX_BODY_CHUNK,
    SMFIC_BODY,
    SMFIC_BODYEOB,
    SMFIC_HEADER,
    SMFIC_MAIL,
    SMFIC_RCPT,
    SMFIP_NR_BODY,
    SMFIP_NR_CONN,
    SMFIP_NR_DATA,
    SMFIP_NR_EOH,
    SMFIP_NR_HDR,
    SMFIP_NR_HELO,
    SMFIP_NR_MAIL,
    SMFIP_NR_RCPT,
    SMFIP_NR_UNKN,
    MilterClient,
    MilterClosed,
    MilterTimeout,
    Reply,
    ReplyKind,
    TransactionResult,
    open_session,
    split_message,
)
from tests.samples import encrypted_zip, macro_message, ooxml, pdf, zip_bomb, zip_of

from .conftest import MilterUnderTest, start_milter

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
RSS_BOUND = 300 * MIB
TIMEOUT = 120.0  # generous: two cores shared with other test runs
FINAL = {ReplyKind.ACCEPT, ReplyKind.REJECT, ReplyKind.TEMPFAIL, ReplyKind.DISCARD,
         ReplyKind.REPLYCODE}
_REPLY_LINE = re.compile(rb"[245][0-9][0-9]([ -][245]\.[0-9]{1,3}\.[0-9]{1,3})?([ -][ -~]*)?")


# -- the milter under attack and what must hold after every case ------------------------------


@pytest.fixture(scope="module")
def guard(lab_dir: Path, redis_url: str) -> Iterator[MilterUnderTest]:
    m = start_milter(lab_dir, "milter-hostile", redis_url)
    start_rss = status(m, "VmRSS")
    yield m
    try:
        rss, hwm = status(m, "VmRSS"), status(m, "VmHWM")
        print(f"\nhostile input: milter RSS {start_rss / MIB:.0f} MB at start, "
              f"{rss / MIB:.0f} MB at end, peak {hwm / MIB:.0f} MB")
        log = m.process.log()
        assert "Fatal Python error" not in log, log[-5000:]
        assert "Segmentation fault" not in log, log[-5000:]
    finally:
        m.process.stop()


def pid(m: MilterUnderTest) -> int:
    assert m.process.proc is not None
    return m.process.proc.pid


def status(m: MilterUnderTest, key: str) -> int:
    """A /proc/PID/status figure in bytes (VmRSS, VmHWM)."""
    for line in Path(f"/proc/{pid(m)}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"{key} not in /proc/{pid(m)}/status")


def path(m: MilterUnderTest) -> str:
    return m.socket_spec.split(":", 1)[1]


def check_reply(reply: Reply, *, may_close: bool = False) -> None:
    """An answer the MTA can use: never a hang, a known kind, a valid SMTP reply text."""
    assert reply.kind is not ReplyKind.TIMEOUT, "the milter did not answer in time"
    if reply.kind is ReplyKind.CLOSED:
        assert may_close, "the milter closed the connection on input it must answer"
        return
    assert reply.kind in FINAL | {ReplyKind.CONTINUE, ReplyKind.NOREPLY, ReplyKind.NOT_SENT,
                                  ReplyKind.SKIP}, reply
    if reply.kind is ReplyKind.REPLYCODE:
        assert reply.text.isascii(), reply.text
        for line in reply.text.split(b"\r\n"):
            assert _REPLY_LINE.fullmatch(line), f"bad SMTP reply {line!r}"


def check_result(result: TransactionResult, *, may_close: bool = False) -> None:
    for _, reply in result.steps:
        check_reply(reply, may_close=may_close)
    if result.reply.kind is not ReplyKind.CLOSED:
        assert result.reply.kind in FINAL, result


def still_serving(m: MilterUnderTest) -> None:
    """The process is alive and an ordinary message gets an ordinary answer."""
    assert m.process.proc is not None and m.process.proc.poll() is None, \
        f"the milter died: {m.process.log()[-5000:]}"
    with open_session(path(m), timeout=TIMEOUT) as c:
        result = c.transaction("<alice@example.net>", ["<bob@hue.gov.vn>"],
                               simple_message("binh thuong", sender="alice@example.net"))
    assert result.reply.kind is ReplyKind.ACCEPT, result
    assert result.added_headers()["X-Congvu-Guard"].startswith("accept;")


def hostile_fds(m: MilterUnderTest) -> int:
    """Open spool files: bodies of messages that are over must not stay open."""
    n = 0
    for fd in Path(f"/proc/{pid(m)}/fd").iterdir():
        try:
            n += "congvu-guard-" in os.readlink(fd)
        except OSError:
            continue
    return n


def send(m: MilterUnderTest, sender: str | bytes, rcpts: list[str] | list[bytes],
         message: bytes | None = None, *, may_close: bool = False,
         **kw: object) -> TransactionResult:
    with open_session(path(m), timeout=TIMEOUT) as c:
        result = c.transaction(sender, rcpts, message, **kw)  # type: ignore[arg-type]
    check_result(result, may_close=may_close)
    return result


# -- hostile messages ---------------------------------------------------------------------------


def deep_multipart(levels: int) -> bytes:
    out = [b'From: <x@example.net>\r\nTo: <bob@hue.gov.vn>\r\nSubject: deep\r\n'
           b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n']
    for i in range(1, levels):
        out.append(f'--b{i - 1}\r\nContent-Type: multipart/mixed; boundary="b{i}"\r\n\r\n'
                   .encode())
    out.append(f"--b{levels - 1}\r\nContent-Type: application/octet-stream; name=x.exe\r\n"
               "Content-Transfer-Encoding: base64\r\n\r\n".encode()
               + base64.encodebytes(b"MZ" + b"\0" * 200).replace(b"\n", b"\r\n"))
    out.extend(f"--b{i}--\r\n".encode() for i in reversed(range(levels)))
    return b"".join(out)


def deep_rfc822(levels: int) -> bytes:
    head = (b"From: <x@example.net>\r\nTo: <bob@hue.gov.vn>\r\nSubject: deep\r\n"
            b"MIME-Version: 1.0\r\n")
    nested = b"Content-Type: message/rfc822\r\n\r\n" + head
    return head + nested * levels + b"Content-Type: text/plain\r\n\r\nleaf\r\n"


def many_parts(n: int) -> bytes:
    parts = b"".join(b"--p\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(n))
    return (b'From: <x@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; '
            b'boundary="p"\r\n\r\n' + parts + b"--p--\r\n")


def broken_boundaries() -> list[bytes]:
    head = b"From: <x@example.net>\r\nMIME-Version: 1.0\r\n"
    return [
        head + b"Content-Type: multipart/mixed\r\n\r\n--\r\nno boundary parameter\r\n",
        head + b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n--a\r\n'
        b"Content-Type: text/plain\r\n\r\nnever closed\r\n",
        head + b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n--b\r\nwrong\r\n--b--\r\n',
        head + b'Content-Type: multipart/mixed; boundary=""\r\n\r\n--\r\n\r\nx\r\n----\r\n',
        head + b'Content-Type: multipart/mixed; boundary="' + b"z" * 5000 + b'"\r\n\r\n--'
        + b"z" * 5000 + b"\r\n\r\nx\r\n",
        head + b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n' + b"--a\r\n" * 5000,
        head + b'Content-Type: multipart/alternative; boundary="a"; boundary="b"\r\n\r\n'
        b"--a\r\n\r\nA\r\n--b\r\n\r\nB\r\n--a--\r\n--b--\r\n",
        head + b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n--a\r\n'
        b'Content-Type: multipart/mixed; boundary="a"\r\n\r\n--a\r\n--a--\r\n--a--\r\n',
    ]


def truncated_base64() -> list[bytes]:
    z = base64.b64encode(zip_of({"a.exe": b"MZ" + os.urandom(3000)})).decode()
    doc = base64.b64encode(ooxml(macro=True)).decode()
    out = []
    for payload, name in ((z[: len(z) // 2], "a.zip"), (z[:-3], "a.zip"), (doc[:101], "a.docm"),
                          ("====", "x.pdf"), ("!!!!not base64 at all!!!!", "y.exe"),
                          (z[:5] + "\0\0\0" + z[5:200], "n.zip")):
        out.append(
            b'From: <x@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; '
            b'boundary="B"\r\n\r\n--B\r\nContent-Type: application/octet-stream; name="'
            + name.encode() + b'"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
            + payload.encode() + b"\r\n")
    return out


# ODD_MACRO_STRINGS: libmilter 8.17's smfi_getsymval walks a stage's macros two strings at a
# time until a NULL; when an SMFIC_MACRO packet holds an odd number of NUL-terminated
# strings (a NUL inside a macro name or value), it steps over the terminator and reads past
# the array: a segmentation fault in the milter process, before any Python code can look at
# the packet. No MTA can send that (Postfix and Sendmail send C strings, which hold no NUL),
# and only processes allowed on the milter socket (mode 660, group postfix) can write to it,
# so macro values here and in the fuzzer never hold an odd number of NULs.
INVALID_UTF8 = [b"\xff\xfe", b"\xc3(", b"\xe2\x28\xa1", b"\xf0\x28\x8c\xbc", b"\xed\xa0\x80",
                b"\xc0\xaf", b"\x80"]


# -- cases --------------------------------------------------------------------------------------


def test_one_megabyte_header_line(guard: MilterUnderTest) -> None:
    result = send(guard, "<x@example.net>", ["<bob@hue.gov.vn>"],
                  headers=[("Subject", "to"), ("X-Big", "a" * 1_000_000)], body=b"hi\r\n")
    assert result.reply.kind in FINAL, result
    still_serving(guard)


def test_one_megabyte_folded_to_header(guard: MilterUnderTest) -> None:
    to = ",\r\n\t".join(f"<nguoi{i}@hue.gov.vn>" for i in range(45_000))
    result = send(guard, "<x@example.net>", ["<bob@hue.gov.vn>"],
                  headers=[("To", to[:1_000_000])], body=b"hi\r\n")
    assert result.reply.kind in FINAL, result
    still_serving(guard)


def test_header_beyond_the_protocol_limit_is_refused_not_hung(guard: MilterUnderTest) -> None:
    """libmilter refuses a packet over its data limit by closing the connection."""
    send(guard, "<x@example.net>", ["<bob@hue.gov.vn>"],
         headers=[("X-Huge", "b" * (3 * MIB))], body=b"hi\r\n", may_close=True)
    still_serving(guard)


@pytest.mark.parametrize("case", ["from-without-at", "password-then-spaces", "uu-begins"])
def test_inputs_that_were_quadratic(guard: MilterUnderTest, case: str) -> None:
    """Regular expressions that backtracked over the whole input once per position: each of
    these took minutes to hours of CPU before the fix; now the answer comes at once (the
    client's timeout is the hang detector)."""
    headers: list[tuple[str, str]] = [("Subject", case)]
    body = b"x\r\n"
    if case == "from-without-at":  # ioc.py: the sender address in From
        headers.append(("From", "%" + "x" * 1_000_000))
    elif case == "password-then-spaces":  # content.py: a password next to an encrypted zip
        raw = message_with_attachment("x", "ho-so.zip", encrypted_zip("a.exe", b"MZ" * 100),
                                      sender="x@example.net")
        head, _, rest = raw.partition(b"Xem tep dinh kem.")
        headers_raw, body = split_message(head + b"password" + b" " * 190_000 + rest)
        headers = [(n.decode(), v.decode()) for n, v in headers_raw]
    else:  # message.py: uuencoded files pasted into the text
        body = b"Xin gui tep.\r\n" + b"begin 644 a.exe\r\n" * 150_000
    result = send(guard, "<x@example.net>", ["<bob@hue.gov.vn>"], headers=headers, body=body)
    assert result.reply.kind in FINAL, result
    assert result.reply.kind is not ReplyKind.TEMPFAIL, result
    still_serving(guard)


def test_ten_thousand_headers(guard: MilterUnderTest) -> None:
    headers = [(f"X-H{i}", f"gia tri {i}") for i in range(10_000)]
    headers += [("X-Congvu-Guard", f"accept; forged {i}") for i in range(500)]
    result = send(guard, "<x@example.net>", ["<bob@hue.gov.vn>"], headers=headers,
                  body=b"hi\r\n")
    assert result.reply.kind is ReplyKind.ACCEPT, result
    # Every forged copy of our own header is removed.
    assert len(result.of_action("chgheader")) == 500
    still_serving(guard)


def test_ten_thousand_recipients(guard: MilterUnderTest) -> None:
    rcpts = [f"<nguoi{i}@hue.gov.vn>" for i in range(9_000)]
    rcpts += [f"<user{i}@gmail.com>" for i in range(1_000)]
    result = send(guard, "<x@example.net>", rcpts, simple_message("nhieu", sender="x@example.net"))
    assert result.reply.kind is ReplyKind.ACCEPT, result
    still_serving(guard)


def test_ten_thousand_recipients_of_a_quarantined_message(guard: MilterUnderTest) -> None:
    rcpts = [f"<nguoi{i}@hue.gov.vn>" for i in range(10_000)]
    result = send(guard, "<x@example.net>", rcpts, macro_message("macro"))
    assert result.reply.kind is ReplyKind.ACCEPT, result
    assert len(result.of_action("delrcpt")) == 10_000
    assert len(result.of_action("addrcpt")) == 1
    still_serving(guard)


@pytest.mark.parametrize("where", ["header-value", "header-name", "body", "sender", "rcpt",
                                   "macro", "mail-param"])
def test_nul_bytes(guard: MilterUnderTest, where: str) -> None:
    sender: bytes = b"<x@example.net>"
    rcpt: bytes = b"<bob@hue.gov.vn>"
    headers: list[tuple[bytes, bytes]] = [(b"Subject", b"nul")]
    body = b"hi\r\n"
    params: list[bytes] = []
    macros: dict[str, str | bytes] = {}
    if where == "header-value":
        headers.append((b"X-Nul", b"a\0b\0\0c"))
    elif where == "header-name":
        headers.append((b"X\0Nul", b"v"))
    elif where == "body":
        body = b"\0" * 70_000 + b"text\0\r\n" + b"\0" * 3 * MIB
    elif where == "sender":
        sender = b"<x\0y@example.net>"
    elif where == "rcpt":
        rcpt = b"<bob\0@hue.gov.vn>"
    elif where == "macro":
        # Pairs stay pairs: see ODD_MACRO_STRINGS below for why an odd count is not sent.
        macros = {"{auth_authen}": b"a\0\0b", "i": b"\0\0", "{mail\0addr}": b"x\0"}
    else:
        params = [b"SIZE=\0", b"BODY=8BIT\0\0"]
    result = send(guard, sender, [rcpt], headers=headers, body=body, mail_params=params,
                  mail_macros=macros)
    assert result.reply.kind in FINAL, result
    still_serving(guard)


@pytest.mark.parametrize("bad", INVALID_UTF8)
def test_invalid_utf8(guard: MilterUnderTest, bad: bytes) -> None:
    result = send(guard, b"<x" + bad + b"@example.net>", [b"<bob" + bad + b"@hue.gov.vn>",
                                                          b"<" + bad + b"@gmail.com>"],
                  headers=[(b"Subject", b"=?utf-8?b?" + bad + b"?= " + bad),
                           (b"X-" + bad, bad * 100),
                           (b"From", b"<" + bad + b"@example.net>"),
                           (b"Content-Type", b"text/plain; charset=" + bad)],
                  body=bad * 1000 + b"\r\n",
                  mail_macros={"{auth_authen}": bad, "i": bad})
    assert result.reply.kind in FINAL, result
    # An invalid address still gets a real decision, and a header for the MTA.
    if result.reply.kind is ReplyKind.ACCEPT:
        assert "X-Congvu-Guard" in result.added_headers()
    still_serving(guard)


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=(
    "pymilter decodes a header name as strict UTF-8 in C, before any milter code runs; "
    "the callback fails, libmilter drops the reply-less header's tempfail and ignores the "
    "rest of the message, so the MTA waits for its own timeout and then applies "
    "milter_default_action (tempfail). Postfix never sends such a name (is_header(): "
    "printable ASCII only); answering every header to get an immediate tempfail would "
    "cost a round trip per header on all mail."))
def test_header_name_that_is_not_utf8(guard: MilterUnderTest) -> None:
    with open_session(path(guard), timeout=5) as c:
        result = c.transaction("<x@example.net>", ["<bob@hue.gov.vn>"],
                               headers=[("Subject", "x"), (b"X-\xff\xfe", b"v")], body=b"x\r\n")
    try:
        assert result.reply.kind is not ReplyKind.TIMEOUT, "no answer to a non-UTF-8 name"
    finally:
        still_serving(guard)


@pytest.mark.parametrize("kind", ["multipart", "rfc822"])
def test_thousand_levels_of_nesting(guard: MilterUnderTest, kind: str) -> None:
    raw = deep_multipart(1000) if kind == "multipart" else deep_rfc822(1000)
    result = send(guard, "<x@example.net>", ["<bob@hue.gov.vn>"], raw)
    assert result.reply.kind in FINAL, result
    assert result.reply.kind is not ReplyKind.TEMPFAIL, "deep nesting must get a decision"
    still_serving(guard)


def test_ten_thousand_parts(guard: MilterUnderTest) -> None:
    result = send(guard, "<x@example.net>", ["<bob@hue.gov.vn>"], many_parts(10_000))
    assert result.reply.kind in FINAL, result
    still_serving(guard)


@pytest.mark.parametrize("i", range(len(broken_boundaries())))
def test_broken_boundaries(guard: MilterUnderTest, i: int) -> None:
    result = send(guard, "<x@example.net>", ["<bob@hue.gov.vn>"], broken_boundaries()[i])
    assert result.reply.kind in FINAL, result
    still_serving(guard)


@pytest.mark.parametrize("i", range(6))
def test_truncated_base64(guard: MilterUnderTest, i: int) -> None:
    result = send(guard, "<x@example.net>", ["<bob@hue.gov.vn>"], truncated_base64()[i])
    assert result.reply.kind in FINAL, result
    still_serving(guard)


def test_zip_bomb_and_exe_in_deep_zip(guard: MilterUnderTest) -> None:
    inner = zip_of({"a.exe": b"MZ" + b"\0" * 500})
    for _ in range(15):
        inner = zip_of({"x.zip": inner})
    for data, name in ((zip_bomb(50), "bomb.zip"), (inner, "deep.zip")):
        result = send(guard, "<x@example.net>", ["<bob@hue.gov.vn>"],
                      message_with_attachment("zip", name, data, sender="x@example.net"))
        assert result.reply.kind in FINAL, result
    still_serving(guard)


def test_empty_everything(guard: MilterUnderTest) -> None:
    # No headers, no body, null sender, empty recipient.
    result = send(guard, "<>", ["<>"], headers=[], body=b"")
    assert result.reply.kind in FINAL, result
    result = send(guard, "", [""], headers=[], body=b"")
    assert result.reply.kind in FINAL, result
    result = send(guard, "<>", ["<bob@hue.gov.vn>"], headers=[(b"X", b"")], body=b"\r\n")
    assert result.reply.kind in FINAL, result
    still_serving(guard)


def test_no_connect_no_helo_no_macros(guard: MilterUnderTest) -> None:
    with MilterClient(path(guard), TIMEOUT) as c:
        c.negotiate()
        result = c.transaction("<x@example.net>", ["<bob@hue.gov.vn>"], simple_message("raw"))
    check_result(result)
    still_serving(guard)


@pytest.mark.parametrize(("family", "address"), [
    (b"6", b"::1"), (b"6", b"2001:db8::ff"), (b"L", b"/tmp/\xff x"), (b"U", b""),
    (b"4", b"127.0.0.1"), (b"4", b"0.0.0.0"),
])
def test_odd_connect_information(guard: MilterUnderTest, family: bytes, address: bytes) -> None:
    with MilterClient(path(guard), TIMEOUT) as c:
        c.negotiate()
        check_reply(c.connect(b"\xff" * 300, address, family=family, port=0,
                              macros={"{daemon_name}": b"\xff", "_": b"", "j": b" "}))
        result = c.transaction("<x@example.net>", ["<bob@hue.gov.vn>"], simple_message("c"))
    check_result(result)
    still_serving(guard)


def exchange_raw(m: MilterUnderTest, packets: list[tuple[bytes, bytes]] | bytes,
                 negotiate: bool = True) -> list[tuple[bytes, bytes]]:
    """Send packets (or raw bytes) no MTA would send, stop writing, and collect what comes
    back until the milter closes the connection: it must do so within the timeout, and
    every reply must be a valid one."""
    with MilterClient(path(m), TIMEOUT) as c:
        if negotiate:
            c.negotiate()
            c.connect("mx.example.net", "192.0.2.7")
        assert c.sock is not None
        data = packets if isinstance(packets, bytes) else b"".join(
            struct.pack(">I", len(d) + 1) + cmd + d for cmd, d in packets)
        got: list[tuple[bytes, bytes]] = []
        try:
            c.sock.sendall(data)
            c.sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            return got
        while True:
            try:
                got.append(c.read_packet())
            except MilterClosed:
                break
            except MilterTimeout as e:
                raise AssertionError("the milter neither answered nor hung up") from e
        for cmd, payload in got:
            if cmd not in (b"h", b"m", b"i", b"+", b"-", b"2", b"e", b"q", b"b", b"O"):
                check_reply(MilterClient._reply(cmd, payload))
        return got


def test_out_of_order_commands(guard: MilterUnderTest) -> None:
    """What no MTA sends: libmilter answers, ignores (no reply) or hangs up; the milter
    survives every one."""
    mail = (SMFIC_MAIL, b"<x@example.net>\0")
    rcpt = (SMFIC_RCPT, b"<bob@hue.gov.vn>\0")
    eob = (SMFIC_BODYEOB, b"")
    sequences: list[list[tuple[bytes, bytes]]] = [
        [(SMFIC_BODY, b"x"), eob],
        [rcpt, eob],
        [(SMFIC_HEADER, b"Subject\0x\0"), eob],
        [eob, eob],
        [mail, eob, eob],
        [mail, (SMFIC_BODY, b"x"), eob],  # a message without recipients
        [mail, (SMFIC_MAIL, b"<y@example.net>\0"), rcpt, eob],
        [(SMFIC_HEADER, b"nonul"), mail],
        [mail, rcpt, (SMFIC_HEADER, b"\0\0"), eob],  # an empty header name
        [mail, (b"O", struct.pack(">III", 6, 0x1FF, 0))],
        [(SMFIC_MAIL, b"")],  # MAIL without its argument
        [mail, rcpt, eob, eob, (SMFIC_BODY, b"x"), eob],
        [mail, rcpt, (SMFIC_BODY, b"x"), (b"Q", b""), mail],
        [mail, rcpt, (b"K", b""), mail, rcpt, eob],
        [mail, rcpt, (b"Z", b"unknown command"), eob],
        [mail, rcpt, (b"U", b"XYZZY\0"), eob],
    ]
    for seq in sequences:
        exchange_raw(guard, seq)
    still_serving(guard)


@pytest.mark.parametrize("stage", ["mail", "rcpt", "header", "body", "big-body"])
def test_abort_in_the_middle(guard: MilterUnderTest, stage: str) -> None:
    with open_session(path(guard), timeout=TIMEOUT) as c:
        for _ in range(3):
            check_reply(c.mail("<x@example.net>"))
            if stage != "mail":
                check_reply(c.rcpt("<bob@hue.gov.vn>"))
            if stage in ("header", "body", "big-body"):
                check_reply(c.header("Subject", "nua chung"))
            if stage == "body":
                check_reply(c.body(b"x" * 1000))
            if stage == "big-body":  # spooled to disk by now
                check_reply(c.body(os.urandom(3 * MIB)))
            c.abort()
        result = c.transaction("<x@example.net>", ["<bob@hue.gov.vn>"],
                               simple_message("sau abort", sender="x@example.net"))
        assert result.reply.kind is ReplyKind.ACCEPT, result
    still_serving(guard)


def test_connections_that_close_mid_body(guard: MilterUnderTest) -> None:
    for i in range(20):
        c = open_session(path(guard), timeout=TIMEOUT)
        check_reply(c.mail("<x@example.net>"))
        check_reply(c.rcpt("<bob@hue.gov.vn>"))
        check_reply(c.header("Subject", f"dut {i}"))
        check_reply(c.body(os.urandom((i % 4) * MIB + 1000)))
        if i % 2:
            c.hang_up()
        else:  # half a packet, then gone
            assert c.sock is not None
            c.sock.sendall(struct.pack(">I", 60_000) + SMFIC_BODY + b"x" * 1000)
            c.close()
    still_serving(guard)
    deadline = time.monotonic() + 60
    while hostile_fds(guard) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert hostile_fds(guard) == 0, "spool files of dropped connections are still open"


def test_body_over_the_limit_without_size(guard: MilterUnderTest) -> None:
    """Body chunks get no reply (P_NR_BODY, issue 17): past the limit they are counted, not
    kept, and the end of the message is answered 552."""
    chunk = b"A" * (MAX_BODY_CHUNK - 1) + b"\n"
    with open_session(path(guard), timeout=TIMEOUT) as c:
        check_reply(c.mail("<x@example.net>"))
        check_reply(c.rcpt("<bob@hue.gov.vn>"))
        check_reply(c.header("Subject", "to qua"))
        for _ in range(400):  # 26 MB, more than the 20 MB limit
            reply = c.body_chunk(chunk)
            assert reply.kind is ReplyKind.NOREPLY, reply
        result = c.end_of_body()
        assert result.reply.code == 552, result.reply
        c.abort()
    still_serving(guard)


def test_random_bytes(guard: MilterUnderTest) -> None:
    rng = random.Random(808)
    for i in range(60):
        n = rng.choice([1, 3, 4, 5, 17, 300, 5000, 70_000])
        data = rng.randbytes(n)
        if i % 3 == 0:  # a plausible length and command, then noise
            data = struct.pack(">I", min(n, 65_000)) + bytes([rng.choice(b"ABCDEHKLMNOQRTU")]) \
                + data
        exchange_raw(guard, data, negotiate=bool(i % 2))
    exchange_raw(guard, b"\xff\xff\xff\xff" + b"Z" * 100, negotiate=False)
    exchange_raw(guard, struct.pack(">I", 0), negotiate=True)
    exchange_raw(guard, struct.pack(">IcIII", 13, b"O", 99, 0, 0), negotiate=False)
    still_serving(guard)


# -- the fuzzer -----------------------------------------------------------------------------------


ATOMS: list[bytes] = [
    b"", b"\0", b"%", b"%s%n%%", b"\r\n", b"\n", b"\r", b" ", b"\t", b"\r\n\t", b":", b";",
    b"<", b">", b"<>", b"@", b"\\", b'"', b"=?utf-8?b?w6E=?=", b"=?x-unknown?q?=ZZ?=",
    b"=?utf-8?b?", b"\xe1\xba\xa1", b"Vi\xe1\xbb\x87t Nam", *INVALID_UTF8, b"\x1b[31m",
    b"tiepnhan@thuathienhue.gov.vn", b"bob@hue.gov.vn", b"x@gmail.com", b"SRS0=ab=cd=x.org=y",
    b"boundary=", b"multipart/mixed", b"base64", b"quoted-printable", b"a" * 1000,
]
HEADER_NAMES: list[bytes] = [
    b"Subject", b"From", b"To", b"Cc", b"Message-ID", b"Content-Type",
    b"Content-Transfer-Encoding", b"Content-Disposition", b"MIME-Version", b"X-Congvu-Guard",
    b"X-Congvu-Origin", b"X-Congvu-Release", b"X-Sieve-Redirected-From", b"Auto-Submitted",
    b"Delivered-To", b"X-MS-Exchange-Organization-AutoForwarded", b"Received", b"Return-Path",
    b"Subject ", b"%", b"X-!#$&'*+-.^_`|~", b"x" * 900,
]


NR_BITS = (SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_DATA
           | SMFIP_NR_UNKN | SMFIP_NR_EOH | SMFIP_NR_BODY | SMFIP_NR_HDR)


def c_string(value: bytes) -> bytes:
    """What an MTA can put in a string field of the protocol: no NUL (a C string)."""
    return value.replace(b"\0", b"")


class Fuzzer:
    """Callback sequences with random contents, reproducible from the seed.

    The sequences are the ones an MTA may send (MAIL, at least one RCPT, headers, body, end
    of body or abort, several messages per connection, hang-ups anywhere) with contents no
    sane client would: string fields hold anything but NUL (an MTA sends C strings; NULs in
    string fields are the targeted tests' business), bodies hold anything at all.
    """

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def blob(self, max_atoms: int = 6) -> bytes:
        r = self.rng
        parts = [r.choice(ATOMS) for _ in range(r.randint(0, max_atoms))]
        if r.random() < 0.2:
            parts.append(r.randbytes(r.randint(1, 200)))
        if r.random() < 0.03:
            parts.append(r.choice([b"x", b"\0", b"\xff"]) * r.randint(1000, 200_000))
        return b"".join(parts)

    def text(self, max_atoms: int = 6) -> bytes:
        return c_string(self.blob(max_atoms))

    def address(self) -> bytes:
        r = self.rng
        local = r.choice([b"alice", b"tiepnhan", b"postmaster", b"", self.text(2)])
        domain = r.choice([b"hue.gov.vn", b"thuathienhue.gov.vn", b"gmail.com", b"example.net",
                           b"", b"[192.0.2.1]", self.text(2)])
        out = local + b"@" + domain if r.random() < 0.9 else self.text(3)
        return b"<" + out + b">" if r.random() < 0.8 else out

    def body(self) -> bytes:
        r = self.rng
        kind = r.randrange(8)
        if kind == 0:
            return r.randbytes(r.randint(0, 300_000))
        if kind == 1:
            return b"".join(self.blob() + b"\r\n" for _ in range(r.randint(0, 200)))
        base = r.choice([simple_message("f"), macro_message("f"),
                         message_with_attachment("f", "a.pdf", pdf(js=True)),
                         message_with_attachment("f", "e.com", EICAR),
                         deep_multipart(r.randint(1, 60)), deep_rfc822(r.randint(1, 60)),
                         *broken_boundaries()])
        _, _, body = base.partition(b"\r\n\r\n")
        data = bytearray(body)
        for _ in range(r.randint(0, 20)):  # mutate: flip, cut, splice atoms
            if not data:
                break
            op = r.randrange(3)
            pos = r.randrange(len(data))
            if op == 0:
                data[pos] = r.randrange(256)
            elif op == 1:
                del data[pos: pos + r.randint(1, 500)]
            else:
                data[pos:pos] = r.choice(ATOMS)
        return bytes(data)

    def headers(self) -> list[tuple[bytes, bytes]]:
        r = self.rng
        n = r.choice([0, 1, 3, 10, 30, r.randint(0, 3000)])
        return [(r.choice(HEADER_NAMES) if r.random() < 0.8 else self.header_name(),
                 self.text()) for _ in range(n)]

    def header_name(self) -> bytes:
        """What Postfix passes as a header name: printable ASCII, no colon (is_header())."""
        name = bytes(c for c in self.text(2) if 33 <= c <= 126 and c != ord(":"))
        return name[:200] or b"X"

    def macros(self) -> dict[str, str | bytes]:
        r = self.rng
        names = ["i", "{auth_authen}", "{auth_type}", "{daemon_name}", "j", "_", "{mail_addr}",
                 "{rcpt_addr}", "v", "{client_addr}"]
        out: dict[str, str | bytes] = {}
        for _ in range(r.randint(0, 4)):
            name = r.choice(names)
            value = self.text(3)  # see ODD_MACRO_STRINGS
            if name == "{auth_authen}":  # never lock a real account of the shared Redis
                value = b"fuzz-" + value[:40] + f"-{r.randrange(10**9)}".encode()
            elif name == "{daemon_name}":
                value = r.choice([b"smtpd", b"submission", b"outbound-gate", b"pickup", value])
            out[name] = value
        return out

    def session(self, c: MilterClient) -> list[Reply]:
        """One connection: negotiation, connect, then a few transactions or fragments."""
        r = self.rng
        replies: list[Reply] = []
        actions = ALL_ACTIONS if r.random() < 0.8 else r.randrange(0x200)
        # Some MTAs want a reply to every step: then the milter must answer CONNECT, RCPT
        # and headers too. Every MTA since Postfix 2.6 / Sendmail 8.14 can skip the steps a
        # milter does not want (libmilter ignores a BODY right after DATA with no header).
        protocol = ALL_PROTOCOL if r.random() < 0.6 else ALL_PROTOCOL & ~(
            r.randrange(0x100000) & NR_BITS)
        c.negotiate(actions, protocol)
        if r.random() < 0.9:
            family = r.choice([b"4", b"4", b"6", b"L", b"U"])
            address = {b"4": r.choice([b"192.0.2.9", b"127.0.0.1", b"10.1.1.1"]),
                       b"6": r.choice([b"::1", b"2001:db8::9"])}.get(family, self.text(1))
            address = address[:100]  # libmilter refuses a unix path longer than sun_path
            replies.append(c.connect(self.text(2), address, family=family,
                                     port=r.randrange(65536), macros=self.macros()))
        if r.random() < 0.5:
            replies.append(c.helo(self.text(2), macros=self.macros()))
        for _ in range(r.randint(1, 3)):
            end = r.random()
            rcpts = [self.address() for _ in range(r.choice([1, 1, 2, 5, r.randint(1, 300)]))]
            params = [self.text(2) for _ in range(r.randint(0, 3))]
            if r.random() < 0.2:
                params.append(b"SIZE=" + str(r.choice([0, 1, 20 * MIB, 10**30])).encode())
            if end < 0.75:
                body = self.body()
                chunk = r.choice([MAX_BODY_CHUNK, 4096] + ([1, 7] if len(body) < 5000 else []))
                result = c.transaction(self.address(), rcpts, headers=self.headers(),
                                       body=body, mail_params=params,
                                       mail_macros=self.macros(), chunk_size=chunk,
                                       eob_macros=self.macros())
                replies.extend(reply for _, reply in result.steps)
                if result.reply.kind is ReplyKind.CLOSED:
                    return replies
                continue
            # A fragment: stop somewhere, then abort or hang up.
            steps: list[Callable[[], Reply]] = [
                lambda p=params: c.mail(self.address(), *p, macros=self.macros()),
                *[(lambda a=a: c.rcpt(a)) for a in rcpts[:5]],
                *[(lambda h=h: c.header(*h)) for h in self.headers()[:20]],
            ]
            if r.random() < 0.5:
                steps.append(lambda: c.body(self.body()[:200_000]))
            for step in steps[: r.randint(1, len(steps))]:
                reply = step()
                replies.append(reply)
                if not reply.is_continue:
                    break
            if end < 0.9:
                c.abort()
            else:
                c.hang_up()
                return replies
        c.quit()
        return replies


def run_fuzz(m: MilterUnderTest, seed: int, cases: int, timeout: float = TIMEOUT) -> None:
    fuzz = Fuzzer(seed)
    durations: list[tuple[float, int]] = []
    for case in range(cases):
        t0 = time.monotonic()
        c = MilterClient(path(m), timeout)
        try:
            with c:
                replies = fuzz.session(c)
        except MilterClosed:
            replies = [Reply(ReplyKind.CLOSED)]
        except MilterTimeout:
            replies = [Reply(ReplyKind.TIMEOUT)]
        for reply in replies:
            try:
                check_reply(reply, may_close=False)
            except AssertionError as e:
                sent = "\n".join(f"  {cmd!r} {n} {head!r}" for cmd, n, head in c.trace)
                neg = c.negotiated
                raise AssertionError(
                    f"seed {seed} case {case}: {e}\nnegotiated: "
                    f"{neg and (hex(neg.actions), hex(neg.protocol))}\nlast packets:\n{sent}"
                ) from e
        assert m.process.proc is not None and m.process.proc.poll() is None, \
            f"seed {seed} case {case}: the milter died: {m.process.log()[-5000:]}"
        durations.append((time.monotonic() - t0, case))
        if case % 10 == 9:
            still_serving(m)
    still_serving(m)
    slowest = ", ".join(f"#{case} {t:.1f} s" for t, case in sorted(durations)[-3:])
    print(f"\nfuzz seed {seed}: {cases} cases in {sum(t for t, _ in durations):.0f} s, "
          f"slowest {slowest}")


def test_fuzz_short(guard: MilterUnderTest) -> None:
    run_fuzz(guard, seed=20261126, cases=250)


@pytest.mark.long
def test_fuzz_long(guard: MilterUnderTest) -> None:
    for seed in range(1, 21):
        run_fuzz(guard, seed=seed * 7919, cases=500)


# -- issue 14: crafted attachments that blinded or held the scanner ----------------------------


def decision(result: TransactionResult) -> str:
    """reject, tempfail, or the action named in X-Congvu-Guard of a delivered message."""
    if result.reply.kind is ReplyKind.REPLYCODE:
        return "reject" if str(result.reply.code).startswith("5") else "tempfail"
    if result.reply.kind is ReplyKind.REJECT:
        return "reject"
    if result.reply.kind is ReplyKind.TEMPFAIL:
        return "tempfail"
    return result.added_headers().get("X-Congvu-Guard", "accept;").split(";", 1)[0]


@pytest.mark.parametrize("family", sorted(hostile_samples.families()))
def test_crafted_hostile_attachments_are_never_delivered(guard: MilterUnderTest,
                                                         family: str) -> None:
    """Each family of issue 14 (a broken member before hoa-don.pdf.exe, Deflate64, a
    solid 7z decompressing 1 GiB through a skipped member, script-like text files, 1,200
    MIME levels...) gets a decision that does not deliver it as is, at once."""
    raw = hostile_samples.families()[family]
    result = send(guard, "<x@example.net>", ["<bob@hue.gov.vn>"], raw)
    got = decision(result)
    if family == "zip of newline scripts":  # harmless text: only the hang was the problem
        # (the HUE-11.2 text reader skips blank lines in the regex engine: 0.3 s of the 2 s
        # budget, where it used to run out and quarantine the message)
        assert got in ("accept", "tag"), result
    else:
        assert got in ("reject", "quarantine"), (family, got, result)
    still_serving(guard)


def test_other_connections_are_served_while_hostile_messages_are_judged(
        guard: MilterUnderTest) -> None:
    hostile = [hostile_samples.families()[f] for f in (
        "solid 7z, 1 GiB through", "zip of newline scripts", "MIME, 1200 levels")]
    errors: list[BaseException] = []

    def attacker() -> None:
        try:
            for raw in hostile * 2:
                send(guard, "<x@example.net>", ["<bob@hue.gov.vn>"], raw)
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    t = threading.Thread(target=attacker)
    t.start()
    try:
        while t.is_alive():
            still_serving(guard)  # an ordinary message, answered while the attack runs
    finally:
        t.join(TIMEOUT)
    assert not errors, errors


def _mutate(data: bytes, flips: list[tuple[int, int]], cut: int) -> bytes:
    b = bytearray(data)
    for i, v in flips:
        b[i % len(b)] = v
    return bytes(b[:max(cut, 1)])


ARCHIVE_FUZZ = settings(max_examples=int(os.environ.get("CONGVU_ARCHIVE_FUZZ", "12")),
                        deadline=None, derandomize=True,
                        suppress_health_check=list(HealthCheck))
_FLIPS = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), max_size=12)


def _judged(guard: MilterUnderTest, name: str, data: bytes) -> None:
    result = send(guard, "<x@example.net>", ["<bob@hue.gov.vn>"],
                  hostile_samples.attach(name, data))
    assert result.reply.kind in FINAL, result
    assert decision(result) != "tempfail", f"internal error on a hostile {name}: {result}"


@ARCHIVE_FUZZ
@given(st.sampled_from([hostile_samples.zip_bad_crc_first(), hostile_samples.deflate64_zip(),
                        hostile_samples.zip_hiding_a_local_member()]), _FLIPS,
       st.integers(1, 1 << 20))
def test_zips_with_corrupted_headers_are_judged_by_the_live_milter(
        guard: MilterUnderTest, seed: bytes, flips: list[tuple[int, int]], cut: int) -> None:
    # Flips land in the headers most of the time: the first 100 bytes and the last 200.
    flips = [(i % 100 if i % 2 else len(seed) - 1 - i % 200, v) for i, v in flips]
    _judged(guard, "ho-so.zip", _mutate(seed, flips, cut))


@ARCHIVE_FUZZ
@given(st.integers(1, 4), st.integers(0, 300_000), _FLIPS, st.booleans())
def test_nested_solid_7z_is_judged_by_the_live_milter(
        guard: MilterUnderTest, depth: int, zeros: int, flips: list[tuple[int, int]],
        damage: bool) -> None:
    data = samples.seven_zip({"00-so-lieu.bin": b"\0" * zeros,
                              hostile_samples.EXE_NAME: samples.pe_exe()})
    for level in range(1, depth):
        data = samples.seven_zip({f"lop-{level}.7z": data, "ghi-chu.txt": b"x" * zeros})
    if damage:
        data = _mutate(data, flips, len(data))
    _judged(guard, "ho-so.7z", data)


@ARCHIVE_FUZZ
@given(st.sampled_from(["pax-path", "pax-comment", "gnu-longname", "size"]),
       st.integers(10_000, 1_500_000), _FLIPS)
def test_tar_with_huge_headers_is_judged_by_the_live_milter(
        guard: MilterUnderTest, kind: str, n: int, flips: list[tuple[int, int]]) -> None:
    buf = io.BytesIO()
    fmt = tarfile.GNU_FORMAT if kind == "gnu-longname" else tarfile.PAX_FORMAT
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
        info = tarfile.TarInfo(hostile_samples.EXE_NAME)
        exe = samples.pe_exe()
        info.size = len(exe)
        if kind == "pax-path":
            info.name = "a/" * (n // 2) + hostile_samples.EXE_NAME
        elif kind == "pax-comment":
            info.pax_headers = {"comment": "x" * n}
        elif kind == "gnu-longname":
            info.name = "b" * n + ".exe"
        t.addfile(info, io.BytesIO(exe))
    data = buf.getvalue()
    if kind == "size":  # a header declaring far more bytes than there are
        data = data[:124] + b"77777777777\0" + data[136:]
    _judged(guard, "ho-so.tar", _mutate(data, flips[:3], len(data)))


# Last in the module: what all of the above left behind.
def test_memory_is_bounded_after_the_hostile_input(guard: MilterUnderTest) -> None:
    rss, hwm = status(guard, "VmRSS"), status(guard, "VmHWM")
    assert rss < RSS_BOUND, f"milter RSS {rss / MIB:.0f} MB after hostile input"
    assert hwm < RSS_BOUND, f"milter peak RSS {hwm / MIB:.0f} MB during hostile input"
    still_serving(guard)

