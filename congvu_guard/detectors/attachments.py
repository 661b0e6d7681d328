"""HUE-11.5 type policy: executables, scripts, shortcuts, disk images and files whose name
or declared type lies about their content, judged by content, inside archives too."""

from __future__ import annotations

from collections.abc import Iterator

from ..message import ParsedMessage
from ..model import Envelope, Finding, Severity
from . import Detector, filetypes
from .scanning import finding

EXEC = "HUE-11.5/exec"
SCRIPT = "HUE-11.5/script"
LNK = "HUE-11.5/lnk"
DISK = "HUE-11.5/disk-image"
LIE = "HUE-11.5/name-lie"
BAD_EXT = "HUE-11.5/bad-extension"


def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
    for node in msg.content.files:
        kind = node.kind if node.data else filetypes.ext_kind(node.name)
        if kind in filetypes.EXECUTABLES:
            yield finding(EXEC, Severity.HIGH, f"{kind} executable", "attachments", node)
        elif kind in filetypes.SCRIPTS and (node.name or node.depth):
            yield finding(SCRIPT, Severity.HIGH, f"{kind} script", "attachments", node)
        elif kind == "lnk":
            yield finding(LNK, Severity.HIGH, "Windows shortcut (LNK)", "attachments", node)
        elif kind in filetypes.DISK_IMAGES:
            yield finding(DISK, Severity.MEDIUM, f"{kind} disk image", "attachments", node)
        elif node.name and (named := filetypes.dangerous_name(node.name)):
            severity = Severity.MEDIUM if named in filetypes.DISK_IMAGES else Severity.HIGH
            yield finding(BAD_EXT, severity, f"file name of a {named} file", "attachments",
                          node)
        for problem in filetypes.name_lies(node.name, kind, node.declared_type):
            yield finding(LIE, Severity.MEDIUM, problem, "attachments", node)
        # A client that reads the other header saves the file under that name.
        for other in node.also_named:
            if named := filetypes.dangerous_name(other):
                severity = Severity.MEDIUM if named in filetypes.DISK_IMAGES else Severity.HIGH
                yield finding(BAD_EXT, severity, f"another of its MIME headers names it "
                              f"{other!r}, the name of a {named} file", "attachments", node)
                break


DETECTOR = Detector("attachments", (EXEC, SCRIPT, LNK, DISK, LIE, BAD_EXT), detect)
