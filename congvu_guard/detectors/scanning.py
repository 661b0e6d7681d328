"""Helpers shared by the attachment-scanning detectors (HUE-11.5)."""

from __future__ import annotations

from ..model import Action, Finding, Severity
from .content import FileNode

SUGGESTED = {
    Severity.CRITICAL: Action.REJECT,
    Severity.HIGH: Action.REJECT,
    Severity.MEDIUM: Action.QUARANTINE,
    Severity.LOW: Action.TAG,
    Severity.INFO: Action.TAG,
}


def finding(rule: str, severity: Severity, detail: str, detector: str,
            node: FileNode | None = None) -> Finding:
    """A finding whose action the severity policy decides, with the file it concerns."""
    facts: tuple[tuple[str, str], ...] = ()
    if node is not None:
        facts = (("path", node.path), ("type", node.kind), ("sha256", node.sha256))
        detail = f"{detail} in {node.path}"
    return Finding(rule, detail, SUGGESTED[severity], severity, detector, facts=facts,
                   policy=True)
