"""The production install under a real systemd (issue 16): a fresh Debian 12 (debootstrap)
boots in systemd-nspawn with the shipped units; scripts/setup installs the wheelhouse there
as on a server (guide, section 1); then, inside, the probe (nspawn/probe.py) checks what
systemd says (Type=notify READY with its status line, no restart), sends a clean message and
an oversize one through the real Postfix to the milter, reads the journal's priorities, and
locks an account in the monitor's API: the Zimbra hook units (path-activated, user zimbra)
must run a stand-in zmprov with it while the milter and monitor keep their hardening.

The Debian root is built once and kept in /var/tmp/congvu-guard-nspawn (about 70 s and
360 MB the first time); each run works on a copy."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
HERE = Path(__file__).resolve().parent / "nspawn"
CACHE = Path("/var/tmp/congvu-guard-nspawn")
MIRROR = "http://deb.debian.org/debian"


def _runtime_packages() -> list[str]:
    """scripts/setup's APT_PACKAGES (the runtime list), comments dropped."""
    text = (ROOT / "scripts" / "setup").read_text()
    block = text.split("\nAPT_PACKAGES=(", 1)[1].split("\n)", 1)[0]
    return [w for line in block.splitlines() for w in line.split("#", 1)[0].split()]


# systemd to boot, and the runtime list, so that the wheelhouse install needs no network.
PACKAGES = ",".join(["systemd", "systemd-sysv", "dbus", *_runtime_packages()])
NSPAWN = ["systemd-nspawn", "--register=no", "--keep-unit", "--console=pipe", "--quiet"]

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="systemd-nspawn needs root"),
    pytest.mark.skipif(not (shutil.which("systemd-nspawn") and shutil.which("debootstrap")),
                       reason="systemd-container or debootstrap missing (scripts/setup --dev)"),
    pytest.mark.skipif(not Path("/usr/bin/python3").exists(), reason="no Debian python3"),
]


def _base_root() -> Path:
    key = hashlib.sha256(PACKAGES.encode()).hexdigest()[:12]
    base = CACHE / f"bookworm-{key}"
    if not (base / "usr" / "bin" / "python3").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = CACHE / f"building-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        proc = subprocess.run(["debootstrap", "--variant=minbase", f"--include={PACKAGES}",
                               "bookworm", str(tmp), MIRROR], capture_output=True, text=True,
                              timeout=900)
        if proc.returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            pytest.skip(f"debootstrap failed (no Debian mirror?): {proc.stderr[-300:]}")
        shutil.rmtree(base, ignore_errors=True)
        tmp.rename(base)
        for old in CACHE.glob("bookworm-*"):  # roots of earlier package lists
            if old != base:
                shutil.rmtree(old, ignore_errors=True)
    return base


def test_the_units_boot_under_systemd_and_mail_passes_the_milter() -> None:
    base = _base_root()
    work = Path(tempfile.mkdtemp(prefix="cg-nspawn-", dir="/var/tmp"))
    try:
        wheelhouse, out, root = work / "wheelhouse", work / "out", work / "root"
        out.mkdir()
        # The container's Python is Debian's: the host's /usr/bin/python3 builds the wheels.
        proc = subprocess.run(["bash", str(ROOT / "scripts" / "wheelhouse"), str(wheelhouse)],
                              capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHON": "/usr/bin/python3"})
        assert proc.returncode == 0, proc.stderr[-2000:]
        subprocess.run(["cp", "-a", "--reflink=auto", str(base), str(root)], check=True,
                       timeout=300)
        proc = subprocess.run([*NSPAWN, "-D", str(root), f"--bind-ro={ROOT}:/src",
                               f"--bind-ro={wheelhouse}:/wheelhouse",
                               "/bin/bash", "/src/tests/e2e/nspawn/provision.sh"],
                              capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        assert "setup: congvu-guard" in proc.stdout, proc.stdout[-2000:]
        shutil.copy(HERE / "probe.py", out / "probe.py")
        proc = subprocess.run([*NSPAWN, "-D", str(root), "--boot", "--private-network",
                               f"--bind={out}:/out"], capture_output=True, text=True,
                              timeout=300)
        result = json.loads((out / "result.json").read_text())
        journal = result.pop("journal")
        report = json.dumps(result, indent=1) + "\n" + "\n".join(
            f"{e['PRIORITY']} {e['MESSAGE']}" for e in journal[-30:])
        assert result["error"] == "", report
        for unit in ("milter", "monitor"):
            state = result[unit]
            assert state["Type"] == "notify" and state["WatchdogUSec"] == "30s", report
            assert (state["ActiveState"], state["SubState"]) == ("active", "running"), report
            assert state["NRestarts"] == "0", report
            assert "redis answered" in state["StatusText"], report
        assert "listening on unix:/run/congvu-guard/milter.sock" in \
            result["milter"]["StatusText"], report
        assert result["clean"][0] == 250, report
        assert result["oversize"][0] == 552 and "HUE-14" in result["oversize"][1], report
        ours = [e for e in journal if "congvu_guard" in str(e["MESSAGE"])]
        assert ours, report
        # journald consumed the <N> prefixes: none is left in a message, each has its level.
        assert not any(str(e["MESSAGE"]).startswith("<") for e in journal), report
        decisions = [e for e in ours if "event=decision" in str(e["MESSAGE"])]
        assert decisions and all(e["PRIORITY"] == "6" for e in decisions), report
        assert result["lock"] == 201, report
        assert result["zmprov"] == ["zimbra ma zim@hue.gov.vn zimbraAccountStatus locked"], report
        assert result["queue_left"] == [] and result["zimbra_hooks"]["Result"] == "success", \
            report
        assert result["failed"].strip() == "", report
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_scripts_setup_on_a_fresh_debian_installs_the_runtime_and_removes_the_compiler(
) -> None:
    """The README's install, online, as root on a fresh Debian 12: scripts/setup builds
    pymilter with a compiler it installs, then removes exactly what it added."""
    base = _base_root()
    work = Path(tempfile.mkdtemp(prefix="cg-nspawn-", dir="/var/tmp"))
    try:
        root = work / "root"
        subprocess.run(["cp", "-a", "--reflink=auto", str(base), str(root)], check=True,
                       timeout=300)
        # The host's CA bundle: where the network passes a TLS-inspecting proxy, the
        # container must trust what the host trusts.
        ca = "/etc/ssl/certs/ca-certificates.crt"
        proc = subprocess.run(
            [*NSPAWN, "-D", str(root), f"--bind-ro={ROOT}:/src", f"--bind-ro={ca}:{ca}",
             "-E", f"PIP_CERT={ca}", "/bin/bash", "-c",
             "cd /src && bash scripts/setup && "
             "/opt/congvu-guard/venv/bin/congvu-guard --version && "
             "! /opt/congvu-guard/venv/bin/python -c 'import pytest' 2>/dev/null && "
             "test -f /usr/local/share/man/man8/congvu-guard.8 && "
             "dpkg-query -W -f='${Status} ${Package}\\n' gcc python3-dev libmilter-dev "
             "2>/dev/null | grep 'install ok installed' || echo no-build-tools-left"],
            capture_output=True, text=True, timeout=900)
        out = proc.stdout + proc.stderr
        assert proc.returncode == 0, out[-3000:]
        assert "congvu-guard 0." in proc.stdout, out[-3000:]
        assert "setup: removing the build tools again:" in proc.stdout, out[-3000:]
        assert proc.stdout.rstrip().endswith("no-build-tools-left"), out[-3000:]
    finally:
        shutil.rmtree(work, ignore_errors=True)
