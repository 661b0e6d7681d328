"""The engine with the real rate limiter on a real Redis: replies, hops, counting rules."""

from __future__ import annotations

import redis

from congvu_guard.config import Config, HopsConfig, RateLimitConfig, ReportConfig
from congvu_guard.engine import Engine
from congvu_guard.metrics import Metrics
from congvu_guard.model import Action, Envelope
from congvu_guard.ratelimit.service import RateLimitService
from congvu_guard.scan import wire_size
from tests.helpers import simple_message
from tests.samples import macro_message

BOX = "tiepnhan@thuathienhue.gov.vn"


def engine(client: redis.Redis, **rl) -> Engine:
    cfg = Config(ratelimit=RateLimitConfig(**rl), report=ReportConfig(address=BOX),
                 hops=HopsConfig(internal_networks=("10.0.0.0/8",)))
    svc = RateLimitService(cfg, client, Metrics(), "milter@test")
    return Engine(cfg, limiter=svc)


def send(e: Engine, env: Envelope, raw: bytes | None = None):
    early = e.check_envelope(env)
    if early is not None:
        return early
    raw = raw or simple_message("x")
    return e.check_message(env, raw, wire_size(raw))


def test_the_101st_message_is_rejected_then_mail_from_is_refused(redis_client) -> None:
    e = engine(redis_client)
    env = Envelope(sender="bob@hue.gov.vn", recipients=["x@hue.gov.vn"], auth_user="bob",
                   client_addr="203.0.113.5", queue_id="Q")
    assert [send(e, env).action for _ in range(100)] == [Action.ACCEPT] * 100
    v = send(e, env)
    assert v.action is Action.REJECT and "HUE-13.2d" in v.rules
    assert v.smtp_reply.startswith("550 5.7.1 Hop thu tam khoa (HUE-13.2d)")
    assert "HUE-13.3" in v.smtp_reply and BOX in v.smtp_reply and v.smtp_reply.isascii()
    early = e.check_envelope(env)
    assert early is not None and early.action is Action.REJECT
    assert early.smtp_reply == v.smtp_reply


def test_rejected_messages_do_not_count_quarantined_ones_do(redis_client) -> None:
    e = engine(redis_client, max_messages=3)
    env = Envelope(sender="c@hue.gov.vn", recipients=["x@hue.gov.vn"], auth_user="c")
    too_big = Envelope(sender="c@hue.gov.vn", recipients=["x@hue.gov.vn"], auth_user="c",
                       declared_size=10**9)
    for _ in range(5):
        assert send(e, too_big).action is Action.REJECT  # HUE-14, not counted
    assert send(e, env, macro_message("q")).action is Action.QUARANTINE  # counted
    assert send(e, env).action is Action.ACCEPT
    assert send(e, env).action is Action.ACCEPT
    assert send(e, env).action is Action.REJECT


def test_internal_hosts_without_login_count_against_the_official_sender(redis_client) -> None:
    e = engine(redis_client, max_messages=2)
    webmail = Envelope(sender="d@hue.gov.vn", recipients=["x@gmail.com"],
                       client_addr="10.1.2.3")
    assert [send(e, webmail).action for _ in range(3)] == [Action.ACCEPT] * 2 + [Action.REJECT]
    outside = Envelope(sender="someone@example.net", recipients=["d@hue.gov.vn"],
                       client_addr="203.0.113.9")
    assert all(send(e, outside).action is Action.ACCEPT for _ in range(5))  # not our user
    foreign = Envelope(sender="x@example.net", recipients=["y@hue.gov.vn"],
                       client_addr="10.1.2.3")
    assert all(send(e, foreign).action is Action.ACCEPT for _ in range(5))
    ignored = engine(redis_client, max_messages=2, unauthenticated="ignore")
    other = Envelope(sender="e@hue.gov.vn", recipients=["x@gmail.com"], client_addr="10.9.9.9")
    assert all(send(ignored, other).action is Action.ACCEPT for _ in range(5))


def test_gate_does_not_count_again(redis_client) -> None:
    e = engine(redis_client, max_messages=1)
    gate = Envelope(sender="f@hue.gov.vn", recipients=["x@gmail.com"], hop="gate")
    assert all(send(e, gate).action is Action.ACCEPT for _ in range(3))


def test_monitor_locks_are_enforced_with_their_own_reason(redis_client) -> None:
    e = engine(redis_client)
    e.limiter.locks.lock("g", "BP-6.2d", by="monitor")  # type: ignore[union-attr]
    v = e.check_envelope(Envelope(sender="g@hue.gov.vn", auth_user="G"))
    assert v is not None and v.rules == ("BP-6.2d",)
    assert "BP-6.2d" in v.smtp_reply and "failed logins" in v.smtp_reply


def test_redis_down_with_tempfail_policy_gives_451(redis_tcp: str) -> None:
    dead = redis.Redis(port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    e = engine(dead, on_redis_down="tempfail")
    v = e.check_envelope(Envelope(sender="h@hue.gov.vn", auth_user="h"))
    assert v is not None and v.action is Action.TEMPFAIL and v.smtp_reply.startswith("451")
