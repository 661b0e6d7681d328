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
from collections.abc import Iterable
from pathlib import Path

from .model import Lock

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


def _safe(account: str) -> str:
    return "".join(c for c in account if c.isprintable() and c not in " \t:#")


def postfix_access(locks: Iterable[Lock]) -> str:
    lines = ["# congvu-guard: locked accounts (generated; do not edit)\n"]
    for lock in locks:
        reason = _safe(lock.reason)
        lines.append(f"{_safe(lock.account)} REJECT 5.7.1 Hop thu dang bi tam khoa "
                     f"({reason}) / Account temporarily locked ({reason})\n")
    return "".join(lines)


def dovecot_deny(locks: Iterable[Lock]) -> str:
    lines = ["# congvu-guard: locked accounts (generated; do not edit)\n"]
    lines += [f"{_safe(lock.account)}:\n" for lock in locks]
    return "".join(lines)


def write_exports(locks: list[Lock], postfix_path: str, dovecot_path: str) -> list[str]:
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
