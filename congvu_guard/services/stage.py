"""The services stage (stage 3): the only network I/O of a message besides the rate
limiter, done here, once, before the detectors run."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TypeVar

from .. import stamp
from ..auth.model import AuthFacts
from ..auth.service import Authenticator
from ..config import Config
from ..detectors import Detector, DetectorError
from ..detectors import clamav as clamav_detector
from ..detectors import ioc as ioc_detector
from ..facts import ClamavFacts, Facts, IocFacts
from ..hops import Hop
from ..message import ParsedMessage
from ..model import Envelope


class VirusScanner(Protocol):
    """clamd (:class:`congvu_guard.services.clamd.Clamd`)."""

    @property
    def on_failure(self) -> str: ...

    def check(self, raw: bytes) -> ClamavFacts: ...


class Blocklist(Protocol):
    """The IOC lookup (:class:`congvu_guard.services.ioc.IocService`)."""

    @property
    def on_failure(self) -> str: ...

    def check(self, env: Envelope, msg: ParsedMessage) -> IocFacts: ...


T = TypeVar("T")


class ServiceError(DetectorError):
    """A service client raised (a bug, not a service being down; those are facts): an
    internal error, reported as a tempfail like a detector's (the clamd and IOC clients
    were detectors before this stage existed)."""

    def __init__(self, service: str, error: BaseException) -> None:
        RuntimeError.__init__(self, f"service {service} failed: {type(error).__name__}: "
                                    f"{error}")
        self.detector = service


class ServiceStage:
    """``stamp_key`` returns the origin-stamp key (None while it is unavailable; a Redis-held
    key is created on first use). ``stamping``: mail from outside gets an origin stamp (the
    milter), so its key is fetched for every inbound message."""

    def __init__(
        self,
        config: Config,
        clamd: VirusScanner | None = None,
        ioc: Blocklist | None = None,
        authenticator: Authenticator | None = None,
        stamp_key: Callable[[], bytes | None] | None = None,
        stamping: bool = False,
    ) -> None:
        self.clamd = clamd
        self.ioc = ioc
        # HUE-11.11 (origin): SPF/DKIM/DMARC facts when own domains or authentication are set.
        if authenticator is None and (config.domains.own or config.origin.authentication):
            authenticator = Authenticator(config)
        self.authenticator = authenticator
        self.stamp_key = stamp_key or (lambda: None)
        self.stamping = stamping

    def detectors(self) -> tuple[Detector, ...]:
        """The pure detectors reading the facts of the services configured here (their
        rules are valid ``[actions]`` keys only then, as before the stage existed)."""
        out = []
        if self.clamd is not None:
            out.append(clamav_detector.build(self.clamd.on_failure))
        if self.ioc is not None:
            out.append(ioc_detector.build(self.ioc.on_failure))
        return tuple(out)

    def needs_stamp_key(self, env: Envelope, parsed: ParsedMessage) -> bool:
        """A stamp to verify at the gate (HUE-11.6), one to add at the inbound door, or a
        release header to verify: only then is the key asked for."""
        hop = Hop(env.hop) if env.hop else Hop.INBOUND
        return (hop is Hop.GATE or (hop is Hop.INBOUND and self.stamping)
                or bool(parsed.header(stamp.RELEASE_HEADER)))

    def gather(self, env: Envelope, parsed: ParsedMessage,
               timings: list[tuple[str, float]]) -> Facts:
        """Ask every configured service about this message, once."""
        auth: AuthFacts | None = None
        clamav: ClamavFacts | None = None
        ioc: IocFacts | None = None
        if self.authenticator is not None:  # DNS failures are temperror facts, not raised
            t0 = time.perf_counter()
            auth = self.authenticator.check(env, parsed)
            timings.append(("auth", time.perf_counter() - t0))
        if self.clamd is not None:  # clamd times itself (stage "clamd")
            clamd = self.clamd
            clamav = _ask("clamd", lambda: clamd.check(parsed.raw))
        if self.ioc is not None:
            blocklist = self.ioc
            t0 = time.perf_counter()
            ioc = _ask("ioc", lambda: blocklist.check(env, parsed))
            timings.append(("ioc-lookup", time.perf_counter() - t0))
        key = self.stamp_key() if self.needs_stamp_key(env, parsed) else None
        return Facts(auth=auth, clamav=clamav, ioc=ioc, stamp_key=key)

    def auth_header(self, facts: AuthFacts) -> tuple[str, str] | None:
        """The Authentication-Results header for checked mail (None without a checker)."""
        return None if self.authenticator is None else self.authenticator.header(facts)


def _ask(name: str, ask: Callable[[], T]) -> T:
    try:
        return ask()
    except Exception as e:  # a bug in a client (not a service down): 451 via the caller
        raise ServiceError(name, e) from e
