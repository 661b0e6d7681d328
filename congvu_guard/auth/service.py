"""The authentication stage the engine runs before the detectors, for mail from outside.

- ``[domains] own`` set: the DKIM signatures of own domains are verified (keys from
  ``[origin] dkim_key_files``, else from DNS), so the origin detector can tell our own
  servers' mail from a forgery.
- ``[origin] authentication = true``: every DKIM signature, SPF of the MAIL FROM domain and
  DMARC of the From: domain, through :class:`~congvu_guard.auth.dns.Resolver`.

Nothing here rejects: it returns :class:`AuthFacts`; a DNS failure is ``temperror``.
"""

from __future__ import annotations

import email.utils
import logging
import re
import socket
from pathlib import Path

from ..addresses import DomainSet, normalize_domain
from ..config import Config, ConfigError
from ..hops import Hop
from ..message import ParsedMessage
from ..model import Envelope
from .checks import dkim_results, dmarc_result, spf_result
from .dns import Resolver
from .model import AuthFacts

log = logging.getLogger("congvu_guard.auth")

_QUOTED = re.compile(rb'"([^"]*)"')


def read_key_record(path: str) -> bytes:
    """A DKIM key record from a file: the TXT text itself, or a zone-file line such as
    opendkim-genkey's SELECTOR.txt (the quoted strings joined)."""
    data = Path(path).read_bytes()
    if b'"' in data:
        data = b"".join(_QUOTED.findall(data))
    return b" ".join(data.split())


def load_local_keys(specs: tuple[str, ...]) -> dict[str, bytes]:
    keys = {}
    for spec in specs:
        name, _, path = spec.partition("=")
        try:
            record = read_key_record(path)
        except OSError as e:
            raise ConfigError(f"[origin] dkim_key_files: cannot read {path}: {e.strerror}") from e
        if b"p=" not in record:
            raise ConfigError(f"[origin] dkim_key_files: {path} holds no DKIM key record (p=)")
        keys[name.strip().rstrip(".").lower()] = record
    return keys


def from_domain(msg: ParsedMessage) -> str:
    addresses = email.utils.getaddresses(msg.header_all("From"))
    address = next((a for _, a in addresses if "@" in a), "")
    return normalize_domain(address.rpartition("@")[2]) if address else ""


class Authenticator:
    def __init__(self, config: Config, resolver: Resolver | None = None) -> None:
        self.own = DomainSet(config.domains.own)
        self.full = config.origin.authentication
        self.local_keys = load_local_keys(config.origin.dkim_key_files)
        self.resolver = resolver or Resolver(config.dns)
        self.authserv_id = config.origin.authserv_id or socket.getfqdn()

    def check(self, env: Envelope, msg: ParsedMessage) -> AuthFacts | None:
        """The facts for a message at the inbound door; None for the other hops."""
        if Hop(env.hop) is not Hop.INBOUND:
            return None
        budget = self.resolver.budget()
        domain = from_domain(msg)
        wanted = None if self.full else self.own.matches
        # dkimpy copies and splits the whole message: only when there is a signature.
        dkim = dkim_results(msg.raw, self.resolver, budget, self.local_keys, wanted) \
            if msg.header("DKIM-Signature") is not None else []
        facts = AuthFacts(domain, tuple(dkim), client_addr=env.client_addr)
        if self.full:
            sender_domain = normalize_domain(env.sender.rpartition("@")[2])
            spf = spf_result(env.client_addr, env.sender, env.client_name, self.resolver,
                             budget)
            dmarc, policy = dmarc_result(domain, dkim, spf, sender_domain, self.resolver,
                                         budget)
            facts = AuthFacts(domain, tuple(dkim), spf, sender_domain, dmarc, policy,
                              env.client_addr)
        log.info("queue_id=%s %s", env.queue_id or "-", facts.summary())
        return facts

    def header(self, facts: AuthFacts) -> tuple[str, str]:
        return ("Authentication-Results", facts.header(self.authserv_id))
