"""systemd readiness (issue 16): the milter and the monitor speak sd_notify(3) to the socket
systemd names in NOTIFY_SOCKET. Here the test plays systemd with a unix datagram socket of
its own and starts the real programs (a real Redis behind them)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from congvu_guard import sdnotify
from tests.helpers import free_port


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(str(path))
    s.settimeout(30)
    yield s, str(path)
    s.close()


def _next(s: socket.socket) -> dict[str, str]:
    fields = s.recv(4096).decode().split("\n")
    return dict(f.split("=", 1) for f in fields)


def test_notify_sends_fields_to_the_named_socket(notify_socket, monkeypatch) -> None:
    s, path = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    assert sdnotify.notify("READY=1", "STATUS=ok")
    assert _next(s) == {"READY": "1", "STATUS": "ok"}


def test_notify_reaches_an_abstract_socket(monkeypatch) -> None:
    name = f"congvu-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert sdnotify.notify("WATCHDOG=1")
        assert s.recv(100) == b"WATCHDOG=1"


def test_without_systemd_notify_does_nothing_and_no_watchdog(monkeypatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    assert not sdnotify.notify("READY=1")
    assert sdnotify.watchdog_interval() is None


def test_a_vanished_notify_socket_is_logged_not_raised(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    assert not sdnotify.notify("READY=1")


def test_watchdog_interval_is_half_of_watchdog_usec_for_this_process(monkeypatch) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sdnotify.watchdog_interval() == 15
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # meant for another process
    assert sdnotify.watchdog_interval() is None


def _env(path: str) -> dict[str, str]:
    # WATCHDOG_USEC without WATCHDOG_PID: the keep-alives are for the child.
    return {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"}


def test_milter_is_ready_only_once_its_socket_listens_then_keeps_the_watchdog_alive(
        tmp_path: Path, notify_socket, redis_tcp: str) -> None:
    s, path = notify_socket
    sock = tmp_path / "run" / "milter.sock"
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[milter]\nsocket = "unix:{sock}"\nsocket_group = ""\n'
                   f'[redis]\nurl = "{redis_tcp}"\n[metrics]\nlisten = ""\n')
    log = tmp_path / "milter.log"
    proc = subprocess.Popen([sys.executable, "-m", "congvu_guard", "milter", "--config",
                             str(cfg)], stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            env=_env(path), stdin=subprocess.DEVNULL)
    try:
        ready = _next(s)
        # The moment READY arrives, Postfix can connect: the socket already listens.
        with socket.socket(socket.AF_UNIX) as c:
            c.connect(str(sock))
        assert ready["READY"] == "1", ready
        assert "redis answered" in ready["STATUS"], ready
        assert _next(s) == {"WATCHDOG": "1"}
        assert _next(s) == {"WATCHDOG": "1"}
        proc.send_signal(signal.SIGTERM)
        while (msg := _next(s)) == {"WATCHDOG": "1"}:
            pass
        assert msg == {"STOPPING": "1"}
        assert proc.wait(30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_monitor_is_ready_only_once_its_port_answers(tmp_path: Path, notify_socket,
                                                     redis_tcp: str) -> None:
    s, path = notify_socket
    port = free_port()
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[redis]\nurl = "{redis_tcp}"\n[monitor]\nlisten = "127.0.0.1:{port}"\n'
                   f'users_file = "{tmp_path / "users"}"\n')
    log = tmp_path / "monitor.log"
    proc = subprocess.Popen([sys.executable, "-m", "congvu_guard", "monitor", "--config",
                             str(cfg)], stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            env=_env(path), stdin=subprocess.DEVNULL)
    try:
        ready = _next(s)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=10) as r:
            assert r.status == 200
        assert ready["READY"] == "1" and "redis answered" in ready["STATUS"], ready
        assert _next(s) == {"WATCHDOG": "1"}
        proc.send_signal(signal.SIGTERM)
        while (msg := _next(s)) == {"WATCHDOG": "1"}:
            pass
        assert msg == {"STOPPING": "1"}
        assert proc.wait(30) == 0, log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
