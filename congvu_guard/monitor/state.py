"""Everything the monitor's handlers share, built once from the configuration."""

from __future__ import annotations

import logging
from typing import Any

import redis

from ..config import Config
from ..detectors.ioc import IocStore
from ..metrics import MonitorMetrics
from ..ratelimit.audit import AuditTrail
from ..ratelimit.bulk import BulkSenders
from ..ratelimit.export import write_exports
from ..ratelimit.hooks import HookRunner
from ..ratelimit.locks import LockStore
from ..stamp_key import StampKeySource
from ..store import RedisStore
from .auth import Authenticator, Sessions, load_users

log = logging.getLogger("congvu_guard.monitor")


class MonitorState:
    def __init__(self, config: Config, client: Any, metrics: MonitorMetrics | None = None,
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
            try:
                write_exports(self.locks.list(), rl.export_postfix, rl.export_dovecot)
            except OSError as e:
                log.error("could not refresh the lock export files: %s", e)
        log.info("%s of %s by %s", event, account, actor)
