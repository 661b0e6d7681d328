"""Prometheus metrics of the milter. Names start with ``congvu_guard_`` and carry their unit.

The metric names are a contract with the Grafana dashboards and alert rules in
``dashboards/``; rename one only together with them.

No label carries an account or an address (personal data; one series per account): the
top senders and forwarders go to the monitor's API instead (``state/top.py``). The milter
(``Metrics``) and the monitor (``MonitorMetrics``) each export only their own metrics.
``_created`` series are off: nothing here reads them, and they doubled the series count.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from . import __version__
from .detectors.budget import OUTCOMES
from .model import Action, Verdict
from .state.top import ForwarderCounts, TopSenders

disable_created_metrics()


class Budget(Protocol):
    """A shared byte budget (``milter.spool.BodyMemory``)."""

    used: int
    limit: int
    spilled: int


class _Spilled(Collector):
    """congvu_guard_body_spooled_total, read from the budget when scraped."""

    def __init__(self, memory: Budget) -> None:
        self.memory = memory

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily(
            "congvu_guard_body_spooled",
            "Large message bodies written to the spool directory because the memory budget "
            "([scan] body_memory_bytes) had no room for them (every large body when it is 0).",
            value=self.memory.spilled)


SIZE_BUCKETS = (
    1024, 10 * 1024, 100 * 1024, 512 * 1024, 1024**2, 5 * 1024**2, 10 * 1024**2,
    20 * 1024**2, 25 * 1024**2, 30 * 1024**2,
)
TIME_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        # Per account, in memory and published to Redis for the monitor API (state/top.py).
        self.top_senders = TopSenders()
        self.top_forwarders = ForwarderCounts()
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "congvu_guard_messages_total",
            "Messages decided, by final action (one count per message).",
            ["action"], registry=r,
        )
        self.rule_hits = Counter(
            "congvu_guard_rule_hits_total",
            "Findings per rule ID and the action of the message they were part of.",
            ["rule", "action"], registry=r,
        )
        self.message_size = Histogram(
            "congvu_guard_message_size_bytes",
            "Size of messages as counted by the milter (bytes on the wire).",
            buckets=SIZE_BUCKETS, registry=r,
        )
        self._stages: dict[str, Histogram] = {}
        self.stage_duration = Histogram(
            "congvu_guard_stage_duration_seconds",
            "Processing time per milter stage (envfrom, eom) and per detector.",
            ["stage"], buckets=TIME_BUCKETS, registry=r,
        )
        self.errors = Counter(
            "congvu_guard_errors_total",
            "Internal errors, by stage; each one answered the client with 451 4.3.0.",
            ["stage"], registry=r,
        )
        self.connections = Gauge(
            "congvu_guard_milter_connections", "Milter connections open now.", registry=r,
        )
        self.quarantined = Counter(
            "congvu_guard_quarantined_total",
            "Messages routed to the report box (HUE-11.11), by rule.",
            ["rule"], registry=r,
        )
        self.autoforward = Counter(
            "congvu_guard_autoforward_total",
            "Automatic forwards seen (HUE-11.6/HUE-12.4), by outcome and destination provider "
            "(or non-official/official); per account: GET /api/v1/top/forwarders.",
            ["outcome", "destination"], registry=r,
        )
        self.public_provider_mail = Counter(
            "congvu_guard_public_provider_mail_total",
            "Official mail sent to or received from public mail providers (HUE-11.7).",
            ["direction", "provider"], registry=r,
        )
        self.ratelimit_checks = Counter(
            "congvu_guard_ratelimit_checks_total",
            "Send-rate checks at end of message (HUE-13.2d), by result.",
            ["result"], registry=r,
        )
        self.locks = Counter(
            "congvu_guard_locks_total", "Accounts locked by this process, by reason.",
            ["reason"], registry=r,
        )
        self.locked_accounts = Gauge(
            "congvu_guard_locked_accounts", "Accounts locked now (all servers).", registry=r,
        )
        self.ratelimit_fallback = Gauge(
            "congvu_guard_ratelimit_fallback_active",
            "1 while Redis is unreachable and the per-process fallback limits.", registry=r,
        )
        self.redis_duration = Histogram(
            "congvu_guard_redis_duration_seconds", "Latency of Redis operations.",
            ["op"], buckets=TIME_BUCKETS, registry=r,
        )
        self.redis_errors = Counter(
            "congvu_guard_redis_errors_total", "Failed Redis operations.", ["op"], registry=r,
        )
        self.clamd_up = Gauge(
            "congvu_guard_clamd_up", "1 while clamd answers and recognises EICAR.", registry=r,
        )
        self.clamd_enabled = Gauge(
            "congvu_guard_clamd_enabled", "1 when [clamav] enabled = true.", registry=r,
        )
        self.ratelimit_limit = Gauge(
            "congvu_guard_ratelimit_limit_messages", "The configured HUE-13.2d limit.",
            registry=r,
        )
        self.clamd_errors = Counter(
            "congvu_guard_clamd_errors_total", "Failed clamd scans.", registry=r,
        )
        self.clamd_fallbacks = Counter(
            "congvu_guard_clamd_fallbacks_total",
            "Messages judged without clamd (its fallback applied).", registry=r,
        )
        self.yara_hits = Counter(
            "congvu_guard_yara_hits_total", "YARA rule matches.", ["rule"], registry=r,
        )
        self.parts_scanned = Counter(
            "congvu_guard_scanned_parts_total",
            "Files scanned: MIME parts and archive members.", registry=r,
        )
        self.bytes_scanned = Counter(
            "congvu_guard_scanned_bytes_total", "Bytes of files scanned.", registry=r,
        )
        self.legacy_encoding = Counter(
            "congvu_guard_legacy_encoding_total",
            "Text in legacy Vietnamese encodings instead of Unicode (HUE-5.3).",
            ["encoding"], registry=r,
        )
        self.redis_up = Gauge(
            "congvu_guard_redis_up", "1 when the last Redis operation succeeded.", registry=r,
        )
        self.local_copy_fresh = Gauge(
            "congvu_guard_local_copy_fresh",
            "1 while the local copy of a shared set (locks, ioc) answers lookups; 0 while "
            "it is stale and every message asks Redis.", ["copy"], registry=r,
        )
        # One time and byte budget per message (detectors/budget.py, issue 14).
        self.scan_budget = Counter(
            "congvu_guard_scan_budget_total",
            "Messages scanned, by budget outcome: within, or the budget that ran out (time, "
            "bytes; the message then got HUE-11.5/scan-budget).", ["outcome"], registry=r,
        )
        self.scan_budget_seconds = Gauge(
            "congvu_guard_scan_budget_seconds",
            "Configured scan time budget per message ([scan] time_budget_seconds).",
            registry=r,
        )
        self.scan_budget_bytes = Gauge(
            "congvu_guard_scan_budget_bytes",
            "Configured decompression byte budget per message ([scan] max_expanded_bytes).",
            registry=r,
        )
        self.body_memory = Gauge(
            "congvu_guard_body_memory_bytes",
            "Bytes of large message bodies held in memory while they arrive, all connections "
            "together (bodies past the budget go to the spool directory).", registry=r,
        )
        self.body_memory_limit = Gauge(
            "congvu_guard_body_memory_limit_bytes",
            "That budget ([scan] body_memory_bytes; 0 with scan workers).", registry=r,
        )
        self.build_info = Gauge(
            "congvu_guard_build_info", "Version of congvu-guard.", ["version"], registry=r,
        )
        self.build_info.labels(__version__).set(1)
        for a in Action:
            self.messages.labels(a.value)
        for stage in ("envfrom", "envrcpt", "header", "body", "eom"):
            self.errors.labels(stage)
        for result in ("ok", "exceeded", "locked", "unlimited", "unavailable"):
            self.ratelimit_checks.labels(result)
        self.ratelimit_fallback.set(0)
        for outcome in OUTCOMES:
            self.scan_budget.labels(outcome)
        # HUE-11.2: messages carrying a classification mark, by the highest level found,
        # direction and what happened (quarantine = held for the security officer). No
        # account or address labels: who sent a classified document is in the audit trail.
        self.secret_marks = Counter(
            "congvu_guard_secret_marks_total",
            "Messages with a state-secret classification mark (HUE-11.2), by level "
            "(mat, toi-mat, tuyet-mat), direction and final action.",
            ["level", "direction", "action"], registry=r,
        )
        for level in ("mat", "toi-mat", "tuyet-mat"):
            for way in ("inbound", "outbound"):
                self.secret_marks.labels(level, way, "quarantine")

    def _stage(self, stage: str) -> Histogram:
        """The stage's histogram series. ``labels()`` validates and locks on every call
        (2.5 µs); a message records about 16 stages."""
        child = self._stages.get(stage)
        if child is None:
            child = self._stages[stage] = self.stage_duration.labels(stage)
        return child

    def record_verdict(self, verdict: Verdict, size: int | None) -> None:
        action = verdict.action.value
        self.messages.labels(action).inc()
        for rule in verdict.rules:
            self.rule_hits.labels(rule, action).inc()
            if verdict.action is Action.QUARANTINE:
                self.quarantined.labels(rule).inc()
        for f in verdict.findings:
            if f.fact("outcome"):
                # "blocked" only when the recipient really was refused: an [actions]
                # override may have let it through.
                refused = any(r in verdict.removed_recipients for r in f.recipients)
                outcome = "blocked" if refused else "allowed"
                self.autoforward.labels(outcome, f.fact("destination")).inc()
                if f.fact("account"):
                    self.top_forwarders.add(f.fact("account"))
            elif f.fact("provider"):
                self.public_provider_mail.labels(f.fact("direction"), f.fact("provider")).inc()
            if f.fact("yara_rule"):
                self.yara_hits.labels(f.fact("yara_rule")).inc()
            if f.fact("encoding"):
                self.legacy_encoding.labels(f.fact("encoding")).inc()
        self.record_secret(verdict)
        if size is not None:
            self.message_size.observe(size)
        if verdict.timings:  # the content was scanned
            over = next((f.fact("budget") for f in verdict.findings if f.fact("budget")), "")
            self.scan_budget.labels(over or "within").inc()
        self.parts_scanned.inc(verdict.parts_scanned)
        self.bytes_scanned.inc(verdict.bytes_scanned)
        for stage, seconds in verdict.timings:
            self._stage(stage).observe(seconds)

    def watch_body_memory(self, memory: Budget) -> None:
        """The gauges read the shared budget when scraped: nothing is counted per message.
        A share left taken (a connection gone without libmilter's close or abort) shows as
        bytes held with no mail arriving."""
        self.body_memory.set_function(lambda: memory.used)
        self.body_memory_limit.set(memory.limit)
        self.registry.register(_Spilled(memory))

    def set_scan_budget(self, seconds: float, max_bytes: int) -> None:
        self.scan_budget_seconds.set(seconds)
        self.scan_budget_bytes.set(max_bytes)

    def record_secret(self, verdict: Verdict) -> None:
        """HUE-11.2: one count per message, at the highest level it carries."""
        order = ("mat", "toi-mat", "tuyet-mat")
        marks = [f for f in verdict.findings if f.rule == "HUE-11.2" and f.fact("level") in order]
        if marks:
            top = max(marks, key=lambda f: order.index(f.fact("level")))
            self.secret_marks.labels(top.fact("level"), top.fact("direction") or "outbound",
                                     verdict.action.value).inc()

    def serve(self, listen: str) -> None:
        """Start the /metrics HTTP endpoint in a daemon thread."""
        host, _, port = listen.rpartition(":")
        start_http_server(int(port), addr=host.strip("[]"), registry=self.registry)


class MonitorMetrics:
    """The monitor's own metrics (logins, reports, inactivity, its view of Redis)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.auth_checks = Counter(
            "congvu_guard_auth_checks_total",
            "Login policy checks (Dovecot auth policy), by decision.", ["decision"], registry=r,
        )
        self.failed_logins = Counter(
            "congvu_guard_failed_logins_total",
            "Failed logins seen (BP-6.2d), by source (dovecot, log).", ["source"], registry=r,
        )
        self.reports = Counter(
            "congvu_guard_reports_total",
            "Reports ingested from the report box (HUE-11.11), by kind.", ["kind"], registry=r,
        )
        self.triage = Counter(
            "congvu_guard_triage_total", "Triage decisions on reports.", ["verdict"], registry=r,
        )
        self.open_campaigns = Gauge(
            "congvu_guard_open_campaigns", "Campaigns with untriaged reports.", registry=r,
        )
        self.inactivity = Counter(
            "congvu_guard_inactivity_sweep_total",
            "Inactivity sweep results (HUE-13.2a locks, BP-5.3c revocation candidates).",
            ["result"], registry=r,
        )
        self.inactivity_last_success = Gauge(
            "congvu_guard_inactivity_sweep_last_success_timestamp_seconds",
            "When the inactivity sweep last completed.", registry=r,
        )
        self.locks = Counter(
            "congvu_guard_locks_total", "Accounts locked by this process, by reason.",
            ["reason"], registry=r,
        )
        self.redis_up = Gauge(
            "congvu_guard_redis_up", "1 when the last Redis operation succeeded.", registry=r,
        )
        self.build_info = Gauge(
            "congvu_guard_build_info", "Version of congvu-guard.", ["version"], registry=r,
        )
        self.build_info.labels(__version__).set(1)
