"""journald: priority prefixes on stderr, and following the journal for the log watcher.

Under systemd, stderr goes to journald, which reads a leading ``<N>`` on each line as the
syslog priority (``SyslogLevelPrefix=yes``, the default): without it every line is
``info`` and ``journalctl -p err`` shows nothing. systemd names the stream it connected in
``$JOURNAL_STREAM`` (``device:inode``); the prefix is added only when stderr is that stream,
so a terminal or a log file keeps plain lines.
"""

from __future__ import annotations

import logging
import os

# syslog(3) priorities: errors <3>, warnings <4>, decisions and other info <6>.
_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4),
               (logging.INFO, 6))


def priority(levelno: int) -> int:
    for level, prio in _PRIORITIES:
        if levelno >= level:
            return prio
    return 7  # debug


def stderr_is_journal(fd: int = 2) -> bool:
    """True when ``fd`` is the journal stream systemd named in ``$JOURNAL_STREAM``."""
    dev, _, ino = os.environ.get("JOURNAL_STREAM", "").partition(":")
    if not (dev.isdigit() and ino.isdigit()):
        return False
    try:
        st = os.fstat(fd)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(ino))


class PriorityFormatter(logging.Formatter):
    """Prefixes every line (a traceback too: journald reads each line as one entry)."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{priority(record.levelno)}>"
        return "\n".join(prefix + line for line in super().format(record).split("\n"))
