"""Real servers for end-to-end tests: a mail sink, the milter as a process, SMTP clients."""

from __future__ import annotations

import email
import email.message
import email.policy
import os
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class Delivered:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes

    @property
    def message(self) -> email.message.Message:
        return email.message_from_bytes(self.data, policy=email.policy.compat32)


class _Collector:
    def __init__(self) -> None:
        self.messages: list[Delivered] = []
        self.cond = threading.Condition()

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        data = envelope.original_content or envelope.content  # type: ignore[attr-defined]
        item = Delivered(envelope.mail_from, tuple(envelope.rcpt_tos), data)  # type: ignore[attr-defined]
        with self.cond:
            self.messages.append(item)
            self.cond.notify_all()
        return "250 2.0.0 OK sink"


class Sink:
    """An SMTP server on 127.0.0.1 that keeps every message it receives."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.collector = _Collector()
        self.controller = Controller(
            self.collector, hostname="127.0.0.1", port=port,
            data_size_limit=80 * 1024 * 1024, enable_SMTPUTF8=True,
        )

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def matching(self, needle: str) -> list[Delivered]:
        with self.collector.cond:
            return [m for m in self.collector.messages if needle.encode() in m.data[:20000]]

    def wait_for(self, needle: str, count: int = 1, timeout: float = 60.0) -> list[Delivered]:
        """Wait until ``count`` messages whose headers contain ``needle`` have arrived."""
        deadline = time.monotonic() + timeout
        with self.collector.cond:
            while True:
                found = [m for m in self.collector.messages if needle.encode() in m.data[:20000]]
                if len(found) >= count or time.monotonic() > deadline:
                    return found
                self.collector.cond.wait(timeout=0.2)


class MilterProcess:
    """``congvu-guard milter --config FILE`` as a child process."""

    def __init__(self, config_path: Path, socket_path: Path, log_path: Path) -> None:
        self.config_path = config_path
        self.socket_path = socket_path
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 20.0) -> None:
        if self.socket_path.exists():
            self.socket_path.unlink()
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "congvu_guard", "milter", "--config", str(self.config_path)],
            stdout=log, stderr=log, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"milter exited with {self.proc.returncode}: {self.log()}")
            if self.socket_path.exists():
                try:
                    with socket.socket(socket.AF_UNIX) as s:
                        s.connect(str(self.socket_path))
                    return
                except OSError:
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"milter socket {self.socket_path} did not appear: {self.log()}")

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, sig)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGCONT)
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


@dataclass(frozen=True)
class SmtpResult:
    code: int
    text: str
    stage: str  # "mail", "rcpt", "data" or "done"


def send(port: int, sender: str, recipients: list[str], data: bytes,
         declare_size: int | None = None, auth: tuple[str, str] | None = None,
         source: str | None = None) -> SmtpResult:
    """Send one message over SMTP, step by step, returning the first refusal or the 250.

    ``declare_size`` adds ``SIZE=`` to MAIL FROM; without it no SIZE is sent, so the milter
    must count the bytes itself. ``source`` is the client address to send from (any
    127.0.0.0/8 address): the milter treats clients outside its internal networks as
    "outside".
    """
    src = (source, 0) if source else None
    with smtplib.SMTP("127.0.0.1", port, timeout=120, source_address=src) as smtp:
        smtp.ehlo("client.test")
        if auth is not None:
            smtp.login(*auth)
        opts = [f"SIZE={declare_size}"] if declare_size is not None else []
        code, text = smtp.mail(sender, opts)
        if code >= 400:
            return SmtpResult(code, text.decode(errors="replace"), "mail")
        accepted = 0
        last = (0, b"")
        for r in recipients:
            code, text = smtp.rcpt(r)
            last = (code, text)
            accepted += code < 400
        if not accepted:
            return SmtpResult(last[0], last[1].decode(errors="replace"), "rcpt")
        try:
            code, text = smtp.data(data)
        except smtplib.SMTPDataError as e:
            return SmtpResult(e.smtp_code, e.smtp_error.decode(errors="replace"), "data")
        return SmtpResult(code, text.decode(errors="replace"), "done" if code < 400 else "data")


