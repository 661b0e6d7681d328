"""Failed and successful logins (BP-6.2d, HUE-13.2a): one rule for the Dovecot policy
endpoint and the log watcher.

- More than ``failed_login_limit`` failures of one account within the window lock it
  (BP-6.2d) in mode ``lock`` (the regulation) or ``both``.
- Locking on failures lets anyone lock anyone out by guessing. Mode ``tarpit`` (or
  ``both``) instead slows down only the (account, source address) pair that keeps failing;
  other sources, including the owner, are not affected.
- A success resets the account's failures and records the last login (for HUE-13.2a).
- Only accounts known to exist can be locked (issue 15: any made-up name guessed six times
  became a permanent lock): known from `inactivity import`, from successful logins, or
  from ``known_accounts_file``. Failures of other names count against the source address,
  which is slowed down (tarpit) beyond ``failed_login_limit``; no lock, no key per name.
- Failed-login locks expire after ``failed_login_lock_seconds`` (0: never); the HUE-13.3
  unlock works either way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..ratelimit.names import valid_account
from ..state import keys
from ..state.accounts import KnownAccounts
from ..state.logins import LoginCounters
from .state import MonitorState

RULE = "BP-6.2d"


@dataclass(frozen=True)
class Decision:
    status: int  # Dovecot policy: < 0 refuse, 0 allow, > 0 delay this many seconds
    message: str


class LoginTracker:
    def __init__(self, state: MonitorState) -> None:
        self.state = state
        self.cfg = state.config.monitor
        self.counters = LoginCounters(state.client)
        self.accounts = KnownAccounts(state.client)

    def check(self, account: str, remote: str) -> Decision:
        acct = keys.normalize(account)
        if not acct:
            return Decision(0, "")
        reason = self.state.locks.reason_of(acct) if valid_account(acct) else None
        if reason is not None:
            self.state.metrics.auth_checks.labels("locked").inc()
            return Decision(-1, f"account locked ({reason})")
        if remote and self.counters.unknown_failures(remote) > self.cfg.failed_login_limit:
            self.state.metrics.auth_checks.labels("tarpit").inc()
            return Decision(self.cfg.tarpit_seconds, "too many failures from this address")
        if self.cfg.failed_login_mode in ("tarpit", "both") and remote:
            n = self.counters.tarpit_failures(acct, remote)
            if n > self.cfg.failed_login_limit:
                self.state.metrics.auth_checks.labels("tarpit").inc()
                return Decision(self.cfg.tarpit_seconds, "too many failures from this address")
        self.state.metrics.auth_checks.labels("allow").inc()
        return Decision(0, "")

    def known(self, account: str) -> bool:
        """Does this account exist (imported, seen logging in, or listed in the file)?"""
        return account in self.state.known_extra or self.accounts.is_known(account)

    def failed(self, account: str, remote: str, source: str) -> bool:
        """Count a failure; returns True when it locked the account."""
        acct = keys.normalize(account)
        if not acct:
            return False
        self.state.metrics.failed_logins.labels(source).inc()
        now = time.time()
        window = self.cfg.failed_login_window_seconds
        if not valid_account(acct) or not self.known(acct):
            # A made-up name: counted against the source address only, never locked.
            self.counters.count_unknown(remote, window)
            return False
        if remote:
            self.counters.count_tarpit(acct, remote, window)
        if self.cfg.failed_login_mode == "tarpit":
            return False
        count = self.counters.count_failure(acct, remote, now, window)
        if count <= self.cfg.failed_login_limit or self.state.locks.get(acct) is not None:
            return False
        self.state.locks.lock(acct, RULE, by=f"monitor ({source})",
                              note=f"{count} failed logins within {window // 60} min",
                              expires_seconds=self.cfg.failed_login_lock_seconds,
                              evidence={"count": str(count), "last_remote": remote})
        self.counters.forget_failures(acct)
        self.state.metrics.locks.labels(RULE).inc()
        self.state.after_lock_change("lock", acct, "monitor")
        return True

    def succeeded(self, account: str, remote: str) -> None:
        acct = keys.normalize(account)
        if not acct or not valid_account(acct):
            return
        now = int(time.time())
        self.counters.forget_failures(acct)
        if remote:
            self.counters.forget_tarpit(acct, remote)
        self.accounts.logged_in(acct, now)
