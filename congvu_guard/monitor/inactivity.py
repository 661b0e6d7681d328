"""Inactivity (HUE-13.2a, BP-5.3c): lock accounts without a login for ``inactivity_days``
(180) and list those due for revocation after ``revocation_days`` (365).

Accounts are known from logins the monitor has seen and from an imported list (CSV with an
``account`` column, or the output of ``doveadm user '*'``), so that accounts that never
logged in are swept too: they count from the day they became known. ``inactivity_dry_run``
only reports.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import time
from dataclasses import dataclass, field

from ..ratelimit.names import account_problem
from ..state import keys
from ..state.accounts import KnownAccounts
from ..state.client import RedisClient
from ..state.locks import LockError
from .state import MonitorState

log = logging.getLogger("congvu_guard.monitor.inactivity")
RULE_LOCK = "HUE-13.2a"
RULE_REVOKE = "BP-5.3c"
DAY = 86400


def parse_accounts(text: str) -> list[str]:
    """A CSV with an ``account`` (or ``user``, ``email``) column, or one login per line."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return []
    first = [c.strip().lower() for c in lines[0].split(",")]
    for col in ("account", "user", "email", "mail"):
        if col in first:
            reader = csv.DictReader(io.StringIO("\n".join(lines)))
            name = reader.fieldnames[first.index(col)] if reader.fieldnames else col
            return [keys.normalize(r[name]) for r in reader if r.get(name, "").strip()]
    return [keys.normalize(ln.split()[0]) for ln in lines if not ln.startswith("#")]


def import_accounts(client: RedisClient, accounts: list[str], now: float | None = None) -> int:
    """Known accounts (issue 15: only these can be locked by failed logins); a name that
    could not be locked or exported safely is skipped with a warning."""
    when = int(now if now is not None else time.time())
    known = KnownAccounts(client)
    added = 0
    for acct in accounts:
        problem = account_problem(acct)
        if problem is not None:
            log.warning("inactivity import: skipped %r: %s", acct, problem)
            continue
        added += int(known.mark_known(acct, when))
    return added


@dataclass
class SweepResult:
    locked: list[str] = field(default_factory=list)
    would_lock: list[str] = field(default_factory=list)
    revoke: list[str] = field(default_factory=list)


def sweep(state: MonitorState, now: float | None = None, dry_run: bool | None = None
          ) -> SweepResult:
    cfg = state.config.monitor
    now = now if now is not None else time.time()
    dry = cfg.inactivity_dry_run if dry_run is None else dry_run
    accounts = KnownAccounts(state.client)
    last = accounts.last_logins()
    known = accounts.known_since()
    result = SweepResult()
    for acct in sorted(set(last) | set(known)):
        since = last.get(acct, known.get(acct, now))
        idle_days = (now - since) / DAY
        if idle_days >= cfg.revocation_days:
            result.revoke.append(acct)
        if idle_days >= cfg.inactivity_days and state.locks.get(acct) is None:
            if dry:
                result.would_lock.append(acct)
                continue
            try:
                state.locks.lock(acct, RULE_LOCK, by="monitor (inactivity sweep)",
                                 note=f"no login for {int(idle_days)} days",
                                 evidence={"last_login": str(int(since)) if acct in last
                                           else "never"})
            except LockError as e:  # one bad name must not stop the sweep
                log.error("inactivity sweep: %s", e)
                continue
            state.after_lock_change("lock", acct, "monitor")
            result.locked.append(acct)
    m = state.metrics
    m.inactivity.labels("locked").inc(len(result.locked))
    m.inactivity.labels("would_lock").inc(len(result.would_lock))
    m.inactivity.labels("revocation_due").inc(len(result.revoke))
    m.inactivity_last_success.set(now)
    accounts.set_revocation_due(result.revoke)
    log.info("inactivity sweep: %d locked, %d would lock (dry run), %d due for revocation "
             "(%s)", len(result.locked), len(result.would_lock), len(result.revoke),
             RULE_REVOKE)
    return result


async def sweep_forever(state: MonitorState) -> None:
    while True:
        try:
            await asyncio.to_thread(sweep, state)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("inactivity sweep failed")
        await asyncio.sleep(state.config.monitor.inactivity_sweep_seconds)
