"""Harmless samples with the structure of dangerous files, built in the tests.

Nothing here is malware: executables are headers with no code, macros are text that
never runs, "encrypted" archives use the PKWARE cipher on harmless text. They carry the
markers a scanner must recognise: real OLE2 compound files, real OOXML packages, real
zip/7z/tar/gzip archives.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import struct
import tarfile
import zipfile

from tests.helpers import CRLF, token

SECTOR = 512
ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF
VBA_SOURCE = (b'Attribute VB_Name = "ThisDocument"\r\nSub AutoOpen()\r\n'
              b'  Shell "calc.exe"\r\nEnd Sub\r\n')


def ole2(storages: dict[str, dict[str, bytes]], streams: dict[str, bytes] | None = None) -> bytes:
    """A minimal OLE2 compound file: root streams, and storages holding streams.

    Every stream is padded to 4096 bytes so that no mini stream is needed.
    """
    streams = streams or {}
    entries: list[dict] = [{"name": "Root Entry", "type": 5, "children": []}]
    data_blobs: list[bytes] = []

    def add_stream(name: str, data: bytes) -> int:
        data = data.ljust(4096, b"\0")
        entries.append({"name": name, "type": 2, "data": data, "children": []})
        data_blobs.append(data)
        return len(entries) - 1

    for name, data in streams.items():
        entries[0]["children"].append(add_stream(name, data))
    for sname, sstreams in storages.items():
        entries.append({"name": sname, "type": 1, "children": []})
        sid = len(entries) - 1
        entries[0]["children"].append(sid)
        for name, data in sstreams.items():
            entries[sid]["children"].append(add_stream(name, data))

    dir_sectors = (len(entries) * 128 + SECTOR - 1) // SECTOR
    data_sectors = sum(len(b) // SECTOR for b in data_blobs)
    fat_sectors = 1
    assert 1 + dir_sectors + data_sectors <= SECTOR // 4
    fat = [FATSECT]
    first_dir = len(fat)
    for i in range(dir_sectors):
        fat.append(first_dir + i + 1 if i < dir_sectors - 1 else ENDOFCHAIN)
    sector = first_dir + dir_sectors
    for e in entries:
        if e["type"] != 2:
            continue
        n = len(e["data"]) // SECTOR
        e["start"], e["size"] = sector, len(e["data"])
        for i in range(n):
            fat.append(sector + i + 1 if i < n - 1 else ENDOFCHAIN)
        sector += n
    fat += [FREESECT] * (SECTOR // 4 - len(fat))

    def entry_bytes(e: dict, left: int, right: int, child: int) -> bytes:
        name = e["name"].encode("utf-16-le") + b"\0\0"
        return struct.pack("<64sHBBIII16sIQQIQ", name.ljust(64, b"\0"), len(name), e["type"],
                           1, left, right, child, b"\0" * 16, 0, 0, 0,
                           e.get("start", ENDOFCHAIN),
                           e.get("size", 0))

    # Siblings as a simple right-leaning chain (all black): valid enough for readers.
    links: dict[int, tuple[int, int, int]] = {}
    for i, e in enumerate(entries):
        kids = e["children"]
        child = kids[0] if kids else NOSTREAM
        links.setdefault(i, (NOSTREAM, NOSTREAM, child))
        for a, b in itertools.pairwise(kids):
            links[a] = (NOSTREAM, b, links.get(a, (0, 0, NOSTREAM))[2])
        if kids:
            last = kids[-1]
            links[last] = (NOSTREAM, NOSTREAM, links.get(last, (0, 0, NOSTREAM))[2])
        links[i] = (links[i][0], links[i][1], child)
    directory = b"".join(entry_bytes(e, *links[i]) for i, e in enumerate(entries))
    directory = directory.ljust(dir_sectors * SECTOR, b"\0")
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
                         b"\0" * 16, 0x3E, 3, 0xFFFE, 9, 6, b"\0" * 6, 0, fat_sectors,
                         first_dir, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
    header += struct.pack("<109I", 0, *([FREESECT] * 108))
    return (header + struct.pack(f"<{SECTOR // 4}I", *fat) + directory
            + b"".join(data_blobs))


def vba_project() -> bytes:
    """A real-format vbaProject.bin (MS-OVBA compressed source, tests/office_samples.py)
    whose macro does not run by itself: VBA without auto-exec is a medium finding."""
    from tests.office_samples import NO_AUTO, vba_project_bin

    return vba_project_bin(NO_AUTO)


def xls_with_macros() -> bytes:
    """A BIFF8 workbook with a real VBA project (no auto-exec) in _VBA_PROJECT_CUR."""
    from tests.office_samples import NO_AUTO, xls

    return xls(modules=NO_AUTO)


def plain_ole_doc() -> bytes:
    return ole2({}, {"WordDocument": b"\xec\xa5\xc1\x00" + b"\0" * 64})


def ooxml(macro: bool) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        main = ("application/vnd.ms-word.document.macroEnabled.main+xml" if macro else
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="xml" '
                   'ContentType="application/xml"/><Override PartName="/word/document.xml" '
                   f'ContentType="{main}"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://'
                   'schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p>'
                   '<w:r><w:t>Giay moi hop</w:t></w:r></w:p></w:body></w:document>')
        if macro:
            z.writestr("word/vbaProject.bin", vba_project())
    return buf.getvalue()


def pe_exe() -> bytes:
    """An MZ/PE header with no code: a valid signature, nothing to run."""
    dos = bytearray(b"MZ" + b"\0" * 62)
    dos[0x3C:0x40] = (0x80).to_bytes(4, "little")
    stub = b"This program cannot be run in DOS mode.\r\r\n$".ljust(0x40, b"\0")
    pe = b"PE\0\0" + struct.pack("<HHIIIHH", 0x14C, 0, 0, 0, 0, 0xE0, 0x102)
    return bytes(dos) + stub + pe + b"\0" * 256


def elf() -> bytes:
    return b"\x7fELF\x02\x01\x01" + b"\0" * 57


def lnk() -> bytes:
    return b"L\0\0\0\x01\x14\x02\x00\0\0\0\0\xc0\0\0\0\0\0\0\x46" + b"\0" * 56


def iso() -> bytes:
    return b"\0" * 0x8001 + b"CD001\x01" + b"\0" * 2041


def pdf(js: bool) -> bytes:
    action = b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>" if js else b""
    return (b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R " + action + b" >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n"
            b"%%EOF\n")


def smuggling_html() -> bytes:
    payload = base64.b64encode(b"PK" + b"\0" * 1600).decode()
    return (f"<html><body><script>var d = atob('{payload}');"
            "var b = new Blob([d], {type: 'application/zip'});"
            "if (window.navigator.msSaveOrOpenBlob) window.navigator.msSaveOrOpenBlob(b, 'a.zip');"
            "else { var a = document.createElement('a'); a.href = URL.createObjectURL(b);"
            " a.download = 'hoadon.zip'; a.click(); }</script></body></html>").encode()


def zip_of(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


def _zipcrypto_keys(password: bytes) -> list[int]:
    keys = [0x12345678, 0x23456789, 0x34567890]
    for c in password:
        _update(keys, c)
    return keys


def _crc(c: int, b: int) -> int:
    return (binascii.crc32(bytes([b]), c ^ 0xFFFFFFFF) ^ 0xFFFFFFFF) & 0xFFFFFFFF


def _update(keys: list[int], c: int) -> None:
    keys[0] = _crc(keys[0], c)
    keys[1] = ((keys[1] + (keys[0] & 0xFF)) * 134775813 + 1) & 0xFFFFFFFF
    keys[2] = _crc(keys[2], (keys[1] >> 24) & 0xFF)


def encrypted_zip(name: str, data: bytes, password: bytes = b"123456") -> bytes:
    """A zip whose member is encrypted with the traditional PKWARE cipher (stored)."""
    keys = _zipcrypto_keys(password)
    crc = binascii.crc32(data) & 0xFFFFFFFF
    header = bytearray(b"\x11" * 11) + bytes([(crc >> 24) & 0xFF])
    out = bytearray()
    for b in bytes(header) + data:
        k = keys[2] | 2
        out.append(b ^ (((k * (k ^ 1)) >> 8) & 0xFF))
        _update(keys, b)
    fname = name.encode()
    local = struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, 1, 0, 0, 0, crc, len(out),
                        len(data), len(fname), 0) + fname + out
    central = struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, 1, 0, 0, 0, crc,
                          len(out), len(data), len(fname), 0, 0, 0, 0, 0, 0) + fname
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, 1, 1, len(central), len(local), 0)
    return local + central + end


def zip_bomb(expanded_mib: int = 50) -> bytes:
    return zip_of({"data.txt": b"\0" * (expanded_mib * 1024 * 1024)})


def tar_gz(files: dict[str, bytes], compression: str = "gz") -> bytes:
    """A tar compressed with ``compression``: "gz", "bz2", "xz" or "" (none)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=f"w:{compression}") as t:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def compressed(data: bytes, kind: str) -> bytes:
    """One compressed stream: "bzip2", "xz", "lzma" (LZMA alone) or "zstd"."""
    import bz2
    import lzma

    if kind == "bzip2":
        return bz2.compress(data)
    if kind == "zstd":
        from backports import zstd  # py7zr's dependency on Python < 3.14

        return zstd.compress(data)
    return lzma.compress(data, format=lzma.FORMAT_ALONE if kind == "lzma" else lzma.FORMAT_XZ)


def seven_zip(files: dict[str, bytes], password: str | None = None) -> bytes:
    import py7zr

    buf = io.BytesIO()
    with py7zr.SevenZipFile(buf, "w", password=password) as z:
        for name, data in files.items():
            z.writestr(data, name)
    return buf.getvalue()


def mime_message(subject: str, attachments: list[tuple[str, str, bytes]],
                 body: str = "Xem tep dinh kem.", sender: str = "someone@example.net",
                 to: str = "bob@hue.gov.vn") -> bytes:
    """A multipart message; attachments are (file name, content type, bytes)."""
    b = f"B{token()}"
    out = (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
           f"Message-ID: <{token()}@test>\r\nMIME-Version: 1.0\r\n"
           f'Content-Type: multipart/mixed; boundary="{b}"\r\n\r\n'
           f"--{b}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n").encode()
    for name, ctype, data in attachments:
        if ctype == "message/rfc822":
            out += (f"--{b}\r\nContent-Type: message/rfc822\r\n\r\n").encode() + data + CRLF
            continue
        enc = base64.encodebytes(data).replace(b"\n", b"\r\n")
        out += (f"--{b}\r\nContent-Type: {ctype}; name=\"{name}\"\r\n"
                f'Content-Disposition: attachment; filename="{name}"\r\n'
                "Content-Transfer-Encoding: base64\r\n\r\n").encode() + enc
    return out + f"--{b}--\r\n".encode()


def macro_message(subject: str, **kw: str) -> bytes:
    return mime_message(subject, [("bao-cao.docm", "application/vnd.ms-word.document."
                                   "macroEnabled.12", ooxml(macro=True))], **kw)


def tnef(files: dict[str, bytes]) -> bytes:
    """A winmail.dat (TNEF) stream holding the given attachments."""

    def obj(level: int, name: int, typ: int, data: bytes) -> bytes:
        return (struct.pack("<BHHI", level, name, typ, len(data)) + data
                + struct.pack("<H", sum(data) & 0xFFFF))

    out = struct.pack("<IH", 0x223E9F78, 0x0101)
    out += obj(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))  # attTnefVersion
    for name, data in files.items():
        out += obj(2, 0x9002, 0x0006, b"\0" * 14)  # attAttachRendData: a new attachment
        out += obj(2, 0x8010, 0x0001, name.encode() + b"\0")  # attAttachTitle
        out += obj(2, 0x800F, 0x0006, data)  # attAttachData
    return out


def uuencoded_text(name: str, data: bytes) -> bytes:
    lines = [binascii.b2a_uu(data[i:i + 45]).rstrip(b"\n") for i in range(0, len(data), 45)]
    return (b"Xin gui tep.\r\n\r\nbegin 644 " + name.encode() + b"\r\n"
            + b"\r\n".join(lines) + b"\r\n`\r\nend\r\n")


# Realistic bulk for benchmarks: content that neither compresses nor matches any rule.
def office_doc_with_image(image: bytes) -> bytes:
    """A .docx-shaped zip: some prose and one (random) JPEG."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("word/document.xml",
                   "<w:document>" + "Bao cao tong hop. " * 2000 + "</w:document>")
        z.writestr("word/media/image1.jpeg", b"\xff\xd8\xff\xe0" + image)
    return buf.getvalue()


def pdf_with_stream(stream: bytes) -> bytes:
    """A minimal PDF whose one stream is ``stream`` (no active content)."""
    return (b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            + f"2 0 obj << /Length {len(stream)} >>\nstream\n".encode() + stream
            + b"\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
