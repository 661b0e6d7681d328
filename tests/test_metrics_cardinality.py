"""Labels that come from mail from anywhere stay bounded."""

from __future__ import annotations

from congvu_guard.metrics import Metrics
from congvu_guard.model import Action, Finding, Verdict


def _forward(account: str) -> Verdict:
    f = Finding("HUE-11.6", "auto-forward", Action.REJECT, facts=(
        ("outcome", "blocked"), ("account", account), ("destination", "gmail.com")))
    return Verdict(Action.REJECT, (f,))


def test_made_up_forwarding_accounts_cannot_grow_the_label_sets_without_bound() -> None:
    m = Metrics()
    for i in range(3 * Metrics.MAX_ACCOUNT_LABELS):
        m.record_verdict(_forward(f"user{i}@so.gov.vn"), None)
    accounts = {s.labels["account"] for metric in m.autoforward.collect()
                for s in metric.samples if s.name.endswith("_total")}
    assert len(accounts) == Metrics.MAX_ACCOUNT_LABELS + 1
    assert "other" in accounts and "user0@so.gov.vn" in accounts
    other = m.autoforward.labels("allowed", "gmail.com", "other")._value.get()
    assert other == 2 * Metrics.MAX_ACCOUNT_LABELS
