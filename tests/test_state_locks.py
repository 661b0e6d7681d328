"""What follows a lock change (state/locks.py LockChanges), against a real Redis: the hook
(audited under the actor) and the export files, the same for the milter, monitor and CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from congvu_guard.config import from_mapping
from congvu_guard.metrics import Metrics
from congvu_guard.monitor.state import MonitorState
from congvu_guard.ratelimit.service import RateLimitService
from congvu_guard.state.audit import AuditTrail
from congvu_guard.state.locks import LockChanges, LockStore


def _config(tmp_path: Path) -> tuple[object, Path, Path, Path]:
    out, pf, dc = tmp_path / "hook.out", tmp_path / "sasl", tmp_path / "deny"
    script = f"import sys; open({str(out)!r}, 'a').write(sys.argv[1] + '\\n')"
    cfg = from_mapping({"monitor": {"users_file": "/nonexistent"}, "ratelimit": {
        "lock_hook": [sys.executable, "-c", script, "{account}"],
        "export_postfix": str(pf), "export_dovecot": str(dc)}})
    return cfg, out, pf, dc


def test_after_a_lock_the_hook_runs_audited_and_the_exports_are_rewritten(
        redis_client, tmp_path: Path) -> None:
    cfg, out, pf, dc = _config(tmp_path)
    audit = AuditTrail(redis_client, 30)
    LockStore(redis_client, audit).lock("a@hue.gov.vn", "HUE-13.2c", by="op")
    changes = LockChanges(redis_client, cfg.ratelimit, audit, "op@cli")
    changes.after("lock", "a@hue.gov.vn", wait=True)
    assert out.read_text() == "a@hue.gov.vn\n"
    assert "a@hue.gov.vn REJECT" in pf.read_text() and "a@hue.gov.vn:" in dc.read_text()
    hook = audit.entries(event="hook")[0]
    assert hook["actor"] == "op@cli" and json.loads(hook["detail"])["status"] == "ok"


def test_the_milter_and_the_monitor_share_the_one_after_lock_change(
        redis_client, tmp_path: Path) -> None:
    cfg, _, _, dc = _config(tmp_path)
    svc = RateLimitService(cfg, redis_client, Metrics(), "milter@test")
    st = MonitorState(cfg, redis_client)
    assert isinstance(svc.changes, LockChanges) and isinstance(st.changes, LockChanges)
    assert svc.hooks is svc.changes.hooks and st.exports is st.changes.exports
    svc.locks.lock("m@hue.gov.vn", "HUE-13.2c", by="milter")
    st.after_lock_change("lock", "m@hue.gov.vn", "monitor")
    assert st.exports.flush(30)
    assert "m@hue.gov.vn:" in dc.read_text().splitlines()
