"""CG-MIME: structural problems in the message (bad boundaries, bad base64, limits hit).

Malformed MIME is how scanners are evaded, but it is also common in harmless mail from old
clients, so the default action is to tag the message, never to block it. The exception is
CG-MIME-AMBIGUOUS: a structure a mail client can read otherwise than the parser did (two
Content-Type headers, one of them with parts; two boundaries; an encoded message/* part),
where the client may show an attachment the scanner never saw. Harmless mail does not do
that, so it is judged by its severity (medium: quarantined by default).
"""

from __future__ import annotations

from collections.abc import Iterator

from ..message import AMBIGUOUS, ParsedMessage
from ..model import Action, Envelope, Finding, Severity
from . import Detector
from .scanning import finding

RULE = "CG-MIME"
RULE_LIMIT = "CG-MIME-LIMIT"
RULE_AMBIGUOUS = "CG-MIME-AMBIGUOUS"
_MAX_LISTED = 5


def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
    limits = [d for d in msg.defects if d.startswith("LimitExceeded")]
    ambiguous = [d for d in msg.defects if d.rsplit(": ", 1)[-1] in AMBIGUOUS]
    others = [d for d in msg.defects
              if not d.startswith("LimitExceeded") and d.rsplit(": ", 1)[-1] not in AMBIGUOUS]
    if ambiguous:
        yield finding(RULE_AMBIGUOUS, Severity.MEDIUM, "MIME structure a mail client can read "
                      "otherwise than the scanner: " + ", ".join(ambiguous[:_MAX_LISTED]), "mime")
    if limits:
        yield Finding(RULE_LIMIT, "MIME structure exceeds scan limits: " + ", ".join(limits),
                      Action.TAG, Severity.MEDIUM, "mime")
    if others:
        kinds = sorted({d.rsplit(": ", 1)[-1] for d in others})
        listed = ", ".join(kinds[:_MAX_LISTED]) + (" ..." if len(kinds) > _MAX_LISTED else "")
        yield Finding(RULE, f"malformed MIME: {listed}", Action.TAG, Severity.LOW, "mime")


DETECTOR = Detector("mime", (RULE, RULE_LIMIT, RULE_AMBIGUOUS), detect)
