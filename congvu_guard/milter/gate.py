"""Admission of large messages to parsing and scanning: bounded memory, in arrival order.

A spooled (large) message costs memory only while it is parsed and scanned: the raw bytes,
the decoded parts and the archive members, a few times its size. The gate lets at most
``slots`` such messages in at once and, together, at most ``budget`` bytes of them, so
that two 7 MB messages use both cores while two 20 MB ones take turns. A message larger
than the budget is let in alone. Waiters are served first come, first served, so a big
message is never starved by a stream of smaller ones.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class ScanGate:
    def __init__(self, slots: int, budget: int) -> None:
        if slots < 1 or budget < 1:
            raise ValueError("slots and budget must be positive")
        self.slots = slots
        self.budget = budget
        self._cond = threading.Condition()
        self._queue: deque[object] = deque()
        self._inside = 0
        self._bytes = 0

    def _fits(self, size: int) -> bool:
        return self._inside == 0 or (self._inside < self.slots
                                     and self._bytes + size <= self.budget)

    @contextmanager
    def admit(self, size: int) -> Iterator[None]:
        ticket = object()
        with self._cond:
            self._queue.append(ticket)
            try:
                self._cond.wait_for(lambda: self._queue[0] is ticket and self._fits(size))
            finally:
                self._queue.remove(ticket)
            self._inside += 1
            self._bytes += size
            self._cond.notify_all()  # the next in line may fit too
        try:
            yield
        finally:
            with self._cond:
                self._inside -= 1
                self._bytes -= size
                self._cond.notify_all()

    @property
    def inside(self) -> int:
        with self._cond:
            return self._inside
