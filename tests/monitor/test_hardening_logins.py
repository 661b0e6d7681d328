"""Issue 15, failed logins and the page's login, on a real Redis: only known accounts can
be locked and those locks expire; made-up names slow down their source; the log watcher
counts only real failure lines; page logins back off and cost the same for every name."""

from __future__ import annotations

import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from congvu_guard.config import from_mapping
from congvu_guard.monitor import auth
from congvu_guard.monitor.auth import Authenticator, User, hash_password
from congvu_guard.monitor.inactivity import import_accounts
from congvu_guard.monitor.logins import LoginTracker
from congvu_guard.monitor.logwatch import parse_failure, process
from congvu_guard.monitor.state import MonitorState
from congvu_guard.monitor.throttle import LoginThrottle

from .conftest import PASSWORD, Monitor, start_monitor


def state(client: redis.Redis, tmp_path: Path | None = None, **monitor) -> MonitorState:
    cfg = from_mapping({"monitor": {"users_file": "/nonexistent", **monitor}})
    return MonitorState(cfg, client)


def test_made_up_names_are_never_locked_but_slow_down_their_source(redis_client) -> None:
    t = LoginTracker(state(redis_client, tarpit_seconds=30))
    for i in range(40):  # six guesses each of made-up names, and many names
        assert t.failed(f"khongco{i % 7}@hue.gov.vn", "203.0.113.50", "dovecot") is False
    assert redis_client.scard("congvu:locks") == 0
    assert not list(redis_client.scan_iter("congvu:{khongco*"))  # no key per made-up name
    assert t.check("khongco1@hue.gov.vn", "203.0.113.50").status == 30  # the source waits
    assert t.check("khongco1@hue.gov.vn", "198.51.100.1").status == 0  # others do not


def test_failed_login_locks_expire_by_default_and_unlock_still_works(redis_client) -> None:
    st = state(redis_client)
    t = LoginTracker(st)
    import_accounts(redis_client, ["that@hue.gov.vn"])
    for _ in range(6):
        t.failed("that@hue.gov.vn", "203.0.113.51", "dovecot")
    lock = st.locks.get("that@hue.gov.vn")
    assert lock is not None and lock.reason == "BP-6.2d"
    assert lock.expires_at is not None and 3500 < lock.expires_at - time.time() <= 3600
    assert 0 < redis_client.pttl("congvu:{that@hue.gov.vn}:lock") <= 3600_000
    st.locks.unlock("that@hue.gov.vn", "12/UBND", "Le Van C", actor="op")  # HUE-13.3
    assert st.locks.get("that@hue.gov.vn") is None
    st2 = state(redis_client, failed_login_lock_seconds=0)
    import_accounts(redis_client, ["forever@hue.gov.vn"])
    for _ in range(6):
        LoginTracker(st2).failed("forever@hue.gov.vn", "203.0.113.52", "log")
    assert st2.locks.get("forever@hue.gov.vn").expires_at is None  # configurable


def test_accounts_of_the_configured_source_can_be_locked(redis_client, tmp_path: Path) -> None:
    listed = tmp_path / "accounts"
    listed.write_text("# doveadm user '*'\nbinh@hue.gov.vn uid=1\n")
    t = LoginTracker(state(redis_client, known_accounts_file=str(listed)))
    for _ in range(6):
        t.failed("Binh@hue.gov.vn", "203.0.113.53", "dovecot")
    assert t.state.locks.get("binh@hue.gov.vn") is not None


def test_a_reject_line_quoting_attacker_text_is_no_failed_login(redis_client) -> None:
    forged = ("Nov 26 10:00:00 mx1 postfix/smtpd[881]: NOQUEUE: reject: RCPT from unknown"
              "[203.0.113.5]: 554 5.7.1 <x@hue.gov.vn>: Relay access denied; from=<a@b.example>"
              " to=<x@hue.gov.vn> proto=ESMTP helo=<user=<chutich@hue.gov.vn> rip=203.0.113.5 "
              "auth failed>")
    assert parse_failure(forged) is None
    quoted = ("Nov 26 10:00:00 mx1 postfix/cleanup[9]: 4F2: warning: header Subject: "
              "authentication failed for [chutich@hue.gov.vn] oip=1.2.3.4; from=<a@b.example>")
    assert parse_failure(quoted) is None
    # A name that cannot be locked safely is no evidence either.
    assert parse_failure("dovecot: imap-login: Disconnected (auth failed, 1 attempts): "
                         "user=<victim@hue.gov.vn#>, method=PLAIN, rip=1.2.3.4, lip=1") is None
    st = state(redis_client)
    import_accounts(redis_client, ["chutich@hue.gov.vn"])
    assert process(LoginTracker(st), [forged] * 10) == 0
    assert st.locks.get("chutich@hue.gov.vn") is None


def test_unknown_names_cost_the_same_pbkdf2_work_as_real_ones(monkeypatch) -> None:
    real = User("an.nv", "operator", hash_password(PASSWORD, iterations=5000))
    a = Authenticator({"an.nv": real})
    seen: list[int] = []
    pbkdf2 = auth.hashlib.pbkdf2_hmac

    def counting(name, password, salt, iterations):
        seen.append(iterations)
        return pbkdf2(name, password, salt, iterations)

    monkeypatch.setattr(auth.hashlib, "pbkdf2_hmac", counting)
    assert a.by_password("an.nv", "wrong") is None
    assert a.by_password("nobody", "wrong") is None
    assert a.by_password("an.nv", PASSWORD) == real
    assert seen == [5000, 5000, 5000]


def test_login_backoff_doubles_per_address_and_per_name(redis_client) -> None:
    th = LoginThrottle(redis_client, limit=3, max_backoff=60)
    now = 1_000_000.0
    for _ in range(3):
        th.failed("203.0.113.9", "an.nv", now)
    assert th.wait_seconds("203.0.113.9", "an.nv", now) == 0
    th.failed("203.0.113.9", "an.nv", now)
    assert th.wait_seconds("198.51.100.1", "an.nv", now) == 2  # the name, from elsewhere
    assert th.wait_seconds("203.0.113.9", "other", now) == 2  # the address, another name
    th.failed("203.0.113.9", "an.nv", now)
    assert th.wait_seconds("203.0.113.9", "an.nv", now) == 4
    for _ in range(20):
        th.failed("203.0.113.9", "an.nv", now)
    assert th.wait_seconds("203.0.113.9", "an.nv", now) == 60  # capped
    assert th.wait_seconds("203.0.113.9", "an.nv", now + 61) == 0


@pytest.fixture(scope="module")
def throttled(tmp_path_factory, redis_tcp: str) -> Iterator[Monitor]:
    redis.Redis.from_url(redis_tcp).flushall()
    m = start_monitor(tmp_path_factory.mktemp("mon-throttle"), redis_tcp,
                      "login_throttle_limit = 3\n")
    yield m
    m.proc.terminate()
    m.proc.wait(15)


def page_login(mon: Monitor, user: str, password: str) -> tuple[int, dict[str, str]]:
    data = urllib.parse.urlencode({"user": user, "password": password}).encode()

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **k):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(mon.url + "/login", data=data), timeout=30) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def test_page_login_is_throttled_before_any_hashing(throttled: Monitor) -> None:
    for _ in range(4):
        assert page_login(throttled, "an.nv", "wrong-password")[0] == 401
    status, headers = page_login(throttled, "an.nv", PASSWORD)  # even the right password
    assert status == 429 and int(headers["Retry-After"]) >= 1
    client = redis.Redis.from_url(throttled.redis_url)
    # Failed page logins are not in the operators' trail but in their own capped stream.
    assert not [e for _, e in client.xrange("congvu:audit")
                if e[b"event"] == b"login-failed"]
    assert client.xlen("congvu:audit-unauth") == 4
