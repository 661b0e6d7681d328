"""A running monitor (the real `congvu-guard monitor` process) on a real Redis."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from congvu_guard.monitor.auth import hash_password, hash_token
from tests.helpers import free_port

TOKENS = {"viewer": "tok-viewer-1234567890", "operator": "tok-operator-1234567890",
          "admin": "tok-admin-1234567890"}
PASSWORD = "Mat-khau-an-toan-2026"


@dataclass
class Monitor:
    url: str
    proc: subprocess.Popen[bytes]
    config: Path
    log: Path
    redis_url: str

    def call(self, method: str, path: str, role: str | None = "admin",
             payload: object = None, raw: bytes | None = None) -> tuple[int, object]:
        data = raw if raw is not None else (json.dumps(payload).encode()
                                            if payload is not None else None)
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if role:
            req.add_header("Authorization", f"Bearer {TOKENS[role]}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                body = r.read()
                status = r.status
                ctype = r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            body, status, ctype = e.read(), e.code, e.headers.get("Content-Type", "")
        if "json" in ctype:
            return status, json.loads(body)
        return status, body.decode()


def write_config(d: Path, redis_url: str, port: int, extra: str = "") -> Path:
    users = d / "users"
    users.write_text("".join(f"{role}-client {role} {hash_token(tok)}\n"
                             for role, tok in TOKENS.items())
                     + f"an.nv operator {hash_password(PASSWORD, iterations=1000)}\n"
                     + f"xem.nv viewer {hash_password(PASSWORD, iterations=1000)}\n")
    cfg = d / "congvu-guard.toml"
    cfg.write_text(f'[redis]\nurl = "{redis_url}"\n[report]\naddress = "tiepnhan@hue.gov.vn"\n'
                   f'[monitor]\nlisten = "127.0.0.1:{port}"\nusers_file = "{users}"\n'
                   f'inactivity_sweep_seconds = 3600\n{extra}')
    return cfg


def start_monitor(d: Path, redis_url: str, extra: str = "") -> Monitor:
    port = free_port()
    return launch_monitor(d, write_config(d, redis_url, port, extra), port, redis_url)


def launch_monitor(d: Path, cfg: Path, port: int, redis_url: str) -> Monitor:
    """`congvu-guard monitor` on a config written by write_config, once it answers."""
    log = d / "monitor.log"
    proc = subprocess.Popen([sys.executable, "-m", "congvu_guard", "monitor", "--config",
                             str(cfg)], stdout=log.open("ab"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(log.read_text())
        try:
            urllib.request.urlopen(url + "/api/v1/health", timeout=1)
            return Monitor(url, proc, cfg, log, redis_url)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"monitor did not start: {log.read_text()}")


@pytest.fixture(scope="module")
def monitor(tmp_path_factory, redis_tcp: str) -> Iterator[Monitor]:
    redis.Redis.from_url(redis_tcp).flushall()
    m = start_monitor(tmp_path_factory.mktemp("monitor"), redis_tcp)
    yield m
    m.proc.terminate()
    m.proc.wait(15)
