"""DNS for SPF, DKIM and DMARC: dnspython with a bounded cache and a per-message budget.

Every message gets a :class:`Budget` (``[dns] budget_seconds``, 2 s by default) that all of
its lookups share; a lookup past it, a timeout or a server failure is a :class:`TempError`
(the caller records ``temperror``: tag, never reject). Answers, NXDOMAIN and "no such
record" included, are kept in an LRU cache of ``[dns] cache_entries`` for their TTL.
"""

from __future__ import annotations

import time

import dns.exception
import dns.name
import dns.nameserver
import dns.resolver

from ..config import DnsConfig, split_nameserver


class TempError(Exception):
    """The answer could not be had in time (timeout, SERVFAIL, budget spent)."""


class Budget:
    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.deadline - time.monotonic()


class Resolver:
    def __init__(self, cfg: DnsConfig) -> None:
        if cfg.nameservers:
            r = dns.resolver.Resolver(configure=False)
            servers = [split_nameserver(s) for s in cfg.nameservers]
            r.nameservers = [dns.nameserver.Do53Nameserver(h, p) for h, p in servers if p]
        else:
            try:
                r = dns.resolver.Resolver()
            except dns.resolver.NoResolverConfiguration:
                r = dns.resolver.Resolver(configure=False)
                r.nameservers = ["127.0.0.1"]
        r.cache = dns.resolver.LRUCache(cfg.cache_entries) if cfg.cache_entries else None
        r.retry_servfail = False
        self._resolver = r
        self.budget_seconds = cfg.budget_seconds

    def budget(self) -> Budget:
        return Budget(self.budget_seconds)

    def query(self, name: str, rdtype: str, budget: Budget) -> list[dns.rdata.Rdata]:
        """The records of ``name``; [] when there are none (NXDOMAIN or no such type)."""
        left = budget.remaining()
        if left <= 0:
            raise TempError(f"DNS budget spent before {name} {rdtype}")
        try:
            answer = self._resolver.resolve(name, rdtype, lifetime=left, search=False,
                                            raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers,
                dns.resolver.LifetimeTimeout) as e:
            raise TempError(f"{name} {rdtype}: {type(e).__name__}") from e
        except (dns.exception.DNSException, ValueError) as e:
            raise TempError(f"{name} {rdtype}: {e}") from e
        return list(answer.rrset or ())

    def txt(self, name: str, budget: Budget) -> list[bytes]:
        """The TXT records of ``name``, each one's strings joined."""
        return [b"".join(r.strings) for r in self.query(name, "TXT", budget)]
