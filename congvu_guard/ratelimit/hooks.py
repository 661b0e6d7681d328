"""External commands run on lock and unlock (e.g. Zimbra's ``zmprov ma USER
zimbraAccountStatus locked``, or a password reset). They run in a background thread with a
timeout; their outcome goes to the audit trail. Mail flow never waits for them.

With a hook queue (``[ratelimit] hook_queue``) each lock and unlock is also written there as
a request file, for a separate privileged unit to apply (``zimbra_hooks.py``): the milter
and monitor units cannot change user (no capabilities, ``@privileged`` syscalls filtered),
so ``sudo -u zimbra zmprov`` cannot run from them."""

from __future__ import annotations

import logging
import subprocess
import threading
from collections.abc import Callable, Sequence

log = logging.getLogger("congvu_guard.ratelimit.hooks")

Recorder = Callable[[str, str, dict[str, object]], object]  # (hook, account, outcome)


def render(argv: Sequence[str], account: str) -> list[str]:
    return [a.replace("{account}", account) for a in argv]


def run_hook(name: str, argv: Sequence[str], account: str, timeout: int) -> dict[str, object]:
    cmd = render(argv, account)
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return {"hook": name, "status": "timeout", "timeout_s": timeout, "command": cmd}
    except OSError as e:
        return {"hook": name, "status": "error", "error": str(e), "command": cmd}
    status = "ok" if proc.returncode == 0 else "failed"
    return {"hook": name, "status": status, "exit": proc.returncode, "command": cmd,
            "stderr": proc.stderr.decode("utf-8", "replace")[-500:]}


class HookRunner:
    def __init__(self, lock_hook: Sequence[str], unlock_hook: Sequence[str], timeout: int,
                 record: Recorder, queue: str = "") -> None:
        self.hooks = {"lock": tuple(lock_hook), "unlock": tuple(unlock_hook)}
        self.timeout = timeout
        self.record = record
        self.queue = queue

    def fire(self, name: str, account: str, wait: bool = False) -> threading.Thread | None:
        if self.queue and name in self.hooks:
            from ..zimbra_hooks import enqueue

            outcome = enqueue(self.queue, name, account)
            if outcome["status"] != "queued":
                log.error("%s request for %s not queued: %s", name, account, outcome)
            try:
                self.record(name, account, outcome)
            except Exception:
                log.exception("could not record the %s request for %s", name, account)
        argv = self.hooks.get(name, ())
        if not argv:
            return None

        def work() -> None:
            outcome = run_hook(name, argv, account, self.timeout)
            if outcome["status"] != "ok":
                log.warning("%s hook for %s: %s", name, account, outcome)
            try:
                self.record(name, account, outcome)
            except Exception:
                log.exception("could not record the %s hook outcome for %s", name, account)

        t = threading.Thread(target=work, name=f"hook-{name}", daemon=True)
        t.start()
        if wait:
            t.join()
        return t
