"""`congvu-guard demo` runs every rule once and reports each outcome.

It is also the regression test of a milter crash it found: after a burst of connections
and a lock, the next YARA match segfaulted (yara-python's PyGILState callback on a
libmilter thread); before the fix 4 runs in 6 lost the milter at that point."""

from __future__ import annotations

import subprocess
import sys


def test_demo_shows_every_rule_and_cleans_up(lab_dir) -> None:
    proc = subprocess.run([sys.executable, "-m", "congvu_guard", "demo"], capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    lines = {line.split("  ")[0]: line for line in out.splitlines() if line.startswith("HUE-")}
    assert "552 5.3.4" in lines["HUE-14: 20 MB + 1 byte (SIZE=)"]
    assert "550 5.7.1" in lines["HUE-11.6: Sieve auto-forward to gmail.com"]
    assert "100 x 250, then 550" in lines["HUE-13.2d: 101 messages in a burst"]
    assert "550 5.7.1" in lines["HUE-11.5: EICAR inside a zip"]
    assert "quarantine" in lines["HUE-11.5/11.11: macro document"]
    assert "250" in lines["HUE-11.11: a user's report to the report box"]
    assert "monitor page: http://127.0.0.1:" in out
    base = out.split("milter log:")[1].strip().rsplit("/", 1)[0]
    assert not __import__("os").path.exists(base)  # cleaned up
