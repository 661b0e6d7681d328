"""HUE-11.5 active content in documents: PDF JavaScript or launch actions, HTML that
smuggles a file past the scanner (Office documents: office_docs.py)."""

from __future__ import annotations

from collections.abc import Iterator

from ..message import ParsedMessage
from ..model import Envelope, Finding, Severity
from . import Detector, filetypes
from .scanning import finding

MACRO = "HUE-11.5/macro"
PDF = "HUE-11.5/pdf-active"
SMUGGLING = "HUE-11.5/html-smuggling"


def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
    for node in msg.content.files:
        kind = node.kind
        # Office macros (HUE-11.5/macro) are judged by detectors/office_docs.py (oletools).
        if kind == "pdf":
            risks = filetypes.pdf_risks(node.data)
            if risks:
                yield finding(PDF, Severity.MEDIUM, "PDF with " + ", ".join(risks),
                              "documents", node)
        elif kind == "html" and (node.name or node.depth):
            hits = filetypes.html_smuggling(node.data)
            if hits:
                yield finding(SMUGGLING, Severity.MEDIUM, "HTML smuggling markers",
                              "documents", node)


DETECTOR = Detector("documents", (PDF, SMUGGLING), detect)
