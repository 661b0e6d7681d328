"""HUE-11.11 IOC blocklist, the detector: attachment SHA-256, URL domains and sender
addresses the security team has marked. Pure: what a message offers for lookup is
:func:`wanted`; the services stage (:mod:`congvu_guard.services.ioc`) looks it up once per
message and records :attr:`Facts.ioc <congvu_guard.facts.Facts.ioc>`, which this detector
turns into findings. Also the indicator forms (:func:`normalize`) and key names shared by
the store, the CLI and the monitor."""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..addresses import normalize_domain, parse_address, strip_brackets
from ..message import ParsedMessage
from ..model import Action, Envelope, Finding, Severity
from . import Detector
from .scanning import finding

RULE = "HUE-11.11/ioc"
RULE_DOWN = "HUE-11.11/ioc-unavailable"
KINDS = ("sha256", "domain", "sender")
# What follows "scheme://": optional user info, then the host. Links are found by looking
# for "://" (a search in C) and checking the scheme before it; a regex that tries every
# position of the text for a scheme cost 0.15 ms on a plain 10 KB message.
_URL_HOST = re.compile(rb"(?:[^/\s\"'<>@]*@)?([A-Za-z0-9.\-\[\]_]+)")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# Starts only where a run of address characters starts: without the look-behind, a From
# header of 85,000 letters and no "@" took 25 s (every start position scanned the run).
_ADDRESS = re.compile(r"(?<![\w.+\-])[\w.+\-]+@[\w.\-]+")


def normalize(kind: str, value: str) -> str:
    """The stored form of an indicator; raises ValueError for a malformed one."""
    v = value.strip()
    if kind == "sha256":
        v = v.lower()
        if not _SHA256.match(v):
            raise ValueError(f"not a SHA-256 (64 hex digits): {value!r}")
        return v
    if kind == "domain":
        d = normalize_domain(v.removeprefix("*."))
        if not d:
            raise ValueError(f"not a domain: {value!r}")
        return d
    if kind == "sender":
        a = parse_address(v)
        if a is None:
            raise ValueError(f"not a mail address: {value!r}")
        return f"{a.local.lower()}@{a.domain}"
    raise ValueError(f"unknown indicator type {kind!r} (one of {', '.join(KINDS)})")


def _link_hosts(text: bytes) -> Iterator[bytes]:
    """The host of every http://, https:// and ftp:// link (any case) in ``text``."""
    i = text.find(b"://")
    while i >= 0:
        if text[max(0, i - 5):i].lower().endswith((b"http", b"https", b"ftp")):
            m = _URL_HOST.match(text, i + 3)
            if m:
                yield m.group(1)
                i = m.end()
        i = text.find(b"://", i + 3)


def url_domains(msg: ParsedMessage, limit: int = 1_000_000, parents: bool = True) -> set[str]:
    """Host names of the links in text parts; with ``parents`` also their parent domains
    (for checking: listing evil.example blocks x.evil.example)."""
    found: set[str] = set()
    for part in msg.parts:
        if part.content_type.startswith("text/") or part.content_type.endswith("html"):
            for host in _link_hosts(part.payload[:limit]):
                d = normalize_domain(host.decode("ascii", "ignore").strip("[]"))
                if d and parents:
                    labels = d.split(".")
                    found.update(".".join(labels[i:]) for i in range(len(labels) - 1))
                elif d:
                    found.add(d)
    return found


def wanted(env: Envelope, msg: ParsedMessage) -> dict[str, list[str]]:
    """What of this message is looked up, per kind: attachment hashes, link domains (with
    their parents) and the envelope and From: senders."""
    senders = {strip_brackets(env.sender).lower()}
    for v in msg.header_all("From")[:1]:
        m = _ADDRESS.search(v)
        if m:
            senders.add(m.group(0).lower())
    return {"sha256": [f.sha256 for f in msg.content.files if f.data],
            "domain": sorted(url_domains(msg)), "sender": [s for s in senders if "@" in s]}


def build(on_failure: str) -> Detector:
    """The detector for a blocklist whose unavailability means ``on_failure``
    ("tempfail", else tag: [ratelimit] on_redis_down)."""
    down = Action.TEMPFAIL if on_failure == "tempfail" else Action.TAG

    def detect(env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
        facts = msg.facts.ioc
        if facts is None:  # no blocklist configured
            return
        if facts.unavailable:
            yield Finding(RULE_DOWN, "IOC blocklist unavailable (Redis down)", down,
                          Severity.MEDIUM, "ioc")
            return
        by_hash = {f.sha256: f for f in msg.content.files if f.data}
        for h in facts.hits.get("sha256", ()):
            yield finding(RULE, Severity.MEDIUM, "attachment on the IOC blocklist", "ioc",
                          by_hash.get(h))
        for d in facts.hits.get("domain", ()):
            yield finding(RULE, Severity.MEDIUM, f"link to blocklisted domain {d}", "ioc")
        for s in facts.hits.get("sender", ()):
            yield finding(RULE, Severity.MEDIUM, f"blocklisted sender {s}", "ioc")

    return Detector("ioc", (RULE, RULE_DOWN), detect)
