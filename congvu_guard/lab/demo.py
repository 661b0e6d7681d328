"""``congvu-guard demo``: every rule once, on a throwaway mail system on loopback.

Starts Redis, the milter, the monitor, Postfix and Postfix's smtp-sink, sends one message
(or burst) per rule, prints what happened to each and where to look, and cleans up (or,
with ``--keep``, waits for Ctrl-C so the monitor page can be explored). Needs root.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import secrets
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..monitor.auth import hash_password, hash_token
from ..state.embedded import EmbeddedRedis
from .postfix import Listener, PostfixInstance

DOMAIN = "demo.gov.vn"
BOX = f"tiepnhan@{DOMAIN}"
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _message(subject: str, sender: str, to: str, body: str = "Xin chao.",
             extra: str = "", attachments: tuple[tuple[str, bytes], ...] = ()) -> bytes:
    b = "B" + secrets.token_hex(6)
    out = (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\nMessage-ID: "
           f"<{secrets.token_hex(8)}@demo>\r\nMIME-Version: 1.0\r\n{extra}"
           f'Content-Type: multipart/mixed; boundary="{b}"\r\n\r\n--{b}\r\n'
           f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()
    for name, data in attachments:
        enc = base64.encodebytes(data).replace(b"\n", b"\r\n")
        out += (f"--{b}\r\nContent-Type: application/octet-stream\r\nContent-Disposition: "
                f'attachment; filename="{name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
                ).encode() + enc
    return out + f"--{b}--\r\n".encode()


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _docm() -> bytes:
    vba = b'Attribute VB_Name = "ThisDocument"\r\nSub AutoOpen()\r\n  Shell "calc"\r\nEnd Sub\r\n'
    return _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>",
                 "word/vbaProject.bin": vba})


def _send(port: int, sender: str, rcpts: list[str], data: bytes, source: str = "127.0.0.1",
          size: int | None = None) -> str:
    with smtplib.SMTP("127.0.0.1", port, timeout=120, source_address=(source, 0)) as s:
        s.ehlo("demo.client")
        code, text = s.mail(sender, [f"SIZE={size}"] if size else [])
        if code >= 400:
            return f"{code} {text.decode(errors='replace')}"
        for r in rcpts:
            s.rcpt(r)
        code, text = s.data(data)
        return f"{code} {text.decode(errors='replace')}"


@dataclass
class Lab:
    base: Path
    redis: EmbeddedRedis
    procs: list[subprocess.Popen[bytes]]
    postfix: PostfixInstance | None = None

    def stop(self) -> None:
        if self.postfix is not None:
            self.postfix.stop()
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        self.redis.stop()
        shutil.rmtree(self.base, ignore_errors=True)


def _wait(pred: Callable[[], object], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if pred():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start")


def _decision(log: Path, needle: str) -> str:
    for line in reversed(log.read_text(errors="replace").splitlines()):
        if needle in line and "event=decision" in line:
            action = line.split("action=", 1)[1].split()[0]
            rules = line.split("rules=", 1)[1].split()[0]
            to = line.split("quarantine_to=", 1)[1].split()[0] if "quarantine_to=" in line else ""
            return f"{action} {rules} {to}".strip()
    return ""


def run(keep: bool = False) -> int:
    if os.geteuid() != 0 or not Path("/usr/sbin/postfix").exists():
        print("congvu-guard demo: run as root with Postfix installed (bash scripts/setup)",
              file=sys.stderr)
        return 1
    base = Path(tempfile.mkdtemp(prefix="congvu-demo-"))
    os.chmod(base, 0o755)
    lab = Lab(base, EmbeddedRedis(base / "redis"), [])
    try:
        url = lab.redis.start()
        sock, mport, mon_port, sink_port, smtp_port = (base / "milter" / "milter.sock",
                                                       _port(), _port(), _port(), _port())
        token, password = secrets.token_urlsafe(16), secrets.token_urlsafe(12)
        (base / "users").write_text(f"demo-admin admin {hash_token(token)}\n"
                                    f"demo admin {hash_password(password)}\n")
        cfg = base / "congvu-guard.toml"
        cfg.write_text(
            f'[milter]\nsocket = "unix:{sock}"\n[redis]\nurl = "{url}"\n'
            f'[domains]\nofficial = ["{DOMAIN}", "*.gov.vn"]\n[report]\naddress = "{BOX}"\n'
            '[hops]\ninternal_networks = ["127.0.0.1/32"]\n'
            f'[metrics]\nlisten = "127.0.0.1:{mport}"\n[logging]\nlevel = "info"\n'
            f'[monitor]\nlisten = "127.0.0.1:{mon_port}"\nusers_file = "{base / "users"}"\n'
            f'cookie_secure = false\nsmtp_relay = "127.0.0.1:{smtp_port}"\n')
        milter_log = base / "milter.log"
        for cmd, log in ((["milter"], milter_log), (["monitor"], base / "monitor.log")):
            lab.procs.append(subprocess.Popen(
                [sys.executable, "-m", "congvu_guard", *cmd, "--config", str(cfg)],
                stdout=log.open("ab"), stderr=subprocess.STDOUT))
        lab.procs.append(subprocess.Popen(["smtp-sink", "-u", "postfix",
                                           f"127.0.0.1:{sink_port}", "256"]))
        _wait(sock.exists, "the milter")
        _wait(lambda: urllib.request.urlopen(f"http://127.0.0.1:{mon_port}/api/v1/health",
                                             timeout=1), "the monitor")
        lab.postfix = PostfixInstance(base / "postfix", sink_port,
                                      [Listener("inbound", smtp_port, f"unix:{sock}")])
        lab.postfix.start()

        rows: list[tuple[str, str, str]] = []
        big = 20 * 1024 * 1024 + 1
        reply = _send(smtp_port, "a@example.net", [f"lan@{DOMAIN}"], b"x", "127.0.0.2", big)
        rows.append(("HUE-14: 20 MB + 1 byte (SIZE=)", reply, "SMTP reply at MAIL FROM"))

        fwd = _message("Chuyen tiep tu dong", "someone@example.net", "lan.personal@gmail.com",
                       extra=f"X-Sieve-Redirected-From: lan@{DOMAIN}\r\n")
        reply = _send(smtp_port, "someone@example.net", ["lan.personal@gmail.com"], fwd)
        rows.append(("HUE-11.6: Sieve auto-forward to gmail.com", reply,
                     "milter log; congvu_guard_autoforward_total"))

        sender = f"van.thu@{DOMAIN}"
        codes = [_send(smtp_port, sender, [f"x@{DOMAIN}"],
                       _message(f"Thong bao {i}", sender, f"x@{DOMAIN}"))[:3]
                 for i in range(101)]
        rows.append(("HUE-13.2d: 101 messages in a burst",
                     f"{codes.count('250')} x 250, then {codes[-1]} (account locked)",
                     "monitor page: locked accounts; congvu-guard locks list"))

        eicar = _message("Hoa don", "a@example.net", f"lan@{DOMAIN}",
                         attachments=(("hoa-don.zip", _zip({"eicar.com": EICAR})),))
        reply = _send(smtp_port, "a@example.net", [f"lan@{DOMAIN}"], eicar, "127.0.0.2")
        rows.append(("HUE-11.5: EICAR inside a zip", reply, "milter log; YARA hits metric"))

        subject = "Bao cao thang " + secrets.token_hex(3)
        macro = _message(subject, "a@example.net", f"hoa@{DOMAIN}",
                         attachments=(("bao-cao.docm", _docm()),))
        _send(smtp_port, "a@example.net", [f"hoa@{DOMAIN}"], macro, "127.0.0.2")
        with contextlib.suppress(RuntimeError):
            _wait(lambda: _decision(milter_log, f"rcpt=<hoa@{DOMAIN}>"), "the decision", 10)
        rows.append(("HUE-11.5/11.11: macro document",
                     _decision(milter_log, f"rcpt=<hoa@{DOMAIN}>") or "see the milter log",
                     "report box; monitor page: campaigns (release)"))

        report = _message("Fwd: nghi ngo lua dao", f"lan@{DOMAIN}", BOX,
                          body="Thu nay nghi ngo: http://dangnhap-hopthu.example/login")
        reply = _send(smtp_port, f"lan@{DOMAIN}", [BOX], report)
        rows.append(("HUE-11.11: a user's report to the report box", reply,
                     "monitor page: reports grouped into campaigns"))

        width = max(len(r[0]) for r in rows)
        print(f"\n{'case':{width}}  result\n{'-' * width}  {'-' * 40}")
        for case, result, where in rows:
            print(f"{case:{width}}  {result[:110]}\n{'':{width}}  -> {where}")
        print(f"\nmonitor page: http://127.0.0.1:{mon_port}/  (user demo, password {password})"
              f"\nadmin API:    curl -H 'Authorization: Bearer {token}' "
              f"http://127.0.0.1:{mon_port}/api/v1/locks"
              f"\nmetrics:      http://127.0.0.1:{mport}/metrics"
              f"\nmilter log:   {milter_log}")
        if keep:
            print("\nrunning; press Ctrl-C to stop and clean up")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
        return 0
    finally:
        lab.stop()
