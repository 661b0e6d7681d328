"""Base64 bodies decoded once: the same attachment, encoded the same way, is not copied,
checked, decoded or hashed again (issue 17).

Base64 encoding is deterministic: the same file, with the same line length (76 from every
mail program seen) and CRLF line ends (always, on the wire), is the same run of bytes in
every message that carries it, whoever sends it. A run that ``message._fast_base64``
decoded without a defect is remembered with what it decoded to and that content's sha256,
which the IOC lookup, the YARA and expansion caches all key on.

The next message with the same run costs one comparison of the received bytes with the
remembered run (``startswith`` at an offset: memcmp, 0.8 ms for 7 MB), and the run is not
copied out of the message, checked against the alphabet, decoded or hashed: on the 5 MB
zip of bench/throughput that was 17 of the milter's 40 ms a message (``perf``:
``bytes.translate`` 6.5 ms, pybase64 5.4 ms, sha256 5.3 ms, and the copy). An entry is
found by the run's length and its first and last 4 KiB; only the comparison of every byte
decides, so no crafted run can pass for a remembered one.

Bounded by entries and by bytes (the run and its decoding), least recently used first
out. A run met once costs the lookup only.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from .verdict_cache import VerdictCache

MIB = 1024 * 1024
RUN_CACHE_ENTRIES = 64
# A run and its decoding: 2.3 times the file. 32 MiB holds a 5 MB zip attachment twice
# over, or dozens of ordinary ones. The decoded bytes are shared with the messages that
# carry them (bytes are immutable).
RUN_CACHE_BYTES = 32 * MIB
_EDGE = 4096  # bytes of each end of a run in the entry's key


@dataclass(frozen=True, slots=True)
class DecodedRun:
    """A base64 run as received, decoded without a defect, and the content's sha256."""

    run: bytes
    data: bytes
    sha256: str


RunCache = VerdictCache[DecodedRun]


def run_cache() -> RunCache:
    return VerdictCache(RUN_CACHE_ENTRIES, RUN_CACHE_BYTES)


def _key(size: int, head: bytes, tail: bytes) -> tuple[int, int, int]:
    return size, hash(head), hash(tail)


def _key_of(run: bytes) -> tuple[int, int, int]:
    return _key(len(run), run[:_EDGE], run[-_EDGE:])


def find(cache: RunCache | None, raw: bytes | bytearray, start: int, stop: int,
         ) -> DecodedRun | None:
    """The remembered run that ``raw[start:stop]`` is, byte for byte, or None."""
    if cache is None:
        return None
    view = memoryview(raw)
    entry = cache.get(_key(stop - start, bytes(view[start:min(stop, start + _EDGE)]),
                           bytes(view[max(start, stop - _EDGE):stop])))
    if entry is None or len(entry.run) != stop - start or not raw.startswith(entry.run, start):
        return None
    return entry


def known(cache: RunCache | None, run: bytes) -> DecodedRun | None:
    """The entry whose run is this very object (``find`` gave it to the parse), or None."""
    if cache is None:
        return None
    entry = cache.get(_key_of(run))
    return entry if entry is not None and entry.run is run else None


def decoded(cache: RunCache | None, run: bytes, data: bytes) -> DecodedRun:
    """``run`` just decoded to ``data``: the result with its sha256, remembered."""
    result = DecodedRun(run, data, hashlib.sha256(data).hexdigest())
    if cache is not None:
        cache.put(_key_of(run), result, len(run) + len(data))
    return result
