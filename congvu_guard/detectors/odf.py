"""HUE-11.5: macros in OpenDocument files (LibreOffice, OpenOffice), packaged (.odt/.ods/.odp,
a zip) or flat (.fodt/.fods, one XML file).

What LibreOffice runs: Basic modules (``Basic/<library>/<module>.xml`` in a package,
``<ooo:module>`` in a flat file), script files (``Scripts/python|beanshell|javascript/``),
and the scripts the document binds to its own events (``<script:event-listener>`` with a
``vnd.sun.star.script:`` or ``macro:`` URL in ``content.xml``/``styles.xml``): opening the
document, a view being created, the pointer passing over a link. An event can also name a
script installed with LibreOffice (``location=share``), which is how the LibreLogo attacks
ran Python without a macro prompt (CVE-2019-9848, CVE-2018-16858 with ``../`` in the URL).

Pure functions of bytes, linear in them: tags are found with ``bytes.find`` from where the
previous one ended, attributes with a possessive pattern inside each tag.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass

_ODF_MIME = b"application/vnd.oasis.opendocument"
_LISTENER = b"event-listener"
# A name is tried from the start of its run only (the lookbehind), and taken whole.
_ATTR = re.compile(rb'(?<![\w:.-])([\w:.-]++)\s*+=\s*+"([^"]*+)"')
_SCRIPT_URL = ("vnd.sun.star.script:", "macro:")
# Events a user does on purpose; any other bound event (load, new view, focus, pointer
# over a link) runs the script without the user choosing to.
_USER_ACTIONS = ("click", "approveaction", "performaction", "print", "save", "close")
_MAX_LISTED = 20
_OUTSIDE = re.compile(r"location=(?:share|user)", re.I)


@dataclass(frozen=True)
class OdfReport:
    modules: tuple[str, ...]  # "Standard/Module1", "Scripts/python/run.py"
    events: tuple[tuple[str, str], ...]  # (event name, script URL)

    @property
    def automatic(self) -> list[tuple[str, str]]:
        """Bound events that fire without the user choosing to."""
        return [(e, u) for e, u in self.events
                if not any(a in e.lower() for a in _USER_ACTIONS)]

    @property
    def outside(self) -> list[tuple[str, str]]:
        """Bound events whose script is not the document's: installed with LibreOffice or
        in the user's profile, or reached through ``..`` in its path."""
        return [(e, u) for e, u in self.events
                if _OUTSIDE.search(u) or ".." in u]


def is_package(parts: Mapping[str, bytes]) -> bool:
    """The members of a zip are an OpenDocument package."""
    return "content.xml" in parts and (
        parts.get("mimetype", b"").startswith(_ODF_MIME) or "META-INF/manifest.xml" in parts)


def is_flat(data: bytes) -> bool:
    head = data[:8192]
    return b"<office:document" in head and b'office:mimetype="' + _ODF_MIME in head


def package(parts: Mapping[str, bytes]) -> OdfReport:
    modules = tuple(sorted(
        name[len("Basic/"):-len(".xml")] for name in parts
        if name.startswith("Basic/") and name.endswith(".xml") and name.count("/") == 2
        and not name.endswith(("/script-lb.xml", "/dialog-lb.xml"))) + sorted(
        name for name in parts if name.startswith("Scripts/") and not name.endswith("/")))
    events: list[tuple[str, str]] = []
    for xml in ("content.xml", "styles.xml"):
        events += listeners(parts.get(xml, b""))
    return OdfReport(modules[:_MAX_LISTED], tuple(events[:_MAX_LISTED]))


def flat(data: bytes) -> OdfReport:
    modules = tuple(a.get("ooo:name", "?") for a in _tags(data, b"<ooo:module ", _MAX_LISTED))
    return OdfReport(modules, tuple(listeners(data)))


def listeners(xml: bytes) -> list[tuple[str, str]]:
    """(event name, script URL) of every event listener bound to a script (at most
    ``_MAX_LISTED`` of the first 1,000 listeners)."""
    found: list[tuple[str, str]] = []
    for attrs in _tags(xml, _LISTENER, 1000):
        url = attrs.get("xlink:href", "") or attrs.get("script:macro-name", "")
        if attrs.get("script:macro-name") or url.lower().startswith(_SCRIPT_URL):
            found.append((attrs.get("script:event-name", "?"), url))
            if len(found) >= _MAX_LISTED:
                break
    return found


def _tags(xml: bytes, needle: bytes, limit: int) -> list[dict[str, str]]:
    """The attributes of the first ``limit`` tags holding ``needle``, each searched from
    where the previous tag ended (a tag that never closes ends the search): linear."""
    out: list[dict[str, str]] = []
    pos = 0
    while len(out) < limit and (start := xml.find(needle, pos)) >= 0:
        end = xml.find(b">", start)
        if end < 0:
            break
        pos = end + 1
        out.append({k.decode("ascii", "replace").lower():
                    html.unescape(v.decode("utf-8", "replace"))[:500]
                    for k, v in _ATTR.findall(xml, start, end)})
    return out
