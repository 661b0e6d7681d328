"""Helpers shared by the attachment-scanning detectors (HUE-11.5)."""

from __future__ import annotations

from ..config import DEFAULT_POLICY
from ..model import Action, Finding, Severity
from .content import FileNode

# The action each severity proposes: the built-in [policy] table, spelled once in config.py
# (the configured table, per direction, replaces it in policy.decide_content).
SUGGESTED: dict[Severity, Action] = {
    s: DEFAULT_POLICY["inbound"][s.name.lower()] for s in Severity}


def finding(rule: str, severity: Severity, detail: str, detector: str,
            node: FileNode | None = None) -> Finding:
    """A finding whose action the severity policy decides, with the file it concerns."""
    facts: tuple[tuple[str, str], ...] = ()
    if node is not None:
        facts = (("path", node.path), ("type", node.kind), ("sha256", node.sha256))
        detail = f"{detail} in {node.path}"
    return Finding(rule, detail, SUGGESTED[severity], severity, detector, facts=facts,
                   policy=True)
