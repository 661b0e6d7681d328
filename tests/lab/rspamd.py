"""A throwaway rspamd (Debian's package) as a Postfix milter, for comparisons in bench/.

rspamd's proxy worker speaks the milter protocol on a unix socket and scans in-process
(``self_scan``), the set-up Debian documents for Postfix. Its Redis is the caller's
(ratelimit counts there). Modules that need the network (fuzzy storage, RBLs, DNS-based
reputation) are off or answer at once: nothing leaves 127.0.0.1. Greylisting and the
actions are set so that the benchmark's clean mail is never delayed or rejected, while
every message is still fully scanned (MIME parse, regexp rules, mime_types, ratelimit).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

RSPAMD = "/usr/bin/rspamd"


class RspamdError(RuntimeError):
    pass


@dataclass
class RspamdInstance:
    base: Path
    redis_socket: Path
    proxy_count: int = 1
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def socket(self) -> Path:
        return self.base / "run" / "milter.sock"

    @property
    def socket_spec(self) -> str:
        return f"unix:{self.socket}"

    def _write(self) -> None:
        for sub in ("etc/local.d", "etc/override.d", "db", "run", "log"):
            (self.base / sub).mkdir(parents=True, exist_ok=True)
        os.chmod(self.base, 0o755)
        os.chmod(self.base / "run", 0o755)
        local = self.base / "etc" / "local.d"
        files = {
            "worker-proxy.inc": (
                "milter = yes;\n"
                f'bind_socket = "{self.socket} mode=0666";\n'
                f"count = {self.proxy_count};\n"
                'upstream "local" { default = yes; self_scan = yes; }\n'
            ),
            # Only the proxy scans; no separate scanner or web controller.
            "worker-normal.inc": "enabled = false;\n",
            "worker-controller.inc": "enabled = false;\n",
            "options.inc": (
                # A resolver that answers at once (connection refused) and no local_addrs
                # exemptions beyond loopback, which rspamd treats as local anyway.
                'dns { nameserver = ["127.0.0.1:1"]; timeout = 0.1s; retransmits = 1; }\n'
            ),
            "redis.conf": f'servers = "{self.redis_socket}";\n',
            # Counted in Redis for every message, never reached by the benchmark.
            "ratelimit.conf": (
                "rates {\n"
                '  bench_sender = { selector = "from(\'smtp\'):addr"; '
                'bucket = { burst = 100000000; rate = "100000000 / 1s"; } }\n'
                "}\n"
            ),
            "greylist.conf": "enabled = false;\n",
            "fuzzy_check.conf": "enabled = false;\n",
            "actions.conf": "reject = 1000; add_header = 500; greylist = null; "
                            "rewrite_subject = null;\n",
            "logging.inc": 'type = "file"; level = "error";\n',
        }
        for name, text in files.items():
            (local / name).write_text(text)

    def start(self, timeout: float = 30.0) -> None:
        if not Path(RSPAMD).exists():
            raise RspamdError("rspamd is not installed (apt-get install rspamd)")
        self._write()
        b = self.base
        self.proc = subprocess.Popen(
            [RSPAMD, "-f", "-i", "-u", "root", "-g", "root", "-c", "/etc/rspamd/rspamd.conf",
             f"--var=LOCAL_CONFDIR={b / 'etc'}", f"--var=DBDIR={b / 'db'}",
             f"--var=RUNDIR={b / 'run'}", f"--var=LOGDIR={b / 'log'}"],
            stdout=(b / "log" / "stdout").open("wb"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RspamdError(f"rspamd exited with {self.proc.returncode}: "
                                  + (b / "log" / "stdout").read_text()[-2000:])
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(str(self.socket))
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RspamdError("rspamd's milter socket did not appear")

    def pids(self) -> list[int]:
        """The main process and its workers."""
        if self.proc is None:
            return []
        main = self.proc.pid
        found = [main]
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == main:
                found.append(int(d.name))
        return found

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)
