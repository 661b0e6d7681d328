"""The policy step: findings in, one action out.

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
from dataclasses import replace

from . import replies
from .addresses import address_key
from .config import ReportConfig
from .model import Action, Finding, Verdict


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
