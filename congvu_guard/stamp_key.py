"""Where the origin-stamp key comes from: a key file, or Redis (shared by every server)."""

from __future__ import annotations

import time
from pathlib import Path

from . import forksafe
from .config import ConfigError, ForwardingConfig
from .store import Store

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


class StampKeySource:
    """Callable returning the key, or None while Redis is unreachable (retried every 5 s)."""

    def __init__(self, cfg: ForwardingConfig, store: Store | None) -> None:
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
