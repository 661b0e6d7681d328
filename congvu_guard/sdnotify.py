"""The systemd notify protocol (sd_notify(3)), for ``Type=notify`` units with ``WatchdogSec=``.

systemd names a unix datagram socket in ``$NOTIFY_SOCKET`` (a path, or ``@name`` in the
abstract namespace); each message is newline-separated ``KEY=value`` lines: ``READY=1`` once
the service accepts work (the milter's socket listens, Redis answered), ``WATCHDOG=1``
keep-alives at least every ``$WATCHDOG_USEC`` microseconds, ``STOPPING=1``, ``STATUS=...``
for ``systemctl status``. Without ``$NOTIFY_SOCKET`` (not under systemd) every call is a
no-op. A failed send is logged, never raised: notification must not stop mail.
"""

from __future__ import annotations

import logging
import os
import socket
import time

log = logging.getLogger("congvu_guard.sdnotify")


def notify(*fields: str) -> bool:
    """Send ``fields`` (e.g. ``"READY=1"``, ``"STATUS=listening"``); True if it was sent."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.connect(address)
            s.sendall("\n".join(fields).encode("utf-8", "replace"))
    except OSError as e:
        log.warning("sd_notify to %s failed: %s", address.lstrip("\0"), e)
        return False
    return True


def watchdog_interval() -> float | None:
    """Seconds between keep-alives (half of ``WatchdogSec=``), or None without a watchdog."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


class Watchdog:
    """Keep-alives from a loop that runs anyway: ``tick()`` sends one when half the
    watchdog interval has passed, so a hung loop stops them and systemd restarts the unit."""

    def __init__(self) -> None:
        self.interval = watchdog_interval()
        self._last = 0.0

    def tick(self) -> None:
        if self.interval is None:
            return
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            notify("WATCHDOG=1")
