"""HUE-11.5 archives the scanner could not see into: encrypted (with the password-in-body
lure noted), zip bombs, nesting or member counts past the limits, unreadable archives."""

from __future__ import annotations

from collections.abc import Iterator

from ..message import ParsedMessage
from ..model import Envelope, Finding, Severity
from . import Detector
from .content import password_in_body
from .scanning import finding

ENCRYPTED = "HUE-11.5/encrypted-archive"
BOMB = "HUE-11.5/archive-bomb"
LIMIT = "HUE-11.5/archive-limit"
UNREADABLE = "HUE-11.5/archive-unreadable"


def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
    events = msg.content.events
    encrypted = [e for e in events if e.event == "encrypted"]
    if encrypted:
        lure = "; password given in the message body" if password_in_body(msg) else ""
        paths = ", ".join(sorted({e.path.rsplit(":", 1)[0] for e in encrypted})[:5])
        yield finding(ENCRYPTED, Severity.MEDIUM,
                      f"encrypted archive hides its content ({paths}){lure}", "archives")
    for e in events:
        if e.event == "bomb":
            yield finding(BOMB, Severity.MEDIUM, f"archive bomb: {e.detail} ({e.path})",
                          "archives")
        elif e.event in ("too-deep", "too-many"):
            yield finding(LIMIT, Severity.MEDIUM, f"{e.detail} ({e.path})", "archives")
        elif e.event == "unreadable":
            # MEDIUM (issue 14): an archive, or a member, the scanner could not read is
            # one it could not judge; a LOW tag delivered what Windows still opens.
            yield finding(UNREADABLE, Severity.MEDIUM, f"unreadable archive: {e.detail} "
                          f"({e.path})", "archives")


DETECTOR = Detector("archives", (ENCRYPTED, BOMB, LIMIT, UNREADABLE), detect)
