"""Builders of test messages and small utilities shared by the tests."""

from __future__ import annotations

import base64
import os
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import redis

from congvu_guard.config import from_mapping
from congvu_guard.detectors import Detector
from congvu_guard.detectors.yara_scan import YaraScanner
from congvu_guard.engine import Engine
from congvu_guard.model import Envelope, Verdict
from congvu_guard.scan import wire_size

# The EICAR anti-virus test file, assembled so that this source file is not flagged itself.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

_CORPUS_REL = Path("shared") / "corpus" / "rspamd-functional"
CORPUS_CANDIDATES = [
    Path(os.environ["CONGVU_CORPUS"]) if os.environ.get("CONGVU_CORPUS") else None,
    Path(__file__).resolve().parent.parent.parent / _CORPUS_REL,  # ../shared next to the repo
    Path("/work") / _CORPUS_REL,  # where the workplace keeps it when the repo is cloned elsewhere
]
CORPUS = next((p for p in CORPUS_CANDIDATES if p is not None and p.is_dir()),
              CORPUS_CANDIDATES[1])
CRLF = b"\r\n"

# The scan-test scaffold: an inbound message to a province mailbox, judged by an engine whose
# only setting is the report box (without one a quarantine verdict becomes a reject). The
# `engine` fixture in tests/conftest.py is `box_engine()` once per test module.
INBOUND = Envelope(sender="x@example.net", recipients=["bob@hue.gov.vn"], hop="inbound")
REPORT_BOX = "tiepnhan@hue.gov.vn"
BOX_CFG: dict[str, object] = {"report": {"address": REPORT_BOX}}


def box_engine(settings: Mapping[str, object] | None = None, *,
               detectors: Sequence[Detector] | None = None,
               yara: YaraScanner | None = None) -> Engine:
    """An engine with the report box plus the other top-level config sections given."""
    return Engine(from_mapping({**BOX_CFG, **(settings or {})}), detectors=detectors, yara=yara)


def judge(engine: Engine, raw: bytes, env: Envelope = INBOUND) -> Verdict:
    """The engine's verdict on ``raw`` as received on the wire (sized as Postfix counts it)."""
    return engine.check_message(env, raw, wire_size(raw))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis_server(directory: Path, port: int) -> subprocess.Popen[bytes]:
    """A real redis-server on 127.0.0.1:``port`` without persistence (its log in
    ``directory``), returned once it answers PING."""
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
         "--save", "", "--appendonly", "no", "--logfile", str(directory / "redis.log")],
        stdin=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    deadline = time.monotonic() + 10
    while True:
        try:
            client.ping()
            return proc
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.05)


def token() -> str:
    return uuid.uuid4().hex[:12]


def simple_message(subject: str, sender: str = "alice@hue.gov.vn",
                   to: str = "bob@hue.gov.vn", extra_headers: str = "",
                   body: str = "Xin chao.\r\n", message_id: str = "") -> bytes:
    head = (
        f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
        f"Message-ID: {message_id or f'<{token()}@test>'}\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n" + extra_headers
    )
    return head.encode() + CRLF + body.encode()


def message_with_attachment(subject: str, filename: str, content: bytes,
                            sender: str = "alice@hue.gov.vn", to: str = "bob@hue.gov.vn") -> bytes:
    b64 = base64.encodebytes(content).replace(b"\n", b"\r\n")
    return (
        f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
        f"Message-ID: <{token()}@test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="BOUNDARY"\r\n\r\n'
        "--BOUNDARY\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nXem tep dinh kem.\r\n"
        f"--BOUNDARY\r\nContent-Type: application/octet-stream\r\n"
        f'Content-Disposition: attachment; filename="{filename}"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + b64 + b"--BOUNDARY--\r\n"


def eicar_message(subject: str, **kw: str) -> bytes:
    return message_with_attachment(subject, "eicar.com", EICAR, **kw)


def message_of_size(total: int, subject: str) -> bytes:
    """A message of exactly ``total`` bytes on the wire (CRLF line ends, no dot-stuffing)."""
    head = simple_message(subject, body="")
    line = b"A" * 76 + CRLF
    remaining = total - len(head)
    full, rest = divmod(remaining, len(line))
    body = line * full
    if rest:
        # The last line keeps its CRLF: rest >= 3 gives at least one character.
        if rest < 3:
            body = body[: -len(line)]
            rest += len(line)
        body += b"B" * (rest - 2) + CRLF
    msg = head + body
    assert len(msg) == total, (len(msg), total)
    return msg


def wait_until(pred: Callable[[], bool], timeout: float = 30.0, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()
