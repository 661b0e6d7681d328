"""HUE-11.11 IOC blocklist, the service: the lists live in Redis (shared by every server).
The milter checks every message against a local copy of the lists (``local_copy``:
refreshed within milliseconds of a change, asked of Redis in one round trip while the copy
is stale). Fed with ``congvu-guard ioc add``, the monitor's API and triage.

:class:`IocService` is the services stage's part: one lookup per message, answered as
:class:`~congvu_guard.facts.IocFacts` for :mod:`congvu_guard.detectors.ioc`.
"""

from __future__ import annotations

import builtins  # IocStore.list shadows the builtin in its class body
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import redis

from ..detectors.ioc import KINDS, key, normalize, wanted
from ..facts import IocFacts
from ..local_copy import LocalCopy, bump
from ..message import ParsedMessage
from ..metrics import Metrics
from ..model import Envelope

log = logging.getLogger("congvu_guard.ioc")

COPY_NAME = "ioc"
Listed = dict[str, frozenset[bytes]]  # kind -> the listed values, as stored


def load_listed(client: Any) -> Listed:
    """Every listed value of every kind (for a local copy)."""
    return {kind: frozenset(client.hkeys(key(kind))) for kind in KINDS}


class IocStore:
    """``copy`` (the milter's) answers lookups locally while it is fresh."""

    def __init__(self, client: Any, copy: LocalCopy[Listed] | None = None) -> None:
        self.client = client
        self.copy = copy

    def add(self, kind: str, value: str, note: str = "") -> str:
        v = normalize(kind, value)
        self.client.hset(key(kind), v, note or "-")
        bump(self.client, COPY_NAME)
        return v

    def remove(self, kind: str, value: str) -> bool:
        removed = bool(self.client.hdel(key(kind), normalize(kind, value)))
        bump(self.client, COPY_NAME)
        return removed

    def list(self, kind: str) -> dict[str, str]:
        def text(b: Any) -> str:
            return b.decode() if isinstance(b, bytes) else str(b)

        return {text(k): text(v) for k, v in sorted(self.client.hgetall(key(kind)).items())}

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
            pipe.hmget(key(kind), [v.encode("utf-8", "surrogateescape") for v in values])
        out: dict[str, builtins.list[str]] = {}
        for (kind, values), found in zip(items.items(), pipe.execute(), strict=True):
            out[kind] = [v for v, f in zip(values, found, strict=True) if f is not None]
        return out


class IocService:
    """``on_failure`` ([ratelimit] on_redis_down) is what an unreadable blocklist means:
    "tempfail", else the message is tagged (detectors.ioc)."""

    def __init__(self, store: IocStore, on_failure: str, metrics: Metrics | None = None) -> None:
        self.store = store
        self.on_failure = on_failure
        self.metrics = metrics

    def check(self, env: Envelope, msg: ParsedMessage) -> IocFacts:
        """The listed values among this message's; never raises for a Redis failure."""
        try:
            hits = self.store.hits(wanted(env, msg))
        except redis.RedisError as e:
            log.warning("IOC blocklist unavailable: %s", e)
            if self.metrics is not None:
                self.metrics.redis_errors.labels("ioc").inc()
            return IocFacts(unavailable=True)
        return IocFacts({kind: tuple(values) for kind, values in hits.items()})
