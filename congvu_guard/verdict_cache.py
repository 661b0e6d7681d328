"""Per-file results remembered by content hash (issue 17).

The same attachment sent to 200 recipients (200 messages when the sender's MTA splits
them), or the same newsletter logo in every issue, is judged once per process: a file's
YARA matches depend only on its bytes and the rule set, so they are looked up by
(rule-set version, sha256) before any work. Only pure per-file results belong here, never
anything that depends on the envelope, the direction or Redis state.

Bounded twice, least recently used first out: by entries, and by the bytes the stored
results take (a rule set that matches many rules on many files must not grow the milter).
A rule-set change (SIGHUP reload) bumps the version in the key and clears the cache, so a
result computed under the old rules is never served under the new ones. A new
configuration (rule directories, timeout) means a new Engine and YaraScanner, hence a new,
empty cache: the milter reloads only the rules in place (SIGHUP).

The engine keeps a second one for opened containers (``content.ExpansionCache``): what
opening a zip or a PDF added depends only on its bytes and the engine's limits.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

from . import forksafe

V = TypeVar("V")

DEFAULT_ENTRIES = 4096
DEFAULT_BYTES = 4 * 1024 * 1024
ENTRY_OVERHEAD = 200  # bytes: key tuple, 64-char digest, list node (sys.getsizeof, rounded)


class VerdictCache(Generic[V]):
    """A thread-safe LRU map; ``cost`` is the caller's estimate of a value's bytes."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES,
                 max_bytes: int = DEFAULT_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[V, int]] = OrderedDict()
        self._bytes = 0
        self._lock = forksafe.lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    @property
    def bytes(self) -> int:
        return self._bytes

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return item[0]

    def put(self, key: Hashable, value: V, cost: int = 0) -> None:
        size = cost + ENTRY_OVERHEAD
        if self.max_entries <= 0 or size > self.max_bytes:
            return  # disabled, or one result larger than the whole cache
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            self._items[key] = (value, size)
            self._bytes += size
            while len(self._items) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._bytes = 0
