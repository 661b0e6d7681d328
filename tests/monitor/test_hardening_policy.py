"""Issue 15, the Dovecot policy endpoint and what reaches the log: a key is required, checked
as bytes in constant time for every command; the policy runs on its own executor, never
behind the page's password hashing; values cannot forge log lines; odd bytes in secrets
get 401/403, never 500."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
import redis
from aiohttp.test_utils import TestServer

from congvu_guard.config import ConfigError, from_mapping
from congvu_guard.monitor import logsafe
from congvu_guard.monitor.app import build_app
from congvu_guard.monitor.auth import hash_password
from congvu_guard.monitor.inactivity import import_accounts
from congvu_guard.monitor.logins import LoginTracker
from congvu_guard.monitor.state import MonitorState
from congvu_guard.state.keys import LAST_LOGIN

from .conftest import PASSWORD, Monitor, start_monitor, write_config

KEY = "policy-key-for-tests-1234"


@pytest.fixture(scope="module")
def keyed(tmp_path_factory, redis_tcp: str) -> Iterator[Monitor]:
    redis.Redis.from_url(redis_tcp).flushall()
    m = start_monitor(tmp_path_factory.mktemp("mon-keyed"), redis_tcp,
                      f'dovecot_policy = true\ndovecot_api_key = "{KEY}"\n')
    yield m
    m.proc.terminate()
    m.proc.wait(15)


def post(mon: Monitor, path: str, body: bytes, headers: dict[str, bytes | str]
         ) -> tuple[int, bytes]:
    """Raw HTTP, so that header values can be any bytes."""
    u = urllib.parse.urlsplit(mon.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.putrequest("POST", path)
    for k, v in {"Content-Length": str(len(body)), **headers}.items():
        conn.putheader(k, v)
    conn.endheaders(body)
    r = conn.getresponse()
    out = (r.status, r.read())
    conn.close()
    return out


def test_enabling_the_policy_without_a_key_is_refused_with_the_key_named(tmp_path: Path,
                                                                         redis_tcp) -> None:
    with pytest.raises(ConfigError) as e:
        from_mapping({"monitor": {"dovecot_policy": True}})
    assert str(e.value).startswith("[monitor] dovecot_api_key:")
    cfg = write_config(tmp_path, redis_tcp, 1, "dovecot_policy = true\n")
    proc = subprocess.run([sys.executable, "-m", "congvu_guard", "monitor", "--config",
                           str(cfg)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    [line] = proc.stderr.strip().splitlines()  # one line, naming the key
    assert "dovecot_api_key" in line


def test_without_a_key_there_is_no_policy_endpoint_to_lock_or_reset_accounts(
        monitor: Monitor) -> None:
    body = json.dumps({"login": "chutich@hue.gov.vn", "success": False}).encode()
    status, _ = post(monitor, "/dovecot/policy?command=report", body, {})
    assert status == 404


def test_success_reports_need_the_key_too(keyed: Monitor) -> None:
    client = redis.Redis.from_url(keyed.redis_url)
    body = json.dumps({"login": "giamdoc@hue.gov.vn", "remote": "203.0.113.4",
                       "success": True}).encode()
    for headers in ({}, {"X-API-Key": "wrong-key-wrong-key"}, {"X-API-Key": b"\xe9\xff"},
                    {"X-API-Key": KEY.encode() + b"\xc3\xa9"}):
        status, _ = post(keyed, "/dovecot/policy?command=report", body, headers)
        assert status == 401, headers
    assert client.hget(LAST_LOGIN, "giamdoc@hue.gov.vn") is None  # no forged last login
    status, _ = post(keyed, "/dovecot/policy?command=report", body, {"X-API-Key": KEY})
    assert status == 200 and client.hget(LAST_LOGIN, "giamdoc@hue.gov.vn") is not None


def test_non_ascii_bearer_token_and_csrf_get_401_and_403_not_500(keyed: Monitor) -> None:
    status, _ = post(keyed, "/api/v1/locks", b"{}", {"Authorization": b"Bearer \xe9t\xe9",
                                                     "Content-Type": "application/json"})
    assert status == 401
    form = urllib.parse.urlencode({"user": "xem.nv", "password": PASSWORD}).encode()
    status, _ = post(keyed, "/login", form, {"Content-Type":
                                             "application/x-www-form-urlencoded"})
    assert status == 303
    u = urllib.parse.urlsplit(keyed.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    conn.request("POST", "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
    cookie = conn.getresponse().getheader("Set-Cookie", "").split(";")[0]
    conn.close()
    bad = urllib.parse.urlencode({"csrf": "m\u00e3 gi\u1ea3"}).encode()
    status, _ = post(keyed, "/logout", bad, {"Cookie": cookie, "Content-Type":
                                             "application/x-www-form-urlencoded"})
    assert status == 403
    status, _ = post(keyed, "/logout", b"", {"Cookie": b"cg_session=\xe9\xe9"})
    assert status in (303, 403)


def test_a_newline_in_a_login_name_cannot_forge_a_log_line(keyed: Monitor) -> None:
    forged = "FORGED congvu_guard.monitor: unlock of giamdoc@hue.gov.vn by admin"
    client = redis.Redis.from_url(keyed.redis_url)
    name = f"x@hue.gov.vn\n{forged}"
    client.hset("congvu:accounts", name, 1)  # even a name some import let through
    for _ in range(7):
        body = json.dumps({"login": name, "remote": "203.0.113.8", "success": False}).encode()
        assert post(keyed, "/dovecot/policy?command=report", body, {"X-API-Key": KEY})[0] == 200
    form = urllib.parse.urlencode({"user": f"a\n{forged}", "password": "x"}).encode()
    post(keyed, "/login", form, {"Content-Type": "application/x-www-form-urlencoded"})
    time.sleep(0.3)
    text = keyed.log.read_text()
    assert not [ln for ln in text.splitlines() if ln.startswith("FORGED")]
    assert "failed page login for a\\x0aFORGED" in text  # logged, escaped, on one line


def test_the_log_formatter_escapes_control_characters() -> None:
    rec = logging.LogRecord("m", logging.INFO, __file__, 1, "lock of %s", ("a\r\nB\x1b",), None)
    out = logsafe.EscapingFormatter("%(levelname)s %(message)s").format(rec)
    assert out == "INFO lock of a\\x0d\\x0aB\\x1b"


def test_page_logins_hash_on_their_own_pool_never_on_the_policy_pool(
        redis_client, tmp_path: Path, monkeypatch) -> None:
    """Structural proof for "page logins never delay Dovecot": password hashing runs only on
    the cg-login executor (2 threads), policy answers only on cg-policy. Policy latency
    during the login burst is measured and printed (no timing assertion)."""
    users = tmp_path / "users"
    users.write_text(f"an.nv operator {hash_password(PASSWORD)}\n")  # real 310,000 rounds
    cfg = from_mapping({"monitor": {"users_file": str(users), "dovecot_api_key": KEY,
                                    "login_throttle_limit": 1000}})
    state = MonitorState(cfg, redis_client)
    import_accounts(redis_client, ["an@hue.gov.vn"])
    threads: dict[str, set[str]] = {"hash": set(), "policy": set()}
    real_by_password, real_check = state.auth.by_password, LoginTracker.check

    def by_password(name: str, password: str):
        threads["hash"].add(threading.current_thread().name)
        return real_by_password(name, password)

    def check(self, account: str, remote: str):
        threads["policy"].add(threading.current_thread().name)
        return real_check(self, account, remote)

    monkeypatch.setattr(state.auth, "by_password", by_password)
    monkeypatch.setattr(LoginTracker, "check", check)

    async def scenario() -> list[float]:
        server = TestServer(build_app(state))
        await server.start_server()
        base = f"http://127.0.0.1:{server.port}"
        async with aiohttp.ClientSession() as s:
            async def page_login(i: int) -> None:
                async with s.post(base + "/login", data={"user": "an.nv", "password": f"w{i}"},
                                  allow_redirects=False) as r:
                    await r.read()

            async def policy() -> float:
                t0 = time.perf_counter()
                async with s.post(base + "/dovecot/policy?command=allow",
                                  json={"login": "an@hue.gov.vn", "remote": "10.0.0.9"},
                                  headers={"X-API-Key": KEY}) as r:
                    assert r.status == 200
                    await r.read()
                return time.perf_counter() - t0

            logins = [asyncio.create_task(page_login(i)) for i in range(30)]
            latencies = []
            for _ in range(40):
                latencies.append(await policy())
                await asyncio.sleep(0.02)
            await asyncio.gather(*logins)
        await server.close()
        return latencies

    latencies = asyncio.run(scenario())
    assert threads["hash"] and all(n.startswith("cg-login") for n in threads["hash"])
    assert threads["policy"] and all(n.startswith("cg-policy") for n in threads["policy"])
    assert state.policy_executor is not state.login_executor
    assert state.login_executor._max_workers == 2
    p99 = sorted(latencies)[int(len(latencies) * 0.99)]
    print(f"\npolicy answers during 30 concurrent page logins (310,000 PBKDF2 rounds): "
          f"median {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
          f"max {max(latencies) * 1000:.1f} ms")
