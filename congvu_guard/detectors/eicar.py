"""HUE-11.5: the EICAR anti-virus test file, in any decoded part.

EICAR is how a data centre checks that its mail scanning works end to end: a message that
carries it must be quarantined to the report box (HUE-11.11), never delivered.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..message import ParsedMessage
from ..model import Action, Envelope, Finding, Severity
from . import Detector

RULE = "HUE-11.5"
# Assembled from two halves so that this source file is not itself flagged by scanners.
EICAR = (
    b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$"
    + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
)
_SCAN_PREFIX = 4096


def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
    for part in msg.parts:
        if EICAR in part.payload[:_SCAN_PREFIX]:
            where = f"attachment {part.filename!r}" if part.filename else f"part {part.path}"
            yield Finding(RULE, f"EICAR test file in {where}", Action.QUARANTINE,
                          Severity.HIGH, "eicar")


DETECTOR = Detector("eicar", (RULE,), detect)
