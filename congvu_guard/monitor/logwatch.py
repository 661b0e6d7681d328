"""Failed logins from log files, for systems without Dovecot's policy hook (Zimbra, plain
Postfix SASL): follow each file like ``tail -F`` (rotation and truncation included) and
count the failures with the same rule as the policy endpoint (BP-6.2d)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import os
import re
from dataclasses import dataclass

from ..ratelimit.names import valid_account
from .logins import LoginTracker
from .state import MonitorState

log = logging.getLogger("congvu_guard.monitor.logwatch")

# Every pattern is anchored at the start of the line (an optional syslog or ISO time stamp
# and host), then the daemon's tag, then its fixed message format: attacker text quoted
# elsewhere in a line (issue 15: a Postfix reject line with
# "helo=<user=<chutich@...> rip=... auth failed>") matches nothing. Lines are cut at
# MAX_LINE characters and every pattern is a single pass without nested quantifiers.
MAX_LINE = 4096
_STAMP = (r"^(?:[A-Z][a-z]{2} [ 0-9]?[0-9] [0-9]{2}:[0-9]{2}:[0-9]{2} [^ ]{1,255} "
          r"|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.+\-Z]{8,40} [^ ]{1,255} )?")
_IP = r"(?P<ip>[0-9a-fA-F.:]{2,45})"
# Postfix smtpd: "postfix/submission/smtpd[12]: warning: unknown[203.0.113.5]: SASL LOGIN
# authentication failed: UGFzc3dvcmQ6, sasl_username=bob@hue.gov.vn" (the name is logged
# when smtpd_sasl_... logging gives it; without it the line names no account).
_POSTFIX = re.compile(_STAMP + r"postfix(?:-[a-z0-9]{1,20})?(?:/[a-z0-9_.-]{1,40}){0,3}"
                      r"/smtpd\[[0-9]{1,10}\]: warning: [A-Za-z0-9._-]{1,255}\[" + _IP +
                      r"\]: SASL [A-Z0-9_-]{1,20} authentication failed: [^,]{0,200}, "
                      r"sasl_username=(?P<user>[^ ,]{1,320})$")
# Dovecot login processes: "dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2
# secs): user=<an@hue.gov.vn>, method=PLAIN, rip=198.51.100.4, lip=10.0.0.1" (2.2/2.3;
# "Aborted login" and "Disconnected: Connection closed" variants, optional "Info: ").
_DOVECOT_LOGIN = re.compile(
    _STAMP + r"(?:dovecot(?:\[[0-9]{1,10}\])?: )?(?:imap|pop3|submission|managesieve)-login: "
    r"(?:Info: )?(?:Disconnected|Aborted login)(?:: [A-Za-z ]{1,60})? \(auth failed, "
    r"[0-9]{1,6} attempts?(?: in [0-9]{1,6} secs?)?\): user=<(?P<user>[^<>\s]{1,320})>, "
    r"(?:method=[A-Z0-9_-]{1,20}, )?rip=" + _IP + r", ")
# Dovecot auth: "dovecot: auth: passwd-file(bob@hue.gov.vn,203.0.113.9): Password mismatch"
# or "auth-worker(42): sql(bob@hue.gov.vn,203.0.113.9,<sess>): Password mismatch".
_DOVECOT_AUTH = re.compile(
    _STAMP + r"(?:dovecot(?:\[[0-9]{1,10}\])?: )?auth(?:-worker\([0-9]{1,10}\))?: "
    r"(?:Info: )?[a-z-]{1,20}\((?P<user>[^,()\s]{1,320}),"
    + _IP + r"(?:,<[^<>]{0,64}>)?\): (?:Password mismatch|unknown user)")
# Zimbra audit.log: "2026-11-26 10:00:01,234 WARN  [qtp-12] [ip=10.0.0.5;oip=192.0.2.9;
# ua=zclient/9.0;] security - cmd=Auth; account=chi@hue.gov.vn; protocol=soap;
# error=authentication failed for [chi@hue.gov.vn], invalid password;"
_ZIMBRA = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8},[0-9]{3} (?:WARN|INFO) {1,3}\[[^\]]{0,200}\] "
    r"\[(?P<ctx>[^\]]{0,500})\] security - cmd=Auth; account=(?P<user>[^;\s]{1,320}); "
    r"protocol=[a-z]{1,20}; error=authentication failed for \[(?P=user)\]")


def parse_failure(line: str) -> tuple[str, str] | None:
    """(account, source address) of a failed login line, else None. The account must be a
    name that can be locked (:func:`valid_account`); anything else is no evidence."""
    line = line[:MAX_LINE].rstrip("\r\n")
    for pattern in (_POSTFIX, _DOVECOT_LOGIN, _DOVECOT_AUTH):
        m = pattern.match(line)
        if m:
            return _checked(m.group("user"), m.group("ip"))
    m = _ZIMBRA.match(line)
    if m:
        ctx = m.group("ctx")
        ips = dict(p.split("=", 1) for p in ctx.split(";") if "=" in p)
        ip = (ips.get("oip") or ips.get("ip") or "").split(",")[0].strip()
        return _checked(m.group("user"), ip)
    return None


def _checked(user: str, ip: str) -> tuple[str, str] | None:
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return None
    return (user, ip) if valid_account(user) else None


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
