"""HUE-11.5 ClamAV (optional), the detector: clamd's answer, asked once per message by the
services stage (:mod:`congvu_guard.services.clamd`), as findings. Pure: it reads
:attr:`Facts.clamav <congvu_guard.facts.Facts.clamav>`.

clamd down or failing: ``[clamav] on_failure`` decides, ``tempfail`` (451) or ``tag``
(delivered with a header saying it was not virus-scanned); never a silent accept.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..message import ParsedMessage
from ..model import Action, Envelope, Finding, Severity
from . import Detector
from .scanning import finding

RULE = "HUE-11.5/clamav"
RULE_DOWN = "HUE-11.5/clamav-unavailable"


def build(on_failure: str) -> Detector:
    """The detector for a clamd whose failures mean ``on_failure`` ("tempfail" or "tag")."""
    down = Action.TEMPFAIL if on_failure == "tempfail" else Action.TAG

    def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
        facts = msg.facts.clamav
        if facts is None:  # clamd not asked (not configured)
            return
        if facts.unavailable:
            yield Finding(RULE_DOWN, f"not virus-scanned: {facts.unavailable}", down,
                          Severity.MEDIUM, "clamav")
        elif facts.signature:
            yield finding(RULE, Severity.CRITICAL, f"ClamAV {facts.signature}", "clamav")

    return Detector("clamav", (RULE, RULE_DOWN), detect)
