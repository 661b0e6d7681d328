"""Fixtures that start real servers: Redis, a mail sink, the milter and Postfix.

Everything listens on 127.0.0.1 or on unix sockets in a directory made for the test
session, and everything is stopped at the end. Postfix needs root, as in CI.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from congvu_guard.lab.postfix import Listener, PostfixInstance
from congvu_guard.state.embedded import EmbeddedRedis
from tests.helpers import free_port, token

from .harness import MilterProcess, Sink

if TYPE_CHECKING:
    from tests.monitor.conftest import Monitor

REPORT_BOX = "tiepnhan@thuathienhue.gov.vn"

pytestmark = pytest.mark.e2e


def _need(cond: bool, why: str) -> None:
    if not cond:
        pytest.skip(why)


@pytest.fixture(scope="session")
def lab_dir() -> Iterator[Path]:
    _need(os.geteuid() == 0, "end-to-end tests start Postfix and must run as root")
    _need(Path("/usr/sbin/postfix").exists(), "Postfix is not installed")
    d = Path(tempfile.mkdtemp(prefix="cg-e2e-"))
    os.chmod(d, 0o755)
    yield d
    if os.environ.get("CONGVU_KEEP_LAB"):  # keep logs and queues for debugging
        print(f"lab directory kept: {d}")
    else:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url(lab_dir: Path) -> Iterator[str]:
    _need(shutil.which("redis-server") is not None, "redis-server is not installed")
    server = EmbeddedRedis(lab_dir / "redis")
    url = server.start()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def sink() -> Iterator[Sink]:
    s = Sink(free_port())
    s.start()
    yield s
    s.stop()


def write_milter_config(path: Path, socket_path: Path, redis_url: str, metrics_port: int,
                        extra: str = "") -> Path:
    path.write_text(
        f"""
[milter]
socket = "unix:{socket_path}"
socket_group = "postfix"

[redis]
url = "{redis_url}"

[domains]
official = ["thuathienhue.gov.vn", "*.thuathienhue.gov.vn", "hue.gov.vn", "*.gov.vn"]

[report]
address = "{REPORT_BOX}"

[metrics]
listen = "127.0.0.1:{metrics_port}"

[logging]
level = "info"
{extra}
"""
    )
    return path


@dataclass
class MilterUnderTest:
    process: MilterProcess
    socket_spec: str
    metrics_port: int


def start_milter(base: Path, name: str, redis_url: str, extra: str = "") -> MilterUnderTest:
    d = base / name
    d.mkdir(mode=0o755)
    sock = d / "run" / "milter.sock"
    metrics_port = free_port()
    cfg = write_milter_config(d / "congvu-guard.toml", sock, redis_url, metrics_port, extra)
    proc = MilterProcess(cfg, sock, d / "milter.log")
    proc.start()
    return MilterUnderTest(proc, f"unix:{sock}", metrics_port)


LOCAL_RULE = ('rule Local_A { meta: severity = "medium" strings: $a = "MARKER-AAA" '
              'condition: $a }')


@contextlib.contextmanager
def milter_with_local_rules(base: Path, prefix: str, redis_url: str, sink: Sink,
                            scan: str = "") -> Iterator[tuple[MilterUnderTest, int, Path]]:
    """A milter of its own whose YARA rules directory (one rule, ``LOCAL_RULE``) a test may
    rewrite and reload, with ``scan`` added to its ``[scan]`` table, behind a Postfix of its
    own: (milter, that Postfix's inbound port, the rules directory)."""
    name = f"{prefix}-{token()}"
    rules = base / f"{name}-rules"
    rules.mkdir()
    (rules / "local.yar").write_text(LOCAL_RULE)
    m = start_milter(base, name, redis_url, f'[scan]\n{scan}yara_rules_dirs = ["{rules}"]\n')
    port = free_port()
    pf = PostfixInstance(base=base / f"{name}-postfix", sink_port=sink.port,
                         listeners=[Listener("inbound", port, m.socket_spec)])
    pf.start()
    try:
        yield m, port, rules
    finally:
        m.process.stop()
        pf.stop()


@pytest.fixture(scope="session")
def milter(lab_dir: Path, redis_url: str) -> Iterator[MilterUnderTest]:
    m = start_milter(lab_dir, "milter", redis_url)
    yield m
    m.process.stop()


@dataclass
class MailSystem:
    postfix: PostfixInstance
    inbound_port: int  # smtpd with the milter
    plain_port: int  # smtpd without any milter
    milter: MilterUnderTest
    sink: Sink


@pytest.fixture(scope="session")
def mail(lab_dir: Path, sink: Sink, milter: MilterUnderTest) -> Iterator[MailSystem]:
    inbound, plain = free_port(), free_port()
    pf = PostfixInstance(
        base=lab_dir / "postfix",
        sink_port=sink.port,
        listeners=[
            Listener("inbound", inbound, milter.socket_spec),
            Listener("plain", plain, ""),
        ],
        non_smtpd_milters=milter.socket_spec,
    )
    pf.start()
    yield MailSystem(pf, inbound, plain, milter, sink)
    pf.stop()


@pytest.fixture(scope="session")
def monitor(lab_dir: Path, redis_url: str, mail: MailSystem) -> Iterator[Monitor]:
    """The real monitor on the same Redis as the milter; it releases mail through Postfix."""
    from tests.monitor.conftest import start_monitor

    d = lab_dir / "monitor"
    d.mkdir()
    m = start_monitor(d, redis_url, f'smtp_relay = "127.0.0.1:{mail.inbound_port}"\n')
    yield m
    m.proc.terminate()
    m.proc.wait(15)
