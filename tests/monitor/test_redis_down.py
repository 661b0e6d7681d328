"""The monitor while its Redis is down: a clear temporary answer, no stack trace, and
service again once Redis is back (real monitor process, real redis-server)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import free_port, start_redis_server

from .conftest import Monitor, start_monitor


class RedisServer:
    def __init__(self, d: Path, port: int) -> None:
        self.d, self.port = d, port
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = start_redis_server(self.d, self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def monitor_and_redis(tmp_path: Path) -> Iterator[tuple[Monitor, RedisServer]]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path, free_port())
    server.start()
    mon = start_monitor(tmp_path, f"redis://127.0.0.1:{server.port}/0")
    try:
        yield mon, server
    finally:
        mon.proc.terminate()
        mon.proc.wait(15)
        server.stop()


def test_redis_down_is_a_503_with_a_clear_message_and_service_resumes(
        monitor_and_redis: tuple[Monitor, RedisServer]) -> None:
    mon, server = monitor_and_redis
    assert mon.call("GET", "/api/v1/locks", role="viewer")[0] == 200
    server.stop()
    status, body = mon.call("GET", "/api/v1/locks", role="viewer")
    assert status == 503 and isinstance(body, dict)
    assert "Redis" in body["error"] and body["error"].isascii()
    status, _ = mon.call("POST", "/api/v1/locks", role="operator",
                            payload={"account": "a@hue.gov.vn", "reason": "test"})
    assert status == 503
    assert mon.proc.poll() is None  # still serving
    assert "Traceback" not in mon.log.read_text()
    server.start()
    assert mon.call("GET", "/api/v1/locks", role="viewer")[0] == 200
