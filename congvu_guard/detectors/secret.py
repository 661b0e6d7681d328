"""HUE-11.2: classified documents (văn bản mật) stay off the mail system.

Looks for a classification mark (see :mod:`.marks`) in the subject, the message text and
the text of every file the message carries, at any depth (:mod:`.doctext`). A marked
message is held for the unit's security officer by default (``[secret] outbound`` /
``inbound``; the routing is :func:`congvu_guard.hold.to_officer`).

Mail at the outbound gate was already judged at the door it came in through (submission,
internal or inbound), and a message the officer released must pass the gate: the gate hop
is not looked at again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from ..config import Config, ConfigError
from ..message import ParsedMessage
from ..model import Action, Envelope, Finding, Severity
from ..verdict_cache import VerdictCache
from . import Detector, doctext, marks, ocr
from .content import FileNode

RULE = "HUE-11.2"
UNREADABLE = "HUE-11.2/unreadable"
ACTIONS = {"hold": Action.QUARANTINE, "reject": Action.REJECT, "tag": Action.TAG,
           "accept": Action.ACCEPT}
LEVEL_ASCII = {"mat": "MAT", "toi-mat": "TOI MAT", "tuyet-mat": "TUYET MAT"}
# Reading documents' text is bounded per message: 40 Office files of 1 MiB took 0.3 s on
# one core of the CI machine; 2 s leaves room for PDFs and a loaded host.
TIME_BUDGET = 2.0
MAX_FINDINGS = 5
_SKIP_PART_SUFFIXES = (".xml", ".rels", ".vml", ".bin", ".png", ".jpeg", ".jpg", ".emf", ".wmf")
# The blocks of a document an attachment carries are remembered by its content (issue 17):
# the same circular sent to every unit, or kept in a zip of the dossier, is read once per
# process. pdfium's text layer of a 200 KB PDF is 0.25-0.35 ms a message through the
# milter; six document.xml parts of a zip of Word files 0.5 ms. A message's own text parts
# are not remembered (each is new). Bounded in entries and in the bytes of the blocks.
BLOCK_CACHE_ENTRIES = 1024
BLOCK_CACHE_BYTES = 8 * 1024 * 1024
_BLOCK_BYTES = 64  # a Block's tuple and its "where" label, beyond its text (sys.getsizeof)
# (True when the blocks belong to the enclosing package rather than the file, the blocks)
BlockCache = VerdictCache[tuple[bool, tuple[doctext.Block, ...]]]


def direction(env: Envelope) -> str:
    return "inbound" if env.hop == "inbound" else "outbound"


def _charsets(msg: ParsedMessage) -> dict[str, str]:
    return {p.path.replace(".", "/") + (f"/{p.filename}" if p.filename else ""): p.charset
            for p in msg.parts}


def node_blocks(node: FileNode, charset: str = "",
                deadline: float = 0.0) -> tuple[str, list[doctext.Block]] | None:
    """(the document the blocks belong to, its blocks); None when the file has no text we
    read. A part of an Office/ODF package belongs to the package."""
    if node.container in ("ooxml", "zip") and ":" in node.path:
        found = doctext.xml_part_blocks(node.name, node.data, deadline)
        if found is not None:
            return node.path.rsplit(":", 1)[0], found
        if node.container == "ooxml" or node.name.lower().endswith(_SKIP_PART_SUFFIXES):
            return None
    kind = node.kind
    if kind == "ole" and node.container != "ooxml":
        return node.path, doctext.ole_blocks(node.data, deadline)
    if kind == "pdf":
        return node.path, doctext.pdf_blocks(node.data, deadline)
    if kind == "rtf":
        return node.path, doctext.rtf_blocks(node.data, deadline)
    if kind == "html" or (kind == "text" and node.declared_type == "text/html"):
        text = doctext.decode_text(node.data[:doctext.MAX_XML_BYTES], charset)
        return node.path, doctext.html_blocks(text, deadline=deadline,
                                              keep=marks.BLOCK_FILTER)
    if kind == "text":
        text = doctext.decode_text(node.data[:doctext.MAX_XML_BYTES], charset)
        return node.path, doctext.text_blocks(text, deadline=deadline,
                                              keep=marks.BLOCK_FILTER)
    return None


def _remembered(node: FileNode) -> bool:
    """A file an attachment carries (a document, a part of a package or archive), not a
    text part of the message itself."""
    return ":" in node.path or node.kind in ("pdf", "ole", "rtf")


def cached_node_blocks(node: FileNode, charset: str, deadline: float,
                       cache: BlockCache | None) -> tuple[str, list[doctext.Block]] | None:
    """``node_blocks`` through ``cache``. The key is everything node_blocks reads: the
    bytes (sha256), the kind, the declared type, the name, the charset and where the file
    sits. Blocks cut by the deadline are not remembered."""
    if cache is None or not _remembered(node):
        return node_blocks(node, charset, deadline)
    key = (node.sha256, node.kind, node.declared_type, node.name, charset, node.container,
           ":" in node.path)
    hit = cache.get(key)
    if hit is not None:
        parent, blocks = hit
        return (node.path.rsplit(":", 1)[0] if parent else node.path), list(blocks)
    got = node_blocks(node, charset, deadline)
    if got is None or (deadline and time.monotonic() > deadline):
        return got
    parent = got[0] != node.path
    cache.put(key, (parent, tuple(got[1])),
              sum(len(b.text) + len(b.where) + _BLOCK_BYTES for b in got[1]))
    return got


def find_marks(msg: ParsedMessage, budget: float = TIME_BUDGET, ocr_budget: float = 0.0,
               cache: BlockCache | None = None,
               ) -> tuple[list[tuple[str, list[marks.Mark]]], list[tuple[str, str]]]:
    """([(document path, its marks)], [(path, why its text could not be read)]).
    ``ocr_budget`` > 0: image-only PDFs get the top of page 1 read by OCR, within it.
    ``cache``: documents' blocks remembered by content (``cached_node_blocks``)."""
    found: list[tuple[str, list[marks.Mark]]] = []
    problems: list[tuple[str, str]] = []
    subject = msg.header("Subject") or ""
    c = marks.subject_candidate(subject)
    if c is not None:
        found.append(("subject", [marks.Mark(c.level, "subject", c.encoding)]))
    charsets = _charsets(msg)
    deadline = time.monotonic() + budget
    docs: dict[str, list[doctext.Block]] = {}
    for node in msg.content.files if msg.content is not None else ():
        if time.monotonic() > deadline:
            problems.append((node.path, f"time budget of {budget:g} s spent"))
            break
        try:
            got = cached_node_blocks(node, charsets.get(node.path, ""), deadline, cache)
        except Exception as e:  # noqa: BLE001 - hostile input to olefile, pdfium, struct
            problems.append((node.path, f"{node.kind}: {type(e).__name__}"))
            continue
        if got is not None:
            docs.setdefault(got[0], []).extend(got[1])
        if ocr_budget > 0 and node.kind == "pdf" and got is not None and not any(
                b.where.startswith("page 1 ") for b in got[1]):
            t0 = time.monotonic()
            try:
                docs[node.path].extend(ocr.ocr_blocks(node.data, ocr_budget))
            except Exception as e:  # noqa: BLE001 - timeout, pdfium or tesseract failure
                problems.append((node.path, f"OCR: {e}"))
            ocr_budget -= time.monotonic() - t0
    for path, blocks in docs.items():
        found_here = marks.judge(blocks)
        if found_here:
            found.append((path, found_here))
    return found, problems


def build(config: Config) -> Detector:
    cfg = config.secret
    if cfg.ocr:
        why = ocr.available()
        if why:
            raise ConfigError(f"[secret] ocr: {why}")
    cache: BlockCache = VerdictCache(BLOCK_CACHE_ENTRIES, BLOCK_CACHE_BYTES)

    def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
        if env.hop == "gate":
            return
        way = direction(env)
        action = ACTIONS[getattr(cfg, way)]
        # OCR only for what leaves: scanned mail from outside is not ours to stop, and the
        # cost (about 0.4 s a page) is spent where it protects something.
        found, problems = find_marks(
            msg, ocr_budget=cfg.ocr_seconds if cfg.ocr and way == "outbound" else 0.0,
            cache=cache)
        for path, marks_here in found[:MAX_FINDINGS]:
            level = marks.highest(marks_here)
            first = next(m for m in marks_here if m.level == level)
            enc = "" if first.encoding == "unicode" else f", {first.encoding.upper()}"
            yield Finding(RULE, f"classification mark {LEVEL_ASCII[level]} in {path} "
                          f"({first.where}{enc})", action, Severity.HIGH, "secret",
                          facts=(("level", level), ("direction", way), ("path", path)))
        for path, why in problems[:MAX_FINDINGS]:
            yield Finding(UNREADABLE, f"text not read for classification marks: {why}",
                          Action.ACCEPT, Severity.INFO, "secret", facts=(("path", path),))

    return Detector("secret", (RULE, UNREADABLE), detect)
