"""The real milter answers the MAIL FROM lock check and the IOC lookup from its local
copies (congvu_guard.local_copy), follows a lock or an indicator added elsewhere, and
still counts every message in Redis. Driven with the milter-protocol client, watched with
Redis MONITOR."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from congvu_guard.state.audit import AuditTrail
from congvu_guard.state.ioc import IocStore
from congvu_guard.state.locks import LockStore
from tests.helpers import simple_message
from tests.milter_client import ReplyKind, TransactionResult, open_session

from .conftest import MilterUnderTest, start_milter

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def guard(lab_dir: Path, redis_url: str) -> Iterator[MilterUnderTest]:
    m = start_milter(lab_dir, "local-copies", redis_url)
    yield m
    m.process.stop()


def send(m: MilterUnderTest, user: str, body: str = "Kinh gui.") -> TransactionResult:
    with open_session(m.socket_spec.split(":", 1)[1], timeout=60) as c:
        return c.transaction(f"<{user}>", ["<dest@hue.gov.vn>"],
                             simple_message("copy", sender=user, to="dest@hue.gov.vn",
                                            body=body + "\r\n"),
                             mail_macros={"{auth_authen}": user})


class Monitor:
    """Every command Redis executes while the block runs (Redis MONITOR)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.commands: list[str] = []
        self._stop = threading.Event()

    def __enter__(self) -> Monitor:
        ready = threading.Event()

        def watch() -> None:
            with redis.Redis.from_url(self.url).monitor() as mon:
                ready.set()
                for cmd in mon.listen():
                    self.commands.append(str(cmd.get("command", "")))
                    if self._stop.is_set():
                        return

        self._thread = threading.Thread(target=watch, daemon=True)
        self._thread.start()
        assert ready.wait(10)
        time.sleep(0.1)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        redis.Redis.from_url(self.url).ping()  # wakes the watcher
        self._thread.join(10)


def test_lock_check_and_ioc_lookup_cost_no_redis_round_trip_but_every_message_is_counted(
    guard: MilterUnderTest, redis_url: str,
) -> None:
    user = "copy-count@hue.gov.vn"
    with Monitor(redis_url) as mon:
        results = [send(guard, user, f"https://portal{i}.example.org/") for i in range(3)]
    assert all(r.reply.kind is ReplyKind.ACCEPT for r in results), results
    lock_reads = [c for c in mon.commands if c.upper().startswith("HGET") and ":lock" in c]
    ioc_reads = [c for c in mon.commands if "congvu:ioc:" in c]
    # The window record (one Lua script a message; the member is unique per message,
    # NOSCRIPT retries repeat it).
    counted = {c.split()[-4] for c in mon.commands
               if c.upper().startswith("EVALSHA") and user in c}
    assert lock_reads == [] and ioc_reads == [], (lock_reads, ioc_reads)
    assert len(counted) == 3, mon.commands


def test_a_lock_and_an_indicator_made_elsewhere_apply_to_the_next_messages(
    guard: MilterUnderTest, redis_url: str,
) -> None:
    client = redis.Redis.from_url(redis_url)
    user = "copy-lock@hue.gov.vn"
    assert send(guard, user).reply.kind is ReplyKind.ACCEPT

    IocStore(client).add("domain", "copy-phish.example", "test")
    deadline = time.monotonic() + 10
    while True:  # the announcement reaches the milter within milliseconds
        r = send(guard, user, "Dang nhap: https://login.copy-phish.example/x")
        if "HUE-11.11/ioc" in r.added_headers().get("X-Congvu-Guard", "") or \
                time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert "HUE-11.11/ioc" in r.added_headers().get("X-Congvu-Guard", ""), r

    LockStore(client, AuditTrail(client, 30)).lock(user, "BP-6.2d", by="test")
    deadline = time.monotonic() + 10
    while True:
        r = send(guard, user)
        if r.stage == "mail" or time.monotonic() > deadline:
            break
        # Not yet in the copy: the count at end of message refuses it all the same.
        assert r.reply.code == 550 and r.stage == "eob", r
        time.sleep(0.05)
    assert r.stage == "mail" and r.reply.code == 550, r
    assert b"BP-6.2d" in r.reply.text, r
