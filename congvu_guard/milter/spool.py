"""A message body kept in memory while that is affordable, in a temporary file otherwise.

A body past the threshold (``[scan] spool_threshold_bytes``) is *large*. Large bodies stay
in memory while all of them together fit in one budget shared by every connection
(``[scan] body_memory_bytes``, :class:`BodyMemory`); a body that does not fit moves to a
temporary file, so that many large messages in flight cost disk, not memory. The budget
covers bodies while they arrive; once read for the scan, the large-scan gate bounds them.

Why not spool every large body (issue 17, the 5 MB zip mix of bench/throughput, ``perf``
on the live milter): writing the 7 MB body to the file and reading it back was about a
tenth of the milter's CPU (the kernel copying into and out of the page cache, allocating
and freeing its pages, ext4's block accounting), and the copy read back was one more
7 MB of fresh pages. In memory the chunks pymilter hands over are kept as they are and
joined once.
"""

from __future__ import annotations

import contextlib
import errno
import io
import tempfile
import threading
from pathlib import Path

# What a full file system (or an exhausted quota) looks like to write().
_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


class SpoolFullError(OSError):
    """The spool directory is full: the message gets a tempfail, the space is given back."""


def check_spool_dir(path: str) -> str | None:
    """Why ``path`` cannot hold spooled bodies, or None when it can ("" = system temp)."""
    if not path:
        return None
    if not Path(path).is_dir():
        return f"{path} does not exist or is not a directory"
    try:  # a real file: os.access() says yes to root even on a read-only mount
        tempfile.TemporaryFile(prefix="congvu-guard-check-", dir=path).close()
    except OSError as e:
        return f"{path} is not writable: cannot create a file there ({e.strerror})"
    return None


class BodyMemory:
    """Bytes of large bodies held in memory, over all connections, up to ``limit``
    (0: every large body goes to a file), and how many bodies did not fit (``spilled``)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.spilled = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> bool:
        """Take ``n`` more bytes for one body; False (counted in ``spilled``) when they do
        not fit: that body goes to its spool file and asks no more."""
        with self._lock:
            if self.used + n > self.limit:
                self.spilled += 1
                return False
            self.used += n
            return True

    def give(self, n: int) -> None:
        with self._lock:
            self.used -= n


NO_MEMORY = BodyMemory(0)


class BodySpool:
    def __init__(self, threshold: int, directory: str | None = None,
                 memory: BodyMemory = NO_MEMORY) -> None:
        self.threshold = threshold
        self.directory = directory or None  # None: the system temporary directory
        self.memory = memory
        self.chunks: list[bytes] = []
        self.held = 0  # bytes taken from ``memory``
        self.file: io.BufferedRandom | None = None
        self.size = 0

    @property
    def spooled(self) -> bool:
        return self.file is not None

    @property
    def large(self) -> bool:
        """Past the threshold, in memory or in a file: admitted by the large-scan gate."""
        return self.size > self.threshold

    def write(self, chunk: bytes) -> None:
        """Add a chunk; raises SpoolFullError (after freeing the spool) when the disk is full."""
        try:
            if self.file is None:
                grown = self.size + len(chunk)
                if grown <= self.threshold or self.memory.take(grown - self.held):
                    if grown > self.threshold:
                        self.held = grown
                    self.chunks.append(bytes(chunk))  # pymilter's bytes: no copy
                    self.size = grown
                    return
                self.file = tempfile.TemporaryFile(prefix="congvu-guard-", dir=self.directory)  # noqa: SIM115 - lives across callbacks, closed by close()
                self._release()
                for kept in self.chunks:
                    self.file.write(kept)
                self.chunks = []
            self.file.write(chunk)
        except OSError as e:
            self._raise_if_full(e)
            raise
        self.size += len(chunk)

    def _release(self) -> None:
        if self.held:
            self.memory.give(self.held)
            self.held = 0

    def _raise_if_full(self, e: OSError) -> None:
        if e.errno in _FULL:
            self.close()
            raise SpoolFullError(e.errno, f"spool directory full: {e.strerror}") from e

    def read_all(self, prefix: bytes = b"") -> bytes | bytearray:
        """The body behind ``prefix`` (the header section) in one buffer, copied once.
        A body in memory is handed over: its chunks and its share of the memory budget
        are let go (the large-scan gate bounds it from here on)."""
        if self.file is None:
            whole = b"".join((prefix, *self.chunks))
            self.chunks = []
            self._release()
            return whole
        buf = bytearray(len(prefix) + self.size)
        buf[: len(prefix)] = prefix
        try:
            self.file.seek(0)  # flushes the last buffered chunk: the disk may be full
        except OSError as e:
            self._raise_if_full(e)
            raise
        self.file.readinto(memoryview(buf)[len(prefix):])
        return buf

    def flushed_fileno(self) -> int:
        """The spool file's descriptor with every chunk written, for a scan worker to read
        with ``pread`` (milter/pool.py); raises SpoolFullError when the flush finds the
        disk full."""
        if self.file is None:
            raise ValueError("the body is in memory, not spooled")
        try:
            self.file.flush()
        except OSError as e:
            self._raise_if_full(e)
            raise
        return self.file.fileno()

    def close(self) -> None:
        if self.file is not None:
            # Closing flushes; on a full disk that fails, but the descriptor is closed
            # anyway and the (already unlinked) file's space is given back.
            with contextlib.suppress(OSError):
                self.file.close()
            self.file = None
        self.chunks = []
        self._release()
        self.size = 0
