"""HUE-13.2d end to end: SASL submission through a real Postfix, four milters sharing one
Redis, and a Redis that dies during a run."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from congvu_guard.lab.postfix import Listener, PostfixInstance
from congvu_guard.state.embedded import EmbeddedRedis
from tests.helpers import free_port, simple_message, token

from .conftest import MilterUnderTest, start_milter
from .harness import Sink, send

PASSWORD = "Mat-khau-2026"
USERS = [f"nv{i}@thuathienhue.gov.vn" for i in range(6)]


@dataclass
class SubmissionLab:
    postfix: PostfixInstance
    milters: list[MilterUnderTest]
    ports: list[int]  # one submission smtpd per milter
    lonely: MilterUnderTest  # a milter with its own Redis, for the Redis-death test
    lonely_port: int
    lonely_redis: EmbeddedRedis


@pytest.fixture(scope="module")
def sub(lab_dir: Path, redis_url: str, sink: Sink) -> Iterator[SubmissionLab]:
    base = lab_dir / "ratelimit"
    base.mkdir(mode=0o755)
    milters = [start_milter(base, f"m{i}", redis_url) for i in range(4)]
    lonely_redis = EmbeddedRedis(base / "lonely-redis")
    lonely = start_milter(base, "lonely", lonely_redis.start())
    ports = [free_port() for _ in milters]
    lonely_port = free_port()
    sasl = PostfixInstance.sasl_options()
    pf = PostfixInstance(
        base=base / "postfix",
        sink_port=sink.port,
        listeners=[*(Listener(f"submission{i}", p, m.socket_spec, sasl)
                     for i, (p, m) in enumerate(zip(ports, milters, strict=True))),
                   Listener("submission-lonely", lonely_port, lonely.socket_spec, sasl)],
        sasl_users={u: PASSWORD for u in USERS},
        main={"smtpd_client_connection_count_limit": "0",
              "smtpd_client_connection_rate_limit": "0", "default_process_limit": "200"},
    )
    pf.start()
    yield SubmissionLab(pf, milters, ports, lonely, lonely_port, lonely_redis)
    pf.stop()
    for m in [*milters, lonely]:
        m.process.stop()
    lonely_redis.stop()


def submit(port: int, user: str, subject: str):
    return send(port, user, ["dest@hue.gov.vn"],
                simple_message(subject, sender=user, to="dest@hue.gov.vn"),
                auth=(user, PASSWORD))


def cli(milter: MilterUnderTest, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "congvu_guard", *args, "--config",
         str(milter.process.config_path)], capture_output=True, text=True, timeout=60)


def test_101st_message_locks_later_mail_from_is_refused_and_unlock_restores(
    sub: SubmissionLab, sink: Sink,
) -> None:
    user, t = USERS[0], token()
    codes = [submit(sub.ports[0], user, f"rl {t} {i}").code for i in range(100)]
    assert codes == [250] * 100
    r = submit(sub.ports[0], user, f"rl {t} 100")
    assert r.code == 550 and r.stage == "data", r
    assert "HUE-13.2d" in r.text and "HUE-13.3" in r.text
    # Another server: the same lock. Its local copy learns of the lock within milliseconds;
    # a message that races it is refused at end of data by the Redis count instead.
    deadline = time.monotonic() + 10
    while True:
        r = submit(sub.ports[1], user, f"rl {t} later")
        assert r.code == 550 and "HUE-13.2d" in r.text, r
        if r.stage == "mail" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert r.stage == "mail", r

    listed = cli(sub.milters[0], "locks", "list", "--json")
    assert listed.returncode == 0 and user in listed.stdout
    done = cli(sub.milters[0], "locks", "unlock", user, "--reference", "45/UBND-VP",
               "--approver", "Ho Van D")
    assert done.returncode == 0, done.stderr
    r = submit(sub.ports[2], user, f"rl {t} after-unlock")
    assert r.code == 250, r
    assert len(sink.wait_for(f"rl {t}", count=101)) == 101
    audit = cli(sub.milters[0], "locks", "audit", "--json", "--account", user)
    assert '"event": "lock"' in audit.stdout and '"reference": "45/UBND-VP"' in audit.stdout


def test_four_milters_one_redis_exactly_100_accepted_never_101(
    sub: SubmissionLab, sink: Sink,
) -> None:
    user, t = USERS[1], token()

    def one(i: int) -> int:
        return submit(sub.ports[i % 4], user, f"multi {t} {i}").code

    with ThreadPoolExecutor(max_workers=16) as pool:
        codes = list(pool.map(one, range(160)))
    assert codes.count(250) == 100, codes
    assert all(c == 550 for c in codes if c != 250)
    delivered = sink.wait_for(f"multi {t}", count=101, timeout=15)
    assert len(delivered) == 100


def _metric(milter: MilterUnderTest, name: str) -> float:
    text = urllib.request.urlopen(f"http://127.0.0.1:{milter.metrics_port}/metrics",
                                  timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not exported")


def test_redis_killed_mail_keeps_flowing_with_the_fallback_and_recovers(
    sub: SubmissionLab, sink: Sink,
) -> None:
    user, t = USERS[2], token()
    assert all(submit(sub.lonely_port, user, f"kill {t} a{i}").code == 250 for i in range(5))
    sub.lonely_redis.stop()
    try:
        codes = [submit(sub.lonely_port, user, f"kill {t} b{i}").code for i in range(10)]
        assert codes == [250] * 10
        assert _metric(sub.lonely, "congvu_guard_ratelimit_fallback_active") == 1
        assert sub.lonely.process.proc is not None and sub.lonely.process.proc.poll() is None
    finally:
        sub.lonely_redis.start()
    time.sleep(5.5)  # the breaker retries Redis after 5 s (a wait, not a timing assertion)
    assert submit(sub.lonely_port, user, f"kill {t} c").code == 250
    assert _metric(sub.lonely, "congvu_guard_ratelimit_fallback_active") == 0
    assert len(sink.wait_for(f"kill {t}", count=16)) == 16
