"""HUE-11.5 ClamAV (optional), the service: the whole message goes to clamd over its socket
(INSTREAM), once per message, from the services stage; the answer is a
:class:`~congvu_guard.facts.ClamavFacts` that :mod:`congvu_guard.detectors.clamav` turns
into findings.

A clamd without working signatures answers OK to everything, so clamd counts as up only
while it recognises the EICAR test file: probed at start and every
``probe_interval_seconds``. While clamd is down (or a scan fails), the fact says why, the
configured fallback applies (``tempfail`` or ``tag``) and ``congvu_guard_clamd_up`` is 0.
"""

from __future__ import annotations

import logging
import socket
import struct
import threading
import time

from .. import forksafe
from ..config import ClamavConfig
from ..facts import ClamavFacts
from ..metrics import Metrics

log = logging.getLogger("congvu_guard.clamav")

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CHUNK = 1 << 16


class ClamdError(RuntimeError):
    pass


class Clamd:
    def __init__(self, cfg: ClamavConfig, metrics: Metrics | None = None) -> None:
        self.cfg = cfg
        self.metrics = metrics
        self.up = False
        self._lock = forksafe.lock()
        self._stop = threading.Event()

    def _connect(self) -> socket.socket:
        spec = self.cfg.socket
        if spec.startswith(("unix:", "local:")):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            addr: object = spec.split(":", 1)[1]
        else:
            port, _, host = spec.split(":", 1)[1].partition("@")
            s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            addr = (host, int(port))
        s.settimeout(self.cfg.timeout_seconds)
        try:
            s.connect(addr)  # type: ignore[arg-type]
        except OSError as e:
            s.close()
            raise ClamdError(f"cannot connect to clamd at {spec}: {e}") from e
        return s

    def scan(self, data: bytes) -> str | None:
        """The signature name when clamd finds something, None when it says OK."""
        try:
            with self._connect() as s:
                s.sendall(b"zINSTREAM\0")
                view = memoryview(data)
                for i in range(0, len(view), CHUNK):
                    chunk = view[i:i + CHUNK]
                    s.sendall(struct.pack(">I", len(chunk)) + bytes(chunk))
                s.sendall(b"\0\0\0\0")
                reply = b""
                while not reply.endswith(b"\0"):
                    got = s.recv(4096)
                    if not got:
                        break
                    reply += got
        except OSError as e:
            raise ClamdError(f"clamd scan failed: {e}") from e
        text = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
        if text.endswith(" FOUND"):
            return text.split(":", 1)[-1].strip()[: -len(" FOUND")].strip()
        if text.endswith(" OK"):
            return None
        raise ClamdError(f"clamd answered {text!r}")

    def probe(self) -> bool:
        """clamd is up when it finds EICAR (a clamd without signatures finds nothing)."""
        try:
            ok = self.scan(EICAR) is not None
            why = "" if ok else "clamd does not recognise EICAR (no working signatures)"
        except ClamdError as e:
            ok, why = False, str(e)
        self._set_up(ok, why)
        return ok

    def _set_up(self, ok: bool, why: str = "") -> None:
        with self._lock:
            changed = ok != self.up
            self.up = ok
        if self.metrics is not None:
            self.metrics.clamd_up.set(1 if ok else 0)
        if changed and not ok:
            log.error("clamd is down: %s; fallback %r applies", why, self.cfg.on_failure)
        elif changed:
            log.warning("clamd is up (EICAR probe passed)")

    def start_probing(self) -> None:
        self.probe()

        def loop() -> None:
            while not self._stop.wait(self.cfg.probe_interval_seconds if self.up else 10):
                self.probe()

        threading.Thread(target=loop, name="clamd-probe", daemon=True).start()

    def after_fork(self) -> None:
        """In a forked scan worker (milter/pool.py): the probe thread stayed in the parent,
        so ``up`` would stay as it was at the fork; this process probes for itself."""
        self._stop = threading.Event()
        self.start_probing()

    def stop(self) -> None:
        self._stop.set()

    @property
    def on_failure(self) -> str:
        return self.cfg.on_failure

    def _unavailable(self, why: str) -> ClamavFacts:
        if self.metrics is not None:
            self.metrics.clamd_fallbacks.inc()
        return ClamavFacts(unavailable=why)

    def check(self, raw: bytes) -> ClamavFacts:
        """clamd's answer for one message; never raises for a clamd failure."""
        if not self.up:
            return self._unavailable("clamd is down")
        t0 = time.perf_counter()
        try:
            name = self.scan(raw)
        except ClamdError as e:
            if self.metrics is not None:
                self.metrics.clamd_errors.inc()
            self._set_up(False, str(e))
            return self._unavailable(str(e))
        finally:
            if self.metrics is not None:
                self.metrics.stage_duration.labels("clamd").observe(time.perf_counter() - t0)
        return ClamavFacts(signature=name)
