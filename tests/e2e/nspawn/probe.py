"""Runs inside the booted container (congvu-probe.service): what systemd says about the
units, one clean message and one oversize MAIL FROM through the real Postfix, the journal's
priorities; writes /out/result.json for tests/e2e/test_systemd_boot.py."""

import json
import smtplib
import subprocess
import time


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
    time.sleep(1)
except Exception as e:  # noqa: BLE001 - reported to the test on the host
    result["error"] = repr(e)
entries = [json.loads(line) for line in sh(
    "journalctl", "-u", "congvu-guard-milter", "-o", "json", "--no-pager").splitlines()]
result["journal"] = [{"PRIORITY": e.get("PRIORITY"), "MESSAGE": e.get("MESSAGE")}
                     for e in entries]
result["failed"] = sh("systemctl", "list-units", "--failed", "--no-legend", "--plain")
with open("/out/result.json", "w") as f:
    json.dump(result, f, indent=1)
