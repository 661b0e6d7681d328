"""HUE-11.11 IOC blocklist, the service (the lists and their local copy: state/ioc.py).

:class:`IocService` is the services stage's part: one lookup per message, answered as
:class:`~congvu_guard.facts.IocFacts` for :mod:`congvu_guard.detectors.ioc`.
"""

from __future__ import annotations

import logging

import redis

from ..detectors.ioc import wanted
from ..facts import IocFacts
from ..message import ParsedMessage
from ..metrics import Metrics
from ..model import Envelope
from ..state.ioc import IocStore

log = logging.getLogger("congvu_guard.ioc")


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
