"""DKIM keys made by openssl for the tests, and their DNS key records."""

from __future__ import annotations

import base64
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DkimKey:
    private_pem: bytes
    record: str  # "v=DKIM1; k=rsa; p=..."


def make_key(directory: Path, name: str = "key") -> DkimKey:
    pem = directory / f"{name}.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(pem), "2048"], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(pem), "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    return DkimKey(pem.read_bytes(), f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}")


def sign(message: bytes, key: DkimKey, domain: str, selector: str) -> bytes:
    import dkim

    header = dkim.sign(message, selector.encode(), domain.encode(), key.private_pem,
                       canonicalize=(b"relaxed", b"relaxed"),
                       include_headers=[b"from", b"to", b"subject", b"date", b"message-id"])
    return header + message
