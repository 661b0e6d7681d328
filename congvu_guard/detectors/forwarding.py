"""HUE-11.6, HUE-12.4, HUE-11.7: automatic forwarding out of the official mail system.

A message is an automatic forward when it carries one of these signals:

- a valid origin stamp, seen at the outbound gate (it arrived from outside and is now
  leaving again: Sieve, ``.forward``, aliases, virtual alias maps, Zimbra all keep it);
- ``X-Sieve-Redirected-From`` (Dovecot Pigeonhole), ``X-Zimbra-Forwarded`` (Zimbra filter
  redirect), ``Auto-Submitted: auto-forwarded``, ``X-MS-Exchange-Organization-AutoForwarded:
  true``, ``X-MS-Exchange-Inbox-Rules-Loop`` (Exchange inbox rules);
- ``Delivered-To:`` naming one of our official addresses (it was delivered here already);
- an SRS-rewritten envelope sender (``SRS0=``/``SRS1=``, e.g. postsrsd on a forward).

Only top-level headers count: a message forwarded *as an attachment* is a new message.
Each recipient outside the official domains (or, in mode ``public-providers``, at a public
provider) is refused; forwards between official domains pass (HUE-12.4). Without any signal,
mail our users send to public providers is counted, not blocked (HUE-11.7).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .. import stamp
from ..addresses import DomainSet, parse_address, strip_brackets
from ..config import Config
from ..hops import Hop
from ..message import ParsedMessage
from ..model import Action, Envelope, Finding, Severity
from . import Detector

RULE_BLOCK = "HUE-11.6"
RULE_ALLOWED = "HUE-12.4"
RULE_PUBLIC = "HUE-11.7"

_SIMPLE_SIGNALS = ("X-Sieve-Redirected-From", "X-Zimbra-Forwarded",
                   "X-MS-Exchange-Inbox-Rules-Loop")


@dataclass(frozen=True)
class ForwardingRules:
    official: DomainSet
    public: DomainSet
    public_only: bool  # mode "public-providers"

    def destination(self, address: str) -> str:
        """Label of a recipient's destination: its provider domain, or "non-official"."""
        parsed = parse_address(address)
        if parsed is None:
            return "invalid"
        if self.official.matches(parsed.domain):
            return "official"
        if self.public.matches(parsed.domain):
            return parsed.domain
        return "non-official"

    def refused(self, destination: str) -> bool:
        if destination == "official":
            return False
        if self.public_only:
            return destination not in ("non-official", "invalid")
        return True

    def signals(self, env: Envelope, msg: ParsedMessage, hop: Hop) -> list[str]:
        found: list[str] = []
        if hop is Hop.GATE:
            key = msg.facts.stamp_key  # fetched by the services stage for the gate hop
            message_id = msg.header("Message-ID") or ""
            if any(stamp.verify(key, v, message_id) for v in msg.header_all(stamp.HEADER)):
                found.append("origin stamp")
        found += [h for h in _SIMPLE_SIGNALS if msg.header(h) is not None]
        auto = (msg.header("Auto-Submitted") or "").split(";", 1)[0].strip().lower()
        if auto == "auto-forwarded":
            found.append("Auto-Submitted: auto-forwarded")
        ms = (msg.header("X-MS-Exchange-Organization-AutoForwarded") or "").strip().lower()
        if ms == "true":
            found.append("X-MS-Exchange-Organization-AutoForwarded")
        if any(self.official.matches_address(v) for v in msg.header_all("Delivered-To")):
            found.append("Delivered-To official address")
        if env.sender.upper().startswith(("SRS0=", "SRS1=", "SRS0+", "SRS1+", "SRS0-", "SRS1-")):
            found.append("SRS sender")
        return found

    def forwarder(self, env: Envelope, msg: ParsedMessage, index: int) -> str:
        """The official account whose mailbox forwarded, as far as the message tells."""
        candidates = [
            msg.header("X-Sieve-Redirected-From") or "",
            env.original_recipients[index] if index < len(env.original_recipients) else "",
            *msg.header_all("Delivered-To"),
            msg.header("X-Zimbra-Forwarded") or "",
        ]
        for c in candidates:
            addr = strip_brackets(c.strip())
            if addr and self.official.matches_address(addr):
                return addr.lower()
        return "unknown"

    def detect(self, env: Envelope, msg: ParsedMessage) -> Iterator[Finding]:
        hop = Hop(env.hop) if env.hop else Hop.INBOUND
        signals = self.signals(env, msg, hop)
        if signals:
            yield from self._forwards(env, msg, signals)
        elif hop in (Hop.SUBMISSION, Hop.INTERNAL):
            yield from self._public_mail(env)
        elif hop is Hop.INBOUND:
            parsed = parse_address(env.sender)
            if parsed is not None and self.public.matches(parsed.domain):
                yield Finding(RULE_PUBLIC, f"official mail from public provider {parsed.domain}",
                              Action.ACCEPT, Severity.INFO, "forwarding",
                              facts=(("direction", "from"), ("provider", parsed.domain)))

    def _forwards(self, env: Envelope, msg: ParsedMessage, signals: list[str]) -> Iterator[Finding]:
        how = ", ".join(signals)
        for i, rcpt in enumerate(env.recipients):
            dest = self.destination(rcpt)
            account = self.forwarder(env, msg, i)
            facts = (("account", account), ("destination", dest), ("signal", signals[0]))
            if self.refused(dest):
                yield Finding(RULE_BLOCK, f"auto-forward ({how}) of {account} to {rcpt}",
                              Action.REJECT, Severity.HIGH, "forwarding", recipients=(rcpt,),
                              facts=(*facts, ("outcome", "blocked")))
            elif dest == "official":
                yield Finding(RULE_ALLOWED, f"auto-forward ({how}) of {account} to official {rcpt}",
                              Action.ACCEPT, Severity.INFO, "forwarding",
                              facts=(*facts, ("outcome", "allowed")))
            else:
                yield Finding(RULE_BLOCK, f"auto-forward ({how}) of {account} to {rcpt} "
                              "allowed by mode public-providers", Action.ACCEPT, Severity.LOW,
                              "forwarding", facts=(*facts, ("outcome", "allowed")))

    def _public_mail(self, env: Envelope) -> Iterator[Finding]:
        providers = sorted({d for d in map(self.destination, env.recipients)
                            if d not in ("official", "non-official", "invalid")})
        for domain in providers:
            yield Finding(RULE_PUBLIC, f"official mail sent to public provider {domain}",
                          Action.ACCEPT, Severity.INFO, "forwarding",
                          facts=(("direction", "to"), ("provider", domain)))


def build(config: Config) -> Detector:
    rules = ForwardingRules(
        official=DomainSet(config.domains.official),
        public=DomainSet(config.domains.public_providers),
        public_only=config.forwarding.mode == "public-providers",
    )
    return Detector("forwarding", (RULE_BLOCK, RULE_ALLOWED, RULE_PUBLIC), rules.detect)
