"""Opening an encrypted PDF with the empty user password (HUE-11.5).

Most encrypted PDFs in mail only restrict printing or copying: they open without a password
(the "user password" is empty), and so does any JavaScript they carry. Their names stay in
clear text but their streams, object streams included, are encrypted, so without this the
catalog and its actions would be out of sight. This is the standard security handler of
ISO 32000-1 7.6.3 (revisions 2-4: RC4 and AES-128) and ISO 32000-2 7.6.4 (revision 6,
AES-256; 5 is Adobe's deprecated variant), with pycryptodomex (already needed by py7zr).
A PDF that needs a real password cannot be opened: ``open_empty`` returns None.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from Cryptodome.Cipher import AES, ARC4

_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")


class Decryptor:
    def __init__(self, key: bytes, method: str) -> None:
        self.key = key
        self.method = method  # "RC4", "AESV2", "AESV3" or "Identity"

    def decrypt(self, data: bytes, num: int, gen: int) -> bytes:
        """A string's or a stream's bytes of object ``num gen``."""
        if self.method == "Identity":
            return data
        if self.method == "AESV3":
            key = self.key
        else:
            salt = b"sAlT" if self.method == "AESV2" else b""
            h = hashlib.md5(self.key + (num & 0xFFFFFF).to_bytes(3, "little")
                            + (gen & 0xFFFF).to_bytes(2, "little") + salt).digest()
            key = h[:16] if salt else h[:min(len(self.key) + 5, 16)]
        if self.method == "RC4":
            return ARC4.new(key).decrypt(data)
        if len(data) < 32:
            return b""
        body = data[16:len(data) - (len(data) % 16)]
        out = AES.new(key, AES.MODE_CBC, data[:16]).decrypt(body)
        pad = out[-1] if out else 0
        return out[:-pad] if 1 <= pad <= 16 and out.endswith(bytes([pad]) * pad) else out


def _as_bytes(v: object) -> bytes:
    return bytes(v) if isinstance(v, bytes) else b""


def _method(enc: Mapping[str, object], v: int) -> str:
    if v in (1, 2):
        return "RC4"
    stmf = enc.get("StmF")
    if stmf == "Identity" or stmf is None:
        return "Identity"
    cf = enc.get("CF")
    filt = cf.get(str(stmf)) if isinstance(cf, Mapping) else None
    cfm = filt.get("CFM") if isinstance(filt, Mapping) else None
    return {"V2": "RC4", "AESV2": "AESV2", "AESV3": "AESV3"}.get(str(cfm), "Identity")


def _hash_r6(password: bytes, salt: bytes, udata: bytes = b"") -> bytes:
    """ISO 32000-2 algorithm 2.B (revision 6)."""
    k = hashlib.sha256(password + salt + udata).digest()
    i = 0
    while True:
        k1 = (password + k + udata) * 64
        e = AES.new(k[:16], AES.MODE_CBC, k[16:32]).encrypt(k1)
        k = (hashlib.sha256, hashlib.sha384, hashlib.sha512)[sum(e[:16]) % 3](e).digest()
        i += 1
        if i >= 64 and e[-1] <= i - 32:
            return k[:32]
        if i > 1000:  # the loop ends by i = 288 for any input; a guard all the same
            return k[:32]


def open_empty(enc: Mapping[str, object], id0: bytes) -> Decryptor | None:
    """The decryptor of a standard-handler PDF when the user password is empty, else None
    (another handler, a real password, or an encryption dictionary we do not read)."""
    if enc.get("Filter") != "Standard":
        return None
    v, r = enc.get("V", 0), enc.get("R", 0)
    if not (isinstance(v, int) and isinstance(r, int)):
        return None
    o, u = _as_bytes(enc.get("O")), _as_bytes(enc.get("U"))
    method = _method(enc, v)
    if r in (5, 6):
        if len(u) < 48:
            return None
        ue = _as_bytes(enc.get("UE"))
        h = (_hash_r6 if r == 6 else lambda p, s: hashlib.sha256(p + s).digest())
        if h(b"", u[32:40]) != u[:32] or len(ue) < 32:
            return None
        key = AES.new(h(b"", u[40:48]), AES.MODE_CBC, b"\0" * 16).decrypt(ue[:32])
        return Decryptor(key, method)
    if r not in (2, 3, 4) or len(o) < 32 or len(u) < 16:
        return None
    p = enc.get("P", 0)
    length = enc.get("Length", 40)
    n = 5 if r == 2 else (int(length) // 8 if isinstance(length, int) and 40 <= length <= 128
                          else 16)
    seed = _PAD + o[:32] + (int(p) & 0xFFFFFFFF).to_bytes(4, "little") + id0  # type: ignore[call-overload]
    if r >= 4 and enc.get("EncryptMetadata") is False:
        seed += b"\xff\xff\xff\xff"
    key = hashlib.md5(seed).digest()
    if r >= 3:
        for _ in range(50):
            key = hashlib.md5(key[:n]).digest()
    key = key[:n]
    # Algorithms 4 and 5: does the empty password open it?
    if r == 2:
        ok = ARC4.new(key).encrypt(_PAD) == u[:32]
    else:
        x = ARC4.new(key).encrypt(hashlib.md5(_PAD + id0).digest())
        for i in range(1, 20):
            x = ARC4.new(bytes(b ^ i for b in key)).encrypt(x)
        ok = x == u[:16]
    return Decryptor(key, method) if ok else None
