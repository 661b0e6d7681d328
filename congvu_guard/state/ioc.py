"""HUE-11.11 IOC blocklist, the repository: the lists live in Redis (shared by every server)
under ``keys.ioc(kind)``. The milter checks every message against a local copy of the lists
(``local_copy``: refreshed within milliseconds of a change, asked of Redis in one round trip
while the copy is stale). Fed with ``congvu-guard ioc add``, the monitor's API and triage.
"""

from __future__ import annotations

import builtins  # IocStore.list shadows the builtin in its class body
from collections.abc import Iterable, Mapping

from ..detectors.ioc import KINDS, normalize
from . import keys
from .client import RedisClient, text
from .local_copy import LocalCopy, bump

COPY_NAME = "ioc"
Listed = dict[str, frozenset[bytes]]  # kind -> the listed values, as stored


def load_listed(client: RedisClient) -> Listed:
    """Every listed value of every kind (for a local copy)."""
    return {kind: frozenset(client.hkeys(keys.ioc(kind))) for kind in KINDS}


def all_listed(client: RedisClient) -> builtins.list[tuple[str, str, str]]:
    """(kind, value, note) of every listed value, by kind then value, in one round trip."""
    pipe = client.pipeline(transaction=False)
    for kind in KINDS:
        pipe.hgetall(keys.ioc(kind))
    return [(kind, text(value), text(note))
            for kind, found in zip(KINDS, pipe.execute(), strict=True)
            for value, note in sorted(found.items())]


class IocStore:
    """``copy`` (the milter's) answers lookups locally while it is fresh."""

    def __init__(self, client: RedisClient, copy: LocalCopy[Listed] | None = None) -> None:
        self.client = client
        self.copy = copy

    def add(self, kind: str, value: str, note: str = "") -> str:
        v = normalize(kind, value)
        self.client.hset(keys.ioc(kind), v, note or "-")
        bump(self.client, COPY_NAME)
        return v

    def remove(self, kind: str, value: str) -> bool:
        removed = bool(self.client.hdel(keys.ioc(kind), normalize(kind, value)))
        bump(self.client, COPY_NAME)
        return removed

    def list(self, kind: str) -> dict[str, str]:
        def text(b: object) -> str:
            return b.decode() if isinstance(b, bytes) else str(b)

        return {text(k): text(v) for k, v in sorted(self.client.hgetall(keys.ioc(kind)).items())}

    def hits(self, wanted: Mapping[str, Iterable[str]]) -> dict[str, builtins.list[str]]:
        """Which of the given values are listed, per kind: from the local copy when it is
        fresh, else in one pipelined round trip."""
        items = {k: sorted(set(v)) for k, v in wanted.items() if v}
        if not items:
            return {}
        listed = self.copy.get() if self.copy is not None else None
        if listed is not None:
            return {kind: [v for v in values
                           if v.encode("utf-8", "surrogateescape") in listed.get(kind, ())]
                    for kind, values in items.items()}
        pipe = self.client.pipeline(transaction=False)
        for kind, values in items.items():
            # As received: an 8-bit sender that is not UTF-8 must not make the lookup fail.
            pipe.hmget(keys.ioc(kind), [v.encode("utf-8", "surrogateescape") for v in values])
        out: dict[str, builtins.list[str]] = {}
        for (kind, values), found in zip(items.items(), pipe.execute(), strict=True):
            out[kind] = [v for v, f in zip(values, found, strict=True) if f is not None]
        return out


