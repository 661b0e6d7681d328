"""The security team's page in headless Chromium (Debian's package, driven by Playwright):
log in, see a lock made by the milter, unlock it with a request reference, see the audit
line. Screenshots are saved in tests/artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import simple_message, token
from tests.monitor.conftest import PASSWORD, Monitor

from .conftest import MailSystem
from .harness import send

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_log_in_see_the_milters_lock_unlock_it_and_see_the_audit(
    mail: MailSystem, monitor: Monitor,
) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    # The milter locks an account: an internal host sends 101 messages for it (HUE-13.2d).
    account = f"lan{token()[:6]}@thuathienhue.gov.vn"
    codes = [send(mail.inbound_port, account, ["x@thuathienhue.gov.vn"],
                  simple_message(f"rl {i}", sender=account)).code for i in range(101)]
    assert codes[:100] == [250] * 100 and codes[100] == 550
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            page.goto(monitor.url + "/")
            assert "/login" in page.url
            page.fill("input[name=user]", "an.nv")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            row = page.locator(f"#locks tr[data-account='{account}']")
            assert "HUE-13.2d" in row.inner_text() and "milter@" in row.inner_text()
            page.screenshot(path=str(ARTIFACTS / "1-locked.png"), full_page=True)
            row.locator("input[name=reference]").fill("45/UBND-VP")
            row.locator("input[name=approver]").fill("Ho Van D")
            row.locator("button[type=submit]").click()
            assert f"Đã khôi phục hộp thư {account}." in page.locator("#flash").inner_text()
            assert page.locator(f"#locks tr[data-account='{account}']").count() == 0
            audit = page.locator("#audit").inner_text()
            assert "unlock" in audit and "45/UBND-VP" in audit and "Ho Van D" in audit
            page.screenshot(path=str(ARTIFACTS / "2-unlocked.png"), full_page=True)
            page.goto(monitor.url + "/?lang=en")
            assert "Locked accounts" in page.content()
            cookies = {c["name"]: c for c in page.context.cookies()}
            assert cookies["cg_session"]["httpOnly"] and cookies["cg_session"]["secure"]
            assert cookies["cg_session"]["sameSite"] == "Strict"
        finally:
            browser.close()
    # The account sends again after the unlock.
    assert send(mail.inbound_port, account, ["x@thuathienhue.gov.vn"],
                simple_message("after unlock", sender=account)).code == 250


def test_forms_without_the_csrf_token_are_refused(monitor: Monitor) -> None:
    import http.client
    import urllib.parse

    host, port = urllib.parse.urlsplit(monitor.url).netloc.split(":")

    def post(path: str, form: str, cookie: str = "") -> http.client.HTTPResponse:
        c = http.client.HTTPConnection(host, int(port), timeout=10)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if cookie:
            headers["Cookie"] = cookie
        c.request("POST", path, body=form, headers=headers)
        return c.getresponse()

    r = post("/login", f"user=an.nv&password={urllib.parse.quote(PASSWORD)}")
    assert r.status == 303
    cookie = r.getheader("Set-Cookie", "").split(";", 1)[0]
    assert cookie.startswith("cg_session=")
    assert post("/ui/unlock", "account=x&reference=1&approver=2", cookie).status == 403
    assert post("/ui/unlock", "account=x&reference=1&approver=2&csrf=guess",
                cookie).status == 403
    assert post("/ui/unlock", "account=x", "cg_session=forged").status == 303  # to /login
    assert post("/login", "user=an.nv&password=wrong").status == 401
