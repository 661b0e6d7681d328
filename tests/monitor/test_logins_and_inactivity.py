"""Failed-login rule (lock and tarpit modes), the log watcher and the inactivity sweep,
on a real Redis."""

from __future__ import annotations

import os
import time
from pathlib import Path

import redis

from congvu_guard.config import from_mapping
from congvu_guard.monitor.inactivity import import_accounts, parse_accounts, sweep
from congvu_guard.monitor.logins import LoginTracker
from congvu_guard.monitor.logwatch import Follower, parse_failure, process
from congvu_guard.monitor.state import MonitorState
from congvu_guard.state.keys import LAST_LOGIN

DAY = 86400


def state(client: redis.Redis, **monitor) -> MonitorState:
    cfg = from_mapping({"monitor": {"users_file": "/nonexistent", **monitor}})
    return MonitorState(cfg, client)


def test_more_than_five_failures_lock_in_lock_mode(redis_client) -> None:
    t = LoginTracker(state(redis_client))
    import_accounts(redis_client, ["a@hue.gov.vn"])  # only known accounts can be locked
    for _ in range(5):
        assert t.failed("a@hue.gov.vn", "198.51.100.7", "dovecot") is False
    assert t.failed("a@hue.gov.vn", "198.51.100.7", "dovecot") is True
    assert t.check("a@hue.gov.vn", "10.0.0.1").status < 0


def test_tarpit_mode_slows_the_guesser_not_the_owner(redis_client) -> None:
    t = LoginTracker(state(redis_client, failed_login_mode="tarpit", tarpit_seconds=20))
    import_accounts(redis_client, ["b@hue.gov.vn"])
    for _ in range(10):
        t.failed("b@hue.gov.vn", "203.0.113.66", "dovecot")
    assert t.check("b@hue.gov.vn", "203.0.113.66").status == 20  # the attacker waits
    assert t.check("b@hue.gov.vn", "10.1.1.1").status == 0  # the owner does not
    assert t.state.locks.get("b@hue.gov.vn") is None  # and nobody was locked out


def test_success_records_the_last_login(redis_client) -> None:
    t = LoginTracker(state(redis_client))
    t.succeeded("C@hue.gov.vn", "10.0.0.2")
    assert abs(float(redis_client.hget(LAST_LOGIN, "c@hue.gov.vn")) - time.time()) < 5


def test_log_lines_of_postfix_dovecot_and_zimbra_are_understood() -> None:
    assert parse_failure("postfix/submission/smtpd[12]: warning: unknown[203.0.113.5]: SASL "
                         "LOGIN authentication failed: UGFzc3dvcmQ6, "
                         "sasl_username=bob@hue.gov.vn") == ("bob@hue.gov.vn", "203.0.113.5")
    assert parse_failure("dovecot: imap-login: Disconnected (auth failed, 1 attempts in 2 "
                         "secs): user=<an@hue.gov.vn>, method=PLAIN, rip=198.51.100.4, "
                         "lip=10.0.0.1") == ("an@hue.gov.vn", "198.51.100.4")
    assert parse_failure("2026-11-26 10:00:01,234 WARN  [qtp-12] [ip=10.0.0.5;oip=192.0.2.9;"
                         "ua=zclient/9.0;] security - cmd=Auth; account=chi@hue.gov.vn; "
                         "protocol=soap; error=authentication failed for [chi@hue.gov.vn], "
                         "invalid password;") == ("chi@hue.gov.vn", "192.0.2.9")
    assert parse_failure("Nov 26 10:00:00 mx1 dovecot: auth-worker(42): sql(bob@hue.gov.vn,"
                         "203.0.113.9,<AbCd>): Password mismatch") == ("bob@hue.gov.vn",
                                                                        "203.0.113.9")
    assert parse_failure("postfix/smtpd[1]: connect from unknown[1.2.3.4]") is None


def test_log_watcher_follows_rotation_and_locks(redis_client, tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    log.write_text("old: user=<d@hue.gov.vn>, rip=1.1.1.1 auth failed\n" * 10)
    f = Follower(str(log))
    assert f.read_new() == []  # starts at the end: old failures do not count
    t = LoginTracker(state(redis_client))
    import_accounts(redis_client, ["d@hue.gov.vn"])
    line = ("dovecot: imap-login: Disconnected (auth failed, 1 attempts): user=<d@hue.gov.vn>,"
            " method=PLAIN, rip=203.0.113.9, lip=10.0.0.1\n")
    with log.open("a") as out:
        out.write(line * 3)
    assert process(t, f.read_new()) == 3
    os.rename(log, tmp_path / "mail.log.1")  # logrotate
    log.write_text(line * 3)
    assert process(t, f.read_new()) == 3
    assert t.state.locks.get("d@hue.gov.vn").reason == "BP-6.2d"


def test_inactivity_sweep_locks_after_180_days_and_lists_revocations(redis_client,
                                                                     tmp_path: Path) -> None:
    st = state(redis_client)
    now = time.time()
    redis_client.hset(LAST_LOGIN, mapping={"active@hue.gov.vn": now - 10 * DAY,
                                           "idle@hue.gov.vn": now - 200 * DAY,
                                           "gone@hue.gov.vn": now - 400 * DAY})
    csv_file = tmp_path / "accounts.csv"
    csv_file.write_text("account,name\nnever@hue.gov.vn,Nguyen Van F\nactive@hue.gov.vn,X\n")
    assert import_accounts(redis_client, parse_accounts(csv_file.read_text()),
                           now=now - 190 * DAY) == 2
    assert parse_accounts("an@hue.gov.vn  uid=1\nbinh@hue.gov.vn uid=2\n") == [
        "an@hue.gov.vn", "binh@hue.gov.vn"]  # doveadm user '*'
    dry = sweep(st, now=now, dry_run=True)
    assert dry.would_lock == ["gone@hue.gov.vn", "idle@hue.gov.vn", "never@hue.gov.vn"]
    assert dry.locked == [] and st.locks.get("idle@hue.gov.vn") is None
    result = sweep(st, now=now, dry_run=False)
    assert result.locked == ["gone@hue.gov.vn", "idle@hue.gov.vn", "never@hue.gov.vn"]
    assert result.revoke == ["gone@hue.gov.vn"]
    assert st.locks.get("idle@hue.gov.vn").reason == "HUE-13.2a"
    assert st.locks.get("active@hue.gov.vn") is None
