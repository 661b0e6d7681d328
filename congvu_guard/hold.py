"""HUE-11.2: a message held for a classification mark goes to the unit's security officer,
not to the users' report box.

The policy step (policy.py) turns a finding whose action is ``quarantine`` into delivery to
the report box; for HUE-11.2 this step then redirects it to ``[secret] officer``. Stronger
outcomes stay (malware is still rejected, an internal error still tempfails), mail addressed
only to the report box stays exempt (HUE-11.11), and without an officer the message is
rejected, never delivered to its recipients.
"""

from __future__ import annotations

from dataclasses import replace

from . import replies
from .model import Action, Verdict

RULE = "HUE-11.2"


def to_officer(verdict: Verdict, officer: str) -> Verdict:
    if verdict.exempt or verdict.action not in (Action.QUARANTINE, Action.REJECT):
        return verdict
    held = [f for f in verdict.findings if f.rule == RULE and f.action is Action.QUARANTINE]
    if not held:
        return verdict
    if any(f.action in (Action.REJECT, Action.TEMPFAIL) and not f.recipients
           for f in verdict.findings):
        return verdict  # a stronger finding (malware, an error) decides
    if not officer:
        code, xcode, text = replies.content_rejected(RULE, held[0].detail)
        return replace(verdict, action=Action.REJECT, quarantine_to="", smtp_code=code,
                       smtp_xcode=xcode, smtp_text=text)
    return replace(verdict, action=Action.QUARANTINE, quarantine_to=officer,
                   smtp_code="", smtp_xcode="", smtp_text="")
