"""Keep the milter's memory bounded under large messages without paying for it per message.

glibc raises its mmap threshold each time a large block is freed, after which big buffers
(a 20 MB message, its parse) come from per-thread heap arenas and are seldom returned to
the system; with one libmilter thread per connection the high-water mark grows with the
number of connections. Three settings keep it bounded:

- a fixed mmap threshold of 1 MiB: a buffer of that size or more (the spooled body read
  back, a decoded attachment of several MB) is a private mapping that goes back to the
  kernel when freed;
- a trim threshold of 32 MiB: free memory at the top of a heap is kept for the next
  message instead of being handed back and faulted in again;
- at most 4 arenas, which limits fragmentation, and with the trim threshold bounds what
  the heaps keep free between messages (about 50 MB after a burst of large mail: RSS
  56 MB idle, 105-110 MB after 20 messages of 19 MB, where it was 52-58 MB before).

Why these numbers (issue 17, measured on the 2-core machine, the 5 MB zip mix sent 30
times straight to the milter, kernel CPU per message from ``/proc``): with the previous
256 KiB threshold and glibc's 128 KiB trim threshold every block between 256 KiB and 1 MiB
(zip members, document parts) was a fresh mapping, and every heap top was returned after
each message: 32-36 ms of kernel time a message, a third of the milter's CPU, nearly all
of it page faults (``perf``: ``exc_page_fault`` 27 % of samples). 1 MiB and 32 MiB: 8-10 ms.
Larger thresholds gain nothing more and hold more: 20 messages of 19 MB at once peaked at
160-170 MB with 256 KiB or 1 MiB, 265 MB with 4 MiB and 324-352 MB with 8 MiB or more
(``tests/e2e/test_memory.py``; the bound is 300 MB). A thread calling ``malloc_trim(0)``
every 5 s was tried and gave nothing back: the free memory sits at the top of the thread
arenas' heaps, which ``malloc_trim`` does not shrink.

**Huge pages for the large buffers.** The buffers a large message needs (the body read
back, the base64 run, the decoded attachment: about 19 MB of fresh mappings for the 7 MB
zip message) were faulted in 4 KiB at a time: 17-20 ms of kernel time a message, 40-45 %
of the milter's CPU on the zip mix. glibc 2.35+ (Debian 12: 2.36) advises the kernel to back
malloc's mappings with transparent huge pages when its tunable ``glibc.malloc.hugetlb=1``
is set, and Debian's kernels have THP in ``madvise`` mode. glibc reads tunables only when a
process starts, so ``congvu-guard milter`` starts itself again with the tunable added
(:func:`restart_with_huge_pages`; the systemd unit sets it, so no restart happens there).
Measured on the 2-core machine, the zip mix's message sent 50 times straight to the milter,
three alternating runs with the tunable at 0 and at 1: kernel time 17-20 -> 12-14 ms a
message, all CPU 37-43 -> 34-40 ms (zeroing the pages is still paid, the faults are not);
20 messages of 19 MB at once peak at 164 MB as before (``tests/e2e/test_memory.py``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import platform
import sys
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("congvu_guard.memory")

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

MMAP_THRESHOLD = 1024 * 1024
TRIM_THRESHOLD = 32 * 1024 * 1024
ARENA_MAX = 4


def tune_malloc(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD,
                arena_max: int = ARENA_MAX) -> bool:
    """Apply the settings when the C library is glibc; a no-op elsewhere."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return False
    if not hasattr(libc, "mallopt"):
        return False
    # Each call is made (no short circuit): one refused setting must not skip the others.
    results = [libc.mallopt(option, value) for option, value in (
        (M_MMAP_THRESHOLD, mmap_threshold), (M_TRIM_THRESHOLD, trim_threshold),
        (M_ARENA_MAX, arena_max))]
    ok = all(results)
    if not ok:
        log.info("mallopt not applied; memory use may grow with large messages")
    return ok


HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb"
_THP_MODE = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def with_huge_pages(environ: Mapping[str, str]) -> dict[str, str] | None:
    """``environ`` with ``glibc.malloc.hugetlb=1`` added to GLIBC_TUNABLES, or None when
    the tunable is already there (whatever its value: an operator's own choice stands)."""
    current = environ.get("GLIBC_TUNABLES", "")
    if any(t.split("=", 1)[0] == HUGE_PAGES_TUNABLE for t in current.split(":")):
        return None
    added = f"{HUGE_PAGES_TUNABLE}=1"
    return {**environ, "GLIBC_TUNABLES": f"{current}:{added}" if current else added}


def _huge_pages_possible() -> bool:
    """glibc 2.35 or later, and the kernel gives transparent huge pages on request."""
    name, version = platform.libc_ver()
    try:
        if name != "glibc" or tuple(map(int, version.split(".")[:2])) < (2, 35):
            return False
        return "[never]" not in _THP_MODE.read_text()
    except (OSError, ValueError):
        return False


def restart_with_huge_pages() -> None:
    """Start this process again (same PID, same arguments) with the huge-page tunable when
    it is missing and would take effect; returns only when no restart is needed. Call it
    first thing, before any thread, socket or child exists."""
    env = with_huge_pages(os.environ)
    if env is None or not _huge_pages_possible():
        return
    argv = [sys.executable, *sys.orig_argv[1:]]
    log.debug("starting again with GLIBC_TUNABLES=%s", env["GLIBC_TUNABLES"])
    os.execve(sys.executable, argv, env)
