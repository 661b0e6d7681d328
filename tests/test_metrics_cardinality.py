"""No personal data in metrics (issue 16): accounts are never label values, whatever a
sender makes up; per-account counts stay bounded in memory for the monitor's API."""

from __future__ import annotations

from congvu_guard.metrics import Metrics, MonitorMetrics
from congvu_guard.model import Action, Finding, Verdict
from congvu_guard.state.top import MAX_FORWARDERS


def _forward(account: str) -> Verdict:
    f = Finding("HUE-11.6", "auto-forward", Action.REJECT, facts=(
        ("outcome", "blocked"), ("account", account), ("destination", "gmail.com")))
    return Verdict(Action.REJECT, (f,))


def _samples(registry) -> list:
    return [s for metric in registry.collect() for s in metric.samples]


def test_forwards_are_counted_without_the_account_in_any_label() -> None:
    m = Metrics()
    for i in range(3):
        m.record_verdict(_forward(f"user{i}@so.gov.vn"), None)
    samples = _samples(m.registry)
    assert not any("account" in s.labels for s in samples)
    assert not any("@" in v for s in samples for v in s.labels.values())
    forwards = [s for s in samples if s.name == "congvu_guard_autoforward_total"]
    assert [(s.labels, s.value) for s in forwards] == [
        ({"outcome": "allowed", "destination": "gmail.com"}, 3.0)]
    assert m.top_forwarders.take() == {f"user{i}@so.gov.vn": 1 for i in range(3)}


def test_made_up_forwarding_accounts_cannot_grow_memory_without_bound() -> None:
    m = Metrics()
    for i in range(3 * MAX_FORWARDERS):
        m.record_verdict(_forward(f"user{i}@so.gov.vn"), None)
    counts = m.top_forwarders.take()
    assert len(counts) == MAX_FORWARDERS + 1
    assert counts["other"] == 2 * MAX_FORWARDERS


def test_no_created_series_are_exported() -> None:
    m = Metrics()
    m.record_verdict(_forward("a@so.gov.vn"), 100)
    assert not any(s.name.endswith("_created") for s in _samples(m.registry))


def test_the_monitor_exports_only_its_own_metrics() -> None:
    names = {metric.name for metric in MonitorMetrics().registry.collect()}
    assert "congvu_guard_auth_checks" in names and "congvu_guard_redis_up" in names
    milter_only = {metric.name for metric in Metrics().registry.collect()} - {
        "congvu_guard_redis_up", "congvu_guard_build_info", "congvu_guard_locks"}
    assert not names & milter_only, names & milter_only
