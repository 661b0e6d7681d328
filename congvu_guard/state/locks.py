"""Account locks in Redis (HUE-13.2c, HUE-13.2d), the unlock procedure (HUE-13.3), and
what follows every lock change (:class:`LockChanges`: the hooks and the exports)."""

from __future__ import annotations

import json
import time
from typing import Any

from ..config import RateLimitConfig
from ..ratelimit.export import ExportScheduler, write_exports
from ..ratelimit.hooks import HookRunner
from ..ratelimit.model import Lock
from ..ratelimit.names import account_problem
from . import keys
from .audit import AuditTrail
from .client import RedisClient, text
from .local_copy import bump


class LockError(ValueError):
    """A refused lock operation, worded for the operator."""


class NotLocked(LockError):
    pass



_META = ("reason", "by", "at", "expires", "note")


def lock_from_hash(account: str, data: dict[Any, Any]) -> Lock | None:
    if not data:
        return None
    h = {text(k): text(v) for k, v in data.items()}
    expires = h.get("expires")
    return Lock(
        account=keys.normalize(account),
        reason=h.get("reason", ""),
        by=h.get("by", ""),
        at=float(h.get("at", "0")) / (1000 if float(h.get("at", "0")) > 1e11 else 1),
        evidence={k: v for k, v in h.items() if k not in _META},
        expires_at=(float(expires) / 1000) if expires else None,
        note=h.get("note", ""),
    )


COPY_NAME = "locks"
Locked = dict[str, tuple[str, float | None]]  # account -> (reason, expiry in epoch s)


def load_locked(client: RedisClient) -> Locked:
    """Every locked account with its reason and expiry (for a local copy)."""
    accounts = sorted(text(a) for a in client.smembers(keys.LOCK_INDEX))
    if not accounts:
        return {}
    pipe = client.pipeline(transaction=False)
    for acct in accounts:
        pipe.hmget(keys.lock(acct), ["reason", "expires"])
    out: Locked = {}
    for acct, (reason, expires) in zip(accounts, pipe.execute(), strict=True):
        if reason is not None:
            out[acct] = (text(reason), float(expires) / 1000 if expires else None)
    return out


def reason_in(locked: Locked, account: str, now: float) -> str | None:
    """The lock reason of ``account`` in a copy (None when absent or expired)."""
    entry = locked.get(keys.normalize(account))
    if entry is None or (entry[1] is not None and entry[1] <= now):
        return None
    return entry[0]


def current_locks(client: RedisClient) -> list[Lock]:
    """Every lock in force, by account, in one round trip after the index (for the
    console; a lock that expired by itself is left out, and ``LockStore.list`` tidies the
    index)."""
    accounts = sorted(text(a) for a in client.smembers(keys.LOCK_INDEX))
    pipe = client.pipeline(transaction=False)
    for a in accounts:
        pipe.hgetall(keys.lock(a))
    found = (lock_from_hash(a, data)
             for a, data in zip(accounts, pipe.execute(), strict=True))
    return [lock for lock in found if lock is not None]


class LockStore:
    def __init__(self, client: RedisClient, audit: AuditTrail) -> None:
        self.client = client
        self.audit = audit

    def get(self, account: str) -> Lock | None:
        return lock_from_hash(account, self.client.hgetall(keys.lock(account)))

    def reason_of(self, account: str) -> str | None:
        """One round trip, for MAIL FROM: the lock's reason, or None when not locked."""
        r = self.client.hget(keys.lock(account), "reason")
        return None if r is None else text(r)

    def lock(self, account: str, reason: str, by: str, note: str = "",
             expires_seconds: int = 0, evidence: dict[str, str] | None = None) -> Lock:
        problem = account_problem(account)
        if problem is not None:  # it could not be written to the exports unchanged
            raise LockError(f"{account!r} cannot be locked: {problem}")
        if not reason.strip() or not by.strip():
            raise LockError("a lock needs a reason (rule ID) and who locks")
        acct = keys.normalize(account)
        now_ms = int(time.time() * 1000)
        fields = {"reason": reason, "by": by, "at": str(now_ms), "note": note,
                  **(evidence or {})}
        if expires_seconds:
            fields["expires"] = str(now_ms + expires_seconds * 1000)
        k = keys.lock(acct)
        self.client.delete(k)
        self.client.hset(k, mapping=fields)
        if expires_seconds:
            self.client.pexpire(k, expires_seconds * 1000)
        self.client.sadd(keys.LOCK_INDEX, acct)
        bump(self.client, COPY_NAME)
        lock = self.get(acct)
        assert lock is not None
        self.audit.append("lock", acct, by, reason=reason, detail={"note": note, **fields})
        return lock

    def announce(self, lock: Lock) -> None:
        """Index a lock that the limiter's script has already written and tell every
        server's local copy (before the message that caused it is answered)."""
        self.client.sadd(keys.LOCK_INDEX, lock.account)
        bump(self.client, COPY_NAME)

    def record_automatic(self, lock: Lock) -> None:
        """Audit a lock that the limiter's script has written (after :meth:`announce`)."""
        self.audit.append("lock", lock.account, lock.by, reason=lock.reason,
                          detail=lock.evidence)

    def unlock(self, account: str, reference: str, approver: str, actor: str) -> Lock:
        """HUE-13.3: an unlock needs the unit head's request reference and the approver."""
        if not reference.strip():
            raise LockError("an unlock needs the request reference (HUE-13.3: the unit "
                            "head's written or signed request number)")
        if not approver.strip():
            raise LockError("an unlock needs the approver's name (HUE-13.3)")
        acct = keys.normalize(account)
        lock = self.get(acct)
        if lock is None:
            self.client.srem(keys.LOCK_INDEX, acct)
            bump(self.client, COPY_NAME)
            raise NotLocked(f"{acct} is not locked")
        # The window goes too: otherwise the next message would lock the account again.
        self.client.delete(keys.lock(acct), keys.messages(acct), keys.recipients(acct))
        self.client.srem(keys.LOCK_INDEX, acct)
        bump(self.client, COPY_NAME)
        self.audit.append("unlock", acct, actor, reason=lock.reason, reference=reference,
                          approver=approver, detail=lock.as_dict())
        return lock

    def list(self) -> list[Lock]:
        out = []
        for raw in sorted(self.client.smembers(keys.LOCK_INDEX)):
            acct = text(raw)
            lock = self.get(acct)
            if lock is None:  # expired by itself
                self.client.srem(keys.LOCK_INDEX, acct)
                continue
            out.append(lock)
        return out

    def count(self) -> int:
        return int(self.client.scard(keys.LOCK_INDEX))


def evidence_json(lock: Lock) -> str:
    return json.dumps(lock.evidence, ensure_ascii=False, sort_keys=True)


def export_from_redis(client: RedisClient, postfix_path: str, dovecot_path: str) -> list[str]:
    """The export files from one pipelined read of every lock (HMGET reason/expires per
    lock in one round trip, no HGETALL per lock)."""
    return write_exports(load_locked(client), postfix_path, dovecot_path)


class LockChanges:
    """What follows every lock and unlock, whoever made it (the milter's limiter, the
    monitor, the CLI): the ``[ratelimit]`` lock/unlock hook (or its request in the hook
    queue), audited under ``actor``, and the Postfix/Dovecot export files rewritten.

    The one place for these side effects: callers change the lock through
    :class:`LockStore`, then call :meth:`after`.
    """

    def __init__(self, client: RedisClient, cfg: RateLimitConfig, audit: AuditTrail,
                 actor: str) -> None:
        self.client = client
        self.cfg = cfg
        self.audit = audit
        self.actor = actor
        self.hooks = HookRunner(cfg.lock_hook, cfg.unlock_hook, cfg.hook_timeout_seconds,
                                self._record_hook, queue=cfg.hook_queue)
        # Coalesced: a burst of lock changes costs one rewrite per second (issue 15).
        self.exports = ExportScheduler(self.write_exports)

    @property
    def exporting(self) -> bool:
        return bool(self.cfg.export_postfix or self.cfg.export_dovecot)

    def _record_hook(self, name: str, account: str, outcome: dict[str, object]) -> None:
        self.audit.append("hook", account, self.actor, reason=name, detail=outcome)

    def write_exports(self) -> list[str]:
        """Rewrite the configured export files now (Redis and file errors raise)."""
        if not self.exporting:
            return []
        return export_from_redis(self.client, self.cfg.export_postfix, self.cfg.export_dovecot)

    def after(self, event: str, account: str, *, wait: bool = False) -> None:
        """Run the ``event`` ("lock" or "unlock") hook for ``account`` and refresh the
        exports. By default both happen off the caller's thread (the hook in a thread of
        its own, the exports through the coalescing writer, errors logged there); with
        ``wait`` both are done before returning and export errors raise (the CLI)."""
        self.hooks.fire(event, account, wait=wait)
        if not self.exporting:
            return
        if wait:
            self.write_exports()
        else:
            self.exports.request()
