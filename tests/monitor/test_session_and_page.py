"""Session and page properties the ASVS checklist (docs/asvs-monitor.md) points at: cookie
flags, expiry, logout that ends the session, and HTML-escaped values."""

from __future__ import annotations

import http.client
import re
import urllib.parse

import redis

from .conftest import PASSWORD, Monitor


def request(mon: Monitor, method: str, path: str, form: str = "", cookie: str = ""
            ) -> http.client.HTTPResponse:
    u = urllib.parse.urlsplit(mon.url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if form else {}
    if cookie:
        headers["Cookie"] = cookie
    c.request(method, path, body=form or None, headers=headers)
    return c.getresponse()


def login(mon: Monitor) -> tuple[str, str]:
    r = request(mon, "POST", "/login", urllib.parse.urlencode({"user": "an.nv",
                                                                "password": PASSWORD}))
    assert r.status == 303
    return r.getheader("Set-Cookie", ""), r.getheader("Set-Cookie", "").split(";")[0]


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
