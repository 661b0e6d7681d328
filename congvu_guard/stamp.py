"""The origin stamp: a keyed header that says "this message arrived from outside".

Added at the inbound door, it survives every forwarding path (Sieve, ``.forward``,
aliases, Zimbra), so the outbound gate can recognise a forward of received mail whatever
produced it. The value is ``v=1; id=ID; t=UNIXTIME; mac=MAC`` where MAC is a truncated
HMAC-SHA256 over the version, ID, time and the message's Message-ID. It carries no
recipient (recipients may be Bcc). A stamp that does not verify (forged, truncated, from
another key, or moved to another message) counts as absent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

HEADER = "X-Congvu-Origin"
_MAC_BYTES = 16
_FIELD = re.compile(r"^\s*([a-z]+)=([A-Za-z0-9_\-]+)\s*$")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _mac(key: bytes, stamp_id: str, ts: int, message_id: str) -> str:
    msg = f"v1|{stamp_id}|{ts}|{' '.join(message_id.split())}".encode("utf-8", "surrogateescape")
    return _b64(hmac.new(key, msg, hashlib.sha256).digest()[:_MAC_BYTES])


def new_id() -> str:
    return _b64(secrets.token_bytes(12))


def make(key: bytes, message_id: str, ts: int, stamp_id: str | None = None) -> str:
    sid = stamp_id or new_id()
    return f"v=1; id={sid}; t={ts}; mac={_mac(key, sid, ts, message_id)}"


@dataclass(frozen=True, slots=True)
class Stamp:
    id: str
    ts: int


def parse(value: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in value.split(";"):
        m = _FIELD.match(part)
        if m is None:
            return {}
        fields[m.group(1)] = m.group(2)
    return fields


def verify(key: bytes | None, value: str, message_id: str) -> Stamp | None:
    """The stamp when it is genuine, else None. Never raises on hostile input."""
    if not key or len(value) > 200:
        return None
    f = parse(value)
    if f.get("v") != "1" or not f.get("id") or not f.get("t", "").isdigit() or "mac" not in f:
        return None
    ts = int(f["t"])
    if not hmac.compare_digest(_mac(key, f["id"], ts, message_id), f["mac"]):
        return None
    return Stamp(f["id"], ts)


RELEASE_HEADER = "X-Congvu-Release"


def release_token(key: bytes, message_id: str) -> str:
    """Marks a quarantined message the security team released from the report box: the
    milter delivers it without applying content rules again."""
    msg = f"release|{' '.join(message_id.split())}".encode("utf-8", "surrogateescape")
    return _b64(hmac.new(key, msg, hashlib.sha256).digest()[:_MAC_BYTES])


def verify_release(key: bytes | None, value: str, message_id: str) -> bool:
    # Bytes: compare_digest refuses str with non-ASCII characters (a forged header).
    given = value.strip().encode("utf-8", "surrogateescape")
    if not key:
        return False
    return hmac.compare_digest(release_token(key, message_id).encode(), given)
