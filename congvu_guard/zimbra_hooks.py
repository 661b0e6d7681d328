"""Zimbra account locks under the hardened units: a spool directory between the services
that decide (milter, monitor: user congvu-guard, no capabilities) and the one that acts
(``congvu-guard zimbra-hooks``, user zimbra, started by congvu-guard-zimbra-hooks.path
whenever the spool is not empty).

A request is one small JSON file ``<time_ns>-<pid>-<event>.json`` (``{"event": "lock",
"account": "...", "at": unix time}``), written to a hidden temporary name and renamed, so the
consumer never reads half a file. The consumer applies the requests oldest first (a lock
then an unlock of one account stay in that order) with ``zmprov ma ACCOUNT
zimbraAccountStatus locked|active``, deletes each one applied, and moves one that fails or
is not a valid request to the failed directory (the path unit would otherwise start it
again and again); the journal says why.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

log = logging.getLogger("congvu_guard.zimbra_hooks")

STATUS = {"lock": "locked", "unlock": "active"}
# A Zimbra account name: local@domain, nothing zmprov could read as an option or a second
# argument (the account comes from mail headers and logins: attacker-influenced).
ACCOUNT = re.compile(r"[A-Za-z0-9._%+=~][A-Za-z0-9._%+=~-]{0,127}(?:@[A-Za-z0-9.-]{1,253})?")
MAX_REQUEST_BYTES = 4096


def enqueue(queue: str, event: str, account: str, now: float | None = None) -> dict[str, object]:
    """Write one request; the outcome for the audit trail."""
    now = time.time() if now is None else now
    name = f"{time.time_ns():020d}-{os.getpid()}-{event}.json"
    directory = Path(queue)
    tmp = directory / f".{name}.tmp"
    try:
        with open(tmp, "x", encoding="utf-8") as f:
            json.dump({"event": event, "account": account, "at": now}, f)
        os.chmod(tmp, 0o660)  # the consumer (group of the spool) deletes it
        os.rename(tmp, directory / name)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        return {"hook": event, "status": "error", "error": str(e), "queue": queue}
    return {"hook": event, "status": "queued", "queue": queue, "request": name}


def _request(path: Path) -> tuple[str, str]:
    """(event, account) of a request file, or ValueError saying what is wrong."""
    raw = path.read_bytes()[: MAX_REQUEST_BYTES + 1]
    if len(raw) > MAX_REQUEST_BYTES:
        raise ValueError("request too large")
    data: Any = json.loads(raw)
    event, account = data.get("event"), data.get("account")
    if event not in STATUS:
        raise ValueError(f"unknown event {event!r}")
    if not isinstance(account, str) or not ACCOUNT.fullmatch(account):
        raise ValueError(f"not an account name: {account!r:.80}")
    return event, account


def drain(queue: Path, failed: Path, zmprov: str, timeout: int) -> tuple[int, int]:
    """Apply every request waiting in ``queue``: (applied, failed)."""
    applied = failures = 0
    for path in sorted(p for p in queue.iterdir() if p.suffix == ".json"
                       and not p.name.startswith(".")):
        why = ""
        try:
            event, account = _request(path)
            proc = subprocess.run([zmprov, "ma", account, "zimbraAccountStatus", STATUS[event]],
                                  capture_output=True, timeout=timeout, check=False,
                                  stdin=subprocess.DEVNULL)
            if proc.returncode != 0:
                why = (f"zmprov exited with {proc.returncode}: "
                       f"{proc.stderr.decode('utf-8', 'replace').strip()[-300:]}")
        except (ValueError, OSError, subprocess.TimeoutExpired) as e:
            why = f"{type(e).__name__}: {e}"
        if why:
            failures += 1
            log.error("request %s not applied, moved to %s: %s", path.name, failed, why)
            failed.mkdir(parents=True, exist_ok=True)
            os.replace(path, failed / path.name)
        else:
            applied += 1
            log.info("zimbra account %s set %s (request %s)", account, STATUS[event], path.name)
            path.unlink()
    return applied, failures


def add_parser(sub: Any) -> None:
    z = sub.add_parser("zimbra-hooks",
                       help="apply queued lock/unlock requests with zmprov (as user zimbra)")
    z.add_argument("--queue", required=True, metavar="DIR",
                   help="the spool directory ([ratelimit] hook_queue)")
    z.add_argument("--failed", required=True, metavar="DIR",
                   help="where requests that could not be applied are moved")
    z.add_argument("--zmprov", default="/opt/zimbra/bin/zmprov", metavar="PATH",
                   help="the zmprov command (default: /opt/zimbra/bin/zmprov)")
    z.add_argument("--timeout", type=int, default=120, metavar="SECONDS",
                   help="time allowed to one zmprov run (default: 120)")


def run(args: argparse.Namespace) -> int:
    from .cli import _setup_logging

    _setup_logging("info")  # <N> priorities under journald, as the services
    applied, failures = drain(Path(args.queue), Path(args.failed), args.zmprov, args.timeout)
    log.info("%d request(s) applied, %d failed", applied, failures)
    return 0  # failures are in the failed directory and the journal; no restart loop
