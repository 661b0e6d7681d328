"""HUE-11.5 carriers that run or fetch something when opened: compiled HTML help (CHM),
Internet shortcuts and other shell-link formats, files Windows hands to a program that runs
them (launchers: .msc, .msix, .rdp ...), SVG images with active content, script-like files
embedded in OneNote sections.

Files these carriers hold (OneNote attachments, the files on a disk image, RAR members) are
taken out by the expander (:mod:`.carriers`) and judged by the other detectors like any
attachment."""

from __future__ import annotations

from collections.abc import Iterator

from ..message import ParsedMessage
from ..model import Envelope, Finding, Severity
from . import Detector, filetypes
from .carriers import LAUNCHERS, LAUNCHERS_THAT_ASK, SHELL_LINKS, rar5_streams, svg_active
from .scanning import finding

CHM = "HUE-11.5/chm"
SHELL_LINK = "HUE-11.5/shell-link"
LAUNCHER = "HUE-11.5/launcher"
RAR_STREAM = "HUE-11.5/rar-stream"
SVG = "HUE-11.5/svg-active"
ONENOTE = "HUE-11.5/onenote-embedded"
# Kinds of a file embedded in a OneNote section that run when double-clicked without a
# telltale pattern of their own: the 2023 .one campaigns embedded HTA pages that begin with
# <script> (sniffed html), VBScript and batch text. Pictures, PDFs and Office files are
# judged on their own; executables and known scripts are already high.
_ONENOTE_SUSPECT = {"html", "text", "svg", "rtf"}

_LINK_NAMES = {
    "url": "Internet shortcut (.url/.website)", "iqy": "Excel web query (.iqy)",
    "slk": "SYLK spreadsheet (.slk)", "settingcontent": "settings shortcut "
    "(.settingcontent-ms)", "library-ms": "library description (.library-ms)",
    "search-ms": "saved search (.search-ms)",
    "searchconnector-ms": "search connector (.searchConnector-ms)",
}


def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
    for node in msg.content.files:
        named = filetypes.ext_kind(node.name)
        # By content only for a file someone can open (named, inside another, or not
        # declared as text): the message's own text may quote a shortcut.
        openable = node.name or node.depth or not node.declared_type.startswith("text/")
        kind = node.kind if node.data and openable else ""
        if "chm" in (kind, named):
            # Compiled help runs the script and ActiveX its pages hold, outside the browser.
            yield finding(CHM, Severity.HIGH, "compiled HTML help (CHM)", "carriers", node)
        elif (link := kind if kind in SHELL_LINKS else named) in SHELL_LINKS:
            # Each opens a remote location, runs a command or fills cells from a URL (the
            # same job as a .lnk shortcut, hence the same severity).
            yield finding(SHELL_LINK, Severity.HIGH, _LINK_NAMES[link], "carriers", node)
        elif ext := _launcher(node.name, node.also_named):
            severity = Severity.MEDIUM if ext in LAUNCHERS_THAT_ASK else Severity.HIGH
            yield finding(LAUNCHER, severity, f"{LAUNCHERS[ext]}: Windows opens it with a "
                          "program that runs what it says", "carriers", node)
        elif kind == "rar" and (streams := rar5_streams(node.data)):
            climbing = [n for n in streams if ".." in n]
            if climbing:
                yield finding(RAR_STREAM, Severity.HIGH, "RAR stores an NTFS stream whose name "
                              f"climbs out of the extraction folder: {climbing[0][:200]!r} "
                              "(CVE-2025-8088)", "carriers", node)
            else:
                yield finding(RAR_STREAM, Severity.MEDIUM, "RAR stores NTFS alternate data "
                              "streams, which WinRAR writes next to the files and the scanner "
                              f"does not read: {', '.join(n[:60] for n in streams[:3])}",
                              "carriers", node)
        elif kind == "svg" and (active := svg_active(node.data)):
            yield finding(SVG, Severity.MEDIUM, "SVG image with active content: "
                          + ", ".join(active), "carriers", node)
        if node.container == "onenote" and kind in _ONENOTE_SUSPECT:
            yield finding(ONENOTE, Severity.MEDIUM, f"{kind} file embedded in a OneNote "
                          "section", "carriers", node)


def _launcher(name: str, others: tuple[str, ...]) -> str:
    """The launcher extension of the part's name, or of another name its MIME headers give
    it (a client may save it under that one); "" when none."""
    for n in (name, *others):
        if (ext := filetypes.extension(n)) in LAUNCHERS:
            return ext
    return ""


DETECTOR = Detector("carriers", (CHM, SHELL_LINK, LAUNCHER, RAR_STREAM, SVG, ONENOTE), detect)
