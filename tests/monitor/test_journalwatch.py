"""The log watcher reads the systemd journal ([monitor] journal_units): journalctl's JSON
lines go through the same failed-login rule as log files (BP-6.2d), with a real Redis.
This machine runs no journald, so a stand-in journalctl prints the JSON that
``journalctl -o json`` writes (a string MESSAGE, or a byte array when it is not UTF-8)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest
import redis

from congvu_guard.config import ConfigError, from_mapping
from congvu_guard.monitor.inactivity import import_accounts
from congvu_guard.monitor.journalwatch import journal_command, message_of, watch_journal
from congvu_guard.monitor.logins import LoginTracker
from congvu_guard.monitor.state import MonitorState

# As journald stores a Dovecot login failure: the tag apart from the message.
FAILED = {"SYSLOG_IDENTIFIER": "dovecot", "_PID": "812",
          "MESSAGE": "imap-login: Disconnected (auth failed, 1 attempts in 2 secs): "
                     "user=<j@hue.gov.vn>, method=PLAIN, rip=203.0.113.9, lip=10.0.0.1"}


def test_journal_command_follows_the_units_from_now_on() -> None:
    cmd = journal_command(("postfix@-", "dovecot"))
    assert cmd[0] == "journalctl"
    assert {"--follow", "--lines=0", "--output=json", "--unit=postfix@-",
            "--unit=dovecot"} <= set(cmd)


def test_message_of_rebuilds_the_syslog_line_and_reads_byte_arrays_and_skips_garbage(
) -> None:
    assert message_of(json.dumps({"MESSAGE": "héllo"}).encode()) == "héllo"
    assert message_of(json.dumps({"MESSAGE": list(b"caf\xe9")}).encode()) == "caf\ufffd"
    entry = {"SYSLOG_IDENTIFIER": "postfix/submission/smtpd", "SYSLOG_PID": "12",
             "_PID": "12", "MESSAGE": "warning: x"}
    assert message_of(json.dumps(entry).encode()) == "postfix/submission/smtpd[12]: warning: x"
    for bad in (b"not json", b"[1, 2]", b'{"MESSAGE": [300]}', b'{"OTHER": 1}'):
        assert message_of(bad) is None


def test_journal_units_refuse_an_option_for_a_unit_name() -> None:
    with pytest.raises(ConfigError, match="journal_units"):
        from_mapping({"monitor": {"journal_units": ["--since=yesterday"]}})


def test_failed_logins_in_the_journal_lock_the_account(redis_client: redis.Redis,
                                                        tmp_path: Path) -> None:
    entries = [FAILED] * 5 + [{**FAILED, "MESSAGE": list(FAILED["MESSAGE"].encode())}]
    stand_in = tmp_path / "journalctl"
    lines = [json.dumps(e) for e in entries]
    lines.insert(2, "x" * (400 * 1024))  # longer than any journal line: skipped
    lines.insert(3, "{not json")
    (tmp_path / "out").write_text("\n".join(lines) + "\n")
    stand_in.write_text(f"#!{sys.executable}\nimport sys\n"
                        f"sys.stdout.write(open({str(tmp_path / 'out')!r}).read())\n")
    stand_in.chmod(0o755)
    cfg = from_mapping({"monitor": {"users_file": "/nonexistent",
                                    "journal_units": ["dovecot"]}})
    tracker = LoginTracker(MonitorState(cfg, redis_client))
    import_accounts(redis_client, ["j@hue.gov.vn"])  # only known accounts are locked
    counted = asyncio.run(asyncio.wait_for(watch_journal(tracker, [str(stand_in)]), 60))
    assert counted == 6
    assert tracker.state.locks.get("j@hue.gov.vn").reason == "BP-6.2d"
