"""A message body that moves from memory to a temporary file once it grows past a
threshold, so that many large messages in flight cost disk, not memory."""

from __future__ import annotations

import tempfile
from typing import IO


class BodySpool:
    def __init__(self, threshold: int) -> None:
        self.threshold = threshold
        self.buffer = bytearray()
        self.file: IO[bytes] | None = None
        self.size = 0

    @property
    def spooled(self) -> bool:
        return self.file is not None

    def write(self, chunk: bytes) -> None:
        if self.file is None and len(self.buffer) + len(chunk) > self.threshold:
            self.file = tempfile.TemporaryFile(prefix="congvu-guard-")  # noqa: SIM115 - lives across callbacks, closed by close()
            self.file.write(self.buffer)
            self.buffer = bytearray()
        if self.file is not None:
            self.file.write(chunk)
        else:
            self.buffer += chunk
        self.size += len(chunk)

    def read_all(self, prefix: bytes = b"") -> bytearray:
        """The body behind ``prefix`` (the header section) in one buffer, copied once."""
        buf = bytearray(len(prefix) + self.size)
        buf[: len(prefix)] = prefix
        if self.file is None:
            buf[len(prefix):] = self.buffer
        else:
            self.file.seek(0)
            self.file.readinto(memoryview(buf)[len(prefix):])
        return buf

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        self.buffer = bytearray()
        self.size = 0
