"""DKIM (dkimpy), SPF (pyspf) and DMARC (RFC 7489, written here) against one Resolver."""

from __future__ import annotations

from collections.abc import Mapping

import dkim
import spf

from ..detectors.lookalike import registrable
from .dns import Budget, Resolver, TempError
from .model import DkimResult

# More DKIM-Signature headers than this are not checked (RFC 6376 6.1 lets a verifier
# limit them): each one hashes the whole body again, 0.8 s for a 20 MB message here.
MAX_SIGNATURES = 3


def dkim_results(raw: bytes, resolver: Resolver, budget: Budget,
                 local_keys: Mapping[str, bytes], wanted: object = None) -> list[DkimResult]:
    """Verify the first MAX_SIGNATURES signatures; ``wanted(domain) -> bool`` limits the
    check to signatures of some domains (the own-domain check without [origin]
    authentication)."""
    temp: list[str] = []

    def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
        key = name.decode("ascii", "replace").rstrip(".").lower()
        if key in local_keys:
            return local_keys[key]
        try:
            records = resolver.txt(key, budget)
        except TempError as e:
            temp.append(str(e))
            raise dkim.DnsTimeoutError(str(e)) from e
        return next((r for r in records if b"p=" in r), records[0] if records else None)

    try:
        signer = dkim.DKIM(raw, minkey=1024)
    except Exception:  # noqa: BLE001 - dkimpy on hostile headers; the message has no usable signature
        return [DkimResult("", "", "permerror")]
    count = sum(1 for name, _ in signer.headers if name.lower() == b"dkim-signature")
    out: list[DkimResult] = []
    for idx in range(min(count, MAX_SIGNATURES)):
        temp.clear()
        domain = selector = ""
        try:
            prep = signer.verify_headerprep(idx)
            if not prep:
                continue
            domain = prep[0][b"d"].decode("ascii", "replace").lower()
            selector = prep[0][b"s"].decode("ascii", "replace")
            if callable(wanted) and not wanted(domain):
                continue
            ok = signer.verify(idx=idx, dnsfunc=dnsfunc)
        except Exception:  # noqa: BLE001 - dkimpy raises assorted errors on bad signatures
            out.append(DkimResult(domain, selector, "permerror"))
            continue
        out.append(DkimResult(domain, selector,
                              "pass" if ok else "temperror" if temp else "fail"))
    return out


class _SpfQuery(spf.query):
    """pyspf's evaluation with our resolver and budget instead of its global lookups."""

    resolver: Resolver
    budget: Budget

    def dns(self, name: str, qtype: str, cnames: object = None,
            ignore_void: bool = False) -> list:
        name = str(name).rstrip(".").lower()
        if not name or not all(0 < len(label) < 64 for label in name.split(".")):
            return []
        key = (name, qtype)
        if key in self.cache:
            return self.cache[key]
        try:
            records = self.resolver.query(name, qtype, self.budget)
        except TempError as e:
            raise spf.TempError(f"DNS {e}") from e
        if qtype in ("A", "AAAA"):
            result: list = [r.address for r in records]
        elif qtype == "MX":
            result = [(r.preference, r.exchange) for r in records]
        elif qtype == "PTR":
            result = [r.target.to_text(True) for r in records]
        else:
            result = [r.strings for r in records]
        if not result and not ignore_void:
            self.void_lookups += 1
            if self.void_lookups > spf.MAX_VOID_LOOKUPS:
                raise spf.PermError(f"Void lookup limit of {spf.MAX_VOID_LOOKUPS} exceeded")
        self.cache[key] = result
        return result


def spf_result(client_addr: str, sender: str, helo: str, resolver: Resolver,
               budget: Budget) -> str:
    """SPF of the MAIL FROM identity; "none" for the null sender (no HELO identity here)."""
    if not sender or "@" not in sender or not client_addr:
        return "none"
    try:
        q = _SpfQuery(i=client_addr, s=sender, h=helo or "unknown", querytime=0)
    except (spf.PermError, ValueError):
        return "permerror"
    q.resolver, q.budget = resolver, budget
    try:
        return str(q.check()[0])
    except (spf.TempError, TempError):
        return "temperror"
    except Exception:  # noqa: BLE001 - pyspf on a hostile record: its result, not our error
        return "permerror"


def _dmarc_record(domain: str, resolver: Resolver, budget: Budget) -> dict[str, str] | None:
    records = [r for r in resolver.txt(f"_dmarc.{domain}", budget)
               if r.startswith(b"v=DMARC1")]
    if len(records) != 1:
        return None
    tags: dict[str, str] = {}
    for item in records[0].decode("ascii", "replace").split(";"):
        k, sep, v = item.partition("=")
        if sep:
            tags.setdefault(k.strip().lower(), v.strip().lower())
    return tags


def aligned(a: str, b: str, strict: bool) -> bool:
    return a == b if strict else registrable(a) == registrable(b)


def dmarc_result(from_domain: str, dkim: list[DkimResult], spf_res: str, spf_domain: str,
                 resolver: Resolver, budget: Budget) -> tuple[str, str]:
    """(result, policy) for the From: domain: the record of the domain, else of its
    organizational domain (then sp= applies). pct= is not applied: every failure counts."""
    if not from_domain:
        return "none", ""
    try:
        tags = _dmarc_record(from_domain, resolver, budget)
        org = registrable(from_domain)
        subdomain = tags is None and org != from_domain
        if subdomain:
            tags = _dmarc_record(org, resolver, budget)
    except TempError:
        return "temperror", ""
    if tags is None:
        return "none", ""
    policy = tags.get("p", "none")
    if subdomain and "sp" in tags:
        policy = tags["sp"]
    if policy not in ("none", "quarantine", "reject"):
        policy = "none"
    if any(d.result == "pass" and aligned(d.domain, from_domain, tags.get("adkim") == "s")
           for d in dkim):
        return "pass", policy
    if spf_res == "pass" and aligned(spf_domain, from_domain, tags.get("aspf") == "s"):
        return "pass", policy
    if spf_res == "temperror" or any(d.result == "temperror" for d in dkim):
        return "temperror", policy
    return "fail", policy
