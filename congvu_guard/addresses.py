"""Mail address and domain helpers: parsing envelope addresses and matching domain patterns.

Nothing here trusts its input: envelope strings arrive from the MTA as the SMTP client sent
them, possibly with angle brackets, source routes, odd case, trailing dots or invalid UTF-8.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def normalize_domain(domain: str) -> str:
    """Lower-case a domain, drop one trailing dot and convert Unicode labels to IDNA (punycode).

    Returns "" for anything that is not a syntactically valid host name.
    """
    d = domain.strip().rstrip(".").lower()
    if not d or len(d) > 253:  # before IDNA: nameprep costs ~5 us per character
        return ""
    if not d.isascii():
        try:
            d = d.encode("idna").decode("ascii")
        except UnicodeError:
            return ""
    labels = d.split(".")
    if len(d) > 253 or not all(_LABEL.match(label) for label in labels):
        return ""
    return d


def strip_brackets(address: str) -> str:
    """Turn an envelope string such as ``<@relay:User@Example.VN>`` into ``User@Example.VN``."""
    a = address.strip()
    if a.startswith("<") and a.endswith(">"):
        a = a[1:-1].strip()
    if a.startswith("@") and ":" in a:  # RFC 5321 source route
        a = a.split(":", 1)[1]
    return a


@dataclass(frozen=True, slots=True)
class Address:
    """A parsed mail address: local part kept as sent, domain normalized."""

    local: str
    domain: str

    def __str__(self) -> str:
        return f"{self.local}@{self.domain}" if self.domain else self.local


def parse_address(address: str) -> Address | None:
    """Parse an envelope address; None for the null sender or an unparseable string."""
    a = strip_brackets(address)
    if not a or "@" not in a:
        return None
    local, _, domain = a.rpartition("@")
    nd = normalize_domain(domain)
    if not local or not nd:
        return None
    return Address(local, nd)


def address_key(address: str) -> str:
    """A comparison key: local part lower-cased, domain normalized; raw text when unparseable."""
    parsed = parse_address(address)
    if parsed is None:
        return strip_brackets(address).lower()
    return f"{parsed.local.lower()}@{parsed.domain}"


def is_valid_address(address: str) -> bool:
    parsed = parse_address(address)
    return parsed is not None and "." in parsed.domain and " " not in parsed.local


def is_valid_domain_pattern(pattern: str) -> bool:
    """``example.gov.vn`` (that domain only) or ``*.gov.vn`` (any subdomain, any depth)."""
    p = pattern[2:] if pattern.startswith("*.") else pattern
    return bool(normalize_domain(p)) and normalize_domain(p) == p.lower().rstrip(".")


class DomainSet:
    """Matches domains against patterns: ``gov.vn`` matches exactly, ``*.gov.vn`` matches
    ``hue.gov.vn`` and ``stttt.hue.gov.vn`` but not ``gov.vn`` itself."""

    __slots__ = ("_exact", "_suffixes")

    def __init__(self, patterns: Iterable[str]) -> None:
        self._exact: set[str] = set()
        self._suffixes: list[str] = []
        for p in patterns:
            if p.startswith("*."):
                self._suffixes.append("." + normalize_domain(p[2:]))
            else:
                self._exact.add(normalize_domain(p))

    def matches(self, domain: str) -> bool:
        d = normalize_domain(domain)
        if not d:
            return False
        return d in self._exact or any(d.endswith(s) for s in self._suffixes)

    def matches_address(self, address: str) -> bool:
        parsed = parse_address(address)
        return parsed is not None and self.matches(parsed.domain)
