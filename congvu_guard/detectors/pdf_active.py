"""HUE-11.5 active content in PDFs, judged on their structure (``detectors/pdf.py``):
JavaScript, Launch actions, automatic actions that reach outside the document, embedded
files (which the expander also takes out and judges like any attachment), XFA, RichMedia,
forms that submit to an outside address; and PDFs that could not be fully inspected."""

from __future__ import annotations

from collections.abc import Iterator

from ..message import ParsedMessage
from ..model import Envelope, Finding
from . import Detector, pdf
from .content import FileNode
from .scanning import finding

PDF = "HUE-11.5/pdf-active"
# Its own rule so that an operator whose units send PDF/A-3 e-invoices (an XML file inside)
# can set it to "tag": the embedded file itself is still judged like any attachment.
EMBEDDED = "HUE-11.5/pdf-embedded-file"
LIMIT = "HUE-11.5/pdf-limit"  # a cap, a bomb or an undecodable object stream: MEDIUM
UNREADABLE = "HUE-11.5/pdf-unreadable"  # no object at all: LOW, like archive-unreadable


def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
    for node in msg.content.files:
        if node.kind != "pdf":
            continue
        report = pdf.analyse_node(node)
        for risk in report.risks:
            rule = EMBEDDED if risk.label == "embedded file" else PDF
            yield finding(rule, risk.severity, f"PDF with {risk.detail}", "pdf", node)
        for problem in report.problems:
            if problem.label == "unreadable" and not report.objects:
                if not _claims_pdf(node):
                    continue  # a text that mentions "%PDF-" near its start is not a PDF
                rule = UNREADABLE
            else:
                rule = LIMIT
            yield finding(rule, problem.severity, f"PDF {problem.detail}", "pdf", node)


def _claims_pdf(node: FileNode) -> bool:
    return (node.data.lstrip()[:5] == b"%PDF-" or node.name.lower().endswith(".pdf")
            or node.declared_type == "application/pdf")


DETECTOR = Detector("pdf", (PDF, EMBEDDED, LIMIT, UNREADABLE), detect)
