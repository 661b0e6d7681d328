"""Crafted hostile attachments of issue 14 (blinding, holding, depth), shared by the unit
tests, the live-milter tests and bench/scan. Two are made by 7-Zip and kept in tests/data
(see tests/data/README.md): building them takes 7-Zip and seconds of CPU."""

from __future__ import annotations

import base64
import io
import random
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path

from tests import samples

DATA = Path(__file__).resolve().parent / "data"
EXE_NAME = "hoa-don.pdf.exe"
TEXT = ("Kinh gui cac don vi, bao cao so lieu quy IV. " * 400).encode()


def _cd_offset(z: bytes) -> int:
    end = z.rfind(b"PK\x05\x06")
    return struct.unpack_from("<I", z, end + 16)[0]


def _first_member_zip() -> bytes:
    return samples.zip_of({"bao-cao.txt": TEXT, EXE_NAME: samples.pe_exe()})


def zip_bad_crc_first() -> bytes:
    """Member 1's CRC is wrong (in both headers): zipfile raises on it."""
    z = bytearray(_first_member_zip())
    crc = struct.unpack_from("<I", z, 14)[0] ^ 0xFFFFFFFF
    struct.pack_into("<I", z, 14, crc)  # local header
    struct.pack_into("<I", z, _cd_offset(bytes(z)) + 16, crc)  # central directory
    return bytes(z)


def zip_unknown_method_first() -> bytes:
    """Member 1 uses a compression method nobody implements (99, as AES zips do)."""
    z = bytearray(_first_member_zip())
    struct.pack_into("<H", z, 8, 99)
    struct.pack_into("<H", z, _cd_offset(bytes(z)) + 10, 99)
    return bytes(z)


def zip_without_central_directory() -> bytes:
    """The central directory cut off: only the local headers are left."""
    z = _first_member_zip()
    return z[:_cd_offset(z)]


def zip_hiding_a_local_member() -> bytes:
    """The central directory lists only member 1; member 2 is only in a local header."""
    z = _first_member_zip()
    cd = _cd_offset(z)
    nlen, elen, clen = struct.unpack_from("<HHH", z, cd + 28)
    first = z[cd:cd + 46 + nlen + elen + clen]
    eocd = bytearray(z[z.rfind(b"PK\x05\x06"):])
    struct.pack_into("<HHI", eocd, 8, 1, 1, len(first))
    return z[:cd] + first + bytes(eocd)


def deflate64_zip() -> bytes:
    """7-Zip, -mm=Deflate64: bao-cao.txt (Deflate64), then hoa-don.pdf.exe (stored)."""
    return (DATA / "deflate64-then-exe.zip").read_bytes()


def solid_7z_through_zeros() -> bytes:
    """7-Zip, solid BZip2: 1 GiB of zeros, then hoa-don.pdf.exe, in one 3.4 KB archive."""
    return (DATA / "solid-bzip2-1gib-zeros-then-exe.7z").read_bytes()


def seven_zip_first_block_damaged() -> bytes:
    """7-Zip, not solid: bao-cao.txt's block damaged, hoa-don.pdf.exe's block intact."""
    data = bytearray((DATA / "two-blocks-then-exe.7z").read_bytes())
    for i in range(40, 80):  # inside the first packed stream (it starts at byte 32)
        data[i] ^= 0x55
    return bytes(data)


def tar_damaged_after_exe() -> bytes:
    """A tar.gz whose compressed stream is broken after the executable: reading all
    headers first (getmembers) fails on the whole archive."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as t:
        for name, data in ((EXE_NAME, samples.pe_exe()),
                           ("so-lieu.csv", random.Random(14).randbytes(100_000))):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    raw = bytearray(buf.getvalue())
    for i in range(len(raw) * 2 // 3, len(raw) * 2 // 3 + 64):
        raw[i] ^= 0x55
    return bytes(raw)


def newline_script() -> bytes:
    """The batch pattern's quadratic input: 'echo' then a run of newlines (69 s on main)."""
    return b"echo\n" + b"\n" * 65_000


def zip_of_newline_scripts(n: int = 40) -> bytes:
    return samples.zip_of({f"ghi-chu-{i}.txt": newline_script() for i in range(n)})


def nested_gzip_bomb() -> bytes:
    """A gzip of 200 MiB of zeros, inside a zip: bytes counted as they come out."""
    raw = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"\0" * (1 << 20)
    out = b"".join(raw.compress(chunk) for _ in range(200)) + raw.flush()
    return samples.zip_of({"so-lieu.gz": out}, zipfile.ZIP_STORED)


def deep_mime(levels: int) -> bytes:
    """A phish nested ``levels`` multiparts deep, an executable at the bottom."""
    out = [b'From: <x@example.net>\r\nTo: <bob@hue.gov.vn>\r\nSubject: deep\r\n'
           b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b0"\r\n\r\n']
    for i in range(1, levels):
        out.append(f'--b{i - 1}\r\nContent-Type: multipart/mixed; boundary="b{i}"\r\n\r\n'
                   .encode())
    out.append(f"--b{levels - 1}\r\nContent-Type: application/octet-stream; name={EXE_NAME}"
               "\r\nContent-Transfer-Encoding: base64\r\n\r\n".encode()
               + base64.encodebytes(samples.pe_exe()).replace(b"\n", b"\r\n"))
    out.extend(f"--b{i}--\r\n".encode() for i in reversed(range(levels)))
    return b"".join(out)


def attach(name: str, data: bytes, subject: str = "hostile") -> bytes:
    return samples.mime_message(subject, [(name, "application/octet-stream", data)])


def families() -> dict[str, bytes]:
    """Every crafted family as a whole message (the bench row and the live tests)."""
    return {
        "zip, bad CRC first": attach("ho-so.zip", zip_bad_crc_first()),
        "zip, unknown method first": attach("ho-so.zip", zip_unknown_method_first()),
        "zip, no central directory": attach("ho-so.zip", zip_without_central_directory()),
        "zip, member only in local header": attach("ho-so.zip", zip_hiding_a_local_member()),
        "zip, Deflate64 first": attach("ho-so.zip", deflate64_zip()),
        "tar, damaged after exe": attach("ho-so.tar", tar_damaged_after_exe()),
        "7z, first block damaged": attach("ho-so.7z", seven_zip_first_block_damaged()),
        "solid 7z, 1 GiB through": attach("ho-so.7z", solid_7z_through_zeros()),
        "zip of newline scripts": attach("ghi-chu.zip", zip_of_newline_scripts()),
        "gzip, 200 MiB of zeros": attach("so-lieu.zip", nested_gzip_bomb()),
        "MIME, 1200 levels": deep_mime(1200),
    }
