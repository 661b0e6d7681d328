"""The milter adapter driven in-process by pymilter's TestCtx (no MTA): negotiation,
quarantine actions and the internal-error path. Postfix itself is in tests/e2e/."""

from __future__ import annotations

import io
from collections.abc import Iterator

import Milter
import pytest
from Milter.testctx import TestCtx as MilterCtx

from congvu_guard.config import Config, ReportConfig
from congvu_guard.detectors import Detector, default_detectors
from congvu_guard.engine import Engine
from congvu_guard.metrics import Metrics
from congvu_guard.milter.adapter import NEEDED_ACTIONS, GuardMilter, Services
from tests.helpers import simple_message
from tests.samples import macro_message

BOX = "tiepnhan@thuathienhue.gov.vn"
NO_REPLY_BITS = (Milter.P_NR_CONN | Milter.P_NR_HELO | Milter.P_NR_MAIL | Milter.P_NR_RCPT
                 | Milter.P_NR_DATA | Milter.P_NR_UNKN | Milter.P_NR_EOH | Milter.P_NR_BODY
                 | Milter.P_NR_HDR)


def _broken(envelope, msg):
    raise RuntimeError("detector bug")


@pytest.fixture
def make_ctx(monkeypatch) -> Iterator:
    def make(detectors=None) -> tuple[MilterCtx, Metrics]:
        metrics = Metrics()
        engine = Engine(Config(report=ReportConfig(address=BOX)), detectors)
        monkeypatch.setattr(GuardMilter, "services",
                            Services(engine, metrics, None, "mx.test"), raising=False)
        monkeypatch.setattr(Milter, "factory", GuardMilter)
        ctx = MilterCtx()
        ctx._opts = ctx.default_opts = [Milter.CURR_ACTS, 0x1FFFFF & ~NO_REPLY_BITS, 0, 0]
        monkeypatch.setattr(MilterCtx, "default_opts", ctx.default_opts)
        assert ctx._connect(ip="192.0.2.7") == Milter.CONTINUE
        return ctx, metrics

    yield make


def feed(ctx: MilterCtx, raw: bytes, *rcpts: str) -> int:
    return ctx._feedFile(io.BytesIO(raw), "alice@hue.gov.vn", *rcpts)


def test_only_the_needed_actions_are_negotiated(make_ctx) -> None:
    ctx, _ = make_ctx()
    assert ctx._opts[0] == NEEDED_ACTIONS
    assert not ctx._opts[0] & (Milter.CHGBODY | Milter.CHGFROM | Milter.QUARANTINE)


def test_quarantine_replaces_recipients_with_the_report_box(make_ctx) -> None:
    ctx, metrics = make_ctx()
    rc = feed(ctx, macro_message("x"), "bob@hue.gov.vn", "carol@gmail.com")
    assert rc == Milter.ACCEPT
    assert ctx._delrcpt == ["<bob@hue.gov.vn>", "<carol@gmail.com>"]
    assert [r[0] for r in ctx._addrcpt] == [f"<{BOX}>"]
    assert metrics.quarantined.labels("HUE-11.5/macro")._value.get() == 1


def test_clean_mail_is_accepted_without_touching_recipients(make_ctx) -> None:
    ctx, metrics = make_ctx()
    assert feed(ctx, simple_message("x"), "bob@hue.gov.vn") == Milter.ACCEPT
    assert ctx._delrcpt == [] and ctx._addrcpt == []
    assert metrics.messages.labels("accept")._value.get() == 1


def test_internal_error_is_a_451_tempfail_and_is_counted(make_ctx) -> None:
    ctx, metrics = make_ctx([*default_detectors(Config()), Detector("broken", (), _broken)])
    rc = feed(ctx, simple_message("x"), "bob@hue.gov.vn")
    assert rc == Milter.TEMPFAIL
    code, xcode, text = ctx._reply
    assert (code, xcode) == ("451", "4.3.0")
    assert text.isascii() and "Loi tam thoi" in text
    assert metrics.errors.labels("eom")._value.get() == 1
    # The connection survives: the next message on it is judged normally.
    assert feed(ctx, simple_message("y"), "bob@hue.gov.vn") == Milter.TEMPFAIL
    ctx2, _ = make_ctx()
    assert feed(ctx2, simple_message("z"), "bob@hue.gov.vn") == Milter.ACCEPT


def test_large_bodies_are_spooled_to_disk_and_still_judged(make_ctx) -> None:
    from congvu_guard.milter.spool import BodySpool

    spool = BodySpool(threshold=1000)  # no memory budget given: large bodies go to disk
    spool.write(b"a" * 600)
    assert not spool.spooled
    spool.write(b"b" * 600)
    assert spool.spooled and spool.size == 1200
    assert spool.read_all(b"H:") == b"H:" + b"a" * 600 + b"b" * 600
    spool.close()
    ctx, metrics = make_ctx()
    GuardMilter.services.spool_threshold = 4096
    big = macro_message("x") + b"\r\n" + b"x" * 20000
    assert feed(ctx, big, "bob@hue.gov.vn") == Milter.ACCEPT
    assert metrics.quarantined.labels("HUE-11.5/macro")._value.get() == 1
