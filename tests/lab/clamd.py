"""A throwaway clamd with hand-written signatures only (no freshclam download).

Signatures: EICAR by MD5 (``.hdb``) and any extra body signatures (``.ndb``). clamd refuses
to start with an empty database directory, and answers OK to everything when its
signatures do not load: congvu-guard's EICAR probe catches that.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

EICAR_HDB = "44d88612fea8a8f36de82e1278abb02f:68:Local.EICAR\n"


class ClamdLab:
    def __init__(self, base: Path, ndb: Mapping[str, bytes] | None = None,
                 extra_files: Mapping[str, str] | None = None, eicar: bool = True) -> None:
        self.base = base
        self.eicar = eicar
        self.ndb = dict(ndb or {})
        self.extra_files = dict(extra_files or {})
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.base / "clamd.sock"

    @property
    def spec(self) -> str:
        return f"unix:{self.socket_path}"

    def start(self, timeout: float = 60.0) -> None:
        if shutil.which("clamd") is None:
            raise RuntimeError("clamd is not installed (apt-get install clamav-daemon)")
        db = self.base / "db"
        db.mkdir(parents=True, exist_ok=True)
        if self.eicar:
            (db / "local.hdb").write_text(EICAR_HDB)
        if self.ndb:
            (db / "local.ndb").write_text("".join(
                f"{name}:0:*:{pattern.hex()}\n" for name, pattern in self.ndb.items()))
        for name, text in self.extra_files.items():
            (db / name).write_text(text)
        conf = self.base / "clamd.conf"
        conf.write_text(
            f"LocalSocket {self.socket_path}\nLocalSocketMode 666\nDatabaseDirectory {db}\n"
            f"Foreground yes\nLogFile {self.base / 'clamd.log'}\nPidFile {self.base / 'pid'}\n"
            f"TemporaryDirectory {self.base}\nUser root\nStreamMaxLength 64M\n")
        self.proc = subprocess.Popen(["clamd", f"--config-file={conf}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"clamd exited: {self.log()}")
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.settimeout(2)
                    s.connect(str(self.socket_path))
                    s.sendall(b"zPING\0")
                    if s.recv(16).startswith(b"PONG"):
                        return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"clamd did not answer: {self.log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def log(self) -> str:
        try:
            return (self.base / "clamd.log").read_text(errors="replace")[-2000:]
        except FileNotFoundError:
            return ""
