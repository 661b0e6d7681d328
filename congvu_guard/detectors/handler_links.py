"""HUE-11.5/handler-link: links that hand off to a Windows program instead of a web page.

A click on such a link in the message, an HTML page or an Office document's relationships
opens Explorer on an attacker's WebDAV share (``search-ms:``, ``search:``: the lists of
``.lnk`` and ``.js`` files of the 2023-2024 campaigns), runs the diagnostics tool with
attacker arguments (``ms-msdt:``, Follina, CVE-2022-30190), opens a remote document straight
in Word or Excel (``ms-word:ofe|u|…``), installs an app package (``ms-appinstaller:``),
renders a page with the old engine (``mhtml:``, ``ms-its:``), or leaks the user's NTLM hash
to a remote share through a moniker (``file:///\\\\host\\share\\x.rtf!x``, CVE-2024-21413).
None of these belongs in official mail: medium (quarantine to the report box).

Read on text and HTML files (message bodies, pages, an Office document's relationships,
where its links are), a lower-cased copy of at most ``MAX_BYTES`` each; literal searches,
so linear.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..message import ParsedMessage
from ..model import Envelope, Finding, Severity
from . import Detector
from .handler_schemes import SCHEMES, STEMS, TARGET_ONLY
from .scanning import finding

RULE = "HUE-11.5/handler-link"
MAX_BYTES = 1 << 20  # of each file: links sit near the top of a message or page
# "search:" is also an English word: only as a link target.
_TARGET = re.compile(rb"""(?:href|target|src)\s*+=\s*+["']?(""" +
                     b"|".join(re.escape(s) for s in TARGET_ONLY) + b")")
# A file: link to another host with a "!" after the path: Outlook follows it as a moniker.
_MONIKER = re.compile(rb"file:/{2,3}+\\\\[^\s\"'<>!]{1,300}+!")
_KINDS = ("text", "html")


def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
    for node in msg.content.files:
        if node.kind not in _KINDS or not node.data or (
                node.container == "ooxml" and not node.name.endswith(".rels")):
            continue  # a document's links are in its relationships (.rels), not its text
        head = node.data[:MAX_BYTES]
        if b":" not in head:  # every scheme ends with one; memchr finds it at once
            continue
        low = head.lower()
        hits: list[str] = []
        if any(stem in low for stem in STEMS):  # usual text has none: 4 searches, not 20
            hits = [s.decode() for s in SCHEMES if s in low]
            # The pattern has no literal to start from, so it runs only where its scheme is
            # written (on every part it took 7.7 ms for the bench's zip of .docx, issue 17).
            if any(s in low for s in TARGET_ONLY) and (m := _TARGET.search(low)):
                hits.append(m.group(1).decode())
        if b"file:" in low and _MONIKER.search(low):
            hits.append("file: moniker (CVE-2024-21413)")
        if hits:
            yield finding(RULE, Severity.MEDIUM, "link that opens a Windows program, not a web "
                          f"page: {', '.join(hits[:4])}", "handler_links", node)


DETECTOR = Detector("handler_links", (RULE,), detect)
