"""Zimbra locks under the hardened units (issue 16): the monitor (or milter) queues each
lock/unlock in a spool directory; ``congvu-guard zimbra-hooks`` (the privileged unit, user
zimbra) applies them with zmprov. A stand-in zmprov records its calls."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import redis

from congvu_guard.ratelimit.hooks import HookRunner
from congvu_guard.zimbra_hooks import enqueue
from tests.monitor.conftest import start_monitor


def _zmprov(tmp_path: Path, exit_code: int = 0) -> tuple[Path, Path]:
    calls = tmp_path / "calls"
    script = tmp_path / "zmprov"
    script.write_text(f"#!{sys.executable}\nimport json, sys\n"
                      f"open({str(calls)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
                      f"sys.exit({exit_code})\n")
    script.chmod(0o755)
    return script, calls


def _drain(queue: Path, failed: Path, zmprov: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "congvu_guard", "zimbra-hooks", "--queue",
                           str(queue), "--failed", str(failed), "--zmprov", str(zmprov)],
                          capture_output=True, text=True, timeout=60)


def _calls(calls: Path) -> list[list[str]]:
    return [json.loads(line) for line in calls.read_text().splitlines()] if calls.exists() else []


def test_queued_lock_and_unlock_are_applied_in_order_and_removed(tmp_path: Path) -> None:
    queue, failed = tmp_path / "q", tmp_path / "failed"
    queue.mkdir()
    recorded: list[tuple[str, str, dict]] = []
    runner = HookRunner((), (), 30, lambda *a: recorded.append(a), queue=str(queue))
    runner.fire("lock", "an.nv@hue.gov.vn")
    runner.fire("unlock", "an.nv@hue.gov.vn")
    runner.fire("lock", "binh")
    assert [r[2]["status"] for r in recorded] == ["queued"] * 3  # in the audit trail
    zmprov, calls = _zmprov(tmp_path)
    proc = _drain(queue, failed, zmprov)
    assert proc.returncode == 0, proc.stderr
    assert _calls(calls) == [["ma", "an.nv@hue.gov.vn", "zimbraAccountStatus", "locked"],
                             ["ma", "an.nv@hue.gov.vn", "zimbraAccountStatus", "active"],
                             ["ma", "binh", "zimbraAccountStatus", "locked"]]
    assert list(queue.iterdir()) == [] and not failed.exists()


def test_hostile_or_broken_requests_never_reach_zmprov_and_are_set_aside(tmp_path: Path) -> None:
    queue, failed = tmp_path / "q", tmp_path / "failed"
    queue.mkdir()
    enqueue(str(queue), "lock", "-l gaa")  # an option smuggled in as an account
    enqueue(str(queue), "lock", "a@b.vn zimbraIsAdminAccount TRUE")
    enqueue(str(queue), "delete", "a@hue.gov.vn")
    (queue / "00000000000000000001-1-lock.json").write_text("{not json")
    (queue / ".00000000000000000002-1-lock.json.tmp").write_text("half")  # being written
    zmprov, calls = _zmprov(tmp_path)
    proc = _drain(queue, failed, zmprov)
    assert proc.returncode == 0, proc.stderr
    assert _calls(calls) == []
    assert len(list(failed.iterdir())) == 4
    assert [p.name for p in queue.iterdir()] == [".00000000000000000002-1-lock.json.tmp"]
    assert "not an account name" in proc.stderr


def test_a_failing_zmprov_moves_the_request_aside_instead_of_looping(tmp_path: Path) -> None:
    queue, failed = tmp_path / "q", tmp_path / "failed"
    queue.mkdir()
    enqueue(str(queue), "lock", "c@hue.gov.vn")
    zmprov, calls = _zmprov(tmp_path, exit_code=2)
    proc = _drain(queue, failed, zmprov)
    assert proc.returncode == 0
    assert len(_calls(calls)) == 1 and len(list(failed.iterdir())) == 1
    assert "zmprov exited with 2" in proc.stderr


def test_a_lock_made_in_the_monitor_api_reaches_zmprov(tmp_path: Path, redis_tcp: str) -> None:
    redis.Redis.from_url(redis_tcp).flushall()
    queue, failed = tmp_path / "q", tmp_path / "failed"
    queue.mkdir()
    m = start_monitor(tmp_path, redis_tcp, f'[ratelimit]\nhook_queue = "{queue}"\n')
    try:
        status, _ = m.call("POST", "/api/v1/locks", role="operator",
                           payload={"account": "dung@hue.gov.vn", "reason": "BP-6.2d"})
        assert status == 201
        deadline = time.monotonic() + 20
        while not list(queue.glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        m.proc.terminate()
        m.proc.wait(15)
    zmprov, calls = _zmprov(tmp_path)
    assert _drain(queue, failed, zmprov).returncode == 0
    assert _calls(calls) == [["ma", "dung@hue.gov.vn", "zimbraAccountStatus", "locked"]]
