"""Runs inside the booted container (congvu-probe.service): what systemd says about the
units, one clean message and one oversize MAIL FROM through the real Postfix, the journal's
priorities; writes /out/result.json for tests/e2e/test_systemd_boot.py."""

import json
import os
import smtplib
import subprocess
import time
import urllib.request


def sh(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout


def show(unit: str) -> dict:
    out = sh("systemctl", "show", unit, "-p", "Type,ActiveState,SubState,StatusText,"
             "NRestarts,WatchdogUSec,Result")
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


result: dict = {"error": ""}
try:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(
            sh("systemctl", "is-active", unit).strip() != "active"
            for unit in ("postfix", "congvu-guard-milter", "congvu-guard-monitor")):
        time.sleep(0.5)
    result["milter"] = show("congvu-guard-milter")
    result["monitor"] = show("congvu-guard-monitor")
    with smtplib.SMTP("127.0.0.1", 25, timeout=60) as s:
        s.ehlo("client.hue.gov.vn")
        code, _ = s.mail("a@hue.gov.vn")
        s.rcpt("root@localhost")
        code, reply = s.data(b"From: a@hue.gov.vn\r\nTo: root@localhost\r\n"
                             b"Subject: boot test\r\n\r\nhello\r\n")
        result["clean"] = [code, reply.decode()]
        s.rset()
        code, reply = s.mail("a@hue.gov.vn", ["SIZE=30000000"])
        result["oversize"] = [code, reply.decode()]
    # A lock in the monitor (hardened, user congvu-guard) reaches Zimbra's zmprov through the
    # spool and the path-activated unit (user zimbra).
    request = urllib.request.Request(
        "http://127.0.0.1:9817/api/v1/locks", method="POST",
        data=json.dumps({"account": "zim@hue.gov.vn", "reason": "BP-6.2d"}).encode(),
        headers={"Authorization": "Bearer probe-token-1234567890",
                 "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        result["lock"] = r.status
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not os.path.exists("/opt/zimbra/log/calls"):
        time.sleep(0.5)
    time.sleep(1)
    with open("/opt/zimbra/log/calls") as f:
        result["zmprov"] = f.read().splitlines()
except Exception as e:  # noqa: BLE001 - reported to the test on the host
    result["error"] = repr(e)
entries = [json.loads(line) for line in sh(
    "journalctl", "-u", "congvu-guard-milter", "-o", "json", "--no-pager").splitlines()]
result["journal"] = [{"PRIORITY": e.get("PRIORITY"), "MESSAGE": e.get("MESSAGE")}
                     for e in entries]
result["queue_left"] = sorted(os.listdir("/var/spool/congvu-guard/hooks"))
result["zimbra_hooks"] = show("congvu-guard-zimbra-hooks")
result["hooks_log"] = sh("journalctl", "-u", "congvu-guard-zimbra-hooks", "-u",
                         "congvu-guard-zimbra-hooks.path", "-u", "congvu-guard-monitor",
                         "--no-pager", "-n", "40").splitlines()
result["failed"] = sh("systemctl", "list-units", "--failed", "--no-legend", "--plain")
with open("/out/result.json", "w") as f:
    json.dump(result, f, indent=1)
