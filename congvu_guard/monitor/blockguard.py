"""Domains that may never go on the IOC blocklist (issue 15): the official domains
([domains] official), the province's own ([monitor] own_domains, plus the report box's
domain) and the public providers. Blocklisting one of them, or a parent of one (``vn``
covers ``hue.gov.vn``), would quarantine ordinary official mail; the milter matches an
IOC domain on every parent of a link's host."""

from __future__ import annotations

from ..addresses import DomainSet, normalize_domain
from ..config import Config


class DomainGuard:
    def __init__(self, config: Config) -> None:
        own = list(config.monitor.own_domains)
        if "@" in config.report.address:
            own.append(config.report.address.rpartition("@")[2])
        self._groups = (
            ("an official domain ([domains] official)", tuple(config.domains.official)),
            ("one of the province's own domains ([monitor] own_domains)", tuple(own)),
            ("a public mail provider ([domains] public_providers)",
             tuple(config.domains.public_providers)),
        )
        self._sets = [(why, DomainSet(p), [normalize_domain(x.removeprefix("*."))
                                           for x in p]) for why, p in self._groups]

    def refusal(self, domain: str) -> str | None:
        """Why ``domain`` must not be blocklisted, or None."""
        d = normalize_domain(domain)
        if not d:
            return None
        if "." not in d:
            return f"{d} is a top-level domain: it covers every official domain under it"
        for why, patterns, bases in self._sets:
            if patterns.matches(d):
                return f"{d} is {why}: blocking it would stop legitimate mail"
            for base in bases:
                if d.endswith("." + base):  # a subdomain of one of them
                    return f"{d} is under {base}, {why}: blocking it would stop legitimate mail"
                if base.endswith("." + d) or base == d:
                    return (f"{d} covers {base}, {why}: blocking it would stop legitimate "
                            "mail")
        return None
