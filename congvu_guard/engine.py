"""The policy engine: the same decisions for the milter and for ``congvu-guard scan``.

It does no network I/O and keeps no per-message state: the caller hands it what the MTA
said (an :class:`Envelope`) and, at end of message, the message bytes; it answers with a
:class:`Verdict`. Errors inside a detector are not swallowed here: the caller turns them
into a temporary failure (451 4.3.0), never into an accept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Protocol

from . import hold, replies, stamp
from .auth.service import Authenticator
from .config import Config
from .detectors import Detector, default_detectors
from .detectors import budget as scan_budget
from .detectors.budget import ScanBudget
from .detectors.content import MAX_MEMBER_BYTES, ScanLimits, expand
from .detectors.yara_scan import YaraScanner
from .explain import OWN_HEADERS
from .gates import RATE_RULE, SIZE_RULE, STAMP_RULE, STATE_RULE, check_overrides
from .hops import Hop, HopClassifier
from .message import ParsedMessage, ParseLimits, parse_message
from .model import Action, Envelope, Finding, Severity, Verdict
from .policy import ReportBox, decide_content
from .ratelimit.model import RateResult, Status

_DELIVERED = (Action.ACCEPT, Action.TAG, Action.QUARANTINE)


class Limiter(Protocol):
    """The send-rate limiter and lock store (congvu_guard.ratelimit.service)."""

    def account_for(self, env: Envelope, hop: Hop) -> str: ...

    def lock_reason(self, account: str) -> tuple[str | None, Status]: ...

    def record(self, account: str, queue_id: str, nrcpt: int) -> RateResult: ...

    def lock_for_malware(self, account: str, detail: str, queue_id: str) -> None: ...


class DetectorError(RuntimeError):
    """A detector raised: an internal error, reported as a tempfail."""

    def __init__(self, detector: str, error: BaseException) -> None:
        super().__init__(f"detector {detector} failed: {type(error).__name__}: {error}")
        self.detector = detector


class Engine:
    """``stamp_key`` returns the origin-stamp key (None while it is unavailable).
    ``stamping`` is True in the milter: mail from outside must then get the origin stamp,
    and is tempfailed while the key is unavailable, so no forward can escape the gate."""

    def __init__(
        self,
        config: Config,
        detectors: Sequence[Detector] | None = None,
        stamp_key: Callable[[], bytes | None] | None = None,
        stamping: bool = False,
        clock: Callable[[], float] = time.time,
        limiter: Limiter | None = None,
        yara: YaraScanner | None = None,
        services: tuple[Detector, ...] = (),
        authenticator: Authenticator | None = None,
    ) -> None:
        """``yara`` defaults to a scanner compiled from the configured rules (a bad rule
        file raises YaraError); ``services`` are detectors backed by a service (clamd,
        the IOC blocklist)."""
        self.config = config
        self.limiter = limiter
        self.yara = yara if yara is not None else YaraScanner(
            config.scan.yara_rules_dirs, config.scan.yara_timeout_seconds)
        self.scan_limits = ScanLimits(config.scan.max_depth, config.scan.max_members,
                                      config.scan.max_expanded_bytes,
                                      min(config.scan.max_expanded_bytes, MAX_MEMBER_BYTES),
                                      config.scan.max_ratio)
        self.stamp_key = stamp_key or (lambda: None)
        self.stamping = stamping
        self.clock = clock
        self.hops = HopClassifier(config.hops)
        if detectors is None:
            detectors = default_detectors(config, self.stamp_key,
                                          (self.yara.detector(), *services))
        self.detectors = tuple(detectors)
        self.report = ReportBox(config.report)
        # HUE-11.11 (origin): SPF/DKIM/DMARC facts computed before the detectors run.
        self.authenticator = authenticator
        if authenticator is None and (config.domains.own or config.origin.authentication):
            self.authenticator = Authenticator(config)
        self.known_rules = {SIZE_RULE, STAMP_RULE, RATE_RULE, STATE_RULE, scan_budget.RULE,
                            *(r for d in self.detectors for r in d.rules)}
        check_overrides(config, self.known_rules)  # an override no gate reads is refused

    # -- size (HUE-14) -------------------------------------------------------------------

    @property
    def buffer_ceiling(self) -> int:
        """Bytes on the wire past which the message is rejected without further buffering."""
        return self.config.limits.buffer_ceiling

    def size_verdict(self, size: int, how: str, decoded: bool = False) -> Verdict:
        limit = self.config.limits.max_message_bytes if decoded else self.buffer_ceiling
        finding = Finding(
            SIZE_RULE, f"{how} {size} bytes > limit {limit} bytes", Action.REJECT,
            Severity.LOW, "size",
        )
        basis = "decoded" if decoded else "transmitted"
        return Verdict(Action.REJECT, (finding,), *replies.size_exceeded(limit, basis))

    def check_envelope(self, env: Envelope) -> Verdict | None:
        """MAIL FROM stage: reject early when the declared SIZE= is over the limit, or when
        the sending account is locked (HUE-13.2d and the monitor's locks)."""
        if env.declared_size is not None and env.declared_size > self.buffer_ceiling:
            return self.size_verdict(env.declared_size, "declared SIZE=")
        if self.limiter is None:
            return None
        account = self.limiter.account_for(env, self.hops.classify(env))
        if not account:
            return None
        reason, status = self.limiter.lock_reason(account)
        if status is Status.UNAVAILABLE:
            return self._state_unavailable()
        if reason is not None:
            finding = Finding(reason, f"account {account} is locked", Action.REJECT,
                              Severity.MEDIUM, "ratelimit")
            reply = replies.account_locked(reason, self.report.address)
            return Verdict(Action.REJECT, (finding,), *reply)
        return None

    def _state_unavailable(self) -> Verdict:
        finding = Finding(STATE_RULE, "send-rate state unavailable (Redis down)",
                          Action.TEMPFAIL, Severity.HIGH, "ratelimit")
        return Verdict(Action.TEMPFAIL, (finding,), *replies.tempfail())

    def rate_step(self, env: Envelope, verdict: Verdict) -> Verdict:
        """HUE-13.2d: count a message about to be accepted; the one over the limit locks."""
        if self.limiter is None or verdict.action not in _DELIVERED:
            return verdict
        account = self.limiter.account_for(env, Hop(env.hop))
        if not account:
            return verdict
        nrcpt = len(env.recipients) - len(verdict.removed_recipients)
        result = self.limiter.record(account, env.queue_id, nrcpt)
        if result.status is Status.UNAVAILABLE:
            return self._state_unavailable()
        if result.status is Status.LOCKED:
            reason = result.lock.reason if result.lock else RATE_RULE
            finding = Finding(reason, f"account {account} is locked", Action.REJECT,
                              Severity.MEDIUM, "ratelimit")
            return Verdict(Action.REJECT, (*verdict.findings, finding),
                           *replies.account_locked(reason, self.report.address))
        if result.status is Status.EXCEEDED:
            minutes = result.window_seconds // 60
            finding = Finding(
                RATE_RULE,
                f"{account}: message {result.count + 1} within {minutes} min, limit "
                f"{result.limit}; account locked"
                + (" (per-server fallback)" if result.fallback else ""),
                Action.REJECT, Severity.HIGH, "ratelimit",
                facts=(("account", result.account),),
            )
            return Verdict(Action.REJECT, (*verdict.findings, finding),
                           *replies.account_locked(RATE_RULE, self.report.address))
        return verdict

    # -- whole message -------------------------------------------------------------------

    def check_message(self, env: Envelope, raw: bytes, transmitted_size: int) -> Verdict:
        """End of message: size, then every detector, then the policy step."""
        if transmitted_size > self.buffer_ceiling:
            return self.size_verdict(transmitted_size, "counted")
        env = replace(env, hop=self.hops.classify(env).value)
        timings: list[tuple[str, float]] = []
        t0 = time.perf_counter()
        budget = ScanBudget(self.config.scan.time_budget_seconds,
                            self.config.scan.max_expanded_bytes)
        parsed = parse_message(raw, ParseLimits(max_depth=self.config.scan.max_depth))
        timings.append(("parse", time.perf_counter() - t0))
        limits = self.config.limits
        if limits.size_basis == "decoded" and parsed.decoded_bytes > limits.max_message_bytes:
            return self.size_verdict(parsed.decoded_bytes, "decoded content", decoded=True)
        t0 = time.perf_counter()
        parsed.content = expand(parsed, self.scan_limits, budget)
        timings.append(("expand", time.perf_counter() - t0))
        if self.authenticator is not None:
            t0 = time.perf_counter()
            parsed.auth = self.authenticator.check(env, parsed)
            timings.append(("auth", time.perf_counter() - t0))
        findings = self.run_detectors(env, parsed, timings, budget)
        if (over := scan_budget.finding(budget)) is not None:
            findings.append(over)  # MEDIUM: quarantine, never an accept bought by the budget
        direction = "inbound" if Hop(env.hop) is Hop.INBOUND else "outbound"
        verdict = decide_content(findings, env.recipients, self.report, self.config.actions,
                                 self.config.policy.get(direction, {}))
        verdict = hold.to_officer(verdict, self.config.secret.officer)  # HUE-11.2
        release = parsed.header(stamp.RELEASE_HEADER)
        if release and verdict.action is not Action.ACCEPT and stamp.verify_release(
                self.stamp_key(), release, parsed.header("Message-ID") or ""):
            # Released from quarantine by the security team: deliver, findings recorded.
            verdict = replace(verdict, action=Action.TAG, exempt=True, released=True,
                              smtp_code="", smtp_xcode="", smtp_text="", quarantine_to="",
                              removed_recipients=())
        verdict = self.malware_step(env, verdict)
        verdict = self.rate_step(env, self.origin_step(env, parsed, verdict))
        verdict = self.auth_header_step(parsed, verdict)
        prefix = self.config.scan.subject_prefix
        if prefix and verdict.action is Action.TAG and any(f.policy for f in verdict.findings):
            verdict = replace(verdict, subject_prefix=prefix)
        return replace(verdict, timings=tuple(timings), parts_scanned=len(parsed.content.files),
                       bytes_scanned=parsed.content.bytes_scanned)

    def malware_step(self, env: Envelope, verdict: Verdict) -> Verdict:
        """HUE-13.2c: malware sent by one of our authenticated users locks the account."""
        if (self.limiter is None or not self.config.scan.malware_locks_sender
                or not env.auth_user or verdict.action is not Action.REJECT):
            return verdict
        critical = [f for f in verdict.findings if f.severity is Severity.CRITICAL and f.policy]
        if critical:
            self.limiter.lock_for_malware(env.auth_user, critical[0].detail, env.queue_id)
        return verdict

    def origin_step(self, env: Envelope, parsed: ParsedMessage, verdict: Verdict) -> Verdict:
        """Which headers to remove and add on a delivered message (HUE-11.6 origin stamp).

        Copies of our own headers are always removed. Origin stamps are removed from mail
        our users submit and from mail arriving from outside, which then gets a fresh one;
        internal hops and the gate keep them, so that a forward is still recognised.
        """
        if verdict.action not in _DELIVERED:
            return verdict
        hop = Hop(env.hop)
        strip: tuple[str, ...] = OWN_HEADERS
        if hop in (Hop.INBOUND, Hop.SUBMISSION):
            strip = (*OWN_HEADERS, stamp.HEADER)
        add: tuple[tuple[str, str], ...] = ()
        if hop is Hop.INBOUND and self.stamping:
            key = self.stamp_key()
            if key is None:
                finding = Finding(STAMP_RULE, "origin-stamp key unavailable (Redis down and no "
                                  "[forwarding] stamp_key_file)", Action.TEMPFAIL,
                                  Severity.HIGH, "stamp")
                return Verdict(Action.TEMPFAIL, (*verdict.findings, finding), *replies.tempfail())
            value = stamp.make(key, parsed.header("Message-ID") or "", int(self.clock()))
            add = ((stamp.HEADER, value),)
        return replace(verdict, strip_headers=strip, add_headers=add)

    def auth_header_step(self, parsed: ParsedMessage, verdict: Verdict) -> Verdict:
        """The Authentication-Results header on a delivered message that was checked; the
        copies it arrived with are removed (RFC 8601 5: a forger could claim a pass)."""
        if parsed.auth is None or self.authenticator is None or \
                verdict.action not in _DELIVERED:
            return verdict
        name, value = self.authenticator.header(parsed.auth)
        return replace(verdict, add_headers=(*verdict.add_headers, (name, value)),
                       strip_headers=(*verdict.strip_headers, name))

    def run_detectors(
        self, env: Envelope, parsed: ParsedMessage, timings: list[tuple[str, float]],
        budget: ScanBudget | None = None,
    ) -> list[Finding]:
        findings: list[Finding] = []
        for det in self.detectors:
            if budget is not None and budget.time_up():
                budget.skipped.append(det.name)  # the scan stops; the finding says so
                continue
            t0 = time.perf_counter()
            try:
                findings.extend(det.detect(env, parsed))
            except Exception as e:  # a bug in a detector: the caller tempfails the message
                raise DetectorError(det.name, e) from e
            finally:
                timings.append((det.name, time.perf_counter() - t0))
        return findings
