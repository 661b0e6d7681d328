"""A message body that moves from memory to a temporary file once it grows past a
threshold, so that many large messages in flight cost disk, not memory."""

from __future__ import annotations

import contextlib
import errno
import io
import tempfile
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


class BodySpool:
    def __init__(self, threshold: int, directory: str | None = None) -> None:
        self.threshold = threshold
        self.directory = directory or None  # None: the system temporary directory
        self.buffer = bytearray()
        self.file: io.BufferedRandom | None = None
        self.size = 0

    @property
    def spooled(self) -> bool:
        return self.file is not None

    def write(self, chunk: bytes) -> None:
        """Add a chunk; raises SpoolFullError (after freeing the spool) when the disk is full."""
        try:
            if self.file is None and len(self.buffer) + len(chunk) > self.threshold:
                self.file = tempfile.TemporaryFile(prefix="congvu-guard-", dir=self.directory)  # noqa: SIM115 - lives across callbacks, closed by close()
                self.file.write(self.buffer)
                self.buffer = bytearray()
            if self.file is not None:
                self.file.write(chunk)
            else:
                self.buffer += chunk
        except OSError as e:
            self._raise_if_full(e)
            raise
        self.size += len(chunk)

    def _raise_if_full(self, e: OSError) -> None:
        if e.errno in _FULL:
            self.close()
            raise SpoolFullError(e.errno, f"spool directory full: {e.strerror}") from e

    def read_all(self, prefix: bytes = b"") -> bytearray:
        """The body behind ``prefix`` (the header section) in one buffer, copied once."""
        buf = bytearray(len(prefix) + self.size)
        buf[: len(prefix)] = prefix
        if self.file is None:
            buf[len(prefix):] = self.buffer
        else:
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
        self.buffer = bytearray()
        self.size = 0
