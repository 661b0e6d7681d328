"""BP-6.2d with a real Dovecot (IMAP, passwd-file users) asking the monitor through
auth_policy_server_url: six wrong passwords lock the account, the right password is then
refused, and after the HUE-13.3 unlock it works again."""

from __future__ import annotations

import imaplib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.helpers import free_port
from tests.lab.dovecot import DovecotInstance

from .conftest import Monitor, start_monitor

USER = "hoa@thuathienhue.gov.vn"
API_KEY = "policy-key-7c1e"


@pytest.fixture(scope="module")
def imap(tmp_path_factory, redis_tcp: str) -> Iterator[tuple[int, Monitor]]:
    if shutil.which("dovecot") is None or not Path("/usr/lib/dovecot/imap").exists():
        pytest.skip("dovecot-core and dovecot-imapd are needed")
    redis.Redis.from_url(redis_tcp).flushall()
    mon = start_monitor(tmp_path_factory.mktemp("mon-dovecot"), redis_tcp,
                        f'dovecot_api_key = "{API_KEY}"\n')
    base = Path(tempfile.mkdtemp(prefix="cg-dovecot-imap-"))
    os.chmod(base, 0o755)
    port = free_port()
    dc = DovecotInstance(base, users={USER: ""}, imap_port=port, extra=(
        f"auth_policy_server_url = {mon.url}/dovecot/policy\n"
        f"auth_policy_server_api_header = X-API-Key: {API_KEY}\n"
        "auth_policy_hash_nonce = test-nonce-1234\n"))
    dc.start()
    yield port, mon
    dc.stop()
    mon.proc.terminate()
    mon.proc.wait(15)
    shutil.rmtree(base, ignore_errors=True)


def login(port: int, password: str) -> bool:
    with imaplib.IMAP4("127.0.0.1", port, timeout=30) as c:
        try:
            c.login(USER, password)
        except imaplib.IMAP4.error:
            return False
        c.logout()
        return True


def test_six_wrong_passwords_lock_and_unlock_restores(imap: tuple[int, Monitor]) -> None:
    port, mon = imap
    assert login(port, "secret")  # works, and records the last login
    for _ in range(6):
        assert not login(port, "wrong-password")
    status, lock = mon.call("GET", f"/api/v1/locks/{USER}", "viewer")
    assert status == 200 and lock["reason"] == "BP-6.2d"
    assert not login(port, "secret")  # the right password no longer opens it
    status, _ = mon.call("POST", f"/api/v1/locks/{USER}/unlock", "operator",
                         {"reference": "88/SoTTTT", "approver": "Tran Van E"})
    assert status == 200
    assert login(port, "secret")


def test_five_wrong_passwords_then_success_reset_the_count(imap: tuple[int, Monitor]) -> None:
    port, mon = imap
    for _ in range(5):
        assert not login(port, "wrong")
    assert login(port, "secret")
    for _ in range(5):
        assert not login(port, "wrong")
    assert mon.call("GET", f"/api/v1/locks/{USER}", "viewer")[0] == 404
    assert login(port, "secret")


def test_policy_endpoint_requires_the_api_key(imap: tuple[int, Monitor]) -> None:
    _, mon = imap
    import json
    import urllib.error
    import urllib.request

    req = urllib.request.Request(mon.url + "/dovecot/policy?command=allow",
                                 data=json.dumps({"login": USER}).encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    assert e.value.code == 401
