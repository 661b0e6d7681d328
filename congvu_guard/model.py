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
    # When set, the action applies to these envelope recipients only (e.g. an auto-forward
    # to gmail.com is refused for that recipient while the others still get the message).
    recipients: tuple[str, ...] = ()
    # Structured facts for logs and metrics, e.g. (("account", "bob@hue.gov.vn"),).
    facts: tuple[tuple[str, str], ...] = ()
    # True: the action comes from the [policy.inbound]/[policy.outbound] table (by rule ID,
    # else by severity); ``action`` is then only the detector's suggestion.
    policy: bool = False

    def fact(self, key: str) -> str:
        return next((v for k, v in self.facts if k == key), "")


@dataclass(slots=True)
class Envelope:
    """What the MTA told us about one message before its content."""

    sender: str = ""  # MAIL FROM address without brackets; "" for the null sender
    recipients: list[str] = field(default_factory=list)  # RCPT TO addresses, no brackets
    # ORCPT= of each recipient (RFC 3461), "" when absent: who it was first addressed to.
    original_recipients: list[str] = field(default_factory=list)
    auth_user: str = ""  # {auth_authen}: the SASL login, "" when not authenticated
    client_addr: str = ""
    client_name: str = ""
    daemon_name: str = ""  # {daemon_name}: which Postfix service called us
    queue_id: str = ""
    declared_size: int | None = None  # ESMTP SIZE= parameter, when the client sent one
    hop: str = ""  # set by `scan --hop`; otherwise derived from daemon, login and client


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
    removed_recipients: tuple[str, ...] = ()  # refused recipients; the rest get the message
    add_headers: tuple[tuple[str, str], ...] = ()  # e.g. the origin stamp at the inbound door
    strip_headers: tuple[str, ...] = ()  # header names whose arriving copies are removed
    subject_prefix: str = ""  # "tag" with [scan] subject_prefix: prepended to the Subject
    released: bool = False  # released from quarantine by the security team
    parts_scanned: int = 0
    bytes_scanned: int = 0
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
