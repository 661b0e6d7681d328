"""Registered bulk senders (HUE-13.2d: "hop thu da dang ky cho phep duoc gui"): accounts
with their own message limit, or none (-1). Kept in Redis, editable with the CLI; entries
of the configuration file apply where Redis has none."""

from __future__ import annotations

import json

from . import keys
from .audit import AuditTrail
from .client import RedisClient, text

NO_LIMIT = -1



class BulkSenders:
    def __init__(self, client: RedisClient, audit: AuditTrail) -> None:
        self.client = client
        self.audit = audit

    def add(self, account: str, limit: int, actor: str, note: str = "") -> None:
        if limit < NO_LIMIT:
            raise ValueError("limit must be -1 (no limit) or a message count")
        acct = keys.normalize(account)
        value = json.dumps({"messages": limit, "note": note})
        self.client.set(keys.bulk(acct), value)
        self.client.hset(keys.BULK_INDEX, acct, value)
        self.audit.append("bulk-add", acct, actor, detail={"limit": limit, "note": note})

    def remove(self, account: str, actor: str) -> bool:
        acct = keys.normalize(account)
        existed = bool(self.client.delete(keys.bulk(acct)))
        existed = bool(self.client.hdel(keys.BULK_INDEX, acct)) or existed
        if existed:
            self.audit.append("bulk-remove", acct, actor)
        return existed

    def list(self) -> dict[str, dict[str, object]]:
        return {text(k): json.loads(text(v))
                for k, v in sorted(self.client.hgetall(keys.BULK_INDEX).items())}


def bulk_entries(client: RedisClient) -> list[tuple[str, str]]:
    """(account, its JSON entry as stored), by account; the caller parses leniently."""
    return [(text(k), text(v)) for k, v in sorted(client.hgetall(keys.BULK_INDEX).items())]
