"""Session and page properties the ASVS checklist (docs/asvs-monitor.md) points at: page
passwords of a minimum length, cookie flags, absolute and idle expiry, logout that ends the
session, and HTML-escaped values."""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import redis

from congvu_guard.config import MonitorConfig
from congvu_guard.monitor.auth import MIN_PASSWORD_LENGTH
from tests.helpers import free_port

from .conftest import PASSWORD, Monitor, launch_monitor, write_config

IDLE = MonitorConfig().session_idle_seconds
TTL = MonitorConfig().session_ttl_seconds


def request(mon: Monitor, method: str, path: str, form: str = "", cookie: str = ""
            ) -> http.client.HTTPResponse:
    u = urllib.parse.urlsplit(mon.url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
    if cookie:
        headers["Cookie"] = cookie
    c.request(method, path, body=form or None, headers=headers)
    return c.getresponse()


def login(mon: Monitor, user: str = "an.nv", password: str = PASSWORD) -> tuple[str, str]:
    r = request(mon, "POST", "/login", urllib.parse.urlencode({"user": user,
                                                                "password": password}))
    assert r.status == 303
    return r.getheader("Set-Cookie", ""), r.getheader("Set-Cookie", "").split(";")[0]


def add_user(cfg: Path, name: str, password: str) -> subprocess.CompletedProcess[str]:
    """`congvu-guard monitor-user add NAME --password`, the password on stdin."""
    return subprocess.run([sys.executable, "-m", "congvu_guard", "monitor-user", "add", name,
                           "--role", "viewer", "--password", "--config", str(cfg)],
                          input=password + "\n", capture_output=True, text=True, timeout=60)


def test_page_passwords_shorter_than_the_minimum_are_refused(tmp_path: Path,
                                                              redis_tcp: str) -> None:
    """ASVS 2.1.1: `monitor-user add` refuses a password one character short of the minimum
    (12) and writes nothing; one of exactly the minimum is added and logs in to the page."""
    port = free_port()
    cfg = write_config(tmp_path, redis_tcp, port)
    users = tmp_path / "users"
    before = users.read_text()
    short = add_user(cfg, "ngan.nv", "x" * (MIN_PASSWORD_LENGTH - 1))
    assert short.returncode == 2 and f"at least {MIN_PASSWORD_LENGTH} characters" in short.stderr
    assert users.read_text() == before
    enough = "Mk-" + "9" * (MIN_PASSWORD_LENGTH - 3)
    assert add_user(cfg, "du.nv", enough).returncode == 0
    mon = launch_monitor(tmp_path, cfg, port, redis_tcp)
    try:
        _, cookie = login(mon, "du.nv", enough)
        assert request(mon, "GET", "/", cookie=cookie).status == 200
    finally:
        mon.proc.terminate()
        mon.proc.wait(15)


def session_key(cookie: str) -> str:
    return f"congvu:session:{cookie.split('=', 1)[1]}"


def test_a_session_unused_for_longer_than_the_idle_timeout_ends(monitor: Monitor) -> None:
    """ASVS 3.3.2: idle time is simulated by moving the session's last use back in Redis
    (the monitor compares it with its own clock); no sleeping."""
    _, cookie = login(monitor)
    client = redis.Redis.from_url(monitor.redis_url)
    key = session_key(cookie)
    assert 0 < client.ttl(key) <= IDLE  # an abandoned session leaves Redis by itself
    assert request(monitor, "GET", "/", cookie=cookie).status == 200
    client.hset(key, "seen", repr(time.time() - IDLE - 5))
    r = request(monitor, "GET", "/", cookie=cookie)
    assert r.status == 303 and r.getheader("Location") == "/login"
    assert not client.exists(key)


def test_each_request_renews_the_idle_timeout_until_the_absolute_end(
        monitor: Monitor) -> None:
    _, cookie = login(monitor)
    client = redis.Redis.from_url(monitor.redis_url)
    key = session_key(cookie)
    client.hset(key, "seen", repr(time.time() - IDLE + 60))  # idle, but not for long enough
    client.expire(key, 60)
    asked = time.time()
    assert request(monitor, "GET", "/", cookie=cookie).status == 200
    assert float(client.hget(key, "seen")) >= asked - 1  # the request counts as a use
    assert client.ttl(key) > 60  # and the key lives on
    client.hset(key, "began", repr(time.time() - TTL - 5))  # busy, but logged in too long
    r = request(monitor, "GET", "/", cookie=cookie)
    assert r.status == 303 and r.getheader("Location") == "/login"
    assert not client.exists(key)


def test_session_cookie_flags_expiry_and_logout(monitor: Monitor) -> None:
    header, cookie = login(monitor)
    flags = header.lower()
    assert "httponly" in flags and "samesite=strict" in flags and "secure" in flags
    assert "max-age=28800" in flags
    sid = cookie.split("=", 1)[1]
    client = redis.Redis.from_url(monitor.redis_url)
    assert 0 < client.ttl(f"congvu:session:{sid}") <= 28800
    page = request(monitor, "GET", "/", cookie=cookie).read().decode()
    csrf = re.search(r"name='csrf' value='([^']*)'", page).group(1)
    assert request(monitor, "POST", "/logout", f"csrf={csrf}", cookie).status == 303
    assert not client.exists(f"congvu:session:{sid}")
    r = request(monitor, "GET", "/", cookie=cookie)
    assert r.status == 303 and r.getheader("Location") == "/login"


def test_values_on_the_page_are_html_escaped(monitor: Monitor) -> None:
    status, _ = monitor.call("POST", "/api/v1/locks", "operator",
                             {"account": "esc@hue.gov.vn", "reason": "<script>x</script>",
                              "note": "<img src=x onerror=alert(1)>"})
    assert status == 201
    _, cookie = login(monitor)
    r = request(monitor, "GET", "/", cookie=cookie)
    page = r.read().decode()
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<img src=x" not in page
    assert "default-src 'self'" in r.getheader("Content-Security-Policy", "")
