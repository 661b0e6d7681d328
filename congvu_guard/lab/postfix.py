"""A throwaway Postfix instance on loopback, for tests, benchmarks and demos.

It uses Debian's Postfix binaries with its own config, queue and data directories, never
touches /etc/postfix, listens only on 127.0.0.1 and relays every message to one sink port.
Each :class:`Listener` is one smtpd service with its own milter list and ``{daemon_name}``.
Must run as root (Postfix's master needs it), as CI and the README's commands do.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_SERVICES = """\
pickup    unix  n       -       n       1       1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       1       1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PostfixError(RuntimeError):
    pass


@dataclass(frozen=True)
class Listener:
    """One smtpd on 127.0.0.1:port. ``milters`` is an smtpd_milters value ("" = none)."""

    name: str
    port: int
    milters: str = ""
    options: Mapping[str, str] = field(default_factory=dict)

    def master_line(self) -> str:
        opts = {
            "syslog_name": f"postfix/{self.name}",
            "smtpd_milters": self.milters,
            "milter_macro_daemon_name": self.name,
            **self.options,
        }
        rendered = " ".join(f"-o {k}={v}" for k, v in opts.items())
        return f"127.0.0.1:{self.port} inet n - n - - smtpd {rendered}\n"


@dataclass
class PostfixInstance:
    base: Path
    sink_port: int
    listeners: Sequence[Listener]
    non_smtpd_milters: str = ""
    main: Mapping[str, str] = field(default_factory=dict)
    # SASL logins (user@domain -> password) in a Cyrus sasldb; listeners that should offer
    # AUTH set smtpd_sasl_auth_enable=yes in their options (see sasl_options()).
    sasl_users: Mapping[str, str] = field(default_factory=dict)

    @property
    def config_dir(self) -> Path:
        return self.base / "etc"

    @property
    def queue_dir(self) -> Path:
        return self.base / "spool"

    @property
    def log_file(self) -> Path:
        return self.base / "maillog"

    def main_cf(self) -> dict[str, str]:
        b = self.base
        values = {
            "compatibility_level": "3.6",
            "config_directory": str(self.config_dir),
            "queue_directory": str(self.queue_dir),
            "data_directory": str(b / "data"),
            "command_directory": "/usr/sbin",
            "daemon_directory": "/usr/lib/postfix/sbin",
            "meta_directory": "/etc/postfix",
            "shlib_directory": "/usr/lib/postfix",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "mx.congvu-guard.test",
            "mydomain": "congvu-guard.test",
            "myorigin": "$mydomain",
            "mydestination": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "relayhost": f"[127.0.0.1]:{self.sink_port}",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "smtpd_peername_lookup": "no",
            "maillog_file": str(self.log_file),
            "maillog_file_prefixes": str(b),
            "message_size_limit": str(64 * 1024 * 1024),
            "mailbox_size_limit": "0",
            "milter_protocol": "6",
            "milter_default_action": "tempfail",
            "milter_connect_macros": "j {daemon_name} {daemon_addr} v _",
            "milter_mail_macros": (
                "i {auth_type} {auth_authen} {auth_ssf} {auth_author} {mail_addr}"
            ),
            "non_smtpd_milters": self.non_smtpd_milters,
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "biff": "no",
            "smtputf8_enable": "yes",
            "smtpd_banner": "$myhostname ESMTP",
        }
        values.update(self.main)
        return values

    def write(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        self.config_dir.mkdir(exist_ok=True)
        self.queue_dir.mkdir(exist_ok=True)
        main = "".join(f"{k} = {v}\n" for k, v in self.main_cf().items())
        (self.config_dir / "main.cf").write_text(main)
        master = _SERVICES + "".join(lst.master_line() for lst in self.listeners)
        (self.config_dir / "master.cf").write_text(master)
        if self.sasl_users:
            self._write_sasldb()

    def _write_sasldb(self) -> None:
        d = self.config_dir / "sasl"
        d.mkdir(exist_ok=True)
        db = d / "sasldb2"
        (d / "smtpd.conf").write_text(
            f"pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\n"
            f"sasldb_path: {db}\n")
        for login, password in self.sasl_users.items():
            user, _, domain = login.partition("@")
            subprocess.run(["saslpasswd2", "-p", "-f", str(db), "-c", "-u", domain, user],
                           input=password.encode(), check=True, timeout=30)
        shutil.chown(db, "root", "postfix")
        os.chmod(db, 0o640)

    @staticmethod
    def sasl_options() -> dict[str, str]:
        """Listener options for SASL-authenticated submission against the sasldb."""
        return {"smtpd_sasl_auth_enable": "yes", "smtpd_sasl_type": "cyrus",
                "smtpd_sasl_path": "smtpd", "smtpd_sasl_security_options": "noanonymous"}

    def _postfix(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["/usr/sbin/postfix", "-c", str(self.config_dir), *args],
            capture_output=True, text=True, timeout=60,
        )
        if check and proc.returncode != 0:
            tail = "\n".join(self.log_text().splitlines()[-5:])
            raise PostfixError(f"postfix {' '.join(args)} failed: {proc.stderr.strip()} {tail}")
        return proc

    def start(self) -> None:
        if shutil.which("postfix", path="/usr/sbin") is None:
            raise PostfixError("Postfix is not installed (apt-get install postfix)")
        self.write()
        self._postfix("check")
        self._postfix("start")
        self.wait_listening()

    def wait_listening(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        for lst in self.listeners:
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", lst.port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise PostfixError(
                            f"smtpd {lst.name} not listening on {lst.port}"
                        ) from None
                    time.sleep(0.05)

    def stop(self) -> None:
        pid_file = self.queue_dir / "pid" / "master.pid"
        self._postfix("stop", check=False)
        deadline = time.monotonic() + 20
        while pid_file.exists() and time.monotonic() < deadline:
            try:
                pid = int(pid_file.read_text().strip())
                os.kill(pid, 0)
            except (ValueError, ProcessLookupError, FileNotFoundError):
                break
            time.sleep(0.1)

    def sendmail(self, message: bytes, sender: str, recipients: Sequence[str]) -> None:
        """Submit through the sendmail/postdrop/pickup path (non_smtpd_milters)."""
        subprocess.run(
            ["/usr/sbin/sendmail", "-C", str(self.config_dir), "-f", sender, "-i", "--",
             *recipients],
            input=message, check=True, timeout=30,
        )

    def kick(self) -> None:
        """Retry deferred mail and wake pickup now instead of at the next queue run."""
        subprocess.run(["/usr/sbin/postqueue", "-c", str(self.config_dir), "-f"],
                       capture_output=True, timeout=30, check=False)
        subprocess.run(["/usr/sbin/postkick", "-c", str(self.config_dir), "public", "pickup",
                        "W"], capture_output=True, timeout=30, check=False)

    def queue_ids(self) -> list[str]:
        """Queue IDs of messages still in the queue (incoming, active, deferred, hold)."""
        out = subprocess.run(
            ["/usr/sbin/postqueue", "-c", str(self.config_dir), "-j"],
            capture_output=True, text=True, timeout=30, check=False,
        ).stdout
        return [json.loads(line)["queue_id"] for line in out.splitlines() if line.strip()]

    def maildrop_count(self) -> int:
        d = self.queue_dir / "maildrop"
        return sum(1 for _ in d.iterdir()) if d.exists() else 0

    def log_text(self) -> str:
        try:
            return self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return ""
