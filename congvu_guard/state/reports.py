"""The report stream (HUE-11.11): what reaches the report box, handed from the milter to the
monitor through ``keys.REPORT_STREAM``.

The milter appends (:func:`append_report`); the monitor reads it through a consumer group
and keeps each report under ``keys.report(ID)`` and its body in ``monitor/rawstore.py``
(``monitor/reports.py`` is that consumer, the repository of the stored reports).
"""

from __future__ import annotations

import time

from ..model import Envelope, Verdict
from . import keys
from .client import RedisClient

REPORT_STREAM_MAXLEN = 100_000
REPORT_RAW_LIMIT = 10 * 1024 * 1024  # larger messages are recorded without their content


def report_fields(kind: str, env: Envelope, verdict: Verdict,
                  raw: bytes | bytearray) -> dict[str, str | bytes]:
    """One stream entry: the envelope, the rules and the message (up to the limit)."""
    fields: dict[str, str | bytes] = {
        "kind": kind,
        "ts": f"{time.time():.3f}",
        "queue_id": env.queue_id,
        "sender": env.sender,
        "recipients": ",".join(env.recipients),
        "auth_user": env.auth_user,
        "rules": ",".join(verdict.rules),
        "reasons": "; ".join(f"{f.rule} {f.detail}" for f in verdict.findings),
        "report_box": verdict.quarantine_to,
        "raw": bytes(raw) if len(raw) <= REPORT_RAW_LIMIT else b"",
        "raw_size": str(len(raw)),
    }
    # Envelope strings keep undecodable bytes as surrogates, which Redis cannot take.
    return {k: v.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            if isinstance(v, str) else v for k, v in fields.items()}


def append_report(client: RedisClient, kind: str, env: Envelope, verdict: Verdict,
                  raw: bytes | bytearray) -> None:
    """Append one report. The stream keeps entries until the monitor's consumer group
    acknowledges them, so reports survive restarts of either side. Redis errors raise."""
    client.xadd(keys.REPORT_STREAM, report_fields(kind, env, verdict, raw),
                maxlen=REPORT_STREAM_MAXLEN, approximate=True)
