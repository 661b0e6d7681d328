"""What the services stage found out about one message, as plain typed data.

The services stage (:mod:`congvu_guard.services`) asks each network service once per
message, before the detectors run, and records its answer here, on
:attr:`ParsedMessage.facts <congvu_guard.message.ParsedMessage.facts>`. The detectors read
these facts and never ask a service themselves (they stay pure functions of the envelope
and the parsed message). A failing service is a fact too (``unavailable``): the detector
turns it into the same finding as before the stage existed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .auth.model import AuthFacts


@dataclass(frozen=True, slots=True)
class ClamavFacts:
    """HUE-11.5: clamd's answer for the whole message."""

    signature: str | None = None  # the signature clamd found; None: it answered OK
    unavailable: str = ""  # why the message was not virus-scanned ("" = it was)


@dataclass(frozen=True, slots=True)
class IocFacts:
    """HUE-11.11: which of the message's hashes, link domains and senders are listed."""

    hits: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # kind -> listed values
    unavailable: bool = False  # the blocklist could not be read (Redis down, copy stale)


@dataclass(frozen=True, slots=True)
class Facts:
    """None means "not asked": the service is not configured, or not for this hop."""

    auth: AuthFacts | None = None  # HUE-11.11 SPF/DKIM/DMARC, mail from outside only
    clamav: ClamavFacts | None = None
    ioc: IocFacts | None = None
    # CG-STAMP / HUE-11.6: the origin-stamp key, fetched when this message needs it (a
    # stamp to verify at the gate or to add at the inbound door, a release header); None
    # while it is unavailable or was not needed.
    stamp_key: bytes | None = None
