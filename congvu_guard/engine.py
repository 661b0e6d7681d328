"""The policy engine: the same decisions for the milter and for ``congvu-guard scan``.

One message goes through the stages in order (docs/architecture.md):

1. the size gate on the counted bytes (``policy.GATES`` starts with it);
2. parse and expand (:func:`congvu_guard.parse.parse_and_expand`), then the size gate on
   the decoded content when ``[limits] size_basis = "decoded"``;
3. the services stage (:class:`congvu_guard.services.ServiceStage`): clamd, the IOC
   blocklist, SPF/DKIM/DMARC and the origin-stamp key, asked once, recorded on
   ``parsed.facts``;
4. the detectors, pure functions of (envelope, parsed message with its facts);
5. the remaining gates of :data:`congvu_guard.policy.GATES`, in that order.

What does I/O: only the services stage (3) and the rate limiter (:class:`Limiter`: the lock
lookup at MAIL FROM, the count and the malware lock at end of data). Nothing else here
touches the network or keeps per-message state: the caller hands it what the MTA said (an
:class:`Envelope`) and, at end of message, the message bytes; it answers with a
:class:`Verdict`. Errors inside a detector or a service client are not swallowed here: the
caller turns them into a temporary failure (451 4.3.0), never into an accept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol, TypeVar

from . import hold, replies, stamp
from .auth.service import Authenticator
from .config import Config
from .detectors import Detector, DetectorError, default_detectors
from .detectors import budget as scan_budget
from .detectors.budget import ScanBudget
from .detectors.content import MAX_MEMBER_BYTES, ExpansionCache, ScanLimits, expansion_cache
from .detectors.yara_scan import YaraScanner
from .explain import OWN_HEADERS
from .gates import RATE_RULE, SIZE_RULE, STAMP_RULE, STATE_RULE, check_overrides, rules_read
from .hops import Hop, HopClassifier
from .message import ParsedMessage, ParseLimits
from .model import Action, Envelope, Finding, Severity, Verdict
from .parse import parse_and_expand
from .policy import Gate, ReportBox, decide_content, gates_at
from .ratelimit.model import RateResult, Status
from .runcache import RunCache, run_cache
from .services import ServiceStage
from .services.stage import Blocklist, VirusScanner

__all__ = ["DetectorError", "Engine", "Limiter"]

_DELIVERED = (Action.ACCEPT, Action.TAG, Action.QUARANTINE)


class Limiter(Protocol):
    """The send-rate limiter and lock store (congvu_guard.ratelimit.service)."""

    def account_for(self, env: Envelope, hop: Hop) -> str: ...

    def lock_reason(self, account: str) -> tuple[str | None, Status]: ...

    def record(self, account: str, queue_id: str, nrcpt: int) -> RateResult: ...

    def lock_for_malware(self, account: str, detail: str, queue_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Scanned:
    """What the end-of-data gates after size see: the message and the detectors' findings."""

    env: Envelope
    parsed: ParsedMessage
    findings: tuple[Finding, ...]


EnvelopeGate = Callable[[Envelope], Verdict | None]  # a verdict stops the session there
MessageGate = Callable[[Scanned, Verdict], Verdict]  # each gate passes the verdict on


F = TypeVar("F")


def _bind(gates: Sequence[Gate], impl: Mapping[str, F]) -> tuple[tuple[Gate, F], ...]:
    """Every gate of the list with its implementation, in the list's order."""
    missing = [g.name for g in gates if g.name not in impl]
    extra = sorted(set(impl) - {g.name for g in gates})
    if missing or extra:
        raise RuntimeError(f"gates without an implementation {missing}, "
                           f"implementations without a gate {extra}")
    return tuple((g, impl[g.name]) for g in gates)


class Engine:
    """``stamp_key`` returns the origin-stamp key (None while it is unavailable).
    ``stamping`` is True in the milter: mail from outside must then get the origin stamp,
    and is tempfailed while the key is unavailable, so no forward can escape the gate.
    ``clamd`` and ``ioc`` are the clients the services stage asks (None: not configured)."""

    def __init__(
        self,
        config: Config,
        detectors: Sequence[Detector] | None = None,
        stamp_key: Callable[[], bytes | None] | None = None,
        stamping: bool = False,
        clock: Callable[[], float] = time.time,
        limiter: Limiter | None = None,
        yara: YaraScanner | None = None,
        clamd: VirusScanner | None = None,
        ioc: Blocklist | None = None,
        authenticator: Authenticator | None = None,
        expansions: ExpansionCache | None = None,
        runs: RunCache | None = None,
    ) -> None:
        """``yara`` defaults to a scanner compiled from the configured rules (a bad rule
        file raises YaraError); ``expansions`` to a new cache of opened containers
        (content.py) and ``runs`` to a new cache of decoded base64 runs (runcache.py);
        ``VerdictCache(max_entries=0)`` turns either off."""
        self.config = config
        self.expansions = expansions if expansions is not None else expansion_cache()
        self.runs = runs if runs is not None else run_cache()
        self.limiter = limiter
        self.yara = yara if yara is not None else YaraScanner(
            config.scan.yara_rules_dirs, config.scan.yara_timeout_seconds)
        self.scan_limits = ScanLimits(config.scan.max_depth, config.scan.max_members,
                                      config.scan.max_expanded_bytes,
                                      min(config.scan.max_expanded_bytes, MAX_MEMBER_BYTES),
                                      config.scan.max_ratio)
        self.parse_limits = ParseLimits(max_depth=config.scan.max_depth)
        self.clock = clock
        self.hops = HopClassifier(config.hops)
        self.services = ServiceStage(config, clamd, ioc, authenticator, stamp_key, stamping)
        if detectors is None:
            detectors = default_detectors(config, (self.yara.detector(),
                                                   *self.services.detectors()))
        self.detectors = tuple(detectors)
        self.report = ReportBox(config.report)
        self.known_rules = rules_read({r for d in self.detectors for r in d.rules})
        check_overrides(config, self.known_rules)  # an override no gate reads is refused
        self.envelope_gates = _bind(gates_at("mail-from"), {
            "size": self.declared_size_gate, "lock": self.lock_gate})
        # At end of data the size gate runs around the parse stage (check_message); the
        # gates after it see the scanned message.
        after_size = tuple(g for g in gates_at("end-of-data") if g.name != "size")
        self.message_gates = _bind(after_size, {
            "content": self.content_gate, "release": self.release_gate,
            "malware-lock": self.malware_step, "origin": self.origin_step,
            "rate": self.rate_step, "auth-header": self.auth_header_step,
            "subject-prefix": self.subject_prefix_gate})

    @property
    def stamping(self) -> bool:
        return self.services.stamping

    @property
    def authenticator(self) -> Authenticator | None:
        return self.services.authenticator

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
        """MAIL FROM: the gates of ``policy.gates_at("mail-from")`` in order (size, lock);
        the first verdict refuses the message."""
        for _, gate in self.envelope_gates:
            if (verdict := gate(env)) is not None:
                return verdict
        return None

    def declared_size_gate(self, env: Envelope) -> Verdict | None:
        """HUE-14: reject early when the declared SIZE= is over the limit."""
        if env.declared_size is not None and env.declared_size > self.buffer_ceiling:
            return self.size_verdict(env.declared_size, "declared SIZE=")
        return None

    def lock_gate(self, env: Envelope) -> Verdict | None:
        """The sending account is locked (HUE-13.2d and the monitor's locks)."""
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

    def rate_step(self, m: Scanned, verdict: Verdict) -> Verdict:
        """HUE-13.2d: count a message about to be accepted; the one over the limit locks."""
        env = m.env
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
        """End of message: size, parse and expand, services, detectors, then the gates."""
        if transmitted_size > self.buffer_ceiling:  # size gate, before anything is parsed
            return self.size_verdict(transmitted_size, "counted")
        env = replace(env, hop=self.hops.classify(env).value)
        timings: list[tuple[str, float]] = []
        budget = ScanBudget(self.config.scan.time_budget_seconds,
                            self.config.scan.max_expanded_bytes)
        limits = self.config.limits
        decoded_limit = limits.max_message_bytes if limits.size_basis == "decoded" else None
        parsed = parse_and_expand(raw, self.parse_limits, self.scan_limits, budget, timings,
                                  decoded_limit, self.expansions, self.runs)
        if decoded_limit is not None and parsed.decoded_bytes > decoded_limit:
            return self.size_verdict(parsed.decoded_bytes, "decoded content", decoded=True)
        parsed.facts = self.services.gather(env, parsed, timings)
        findings = self.run_detectors(env, parsed, timings, budget)
        if (over := scan_budget.finding(budget)) is not None:
            findings.append(over)  # MEDIUM: quarantine, never an accept bought by the budget
        scanned = Scanned(env, parsed, tuple(findings))
        verdict = Verdict(Action.ACCEPT)
        for _, gate in self.message_gates:
            verdict = gate(scanned, verdict)
        return replace(verdict, timings=tuple(timings), parts_scanned=len(parsed.content.files),
                       bytes_scanned=parsed.content.bytes_scanned)

    def content_gate(self, m: Scanned, verdict: Verdict) -> Verdict:
        """Every finding through [actions] and the direction's [policy.*] table, the report
        box, then the officer for secret documents (HUE-11.2). The verdict starts here."""
        direction = "inbound" if Hop(m.env.hop) is Hop.INBOUND else "outbound"
        verdict = decide_content(m.findings, m.env.recipients, self.report,
                                 self.config.actions, self.config.policy.get(direction, {}))
        return hold.to_officer(verdict, self.config.secret.officer)  # HUE-11.2

    def release_gate(self, m: Scanned, verdict: Verdict) -> Verdict:
        """Released from quarantine by the security team: deliver, findings recorded."""
        release = m.parsed.header(stamp.RELEASE_HEADER)
        if release and verdict.action is not Action.ACCEPT and stamp.verify_release(
                m.parsed.facts.stamp_key, release, m.parsed.header("Message-ID") or ""):
            return replace(verdict, action=Action.TAG, exempt=True, released=True,
                           smtp_code="", smtp_xcode="", smtp_text="", quarantine_to="",
                           removed_recipients=())
        return verdict

    def subject_prefix_gate(self, m: Scanned, verdict: Verdict) -> Verdict:
        prefix = self.config.scan.subject_prefix
        if prefix and verdict.action is Action.TAG and any(f.policy for f in verdict.findings):
            return replace(verdict, subject_prefix=prefix)
        return verdict

    def malware_step(self, m: Scanned, verdict: Verdict) -> Verdict:
        """HUE-13.2c: malware sent by one of our authenticated users locks the account."""
        env = m.env
        if (self.limiter is None or not self.config.scan.malware_locks_sender
                or not env.auth_user or verdict.action is not Action.REJECT):
            return verdict
        critical = [f for f in verdict.findings if f.severity is Severity.CRITICAL and f.policy]
        if critical:
            self.limiter.lock_for_malware(env.auth_user, critical[0].detail, env.queue_id)
        return verdict

    def origin_step(self, m: Scanned, verdict: Verdict) -> Verdict:
        """Which headers to remove and add on a delivered message (HUE-11.6 origin stamp).

        Copies of our own headers are always removed. Origin stamps are removed from mail
        our users submit and from mail arriving from outside, which then gets a fresh one;
        internal hops and the gate keep them, so that a forward is still recognised.
        """
        if verdict.action not in _DELIVERED:
            return verdict
        env, parsed = m.env, m.parsed
        hop = Hop(env.hop)
        strip: tuple[str, ...] = OWN_HEADERS
        if hop in (Hop.INBOUND, Hop.SUBMISSION):
            strip = (*OWN_HEADERS, stamp.HEADER)
        add: tuple[tuple[str, str], ...] = ()
        if hop is Hop.INBOUND and self.stamping:
            key = parsed.facts.stamp_key
            if key is None:
                finding = Finding(STAMP_RULE, "origin-stamp key unavailable (Redis down and no "
                                  "[forwarding] stamp_key_file)", Action.TEMPFAIL,
                                  Severity.HIGH, "stamp")
                return Verdict(Action.TEMPFAIL, (*verdict.findings, finding), *replies.tempfail())
            value = stamp.make(key, parsed.header("Message-ID") or "", int(self.clock()))
            add = ((stamp.HEADER, value),)
        return replace(verdict, strip_headers=strip, add_headers=add)

    def auth_header_step(self, m: Scanned, verdict: Verdict) -> Verdict:
        """The Authentication-Results header on a delivered message that was checked; the
        copies it arrived with are removed (RFC 8601 5: a forger could claim a pass)."""
        facts = m.parsed.facts.auth
        header = self.services.auth_header(facts) if facts is not None else None
        if header is None or verdict.action not in _DELIVERED:
            return verdict
        name, value = header
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
