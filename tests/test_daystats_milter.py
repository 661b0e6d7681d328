"""Issue 21: the milter counts every decided message per Vietnamese day in Redis (judged
and by action) for the console's overview, written once a second; in-process milter
(pymilter's TestCtx), real Redis."""

from __future__ import annotations

import io
import time

import Milter
from Milter.testctx import TestCtx as MilterCtx

from congvu_guard.config import Config, ReportConfig
from congvu_guard.engine import Engine
from congvu_guard.metrics import Metrics
from congvu_guard.milter.adapter import GuardMilter, Services
from congvu_guard.state import daystats
from congvu_guard.store import RedisStore
from tests.helpers import simple_message, wait_until
from tests.samples import macro_message
from tests.test_milter_adapter import BOX, NO_REPLY_BITS


def test_the_milter_counts_judged_and_quarantined_messages_per_day(
        redis_client, monkeypatch) -> None:
    engine = Engine(Config(report=ReportConfig(address=BOX)))
    store = RedisStore(redis_client, "test")
    monkeypatch.setattr(GuardMilter, "services", Services(engine, Metrics(), store, "mx.test"),
                        raising=False)
    monkeypatch.setattr(Milter, "factory", GuardMilter)
    ctx = MilterCtx()
    ctx._opts = ctx.default_opts = [Milter.CURR_ACTS, 0x1FFFFF & ~NO_REPLY_BITS, 0, 0]
    monkeypatch.setattr(MilterCtx, "default_opts", ctx.default_opts)
    assert ctx._connect(ip="192.0.2.7") == Milter.CONTINUE
    for raw in (simple_message("chao"), macro_message("x"), simple_message("lan 2")):
        ctx._feedFile(io.BytesIO(raw), "alice@hue.gov.vn", "bob@hue.gov.vn")
    today = daystats.day_of(time.time())

    def got() -> dict[str, int]:
        return daystats.read(redis_client, [today], ("judged", "quarantine", "reject"))[0]

    # Counted in memory, written by the store's own thread within a second.
    assert wait_until(lambda: got() == {"judged": 3, "quarantine": 1, "reject": 0}, 10)
    store.close()
    assert got() == {"judged": 3, "quarantine": 1, "reject": 0}
