"""Failed logins from the systemd journal ([monitor] journal_units), for Debian 12 and other
systems where Postfix and Dovecot log to journald only (no /var/log/mail.log without
rsyslog). Runs ``journalctl --follow --output=json`` for the named units and feeds each
MESSAGE to the same parser and rule as the file watcher (BP-6.2d).

The monitor's account needs to read the journal: group ``adm`` or ``systemd-journal``
(the shipped unit has ``SupplementaryGroups=adm``).
"""

from __future__ import annotations

import asyncio
import json
import logging

from .logins import LoginTracker
from .logwatch import parse_failure
from .state import MonitorState

log = logging.getLogger("congvu_guard.monitor.journalwatch")

JOURNALCTL = "journalctl"
# journald cuts messages at LineMax (48 KiB by default); a longer line is skipped whole.
MAX_LINE = 256 * 1024
RESTART_SECONDS = 5


def journal_command(units: tuple[str, ...]) -> list[str]:
    """journalctl for ``units``, from now on (old failures are not counted again)."""
    return [JOURNALCTL, "--follow", "--lines=0", "--output=json",
            "--output-fields=MESSAGE,SYSLOG_IDENTIFIER,SYSLOG_PID,_PID", "--no-pager", "--quiet",
            *(f"--unit={u}" for u in units)]


def _text(value: object) -> str | None:
    """A journal field in JSON: a string, or a byte array when it was not UTF-8."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b < 256 for b in value):
        return bytes(value).decode("utf-8", "replace")
    return None


def message_of(line: bytes) -> str | None:
    """One journal entry in JSON as the syslog line the file watcher parses:
    ``IDENTIFIER[PID]: MESSAGE`` (journald keeps the daemon's tag apart from the message,
    and the parser anchors on it); None when it has no usable MESSAGE."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict):
        return None
    message = _text(entry.get("MESSAGE"))
    if message is None:
        return None
    ident = _text(entry.get("SYSLOG_IDENTIFIER"))
    if not ident:
        return message
    pid = _text(entry.get("SYSLOG_PID")) or _text(entry.get("_PID"))
    return f"{ident}[{pid}]: {message}" if pid and pid.isdigit() else f"{ident}: {message}"


async def watch_journal(tracker: LoginTracker, command: list[str]) -> int:
    """Follow ``command``'s output until it exits; the number of failures counted."""
    proc = await asyncio.create_subprocess_exec(
        *command, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, limit=MAX_LINE)
    assert proc.stdout is not None and proc.stderr is not None
    counted = 0
    try:
        while True:
            try:
                line = await proc.stdout.readline()
            except ValueError:  # a line over MAX_LINE: asyncio dropped it
                continue
            if not line:
                break
            message = message_of(line)
            hit = parse_failure(message) if message else None
            if hit:
                await asyncio.to_thread(tracker.failed, hit[0], hit[1], "log")
                counted += 1
    finally:
        if proc.returncode is None:
            proc.kill()
        errors = (await proc.stderr.read(4096)).decode("utf-8", "replace").strip()
        code = await proc.wait()
        if code not in (0, -9):
            log.warning("journalctl exited with %s: %s", code, errors or "(no message)")
    return counted


async def watch_journal_forever(state: MonitorState) -> None:
    tracker = LoginTracker(state)
    command = journal_command(state.config.monitor.journal_units)
    while True:
        try:
            await watch_journal(tracker, command)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("journal watcher failed")
        await asyncio.sleep(RESTART_SECONDS)
