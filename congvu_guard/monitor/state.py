"""Everything the monitor's handlers share, built once from the configuration."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

from ..config import Config
from ..metrics import MonitorMetrics
from ..state.audit import AuditTrail
from ..state.bulk import BulkSenders
from ..state.client import RedisClient, ping
from ..state.ioc import IocStore
from ..state.locks import LockChanges, LockStore
from ..state.sessions import Sessions
from ..state.stamp_key import StampKeySource
from ..store import RedisStore
from .auth import Authenticator, load_users
from .blockguard import DomainGuard
from .throttle import LoginThrottle

log = logging.getLogger("congvu_guard.monitor")


class MonitorState:
    def __init__(self, config: Config, client: RedisClient, metrics: MonitorMetrics | None = None,
                 ) -> None:
        self.config = config
        self.client = client
        self.metrics = metrics or MonitorMetrics()
        rl = config.ratelimit
        self.audit = AuditTrail(client, rl.audit_retention_days)
        self.locks = LockStore(client, self.audit)
        self.bulk = BulkSenders(client, self.audit)
        self.ioc = IocStore(client)
        self.auth = Authenticator(load_users(config.monitor.users_file))
        self.sessions = Sessions(client, config.monitor.session_ttl_seconds,
                                 config.monitor.session_idle_seconds)
        self.changes = LockChanges(client, rl, self.audit, "monitor")
        self.hooks, self.exports = self.changes.hooks, self.changes.exports
        # The milter's key: a release token must verify there (key file or shared in Redis).
        self.stamp_key = StampKeySource(config.forwarding, RedisStore(client, "monitor",
                                                                      self.metrics))
        m = config.monitor
        # Dovecot's policy answers and the page's password hashing run on executors of their
        # own (issue 15: 300 concurrent page logins delayed a policy answer by 19.5 s on the
        # shared default pool). PBKDF2 releases the GIL; at most two hash at a time.
        self.policy_executor = ThreadPoolExecutor(max_workers=8,
                                                  thread_name_prefix="cg-policy")
        self.login_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="cg-login")
        self.logins_waiting = 0
        self.throttle = LoginThrottle(client, m.login_throttle_limit,
                                      m.login_backoff_max_seconds)
        self.domain_guard = DomainGuard(config)
        self.known_extra = _read_known(m.known_accounts_file)

    def redis_ok(self) -> bool:
        try:
            return ping(self.client)
        except redis.RedisError:
            return False

    def after_lock_change(self, event: str, account: str, actor: str) -> None:
        """Hooks and the Postfix/Dovecot exports follow every lock and unlock."""
        self.changes.after(event, account)
        log.info("%s of %s by %s", event, account, actor)


def _read_known(path: str) -> frozenset[str]:
    """[monitor] known_accounts_file: one login per line (the first word; # comments)."""
    if not path:
        return frozenset()
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as e:
        log.error("[monitor] known_accounts_file %s: %s", path, e.strerror)
        return frozenset()
    return frozenset(ln.split()[0].strip().lower() for ln in text.splitlines()
                     if ln.strip() and not ln.lstrip().startswith("#"))
