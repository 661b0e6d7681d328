"""Base64 bodies decoded once: the same attachment, encoded the same way, is not checked,
decoded and hashed again (issue 17).

Base64 encoding is deterministic: the same file, with the same line length (76 from every
mail program seen) and CRLF line ends (always, on the wire), is the same run of bytes in
every message that carries it, whoever sends it. A run that ``message._fast_base64``
decoded without a defect is remembered with what it decoded to and that content's sha256,
which the IOC lookup, the YARA and expansion caches all key on. The next message with the
same run skips the alphabet check, the decode and the hash: on the 5 MB zip of
bench/throughput 17 of the milter's 40 ms a message (``perf``: ``bytes.translate`` 6.5 ms,
pybase64 5.4 ms, sha256 5.3 ms), for 3.7 ms of keyed hash.

**Same bytes, proven without keeping them.** An entry is found by the run's length and
its first and last 4 KiB (a few microseconds, paid by every run). The whole run's hash is
taken only from the second time an entry is found:

- the second time, the run is checked and decoded as usual; when it decodes to the very
  bytes remembered (``==``), the hash of this whole run is stored with the entry and the
  sha256 is not computed again;
- from the third time on, a run whose whole hash equals the stored one is that run.

That hash is Python's own for bytes: SipHash-1-3, keyed with 128 random bits drawn when the
process starts. Without the key nobody can make two runs collide on purpose, and by chance
two different runs of the same length and ends meet with odds of 2^-64. When the key is not
secret (``PYTHONHASHSEED`` set, or hash randomisation off) the cache is off: a known key
would let a sender build a malicious run that passes for a remembered clean one.

A run seen once costs the lookup only; cold mail pays nothing measurable for this.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass

from .verdict_cache import VerdictCache

MIB = 1024 * 1024
RUN_CACHE_ENTRIES = 64
# The decoded bytes are shared with the messages that carry them (bytes are immutable):
# 32 MiB holds two decoded 20 MB messages' attachments, or dozens of ordinary ones.
RUN_CACHE_BYTES = 32 * MIB
_EDGE = 4096  # bytes of each end of a run in the entry's key


@dataclass(slots=True)
class DecodedRun:
    """A base64 run decoded without a defect: the content and its sha256 (hex)."""

    data: bytes
    sha256: str
    whole: int | None = None  # hash() of the whole run, once it was seen a second time


RunCache = VerdictCache[DecodedRun]


def keyed_hash_is_secret() -> bool:
    """bytes hashing is keyed with bits drawn at start, not from PYTHONHASHSEED."""
    return bool(sys.flags.hash_randomization) and \
        os.environ.get("PYTHONHASHSEED", "random") == "random"


def run_cache() -> RunCache:
    """A new cache, or one that remembers nothing when the hash key is not secret."""
    if not keyed_hash_is_secret():
        return VerdictCache(max_entries=0)
    return VerdictCache(RUN_CACHE_ENTRIES, RUN_CACHE_BYTES)


def _key(run: bytes) -> tuple[int, int, int]:
    return len(run), hash(run[:_EDGE]), hash(run[-_EDGE:])


def proven(cache: RunCache | None, run: bytes) -> DecodedRun | None:
    """The remembered decoding of ``run`` when it is proven to be the same bytes."""
    if cache is None:
        return None
    entry = cache.get(_key(run))
    if entry is None or entry.whole is None or entry.whole != hash(run):
        return None
    return entry


def decoded(cache: RunCache | None, run: bytes, data: bytes) -> DecodedRun:
    """``run`` just decoded to ``data``: the result with its sha256, remembered. A run met
    before that decoded to the same bytes gets the remembered hash and is proven from now
    on."""
    key = _key(run)
    entry = cache.get(key) if cache is not None else None
    if entry is not None and entry.data == data:
        if entry.whole is None:
            entry.whole = hash(run)
        return entry
    result = DecodedRun(data, hashlib.sha256(data).hexdigest())
    if cache is not None:
        cache.put(key, result, len(data))
    return result
