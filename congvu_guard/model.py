"""Plain data passed between the milter adapter, the detectors and the policy step."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Action(enum.Enum):
    """What happens to a message. Declared from weakest to strongest."""

    ACCEPT = "accept"
    TAG = "tag"  # deliver, with the findings in the X-Congvu-Guard header
    QUARANTINE = "quarantine"  # deliver to the report box only (HUE-11.11)
    TEMPFAIL = "tempfail"  # temporary 4xx reply: internal error or a dependency down
    REJECT = "reject"  # permanent 5xx reply: stronger than a tempfail, it is final

    @property
    def strength(self) -> int:
        return _STRENGTH[self]


_STRENGTH = {a: i for i, a in enumerate(Action)}


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a detector noticed, with the rule it belongs to and the action it proposes."""

    rule: str  # rule ID, e.g. "HUE-14" (POLICY.md) or "CG-MIME" (a congvu-guard rule)
    detail: str  # short human-readable reason, English, may contain non-ASCII file names
    action: Action
    severity: Severity = Severity.MEDIUM
    detector: str = ""


@dataclass(slots=True)
class Envelope:
    """What the MTA told us about one message before its content."""

    sender: str = ""  # MAIL FROM address without brackets; "" for the null sender
    recipients: list[str] = field(default_factory=list)  # RCPT TO addresses, no brackets
    auth_user: str = ""  # {auth_authen}: the SASL login, "" when not authenticated
    client_addr: str = ""
    client_name: str = ""
    daemon_name: str = ""  # {daemon_name}: which Postfix service called us
    queue_id: str = ""
    declared_size: int | None = None  # ESMTP SIZE= parameter, when the client sent one


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of the policy step for one message (or one envelope stage)."""

    action: Action
    findings: tuple[Finding, ...] = ()
    smtp_code: str = ""  # "552", set for REJECT and TEMPFAIL
    smtp_xcode: str = ""  # "5.3.4"
    smtp_text: str = ""  # ASCII only: Vietnamese without diacritics, then English
    quarantine_to: str = ""  # the report box address, set for QUARANTINE
    exempt: bool = False  # content findings were not enforced: mail to the report box
    timings: tuple[tuple[str, float], ...] = ()  # (stage or detector, seconds)

    @property
    def rules(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for f in self.findings:
            seen.setdefault(f.rule, None)
        return tuple(seen)

    @property
    def smtp_reply(self) -> str:
        if not self.smtp_code:
            return ""
        return f"{self.smtp_code} {self.smtp_xcode} {self.smtp_text}".strip()
