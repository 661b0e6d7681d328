"""A throwaway Dovecot on loopback: LMTP delivery with Pigeonhole Sieve, maildirs in a lab
directory, users from a passwd-file. For tests and demos; never touches /etc/dovecot."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


class DovecotError(RuntimeError):
    pass


@dataclass
class DovecotInstance:
    base: Path
    users: Mapping[str, str]  # address -> Sieve script ("" = none)
    submission_host: str = ""  # where Sieve redirects are sent, "127.0.0.1:PORT"
    sendmail_path: str = "/usr/sbin/sendmail"
    mail_user: str = "mail"  # the system user owning the maildirs
    imap_port: int = 0  # > 0: also serve IMAP (plain, loopback) on this port
    extra: str = ""
    proc_pid: int | None = field(default=None, init=False)

    @property
    def lmtp_socket(self) -> Path:
        return self.base / "lmtp"

    @property
    def config_file(self) -> Path:
        return self.base / "dovecot.conf"

    @property
    def log_file(self) -> Path:
        return self.base / "dovecot.log"

    def home(self, address: str) -> Path:
        local, _, domain = address.partition("@")
        return self.base / "home" / domain / local

    def maildir(self, address: str) -> Path:
        return self.home(address) / "Maildir"

    def write(self) -> None:
        pw = pwd.getpwnam(self.mail_user)
        self.base.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        lines = []
        for address, script in self.users.items():
            home = self.home(address)
            home.mkdir(parents=True, exist_ok=True)
            if script:
                (home / "sieve").mkdir(exist_ok=True)
                (home / "sieve" / "main.sieve").write_text(script)
                link = home / ".dovecot.sieve"
                if not link.is_symlink():
                    link.symlink_to("sieve/main.sieve")
            for p in [home, *home.rglob("*")]:
                os.lchown(p, pw.pw_uid, pw.pw_gid)
            lines.append(f"{address}:{{PLAIN}}secret:{pw.pw_uid}:{pw.pw_gid}::{home}::\n")
        (self.base / "users").write_text("".join(lines))
        redirect = (f"submission_host = {self.submission_host}\n" if self.submission_host
                    else f"sendmail_path = {self.sendmail_path}\n")
        self.config_file.write_text(f"""\
instance_name = cg-dovecot-{os.getpid()}-{self.base.name}
base_dir = {self.base}/run
state_dir = {self.base}/state
log_path = {self.log_file}
info_log_path = {self.log_file}
protocols = lmtp{" imap" if self.imap_port else ""}
listen = 127.0.0.1
disable_plaintext_auth = no
auth_failure_delay = 0
{self._imap_service()}
ssl = no
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = {pw.pw_uid}
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = {self.base}/users
}}
userdb {{
  driver = passwd-file
  args = {self.base}/users
}}
service lmtp {{
  unix_listener {self.lmtp_socket} {{
    mode = 0666
  }}
}}
protocol lmtp {{
  mail_plugins = sieve
  postmaster_address = postmaster@congvu-guard.test
}}
{redirect}
plugin {{
  sieve = file:~/sieve;active=~/.dovecot.sieve
}}
{self.extra}
""")

    def _imap_service(self) -> str:
        if not self.imap_port:
            return ""
        return ("service imap-login {\n  inet_listener imap {\n    address = 127.0.0.1\n"
                f"    port = {self.imap_port}\n  }}\n  inet_listener imaps {{\n    port = 0\n"
                "  }\n}\n")

    def start(self, timeout: float = 20.0) -> None:
        if shutil.which("dovecot") is None:
            raise DovecotError("Dovecot is not installed (apt-get install dovecot-core "
                               "dovecot-lmtpd dovecot-sieve)")
        self.write()
        # Dovecot daemonizes; its children inherit stdout, so do not capture it.
        errors = self.base / "start.err"
        with errors.open("wb") as err:
            proc = subprocess.run(["dovecot", "-c", str(self.config_file)],
                                  stdout=subprocess.DEVNULL, stderr=err, timeout=60)
        if proc.returncode != 0:
            raise DovecotError(f"dovecot failed to start: {errors.read_text().strip()}")
        deadline = time.monotonic() + timeout
        pid_file = self.base / "run" / "master.pid"
        while time.monotonic() < deadline:
            if self.lmtp_socket.exists() and pid_file.exists():
                self.proc_pid = int(pid_file.read_text().strip())
                return
            time.sleep(0.05)
        raise DovecotError(f"dovecot did not create {self.lmtp_socket}: {self.log_text()}")

    def stop(self) -> None:
        if self.proc_pid is None:
            return
        try:
            os.kill(self.proc_pid, signal.SIGTERM)
        except ProcessLookupError:
            self.proc_pid = None
            return
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                os.kill(self.proc_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        self.proc_pid = None

    def messages(self, address: str) -> list[bytes]:
        """Every message in the user's INBOX (new and cur)."""
        out = []
        for sub in ("new", "cur"):
            d = self.maildir(address) / sub
            if d.is_dir():
                out += [p.read_bytes() for p in sorted(d.iterdir()) if p.is_file()]
        return out

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""
