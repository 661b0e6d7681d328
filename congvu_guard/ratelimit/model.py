"""Plain data of the rate limiter and the lock workflow."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Status(enum.Enum):
    OK = "ok"  # counted, under the limit
    EXCEEDED = "exceeded"  # this message crossed the limit: rejected, account now locked
    LOCKED = "locked"  # already locked
    UNLIMITED = "unlimited"  # a registered bulk sender with no limit
    SKIPPED = "skipped"  # not limited (no account, or the limiter is off)
    UNAVAILABLE = "unavailable"  # Redis down and on_redis_down = "tempfail"


@dataclass(frozen=True)
class Lock:
    account: str
    reason: str  # rule ID, e.g. HUE-13.2d
    by: str  # who or what locked: "milter@mx1", an operator's name, "monitor"
    at: float  # unix time, seconds
    evidence: dict[str, str] = field(default_factory=dict)
    expires_at: float | None = None
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        return {"account": self.account, "reason": self.reason, "by": self.by, "at": self.at,
                "expires_at": self.expires_at, "note": self.note, "evidence": self.evidence}


@dataclass(frozen=True)
class RateResult:
    status: Status
    account: str = ""
    count: int = 0  # messages in the window, this one included when counted
    limit: int = 0
    window_seconds: int = 0
    lock: Lock | None = None
    fallback: bool = False  # decided by the in-memory fallback, not Redis
