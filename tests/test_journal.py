"""journald priorities (issue 16): under systemd (stderr is the stream named in
JOURNAL_STREAM) every log line starts with its syslog priority, so ``journalctl -p err``
finds the errors; elsewhere the lines stay plain."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SNIPPET = """
import logging
from congvu_guard.cli import _setup_logging
_setup_logging("debug")
log = logging.getLogger("congvu_guard.milter")
log.error("libmilter failed")
log.warning("redis is down")
log.info("action=reject rule=HUE-14 queue_id=ABC")
log.debug("detail")
try:
    raise ValueError("boom")
except ValueError:
    log.exception("internal error")
"""


def _run(tmp_path: Path, journal_stream: str | None) -> list[str]:
    err = tmp_path / "stderr"
    with err.open("wb") as f:
        env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
        if journal_stream is not None:
            st = os.fstat(f.fileno())
            env["JOURNAL_STREAM"] = journal_stream.format(dev=st.st_dev, ino=st.st_ino)
        subprocess.run([sys.executable, "-c", SNIPPET], stderr=f, env=env, check=True,
                       timeout=60)
    return err.read_text().splitlines()


def test_under_systemd_each_line_carries_its_syslog_priority(tmp_path: Path) -> None:
    lines = _run(tmp_path, "{dev}:{ino}")
    assert lines[0] == "<3>ERROR congvu_guard.milter: libmilter failed"
    assert lines[1] == "<4>WARNING congvu_guard.milter: redis is down"
    assert lines[2] == "<6>INFO congvu_guard.milter: action=reject rule=HUE-14 queue_id=ABC"
    assert lines[3] == "<7>DEBUG congvu_guard.milter: detail"
    # The traceback's lines are errors too, not info lines of their own.
    assert len(lines) > 5 and all(line.startswith("<3>") for line in lines[4:]), lines


def test_stderr_that_is_not_the_journal_stream_stays_plain(tmp_path: Path) -> None:
    for stream in (None, "{dev}:1", "garbage"):
        lines = _run(tmp_path, stream)
        assert lines[0] == "ERROR congvu_guard.milter: libmilter failed", stream
        assert not any(line.startswith("<") for line in lines), stream
