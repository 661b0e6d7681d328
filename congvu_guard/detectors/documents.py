"""HUE-11.5 active content in documents: HTML that smuggles a file past the scanner.
Office documents: ``office_docs.py``; PDFs: ``pdf_active.py``."""

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
        if kind == "html" and (node.name or node.depth):
            hits = filetypes.html_smuggling(node.data)
            if hits:
                yield finding(SMUGGLING, Severity.MEDIUM, "HTML smuggling markers",
                              "documents", node)


DETECTOR = Detector("documents", (SMUGGLING,), detect)
