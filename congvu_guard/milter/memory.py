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
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

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
