"""One time budget and one byte budget per message (HUE-11.5 scan-budget).

Every piece of scan work on one message (opening archives and attached messages, then the
detectors) draws on the same wall clock, and every byte any decompressor produces for that
message (members taken out, and what a solid 7z or a gzip stream decompresses *through* to
reach them) draws on the same byte budget. When either runs out, the scan stops where it
is and the message gets a ``scan-budget`` finding (MEDIUM: quarantined by default). An
attacker who exhausts the budget therefore buys a quarantine, never an accept.

Measured before the budget (issue 14): a 2 KB solid 7z hiding 1 GiB of zeros before a small
member took 7 s; a 1.3 KB message of script-like text files took 22 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..config import ScanConfig
from ..model import Finding, Severity

RULE = "HUE-11.5/scan-budget"
# The defaults are spelled once, in config.py.
DEFAULT_TIME_BUDGET: float = ScanConfig.time_budget_seconds
DEFAULT_BYTE_BUDGET: int = ScanConfig.max_expanded_bytes
OUTCOMES = ("within", "time", "bytes")  # the congvu_guard_scan_budget_total label values


class BudgetExhausted(Exception):
    """Raised inside the scan when a budget runs out; caught where the scan starts."""

    def __init__(self, which: str, detail: str) -> None:
        super().__init__(detail)
        self.which = which  # "time" or "bytes"
        self.detail = detail


@dataclass
class ScanBudget:
    """The clock is the scanning thread's CPU time: the budget measures the work done on
    this message, not the time it waited for the GIL or a core behind other connections
    (on two cores with 20 messages in flight, wall time per message is many times its
    work, and a wall-clock budget would quarantine ordinary large mail under load). C code
    that releases the GIL (zlib, bz2, YARA) still counts: it runs on this thread."""

    seconds: float = DEFAULT_TIME_BUDGET
    max_bytes: int = DEFAULT_BYTE_BUDGET
    clock: Callable[[], float] = time.thread_time
    start: float = field(default=-1.0)
    # A cheap clock that never runs behind ``clock``: while it is within the budget, so is
    # the scan. The thread's CPU time is a system call (0.7 us here; the scan asks once per
    # detector and often inside documents, and py-spy found 8 % of the milter's Python time
    # in it on bench/throughput's text mix); wall time is read in the vDSO (0.1 us). Set
    # for the default clock; a test's own clock goes without it.
    wall: Callable[[], float] | None = None
    wall_start: float = 0.0
    used_bytes: int = 0
    exhausted: str = ""  # "", "time" or "bytes": the first budget that ran out
    detail: str = ""
    skipped: list[str] = field(default_factory=list)  # detectors not run for want of time

    def __post_init__(self) -> None:
        if self.start < 0:
            self.start = self.clock()
        if self.wall is None and self.clock is time.thread_time:
            self.wall = time.perf_counter  # a thread's CPU time never outruns wall time
        if self.wall is not None:
            self.wall_start = self.wall()

    def elapsed(self) -> float:
        return self.clock() - self.start

    def _exhaust(self, which: str, detail: str) -> BudgetExhausted:
        if not self.exhausted:
            self.exhausted, self.detail = which, detail
        return BudgetExhausted(self.exhausted, self.detail)

    def time_up(self) -> bool:
        if self.wall is not None and self.wall() - self.wall_start <= self.seconds:
            return False
        if self.elapsed() > self.seconds:
            self._exhaust("time", f"scan time budget of {self.seconds:g} s used up")
            return True
        return False

    def check(self) -> None:
        """Raise :class:`BudgetExhausted` when the time is up (or a budget already ran out)."""
        if self.exhausted or self.time_up():
            raise BudgetExhausted(self.exhausted, self.detail)

    def charge(self, n: int) -> None:
        """Count ``n`` decompressed bytes; raise when the byte budget is exceeded."""
        self.used_bytes += n
        if self.used_bytes > self.max_bytes:
            raise self._exhaust("bytes", f"more than {self.max_bytes} bytes decompressed "
                                "for one message")
        self.check()


def finding(budget: ScanBudget) -> Finding | None:
    """The ``scan-budget`` finding of a message whose budget ran out (None otherwise)."""
    if not budget.exhausted:
        return None
    from .scanning import finding as scan_finding

    skipped = f"; not run: {', '.join(budget.skipped)}" if budget.skipped else ""
    base = scan_finding(RULE, Severity.MEDIUM, f"scan stopped: {budget.detail}{skipped}",
                        "scan-budget")
    return Finding(base.rule, base.detail, base.action, base.severity, base.detector,
                   facts=(("budget", budget.exhausted),), policy=base.policy)
