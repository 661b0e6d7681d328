"""The policy: findings in, one verdict out, through an ordered list of named gates.

:data:`GATES` is the order a message meets them (``engine.Engine`` runs them; ``gates.py``
derives from it which rule IDs ``[actions]`` may name). Each gate declares its rule IDs and
whether ``[actions]``/``[policy.*]`` steer it; a fixed gate's rules carry the reason and the
key to change instead, and an override naming one is refused at load (``gates``).

The content gate (:func:`decide_content`):

1. Each finding's proposed action is replaced by the ``[actions]`` override for its rule.
2. The strongest action wins (accept < tag < quarantine < tempfail < reject).
3. HUE-11.11: mail addressed to the report box is never blocked by content rules. When every
   recipient is a report box the message is delivered and tagged; when some are, a block
   becomes a quarantine so the report still arrives and the other recipients are spared.
4. A quarantine needs a report box: without one configured the message is rejected, never
   delivered to its recipients.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from . import replies
from .addresses import address_key
from .config import ReportConfig
from .detectors.budget import RULE as SCAN_BUDGET_RULE
from .model import Action, Finding, Verdict

SIZE_RULE = "HUE-14"
STAMP_RULE = "CG-STAMP"
RATE_RULE = "HUE-13.2d"
STATE_RULE = "CG-STATE"  # shared state (Redis) unavailable and on_redis_down = "tempfail"
MALWARE_LOCK_RULE = "HUE-13.2c"
INACTIVITY_LOCK_RULE = "HUE-13.2a"  # monitor/inactivity.py
LOGIN_LOCK_RULE = "BP-6.2d"  # monitor/logins.py

_LOCKED = ("a locked account is refused at MAIL FROM whatever the reason of its lock; "
           "unlock it with congvu-guard locks unlock (HUE-13.3)")
_STATE = ("a tempfail while Redis is down loses no mail; set [ratelimit] "
          "on_redis_down = \"fallback\" instead")

Point = Literal["mail-from", "end-of-data"]


@dataclass(frozen=True, slots=True)
class Gate:
    """One named gate. ``fixed``: rule ID -> why ``[actions]`` cannot change its verdict and
    which key to change instead. ``steerable``: its findings go through ``[actions]`` and
    ``[policy.*]`` (the content gate: every detector's rules too)."""

    name: str
    at: tuple[Point, ...]
    does: str
    steerable: bool = False
    rules: tuple[str, ...] = ()  # the steerable gate's own rules (besides the detectors')
    fixed: Mapping[str, str] | None = None


GATES: tuple[Gate, ...] = (
    Gate("size", ("mail-from", "end-of-data"), "HUE-14: reject over the size limit "
         "(declared SIZE=, counted bytes, decoded content with size_basis = decoded)",
         fixed={SIZE_RULE: "the size gate rejects before the message is buffered or parsed; "
                           "change [limits] max_message_bytes instead"}),
    Gate("lock", ("mail-from",), "refuse a locked sending account (HUE-13.2a/c/d, BP-6.2d)",
         fixed={MALWARE_LOCK_RULE: _LOCKED, INACTIVITY_LOCK_RULE: _LOCKED,
                LOGIN_LOCK_RULE: _LOCKED, STATE_RULE: _STATE}),
    Gate("content", ("end-of-data",), "every detector's findings and the scan budget through "
         "[actions], [policy.*], the report box (decide_content) and the officer (HUE-11.2)",
         steerable=True, rules=(SCAN_BUDGET_RULE,)),
    Gate("release", ("end-of-data",), "a verified release header turns a block into a tag"),
    Gate("malware-lock", ("end-of-data",), "HUE-13.2c: malware from an authenticated user "
         "locks the account (a side effect, the verdict unchanged)",
         fixed={MALWARE_LOCK_RULE: _LOCKED}),
    Gate("origin", ("end-of-data",), "HUE-11.6: own headers stripped, origin stamp added; "
         "tempfail without the stamp key",
         fixed={STAMP_RULE: "mail from outside is tempfailed without the origin-stamp key so "
                            "that no forward escapes the gate; set [forwarding] "
                            "stamp_key_file instead"}),
    Gate("rate", ("end-of-data",), "HUE-13.2d: count a delivered message; the one over the "
         "limit locks the account",
         fixed={RATE_RULE: "the rate gate's reject is the account lock itself; change "
                           "[ratelimit] max_messages or add the account to [bulk_senders] "
                           "instead",
                STATE_RULE: _STATE}),
    Gate("auth-header", ("end-of-data",), "Authentication-Results on delivered, checked mail"),
    Gate("subject-prefix", ("end-of-data",), "[scan] subject_prefix on tagged mail"),
)


def gates_at(point: Point) -> tuple[Gate, ...]:
    """The gates met at one point of the SMTP session, in order."""
    return tuple(g for g in GATES if point in g.at)


def fixed_rules(gates: Iterable[Gate] = GATES) -> dict[str, str]:
    """Rule ID -> why it is fixed and what to change instead, from every fixed gate."""
    return {rule: why for g in gates for rule, why in (g.fixed or {}).items()}


def steerable_rules(gates: Iterable[Gate] = GATES) -> set[str]:
    """The gates' own steerable rules (the detectors' come on top)."""
    return {rule for g in gates if g.steerable for rule in g.rules}


class ReportBox:
    """The report box addresses (HUE-11.11, HUE-12.2): the primary and any extra ones."""

    def __init__(self, cfg: ReportConfig) -> None:
        self.address = cfg.address
        self._keys = {address_key(a) for a in (cfg.address, *cfg.extra_addresses) if a}

    def is_report_box(self, address: str) -> bool:
        return address_key(address) in self._keys

    def among(self, recipients: Sequence[str]) -> list[str]:
        return [r for r in recipients if self.is_report_box(r)]


def _override(findings: Iterable[Finding], actions: Mapping[str, Action],
              table: Mapping[str, Action]) -> tuple[Finding, ...]:
    """The action of each finding: ``[actions]`` by rule first; for scanning findings then
    the direction's policy table by rule, then by severity; else the detector's own."""
    out = []
    for f in findings:
        wanted = actions.get(f.rule)
        if wanted is None and f.policy:
            wanted = table.get(f.rule) or table.get(f.severity.name.lower())
        out.append(f if wanted is None or wanted is f.action else replace(f, action=wanted))
    return tuple(out)


def _strongest(findings: Sequence[Finding]) -> Finding | None:
    """The finding with the strongest action; among equals the most severe explains it."""
    best: Finding | None = None
    for f in findings:
        if best is None or (f.action.strength, f.severity) > (best.action.strength,
                                                              best.severity):
            best = f
    return best


def _refused_recipients(found: Sequence[Finding]) -> tuple[set[str], Finding | None]:
    keys: set[str] = set()
    first: Finding | None = None
    for f in found:
        if f.recipients and f.action is Action.REJECT:
            keys.update(address_key(r) for r in f.recipients)
            first = first or f
    return keys, first


def decide_content(
    findings: Iterable[Finding],
    recipients: Sequence[str],
    report: ReportBox,
    actions: Mapping[str, Action],
    table: Mapping[str, Action] | None = None,
) -> Verdict:
    """Map the content findings for one message to its verdict."""
    found = _override(findings, actions, table or {})
    refused, first_refusal = _refused_recipients(found)
    removed = tuple(r for r in recipients if address_key(r) in refused)
    remaining = [r for r in recipients if address_key(r) not in refused]
    if removed and not remaining:
        assert first_refusal is not None
        reply = replies.content_rejected(first_refusal.rule, first_refusal.detail)
        return Verdict(Action.REJECT, found, *reply, removed_recipients=removed)
    whole = [f for f in found if not (f.recipients and f.action is Action.REJECT)]
    verdict = _decide_message(whole, remaining, report)
    if removed:
        action = Action.TAG if verdict.action is Action.ACCEPT else verdict.action
        return replace(verdict, action=action, findings=found, removed_recipients=removed)
    return replace(verdict, findings=found)


def _decide_message(found: Sequence[Finding], recipients: Sequence[str], report: ReportBox,
                    ) -> Verdict:
    top = _strongest(found)
    if top is None or top.action is Action.ACCEPT:
        return Verdict(Action.ACCEPT, tuple(found))
    action = top.action
    boxes = report.among(recipients)
    if boxes and action is not Action.TAG:
        if len(boxes) == len(recipients):
            return Verdict(Action.TAG, tuple(found), exempt=True)
        return Verdict(Action.QUARANTINE, tuple(found), quarantine_to=boxes[0])
    if action is Action.QUARANTINE:
        if not report.address:
            return Verdict(Action.REJECT, tuple(found), *replies.quarantine_unavailable(top.rule))
        return Verdict(Action.QUARANTINE, tuple(found), quarantine_to=report.address)
    if action is Action.REJECT:
        return Verdict(Action.REJECT, tuple(found), *replies.content_rejected(top.rule, top.detail))
    if action is Action.TEMPFAIL:
        return Verdict(Action.TEMPFAIL, tuple(found), *replies.tempfail())
    return Verdict(Action.TAG, tuple(found))
