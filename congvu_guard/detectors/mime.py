"""CG-MIME: structural problems in the message (bad boundaries, bad base64, limits hit).

Malformed MIME is how scanners are evaded, but it is also common in harmless mail from old
clients, so the default action is to tag the message, never to block it.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..message import ParsedMessage
from ..model import Action, Envelope, Finding, Severity
from . import Detector

RULE = "CG-MIME"
RULE_LIMIT = "CG-MIME-LIMIT"
_MAX_LISTED = 5


def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
    limits = [d for d in msg.defects if d.startswith("LimitExceeded")]
    others = [d for d in msg.defects if not d.startswith("LimitExceeded")]
    if limits:
        yield Finding(RULE_LIMIT, "MIME structure exceeds scan limits: " + ", ".join(limits),
                      Action.TAG, Severity.MEDIUM, "mime")
    if others:
        kinds = sorted({d.rsplit(": ", 1)[-1] for d in others})
        listed = ", ".join(kinds[:_MAX_LISTED]) + (" ..." if len(kinds) > _MAX_LISTED else "")
        yield Finding(RULE, f"malformed MIME: {listed}", Action.TAG, Severity.LOW, "mime")


DETECTOR = Detector("mime", (RULE, RULE_LIMIT), detect)
