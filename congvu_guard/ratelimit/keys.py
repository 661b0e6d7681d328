"""Redis key names. Every key of one account carries the account as a hash tag, so the
limiter's Lua script touches a single Redis Cluster slot; the indexes are single keys."""

from __future__ import annotations

PREFIX = "congvu"
LOCK_INDEX = f"{PREFIX}:locks"  # set of locked accounts (may hold expired ones: checked)
BULK_INDEX = f"{PREFIX}:bulk-senders"  # hash account -> JSON of its limits
AUDIT_STREAM = f"{PREFIX}:audit"  # stream of lock, unlock, hook and bulk-sender events


def normalize(account: str) -> str:
    """Accounts compare case-insensitively; braces would break the hash tag."""
    return account.strip().lower().replace("{", "(").replace("}", ")")


def _tag(account: str) -> str:
    return f"{PREFIX}:{{{normalize(account)}}}"


def messages(account: str) -> str:
    return f"{_tag(account)}:msgs"


def recipients(account: str) -> str:
    return f"{_tag(account)}:rcpts"


def lock(account: str) -> str:
    return f"{_tag(account)}:lock"


def bulk(account: str) -> str:
    return f"{_tag(account)}:bulk"
