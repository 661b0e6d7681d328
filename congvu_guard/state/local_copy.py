"""Local copies of small shared sets (account locks, the IOC blocklist) kept fresh from Redis.

Asking Redis on every message costs a round trip of CPU and waiting; these sets change a
few times a day and are read hundreds of times a second. Every writer (``LockStore``,
``IocStore``) bumps the set's version in the hash ``congvu:versions`` and publishes the
set's name on ``congvu:changed``. A :class:`LocalCopy` thread waits on that channel (or
``interval`` seconds), reads the version, and reloads the set when it changed (and every
``full_reload`` seconds in any case, for writes made behind our back with redis-cli).

The copy is only served while it is fresh: when the last successful check is older than
``max_age`` seconds (Redis down, thread stuck), :meth:`get` returns None and callers ask
Redis directly, with their usual failure handling. A change therefore reaches the copy
within milliseconds through the channel, and within ``interval`` seconds at worst.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import redis

from . import keys
from .client import RedisClient

log = logging.getLogger("congvu_guard.local_copy")

VERSIONS = keys.VERSIONS  # hash: set name -> version, bumped by every writer
CHANNEL = keys.CHANGED_CHANNEL  # pub/sub: the name of the set that changed

T = TypeVar("T")


def bump(client: RedisClient, name: str) -> None:
    """Tell every local copy of ``name`` that it changed (call after the write)."""
    client.hincrby(VERSIONS, name, 1)
    client.publish(CHANNEL, name)


class LocalCopy(Generic[T]):
    def __init__(self, client: RedisClient, name: str, load: Callable[[Any], T],
                 interval: float = 0.5, max_age: float = 3.0, full_reload: float = 60.0,
                 on_fresh: Callable[[bool], None] | None = None) -> None:
        self.client = client
        self.name = name
        self.load = load
        self.interval = interval
        self.max_age = max_age
        self.full_reload = full_reload
        self.on_fresh = on_fresh or (lambda _fresh: None)
        self._data: T | None = None
        self._version: Any = None
        self._loaded_at = 0.0
        self._checked_at = float("-inf")
        self._was_fresh = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pubsub: Any = None

    # -- what callers see -------------------------------------------------------------------

    def get(self) -> T | None:
        """The current copy, or None when it is not known to be fresh."""
        if time.monotonic() - self._checked_at > self.max_age:
            self._report(False)
            return None
        return self._data

    def _report(self, fresh: bool) -> None:
        if fresh != self._was_fresh:
            self._was_fresh = fresh
            self.on_fresh(fresh)
            if not fresh:
                log.warning("local copy of %s is stale: asking Redis on every message",
                            self.name)

    # -- keeping it fresh ------------------------------------------------------------------

    def refresh(self) -> bool:
        """One check (and reload when the version moved); False when Redis failed."""
        try:
            version = self.client.hget(VERSIONS, self.name)
            now = time.monotonic()
            if (self._data is None or version != self._version
                    or now - self._loaded_at > self.full_reload):
                data = self.load(self.client)
                self._data, self._version, self._loaded_at = data, version, now
        except (redis.RedisError, OSError) as e:
            log.debug("local copy of %s: %s", self.name, e)
            return False
        self._checked_at = time.monotonic()
        self._report(True)
        return True

    def start(self) -> LocalCopy[T]:
        self.refresh()
        self._thread = threading.Thread(target=self._run, name=f"copy-{self.name}",
                                        daemon=True)
        self._thread.start()
        return self

    def after_fork(self) -> None:
        """In a forked scan worker (milter/pool.py): the refresh thread stayed in the
        parent, and the parent's subscription socket is not ours to read. A thread of our
        own keeps this copy fresh, on connections of our own (redis-py opens new ones in a
        process whose pid changed)."""
        self._pubsub = None
        self._stop = threading.Event()
        self._thread = None
        self.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self._close_pubsub()

    def _run(self) -> None:
        while not self._stop.is_set():
            ok = self.refresh()
            if not ok:
                self._close_pubsub()
            self._wait()

    def _wait(self) -> None:
        """Until a change is announced or ``interval`` passes."""
        if self._pubsub is None:
            try:
                pubsub = self.client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                self._pubsub = pubsub
            except (redis.RedisError, OSError, AttributeError):
                self._stop.wait(self.interval)
                return
        deadline = time.monotonic() + self.interval
        try:
            while (left := deadline - time.monotonic()) > 0 and not self._stop.is_set():
                # Short waits, so that stop() is served promptly.
                msg = self._pubsub.get_message(timeout=min(left, 0.25))
                if msg and msg.get("type") == "message":
                    data = msg.get("data")
                    if data in (self.name, self.name.encode()):
                        return
        except (redis.RedisError, OSError, ValueError):
            self._close_pubsub()
            self._stop.wait(self.interval)

    def _close_pubsub(self) -> None:
        if self._pubsub is not None:
            with contextlib.suppress(redis.RedisError, OSError):
                self._pubsub.close()
            self._pubsub = None
