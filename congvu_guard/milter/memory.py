"""Keep the milter's memory from ratcheting up under large messages.

glibc raises its mmap threshold each time a large block is freed, after which big buffers
(a 20 MB message, its parse) come from per-thread heap arenas and are seldom returned to
the system; with one libmilter thread per connection the high-water mark grows with the
number of connections. Fixing the threshold makes every large buffer a private mapping
that goes back to the kernel when freed, and capping the arenas limits fragmentation.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger("congvu_guard.memory")

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8


def tune_malloc(mmap_threshold: int = 256 * 1024, arena_max: int = 4) -> bool:
    """Apply the settings when the C library is glibc; a no-op elsewhere."""
    name = ctypes.util.find_library("c")
    if not name:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_ARENA_MAX,
                                                                          arena_max))
    if not ok:
        log.info("mallopt not applied; memory use may grow with large messages")
    return ok
