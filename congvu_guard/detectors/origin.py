"""HUE-11.11 (origin): own-domain spoofing and DMARC, from the authentication stage's facts.

Pure: it reads ``msg.facts.auth`` (set by :mod:`congvu_guard.auth.service` before
the detectors run; None when that stage did not run) and never does I/O.

- ``HUE-11.11/own-domain-spoof``: at the inbound door (the client is outside ``[hops]
  internal_networks``, no SASL login), an own domain (``[domains] own``) in ``From:`` or the
  envelope sender, and no valid DKIM signature of an own domain -> HIGH, report box. Our
  users' submission and our own hosts are other doors and never reach this.
- ``HUE-11.11/dmarc``: the From: domain's DMARC fails; its policy decides: ``p=reject`` ->
  reject, ``p=quarantine`` -> report box, ``p=none`` -> recorded only. Not for own domains:
  their forgeries are the own-domain rule's (report box).
- ``HUE-11.11/auth-temperror``: DNS did not answer in time: tag, never reject or hold.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..addresses import DomainSet, normalize_domain
from ..auth.model import AuthFacts
from ..config import Config
from ..hops import Hop
from ..message import ParsedMessage
from ..model import Action, Envelope, Finding, Severity
from . import Detector

RULE_SPOOF = "HUE-11.11/own-domain-spoof"
RULE_DMARC = "HUE-11.11/dmarc"
RULE_TEMPERROR = "HUE-11.11/auth-temperror"
RULES = (RULE_SPOOF, RULE_DMARC, RULE_TEMPERROR)

_DMARC_ACTION = {"reject": Action.REJECT, "quarantine": Action.QUARANTINE}


class Origin:
    def __init__(self, config: Config) -> None:
        self.own = DomainSet(config.domains.own)

    def detect(self, env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
        facts: AuthFacts | None = msg.facts.auth
        if facts is None or Hop(env.hop or "inbound") is not Hop.INBOUND:
            return
        spoof = list(self._own_domain(env, facts))
        yield from spoof
        if not self.own.matches(facts.from_domain):
            # Forgeries of our own domains go to the report box (the security team must
            # see attacks on the province), not back to the forger as our p=reject bounce.
            yield from self._dmarc(facts)

    def _own_domain(self, env: Envelope, facts: AuthFacts) -> Iterator[Finding]:
        sender_domain = normalize_domain(env.sender.rpartition("@")[2]) if env.sender else ""
        claimed = [(w, d) for w, d in (("From", facts.from_domain),
                                       ("envelope sender", sender_domain))
                   if d and self.own.matches(d)]
        if not claimed:
            return
        own_sigs = [d for d in facts.dkim if d.domain and self.own.matches(d.domain)]
        if any(d.result == "pass" for d in own_sigs):
            return
        where, domain = claimed[0]
        if any(d.result == "temperror" for d in own_sigs):
            yield Finding(RULE_TEMPERROR, f"DKIM key of {domain} not available in time",
                          Action.TAG, Severity.LOW, "origin", facts=(("domain", domain),))
            return
        why = ", ".join(f"{d.result} ({d.domain})" for d in own_sigs) or "no signature"
        yield Finding(RULE_SPOOF, f"{where} {domain} is our own domain but the mail comes "
                      f"from outside ({facts.client_addr or 'unknown client'}) without its "
                      f"valid DKIM signature: {why}", Action.QUARANTINE, Severity.HIGH,
                      "origin", facts=(("kind", "own-domain-spoof"), ("where", where),
                                       ("domain", domain)))

    def _dmarc(self, facts: AuthFacts) -> Iterator[Finding]:
        if facts.dmarc == "temperror":
            yield Finding(RULE_TEMPERROR, f"DMARC of {facts.from_domain}: DNS did not answer "
                          "in time", Action.TAG, Severity.LOW, "origin",
                          facts=(("domain", facts.from_domain),))
        elif facts.dmarc == "fail" and facts.dmarc_policy in _DMARC_ACTION:
            yield Finding(RULE_DMARC, f"DMARC fails for {facts.from_domain} "
                          f"(p={facts.dmarc_policy}; spf={facts.spf})",
                          _DMARC_ACTION[facts.dmarc_policy], Severity.HIGH, "origin",
                          facts=(("kind", "dmarc"), ("domain", facts.from_domain),
                                 ("policy", facts.dmarc_policy)))


def build(config: Config) -> Detector:
    return Detector("origin", RULES, Origin(config).detect)
