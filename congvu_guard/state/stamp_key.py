"""Where the origin-stamp key (CG-STAMP) comes from: a key file, or Redis (``keys.STAMP_KEY``,
shared by every server and created once by whichever asks first)."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Protocol

from .. import forksafe
from ..config import ConfigError, ForwardingConfig
from . import keys
from .client import RedisClient

MIN_KEY_BYTES = 32
RETRY_SECONDS = 5.0


def read_key_file(path: str) -> bytes:
    try:
        key = Path(path).read_bytes().strip()
    except OSError as e:
        raise ConfigError(f"[forwarding] stamp_key_file: cannot read {path}: {e.strerror}") from e
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(
            f"[forwarding] stamp_key_file: {path} holds {len(key)} bytes, at least "
            f"{MIN_KEY_BYTES} are needed (e.g. head -c 48 /dev/urandom | base64 > {path})"
        )
    return key


def shared_key(client: RedisClient) -> bytes | None:
    """The key in Redis, created on first use (SET NX: two servers starting together agree
    on one); None when what is stored is not a key. Redis errors raise."""
    client.set(keys.STAMP_KEY, secrets.token_bytes(MIN_KEY_BYTES), nx=True)
    key = client.get(keys.STAMP_KEY)
    return key if isinstance(key, bytes) and len(key) >= MIN_KEY_BYTES else None


class KeyStore(Protocol):
    def stamp_key(self) -> bytes | None: ...


class StampKeySource:
    """Callable returning the key, or None while Redis is unreachable (retried every 5 s)."""

    def __init__(self, cfg: ForwardingConfig, store: KeyStore | None) -> None:
        self._key = read_key_file(cfg.stamp_key_file) if cfg.stamp_key_file else None
        self._store = store
        self._lock = forksafe.lock()
        self._next_try = 0.0

    def __call__(self) -> bytes | None:
        if self._key is not None or self._store is None:
            return self._key
        with self._lock:
            if self._key is None and time.monotonic() >= self._next_try:
                self._key = self._store.stamp_key()
                if self._key is None:
                    self._next_try = time.monotonic() + RETRY_SECONDS
            return self._key
