"""Failed logins from log files, for systems without Dovecot's policy hook (Zimbra, plain
Postfix SASL): follow each file like ``tail -F`` (rotation and truncation included) and
count the failures with the same rule as the policy endpoint (BP-6.2d)."""

from __future__ import annotations

import asyncio
import logging
import os
import re
from dataclasses import dataclass

from .logins import LoginTracker
from .state import MonitorState

log = logging.getLogger("congvu_guard.monitor.logwatch")

# Postfix smtpd: "warning: unknown[203.0.113.5]: SASL LOGIN authentication failed: ...,
# sasl_username=bob@hue.gov.vn" (the username appears with smtpd_sasl_... logging).
_POSTFIX = re.compile(r"\[(?P<ip>[0-9a-fA-F.:]+)\]: SASL \S+ authentication failed.*?"
                      r"sasl_username=(?P<user>[^\s,]+)")
# Dovecot: "auth: ... (user=<bob>, ... rip=203.0.113.5 ...): ... authentication failed" or
# "imap-login: Disconnected (auth failed, 3 attempts ...): user=<bob>, ... rip=203.0.113.5"
_DOVECOT = re.compile(r"(?:auth failed|authentication failed|Password mismatch).*?"
                      r"user=<(?P<user>[^>]+)>.*?rip=(?P<ip>[0-9a-fA-F.:]+)", re.I)
_DOVECOT_B = re.compile(r"user=<(?P<user>[^>]+)>.*?rip=(?P<ip>[0-9a-fA-F.:]+).*?"
                        r"(?:auth failed|authentication failed|Password mismatch)", re.I)
# Zimbra audit.log: "... authentication failed for [bob@hue.gov.vn] ... oip=203.0.113.5"
_ZIMBRA = re.compile(r"authentication failed for \[(?P<user>[^\]]+)\].*?(?:oip=|ip=)"
                     r"(?P<ip>[0-9a-fA-F.:]+)", re.I)


def parse_failure(line: str) -> tuple[str, str] | None:
    """(account, source address) of a failed login line, else None."""
    for pattern in (_POSTFIX, _DOVECOT, _DOVECOT_B, _ZIMBRA):
        m = pattern.search(line)
        if m:
            return m.group("user"), m.group("ip")
    return None


@dataclass
class Follower:
    path: str
    inode: int = -1
    offset: int = 0
    started: bool = False

    def read_new(self) -> list[str]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return []
        if st.st_ino != self.inode or st.st_size < self.offset:
            # Rotated or truncated: read the new file from its start (but on the very
            # first look, start at the end: old failures are not counted twice).
            self.offset = st.st_size if not self.started else 0
            self.inode = st.st_ino
        self.started = True
        if st.st_size == self.offset:
            return []
        with open(self.path, "rb") as f:
            f.seek(self.offset)
            data = f.read(8 * 1024 * 1024)
        end = data.rfind(b"\n") + 1
        self.offset += end
        return data[:end].decode("utf-8", "replace").splitlines()


def process(tracker: LoginTracker, lines: list[str]) -> int:
    n = 0
    for line in lines:
        hit = parse_failure(line)
        if hit:
            tracker.failed(hit[0], hit[1], "log")
            n += 1
    return n


async def watch_forever(state: MonitorState) -> None:
    followers = [Follower(p) for p in state.config.monitor.log_files]
    tracker = LoginTracker(state)
    while True:
        for f in followers:
            try:
                lines = f.read_new()
                if lines:
                    await asyncio.to_thread(process, tracker, lines)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("log watcher failed on %s", f.path)
        await asyncio.sleep(1)
