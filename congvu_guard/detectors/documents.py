"""HUE-11.5 active content in documents: Office macros (OLE and OOXML), HTML that smuggles a
file past the scanner. PDFs: ``pdf_active.py``."""

from __future__ import annotations

from collections.abc import Iterator

from ..message import ParsedMessage
from ..model import Envelope, Finding, Severity
from . import Detector, filetypes
from .scanning import finding

MACRO = "HUE-11.5/macro"
SMUGGLING = "HUE-11.5/html-smuggling"


def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
    for node in msg.content.files:
        kind = node.kind
        if (kind == "ole" and node.container != "ooxml") or kind == "ooxml":
            has, auto = (filetypes.ole_macros if kind == "ole" else filetypes.ooxml_macros)(
                node.data)
            if has:
                what = "Office macros with an auto-exec entry point" if auto else "Office macros"
                yield finding(MACRO, Severity.MEDIUM, what, "documents", node)
        elif kind == "html" and (node.name or node.depth):
            hits = filetypes.html_smuggling(node.data)
            if hits:
                yield finding(SMUGGLING, Severity.MEDIUM, "HTML smuggling markers",
                              "documents", node)


DETECTOR = Detector("documents", (MACRO, SMUGGLING), detect)
