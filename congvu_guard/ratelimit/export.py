"""Lock enforcement beyond the milter: the lock list as files other daemons read.

- Postfix access map for ``check_sasl_access`` (SASL login -> REJECT), so a locked account
  also loses authenticated submission.
- Dovecot passwd-file with ``deny = yes`` (one login per line), so it loses IMAP/POP.

Files are replaced atomically (write to a temporary file in the same directory, then
rename), so a reader never sees half a list.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from .model import Lock
from .names import account_problem

log = logging.getLogger("congvu_guard.ratelimit.export")


def _atomic_write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


Locks = Iterable[Lock] | Mapping[str, tuple[str, float | None]]


def _reason_text(reason: str) -> str:
    """The reason is free text after the key: keep it on its line and ASCII."""
    return "".join(c for c in reason if c.isascii() and c.isprintable() and c != "#")[:80]


def _exportable(locks: Locks) -> list[tuple[str, str]]:
    """(account, reason) pairs; a name that cannot be written safely is left out with an
    error in the log (LockStore refuses such names; the milter's own locks come from
    authenticated logins). Never folded into another name."""
    pairs = (locks.items() if isinstance(locks, Mapping) else
             ((lk.account, (lk.reason, lk.expires_at)) for lk in locks))
    out = []
    for account, (reason, _expires) in pairs:
        problem = account_problem(account)
        if problem is not None:
            log.error("lock of %r not exported: %s", account, problem)
            continue
        out.append((account, reason))
    return sorted(out)


def postfix_access(locks: Locks) -> str:
    lines = ["# congvu-guard: locked accounts (generated; do not edit)\n"]
    for account, reason in _exportable(locks):
        why = _reason_text(reason)
        lines.append(f"{account} REJECT 5.7.1 Hop thu dang bi tam khoa "
                     f"({why}) / Account temporarily locked ({why})\n")
    return "".join(lines)


def dovecot_deny(locks: Locks) -> str:
    lines = ["# congvu-guard: locked accounts (generated; do not edit)\n"]
    lines += [f"{account}:\n" for account, _ in _exportable(locks)]
    return "".join(lines)


def write_exports(locks: Locks, postfix_path: str, dovecot_path: str) -> list[str]:
    """Write the configured files; the Postfix one is also indexed (``postmap hash:``), so
    that Postfix daemons notice the change and reload it by themselves."""
    written = []
    if postfix_path:
        _atomic_write(Path(postfix_path), postfix_access(locks))
        if shutil.which("postmap"):
            proc = subprocess.run(["postmap", f"hash:{postfix_path}"], check=False,
                                  capture_output=True, timeout=60, text=True)
            if proc.returncode != 0:
                log.warning("postmap hash:%s failed (%s); use texthash: or run postmap",
                            postfix_path, proc.stderr.strip())
        written.append(postfix_path)
    if dovecot_path:
        _atomic_write(Path(dovecot_path), dovecot_deny(locks))
        written.append(dovecot_path)
    return written


class ExportScheduler:
    """Coalesces export requests: a burst of lock changes costs one rewrite per
    ``min_interval`` seconds, not one rewrite per lock (issue 15: the third thousand locks
    of a guessing run took 178 s when every lock rewrote both files with one HGETALL per
    lock). A background thread writes; :meth:`flush` waits for a pending write (tests,
    CLI)."""

    def __init__(self, write: Callable[[], object], min_interval: float = 1.0) -> None:
        self._write = write
        self.min_interval = min_interval
        self._wanted = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.writes = 0

    def request(self) -> None:
        with self._lock:
            self._idle.clear()
            self._wanted.set()
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="lock-export",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            if not self._wanted.wait(timeout=30):
                with self._lock:
                    if not self._wanted.is_set():
                        self._thread = None
                        return
                continue
            self._wanted.clear()
            started = time.monotonic()
            try:
                self._write()
                self.writes += 1
            except Exception:  # the next change tries again; the lock itself is in Redis
                log.exception("could not refresh the lock export files")
            with self._lock:
                if not self._wanted.is_set():
                    self._idle.set()
            time.sleep(max(0.0, self.min_interval - (time.monotonic() - started)))

    def flush(self, timeout: float = 30.0) -> bool:
        return self._idle.wait(timeout)
