"""What the authentication stage found out, as plain data for the detectors and the header."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DkimResult:
    domain: str  # d=, lower case ("" when the signature could not be parsed)
    selector: str  # s=
    result: str  # pass, fail, permerror, temperror (RFC 8601 words)


@dataclass(frozen=True, slots=True)
class AuthFacts:
    from_domain: str  # domain of the (first) From: address, normalized; "" when none
    dkim: tuple[DkimResult, ...] = ()
    spf: str = ""  # pass, fail, softfail, neutral, none, temperror, permerror; "" = not checked
    spf_domain: str = ""  # the MAIL FROM domain SPF was checked for
    dmarc: str = ""  # pass, fail, none, temperror, permerror; "" = not checked
    dmarc_policy: str = ""  # none, quarantine, reject (the domain's, sp= for subdomains)
    client_addr: str = ""

    def header(self, authserv_id: str) -> str:
        """The Authentication-Results value (RFC 8601)."""
        parts = [authserv_id]
        if not self.dkim:
            parts.append("dkim=none")
        for d in self.dkim:
            parts.append(f"dkim={d.result} header.d={d.domain or 'unknown'} "
                         f"header.s={d.selector or 'unknown'}")
        if self.spf:
            parts.append(f"spf={self.spf} smtp.mailfrom={self.spf_domain or 'unknown'}")
        if self.dmarc:
            policy = f" (p={self.dmarc_policy})" if self.dmarc_policy else ""
            parts.append(f"dmarc={self.dmarc}{policy} header.from={self.from_domain or 'unknown'}")
        return "; ".join(parts)  # one line: folding is the MTA's business

    def summary(self) -> str:
        """One log line."""
        dkim = ",".join(f"{d.result}:{d.domain}" for d in self.dkim) or "none"
        return (f"from_domain={self.from_domain or '-'} client={self.client_addr or '-'} "
                f"dkim={dkim} spf={self.spf or '-'} dmarc={self.dmarc or '-'}"
                f"{'/' + self.dmarc_policy if self.dmarc_policy else ''}")
