"""Everything the monitor's handlers share, built once from the configuration."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

from ..config import Config
from ..detectors.ioc import IocStore
from ..metrics import MonitorMetrics
from ..ratelimit.audit import AuditTrail
from ..ratelimit.bulk import BulkSenders
from ..ratelimit.export import ExportScheduler, export_from_redis
from ..ratelimit.hooks import HookRunner
from ..ratelimit.locks import LockStore
from ..stamp_key import StampKeySource
from ..state.client import RedisClient
from ..store import RedisStore
from .auth import Authenticator, Sessions, load_users
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
        self.sessions = Sessions(client, config.monitor.session_ttl_seconds)
        self.hooks = HookRunner(rl.lock_hook, rl.unlock_hook, rl.hook_timeout_seconds,
                                self._record_hook, queue=rl.hook_queue)
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
        self.exports = ExportScheduler(self._write_exports)

    def _write_exports(self) -> None:
        rl = self.config.ratelimit
        export_from_redis(self.client, rl.export_postfix, rl.export_dovecot)

    def _record_hook(self, name: str, account: str, outcome: dict[str, object]) -> None:
        self.audit.append("hook", account, "monitor", reason=name, detail=outcome)

    def redis_ok(self) -> bool:
        try:
            return bool(self.client.ping())
        except redis.RedisError:
            return False

    def after_lock_change(self, event: str, account: str, actor: str) -> None:
        """Hooks and the Postfix/Dovecot exports follow every lock and unlock."""
        self.hooks.fire(event, account)
        rl = self.config.ratelimit
        if rl.export_postfix or rl.export_dovecot:
            self.exports.request()  # coalesced: one rewrite per second at most
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
