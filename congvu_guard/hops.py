"""Which door a message came through: the hop decides which rules apply.

- ``gate``: the outbound gate, a loopback smtpd that every message leaving for another
  domain passes (its ``{daemon_name}`` is listed in ``[hops] gate``).
- ``submission``: our own users sending (a SASL login, or a daemon in ``[hops] submission``).
- ``internal``: our own hosts and local submission (``sendmail``/pickup, Dovecot's Sieve
  redirects, webmail servers): a client address in ``[hops] internal_networks``.
- ``inbound``: everything else, i.e. mail from outside. It gets the origin stamp.
"""

from __future__ import annotations

import enum
import functools
import ipaddress
from collections.abc import Sequence

from .config import HopsConfig
from .model import Envelope


class Hop(enum.Enum):
    INBOUND = "inbound"
    SUBMISSION = "submission"
    INTERNAL = "internal"
    GATE = "gate"


class HopClassifier:
    def __init__(self, cfg: HopsConfig) -> None:
        self.gate = set(cfg.gate)
        self.submission = set(cfg.submission)
        self.networks: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = [
            ipaddress.ip_network(n, strict=False) for n in cfg.internal_networks
        ]
        # Asked at MAIL FROM and again at end of data, mostly for the same few relays:
        # parsing the address each time was 5 % of the milter's Python time on
        # bench/throughput's PDF mix (py-spy --gil). Bounded: clients are attacker-chosen.
        self.is_internal_address = functools.lru_cache(maxsize=4096)(
            self._is_internal_address)

    def _is_internal_address(self, addr: str) -> bool:
        try:
            ip = ipaddress.ip_address(addr.strip("[]").removeprefix("IPv6:"))
        except ValueError:
            return False
        return any(ip in n for n in self.networks)

    def classify(self, env: Envelope) -> Hop:
        if env.hop:
            return Hop(env.hop)
        if env.daemon_name in self.gate:
            return Hop.GATE
        if env.auth_user or env.daemon_name in self.submission:
            return Hop.SUBMISSION
        if self.is_internal_address(env.client_addr):
            return Hop.INTERNAL
        return Hop.INBOUND
