"""HUE-11.5 active content in Office documents, judged with oletools and msoffcrypto-tool
(analysis in :mod:`.office`): VBA macros (auto-exec or not), VBA stomping, Excel 4.0 macro
sheets, DDE fields and links, remote templates and other external relationships, objects
in RTF, encrypted documents nothing can inspect.

OLE Package objects and documents opened with Excel's default password are not judged here:
the expander (``content.open_ole``/``open_rtf``) takes their files out and every detector
judges them like any attachment (``calc.exe`` in a .doc is ``HUE-11.5/exec``).
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

from ..message import ParsedMessage
from ..model import Envelope, Finding, Severity
from . import Detector, equation, filetypes, odf, office
from .content import FileNode, ScanLimits, password_in_body
from .scanning import finding

MACRO = "HUE-11.5/macro"
STOMPING = "HUE-11.5/vba-stomping"
XLM = "HUE-11.5/xlm"
DDE = "HUE-11.5/dde"
EXTERNAL = "HUE-11.5/external-ref"
RTF_OBJECT = "HUE-11.5/rtf-object"
OLE_OBJECT = "HUE-11.5/ole-object"
ENCRYPTED = "HUE-11.5/encrypted-document"
UNREADABLE = "HUE-11.5/office-unreadable"

# Wall time the Office analysis may take per message before the documents left are
# reported as not inspected (a finding, never a silent accept). Each library call is
# bounded by the caps in office.py; ordinary documents take 1-5 ms each.
TIME_BUDGET_SECONDS = 10.0
MAX_EMBEDDED_BYTES = ScanLimits().max_member_bytes  # an OLE file inflated from ActiveMime
# An equation is a few hundred bytes; an exploit needs a few hundred more. What lies beyond
# this is not read for the font-name check (the walk is linear, this bounds it anyway).
MAX_EQUATION_BYTES = 1 << 20


def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
    files = msg.content.files
    deadline = time.monotonic() + TIME_BUDGET_SECONDS
    paths = {f.path for f in files}  # a zip's members are gathered only if it has content.xml
    for node in files:
        kind = node.kind if node.data else ""
        # "slk": a SYLK sheet is also a shell-link-like risky type (carriers); its Excel 4.0
        # macros are judged here on top.
        if kind not in ("ole", "ooxml", "rtf", "text", "html", "binary", "slk", "zip"):
            continue
        if time.monotonic() > deadline:
            yield finding(UNREADABLE, Severity.MEDIUM, "Office analysis time budget spent; "
                          "document not inspected", "office", node)
            continue
        try:
            if kind == "ole":
                yield from _ole(node, _owner(node, files))
            elif kind == "ooxml":
                yield from _ooxml(node, files)
            elif kind == "rtf":
                yield from _dde(node, office.dde_in_rtf(node.data))
            elif kind == "zip":
                if f"{node.path}:content.xml" in paths and \
                        odf.is_package(parts := _parts(node, files)):
                    yield from _odf(node, odf.package(parts))
            elif kind in ("text", "html") and odf.is_flat(node.data):
                yield from _odf(node, odf.flat(node.data))
            elif node.data.startswith(b"ActiveMime"):  # editdata.mso: a compressed .doc
                ole = office.active_mime(node.data, MAX_EMBEDDED_BYTES)
                if ole.startswith(b"\xd0\xcf\x11\xe0"):
                    yield from _ole(office_node(node, ole, 1), node)
            elif kind not in ("binary", "slk") and (blobs := office.embedded_ole(node.data,
                                                                    MAX_EMBEDDED_BYTES)):
                for i, ole in enumerate(blobs, 1):  # Word 2003 XML, Flat OPC, MHT
                    yield from _ole(office_node(node, ole, i), node)
            elif node.data.startswith(b"ID;"):  # SYLK (.slk, often named .xls or .csv)
                rep = office.vba(node.data, node.name)
                if rep.xlm:
                    yield finding(XLM, Severity.HIGH, "SYLK sheet with Excel 4.0 macros",
                                  "office", node)
            elif filetypes.extension(node.name) == "csv" or \
                    node.declared_type.startswith("text/csv"):
                yield from _dde(node, office.dde_in_csv(node.data))
        except Exception as e:  # noqa: BLE001 - oletools on hostile bytes: a finding
            yield finding(UNREADABLE, Severity.LOW, f"Office document could not be analysed "
                          f"({type(e).__name__})", "office", node)
    yield from _events(msg)


def office_node(node: FileNode, data: bytes, i: int) -> FileNode:
    """An OLE file a text Office document carries, as a part of that document."""
    return FileNode(f"{node.path}:ole{i}", f"ole{i}.bin", "", data, node.depth + 1, "ooxml")


def _owner(node: FileNode, files: list[FileNode]) -> FileNode:
    """The document a part belongs to: word/vbaProject.bin's macros are the .docm's (its
    SHA-256 is the one to block and to look up), else the file itself."""
    if node.container != "ooxml":
        return node
    parent = node.path.rsplit(":", 1)[0]
    return next((f for f in files if f.path == parent), node)


def _ole(node: FileNode, owner: FileNode) -> Iterator[Finding]:
    import olefile

    rep = office.vba(node.data, node.name)
    part = f" (part {node.name})" if owner is not node else ""
    yield from _macros(rep, owner, part)
    with olefile.OleFileIO(io.BytesIO(node.data)) as ole:
        names = {"/".join(p): p for p in ole.listdir()}
        for book in ("Workbook", "Book"):
            if book in names and not rep.xlm:
                sheets = office.xls_macro_sheets(ole.openstream(book).read())
                if sheets:
                    yield finding(XLM, Severity.HIGH, f"Excel 4.0 macro sheet(s): {sheets}",
                                  "office", node)
        # An Equation Editor 3.0 object: at the root of its own OLE file (OOXML embeddings,
        # RTF objects), in a storage of the document's in a .doc (ObjectPool/_<id>/) or a
        # .xls (MBD<id>/).
        equations = [path for path in names.values() if path[-1] == "Equation Native"]
        overflow = max((equation.overflow(ole.openstream(path).read(MAX_EQUATION_BYTES))
                        for path in equations), default=0)
        if overflow:
            yield finding(OLE_OBJECT, Severity.HIGH, f"Equation Editor 3.0 object whose font "
                          f"name is {overflow} bytes long (a font's has at most "
                          f"{equation.LONGEST_FONT_NAME}): the CVE-2017-11882 / CVE-2018-0802 "
                          "overflow", "office", owner)
        elif equations:
            yield finding(OLE_OBJECT, Severity.MEDIUM, "Equation Editor 3.0 object (removed "
                          "from Office in 2018 after CVE-2017-11882)", "office", owner)
        if "WordDocument" in names:
            yield from _dde(node, office.dde_in_doc_streams(
                [ole.openstream("WordDocument").read()]))


def _macros(rep: office.VbaReport, owner: FileNode, part: str) -> Iterator[Finding]:
    if rep.vba:
        if rep.autoexec:
            yield finding(MACRO, Severity.HIGH, "VBA macros with auto-exec entry point(s) "
                          + ", ".join(rep.autoexec[:5]) + _keywords(rep) + part, "office",
                          owner)
        elif rep.unreadable_source:
            yield finding(MACRO, Severity.MEDIUM, "VBA project whose source cannot be read"
                          + part, "office", owner)
        else:
            yield finding(MACRO, Severity.MEDIUM, "VBA macros" + _keywords(rep) + part,
                          "office", owner)
        if rep.stomping:
            yield finding(STOMPING, Severity.HIGH, "VBA stomping: the compiled p-code does "
                          "not match the macro source" + part, "office", owner)
    if rep.xlm:
        yield finding(XLM, Severity.HIGH, "Excel 4.0 macros" + part, "office", owner)
    for err in rep.errors:
        yield finding(UNREADABLE, Severity.LOW, f"Office document could not be analysed "
                      f"({err})", "office", owner)


def _parts(node: FileNode, files: list[FileNode]) -> dict[str, bytes]:
    """The members the expander took out of a zip-packaged document, by name."""
    prefix = node.path + ":"
    return {f.path[len(prefix):]: f.data for f in files
            if f.path.startswith(prefix) and ":" not in f.path[len(prefix):]}


def _ooxml(node: FileNode, files: list[FileNode]) -> Iterator[Finding]:
    parts = _parts(node, files)
    if office.ooxml_macro_sheets(parts.get("[Content_Types].xml", b"")):
        yield finding(XLM, Severity.HIGH, "Excel 4.0 macro sheet", "office", node)
    yield from _dde(node, office.dde_in_ooxml(parts))
    rels = {n: d for n, d in parts.items() if n.endswith(".rels")}
    for rtype, target in office.external_relationships(rels)[:5]:
        yield finding(EXTERNAL, Severity.HIGH, f"document loads {rtype} from outside: "
                      f"{target[:200]}", "office", node)


def _odf(node: FileNode, rep: odf.OdfReport) -> Iterator[Finding]:
    """OpenDocument macros: high when an event runs them without the user choosing to, or
    runs a script installed with LibreOffice; else medium, as VBA without auto-exec."""
    modules = f" ({', '.join(rep.modules[:5])})" if rep.modules else ""
    if rep.outside:
        event, url = rep.outside[0]
        yield finding(MACRO, Severity.HIGH, f"OpenDocument event {event} runs a script from "
                      f"outside the document: {url[:200]} (the LibreLogo attacks, "
                      "CVE-2019-9848, CVE-2018-16858)", "office", node)
    elif rep.automatic:
        event, url = rep.automatic[0]
        yield finding(MACRO, Severity.HIGH, f"LibreOffice macro runs by itself on the "
                      f"document's {event} event: {url[:200]}{modules}", "office", node)
    elif rep.modules or rep.events:
        bound = f"; bound to {', '.join(e for e, _ in rep.events[:3])}" if rep.events else ""
        yield finding(MACRO, Severity.MEDIUM, f"LibreOffice macros{modules}{bound}", "office",
                      node)


def _dde(node: FileNode, fields: list[str]) -> Iterator[Finding]:
    if fields:
        shown = "; ".join(" ".join(f.split())[:120] for f in fields[:3])
        yield finding(DDE, Severity.HIGH, f"DDE field or link: {shown}", "office", node)


def _keywords(rep: office.VbaReport) -> str:
    return f" (suspicious: {', '.join(rep.suspicious[:6])})" if rep.suspicious else ""


def _events(msg: ParsedMessage) -> Iterator[Finding]:
    events = msg.content.events
    encrypted = [e for e in events if e.event == "encrypted-document"]
    if encrypted:
        lure = "; password given in the message body" if password_in_body(msg) else ""
        paths = ", ".join(sorted({e.path for e in encrypted})[:5])
        yield finding(ENCRYPTED, Severity.MEDIUM, f"encrypted Office document hides its "
                      f"content ({paths}: {encrypted[0].detail}){lure}", "office")
    objects: dict[str, list[str]] = {}
    for e in events:
        if e.event == "rtf-object":
            objects.setdefault(e.path, []).append(e.detail or "not OLE")
    for path, classes in objects.items():  # one finding per RTF, however many objects
        risky = any(office.rtf_risky_class(c) for c in classes)
        shown = ", ".join(sorted(set(classes))[:5])
        yield finding(RTF_OBJECT, Severity.HIGH if risky else Severity.MEDIUM,
                      f"RTF embeds {len(classes)} object(s) ({shown}) ({path})", "office")


DETECTOR = Detector("office", (MACRO, STOMPING, XLM, DDE, EXTERNAL, RTF_OBJECT, OLE_OBJECT,
                               ENCRYPTED, UNREADABLE), detect)
