"""HUE-11.11 (origin): mail from outside that dresses up as the province.

Three findings, each HIGH and routed to the report box (action quarantine):

- ``HUE-11.11/lookalike``: a domain in ``From:``, ``Reply-To:``, the envelope sender or a
  link imitates an own or official domain (see :mod:`.lookalike`: edit distance, ``-gov``
  and ``gov.vn.`` costumes, Unicode confusables and punycode).
- ``HUE-11.11/display-name``: the ``From:`` display name names an official body or office
  (UBND, HĐND, Sở ..., Văn phòng UBND ..., Chủ tịch, Tỉnh ủy, Công an, the configured
  leaders; with or without diacritics), or shows an official address, while the address
  is outside the official domains (a public provider or any other domain). Only the
  sender's own name counts: a partner writing *to* the UBND in its text is not this.
- ``HUE-11.11/deceptive-link``: an HTML anchor whose visible text is a URL or host of an
  official or own domain while its href leads to another domain.

Only mail at the inbound door is judged: our own users' mail and internal hops are not
impersonating us. The own-domain DKIM check is in :mod:`.origin`.
"""

from __future__ import annotations

import email.utils
import html
import re
import urllib.parse
from collections.abc import Iterator

from ..addresses import DomainSet, normalize_domain
from ..config import Config
from ..hops import Hop
from ..message import ParsedMessage
from ..model import Action, Envelope, Finding, Severity
from . import Detector
from .ioc import url_domains
from .lookalike import (
    foreign_letters,
    gov_marker,
    protected_names,
    resembles,
    skeleton,
    unicode_form,
)

RULE_LOOKALIKE = "HUE-11.11/lookalike"
RULE_DISPLAY_NAME = "HUE-11.11/display-name"
RULE_DECEPTIVE_LINK = "HUE-11.11/deceptive-link"
RULES = (RULE_LOOKALIKE, RULE_DISPLAY_NAME, RULE_DECEPTIVE_LINK)

# HTML read per part and anchors kept: phishing puts its anchors up front.
_HTML_BYTES = 512 * 1024
_HTML_TOTAL = 2 * 1024 * 1024  # over all HTML parts: a message of 1,000 of them stays cheap
_MAX_ANCHORS = 1000
_MAX_LINK_DOMAINS = 200
_ANCHOR_TEXT = 300

# Official bodies and offices as written in display names, diacritics removed (skeleton).
_BODIES = ("ubnd", "uy ban nhan dan", "hdnd", "hoi dong nhan dan", "tinh uy", "thanh uy",
           "huyen uy", "cong an tinh", "cong an thanh pho", "chu tich")
_OFFICE_AFTER_VAN_PHONG = ("ubnd", "uy ban", "hdnd", "hoi dong", "tinh", "chinh phu",
                           "so", "doan", "dai bieu")
_DEPARTMENTS = ("noi vu", "tai chinh", "ke hoach", "tu phap", "y te", "giao duc",
                "cong thuong", "xay dung", "giao thong", "tai nguyen", "nong nghiep",
                "lao dong", "van hoa", "khoa hoc", "thong tin", "ngoai vu", "du lich")
# "Chủ tịch HĐQT" (chairman of a company board) is not an official title.
_NOT_OFFICIAL_AFTER_CHU_TICH = ("hdqt", "hoi dong quan tri", "cong ty", "hoi dong thanh vien")
# VNNIC registers names under these only for vetted public institutions (with papers).
_VETTED = DomainSet(("*.edu.vn", "*.ac.vn"))
_NON_ALNUM = re.compile(r"[^a-z0-9@.\-]+")


def _words(text: str) -> str:
    """Lower case, diacritics folded, punctuation to single spaces, padded with spaces."""
    return " " + " ".join(_NON_ALNUM.sub(" ", skeleton(text)).split()) + " "


def official_title(display: str, leaders: tuple[str, ...]) -> str:
    """The official body, office or leader a display name names, or ""."""
    w = _words(display)
    for body in _BODIES:
        i = w.find(f" {body} ")
        if i >= 0:
            rest = w[i + len(body) + 1:]
            if body == "chu tich" and rest.startswith(tuple(
                    f" {x} " for x in _NOT_OFFICIAL_AFTER_CHU_TICH)):
                continue
            return body
    for office in _OFFICE_AFTER_VAN_PHONG:
        if f" van phong {office} " in w:
            return f"van phong {office}"
    for dept in _DEPARTMENTS:
        if f" so {dept} " in w:
            return f"so {dept}"
    for leader in leaders:
        if leader and f" {leader} " in w:
            return leader.strip()
    return ""


# Pieces of a start tag, each one character class matched at a position: no backtracking.
_SEPARATORS = re.compile(r"[\s/]*")
_SPACES = re.compile(r"\s*")
_ATTR_NAME = re.compile(r"[^\s=>/]+")
_UNQUOTED = re.compile(r"[^\s>]*")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _visible(fragment: str) -> str:
    """Text of an HTML fragment: tags dropped (split, not a regex: linear on "<<<<")."""
    pieces = fragment.split("<")
    out = [pieces[0]] + [p.partition(">")[2] for p in pieces[1:] if ">" in p]
    return html.unescape(" ".join("".join(out).split()))[:_ANCHOR_TEXT]


def _start_tag(text: str, i: int) -> tuple[str | None, int]:
    """The href of the start tag at ``text[i]`` and the index of the ``>`` that ends it
    (-1: it never ends), reading its attributes as a browser does: a ``>`` or an
    ``href=`` inside a quoted value belongs to that value, ``data-href`` is not ``href``,
    the first ``href`` counts."""
    href = None
    pos = i + 2
    n = len(text)
    while True:
        pos = _SEPARATORS.match(text, pos).end()
        if pos >= n:
            return href, -1
        if text[pos] == ">":
            return href, pos
        name_end = _ATTR_NAME.match(text, pos)
        if name_end is None:  # a stray "=": skip it
            pos += 1
            continue
        name = text[pos:name_end.end()].lower()
        pos = _SPACES.match(text, name_end.end()).end()
        if pos < n and text[pos] == "=":
            pos = _SPACES.match(text, pos + 1).end()
            if pos < n and text[pos] in "\"'":
                end = text.find(text[pos], pos + 1)
                if end < 0:
                    return href, -1
                value, pos = text[pos + 1:end], end + 1
            else:
                end = _UNQUOTED.match(text, pos).end()
                value, pos = text[pos:end], end
            if name == "href" and href is None:
                href = value


def _next_open(lower: str, pos: int) -> int:
    """Where the next ``<a`` tag (not ``<abbr``...) starts at or after ``pos``; -1: none."""
    while (i := lower.find("<a", pos)) >= 0:
        c = lower[i + 2:i + 3]
        if c and (c.isspace() or c in ">/"):
            return i
        pos = i + 2
    return -1


def html_anchors(text: str) -> list[tuple[str, str]]:
    """(href, visible text) of the ``<a href>`` elements of an HTML text, in one forward
    pass. html.parser took 206 s on 800 KB of "<a<a<a..." (it rescans an unfinished tag
    for every "<"); here every search starts where the last one ended, so the pass is
    linear. No length cap on tags or texts: browsers have none, padding must not hide a
    link. An anchor's text ends at its ``</a`` or at the next ``<a`` (which closes it)."""
    lower = text.translate(_ASCII_LOWER)  # same length as text, unlike str.lower()
    found: list[tuple[str, str]] = []
    close = -2  # the next "</a" at or after the current tag; -1: there is none
    i = _next_open(lower, 0)
    while i >= 0 and len(found) < _MAX_ANCHORS:
        href, gt = _start_tag(text, i)
        if gt < 0:
            break
        nxt = _next_open(lower, gt)
        if href is not None:
            if close != -1 and close < gt:
                close = lower.find("</a", gt)
            end = min((x for x in (close, nxt) if x >= 0), default=len(text))
            found.append((html.unescape(href), _visible(text[gt + 1:end])))
        i = nxt
    return found


def anchors(msg: ParsedMessage) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    budget = _HTML_TOTAL
    for part in msg.parts:
        if part.content_type != "text/html" or part.is_attachment or budget <= 0:
            continue
        budget -= min(len(part.payload), _HTML_BYTES)
        try:
            text = part.payload[:_HTML_BYTES].decode(part.charset or "utf-8", "replace")
        except LookupError:
            text = part.payload[:_HTML_BYTES].decode("utf-8", "replace")
        out += html_anchors(text)
    return out[:_MAX_ANCHORS]


def shown_host(text: str) -> str:
    """The host a link's visible text shows (``https://mail.hue.gov.vn/x`` or
    ``www.hue.gov.vn``), normalized; "" when the text is not a URL or host name."""
    t = text.strip().lower()
    if not t or len(t) > _ANCHOR_TEXT or any(c.isspace() for c in t):
        return ""
    t = t.split("://", 1)[1] if "://" in t else t
    host = re.split(r"[/:?#]", t.rpartition("@")[2] if "@" in t.split("/", 1)[0] else t,
                    maxsplit=1)[0]
    return normalize_domain(host) if "." in host else ""


def href_host(href: str) -> str | None:
    """The host an href leads to; None for a link that leads nowhere to judge (relative,
    mailto:, tel:, an in-page anchor); "" for an unusable or script target."""
    h = href.strip()
    try:
        parts = urllib.parse.urlsplit(h)
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme in ("mailto", "tel", "sms", "cid") or (not scheme and not h.startswith("//")):
        return None
    if scheme not in ("http", "https", "ftp", ""):
        return ""  # javascript:, data:, file: behind an official-looking text
    try:
        return normalize_domain(parts.hostname or "")
    except ValueError:
        return ""


class Impersonation:
    def __init__(self, config: Config) -> None:
        d = config.domains
        self.official = DomainSet(d.official)
        self.own = DomainSet(d.own)
        self.public = DomainSet(d.public_providers)
        self.names = protected_names((*d.own, *d.official))
        self.leaders = tuple(_words(n).strip() for n in config.origin.leader_names)

    def is_ours(self, domain: str) -> bool:
        return self.own.matches(domain) or self.official.matches(domain)

    def is_public_sector(self, domain: str) -> bool:
        """Ours, or under a suffix only vetted institutions can register (``edu.vn``: the
        province's Sở Giáo dục writes from ``thuathienhue.edu.vn``)."""
        return self.is_ours(domain) or _VETTED.matches(domain)

    def imitation(self, raw_domain: str) -> str:
        """How ``raw_domain`` imitates an official one ("" when it does not)."""
        ascii_form = normalize_domain(raw_domain)
        official = bool(ascii_form) and self.is_public_sector(ascii_form)
        shown = unicode_form(ascii_form or raw_domain.strip().lower())
        if official and foreign_letters(shown):
            return f"confusable letters in {shown}"
        if not official:
            marker = gov_marker(shown)
            if marker:
                return f'"{marker}" in a domain outside the official list'
            if foreign_letters(shown) and self.is_ours(skeleton(shown)):
                return f"confusable letters: reads as {skeleton(shown)}"
        name = resembles(shown, self.names, official)
        return f"resembles {name}" if name else ""

    def detect(self, env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
        if (Hop(env.hop) if env.hop else Hop.INBOUND) is not Hop.INBOUND:
            return
        senders = email.utils.getaddresses(msg.header_all("From"))
        yield from self._addresses(env, msg, senders)
        yield from self._display_names(senders)
        yield from self._links(msg)

    def _addresses(self, env: Envelope, msg: ParsedMessage,
                   senders: list[tuple[str, str]]) -> Iterator[Finding]:
        where: list[tuple[str, str]] = [("From", a) for _, a in senders]
        where += [("Reply-To", a) for _, a in email.utils.getaddresses(msg.header_all("Reply-To"))]
        where.append(("envelope sender", env.sender))
        seen: set[str] = set()
        for label, address in where:
            domain = address.rpartition("@")[2].strip().strip("<>")
            if not domain or domain in seen:
                continue
            seen.add(domain)
            how = self.imitation(domain)
            if how:
                yield _finding(RULE_LOOKALIKE, f"{label} domain {domain}: {how}",
                               ("where", label), ("domain", domain))
                return

    def _display_names(self, senders: list[tuple[str, str]]) -> Iterator[Finding]:
        for display, address in senders:
            domain = normalize_domain(address.rpartition("@")[2])
            if not display or not address or (domain and self.is_public_sector(domain)):
                continue
            title = official_title(display, self.leaders)
            if not title:
                title = next((t for t in _words(display).split() if "." in t
                              and self.is_ours(t.rpartition("@")[2].strip(".-"))), "")
            if title:
                kind = "public provider" if self.public.matches(domain) else "non-official"
                yield _finding(RULE_DISPLAY_NAME, f'display name "{display}" ({title}) on '
                               f"{kind} address {address}", ("name", title),
                               ("domain", domain or address))
                return

    def _links(self, msg: ParsedMessage) -> Iterator[Finding]:
        found = anchors(msg)
        for href, text in found:
            shown = shown_host(text)
            if not shown or not self.is_ours(shown):
                continue
            target = href_host(href)
            if target is None or (target and self.is_public_sector(target)):
                continue
            yield _finding(RULE_DECEPTIVE_LINK, f"link shows {shown} but leads to "
                           f"{target or href[:80]!r}", ("shown", shown),
                           ("domain", target or "-"))
            break
        hosts = {h for h in (href_host(href) for href, _ in found) if h}
        hosts |= url_domains(msg, parents=False)
        for host in sorted(hosts)[:_MAX_LINK_DOMAINS]:
            how = self.imitation(host)
            if how:
                yield _finding(RULE_LOOKALIKE, f"link domain {host}: {how}",
                               ("where", "link"), ("domain", host))
                return


def _finding(rule: str, detail: str, *facts: tuple[str, str]) -> Finding:
    return Finding(rule, detail, Action.QUARANTINE, Severity.HIGH, "impersonation",
                   facts=(("kind", rule.rpartition("/")[2]), *facts))


def build(config: Config) -> Detector:
    return Detector("impersonation", RULES, Impersonation(config).detect)
