"""HUE-11.5 carriers other than archives and Office: what they are (by content) and what
they hold.

- OneNote (``.one``): files embedded in FileDataStoreObjects (MS-ONESTORE 2.6.13) are taken
  out and judged like attachments (the 2023 wave of ``.one`` files carrying an HTA or a
  batch file behind a fake "double-click to view" button).
- Disk images: UDF (a bounded reader of our own: libarchive 3.6 has none) then ISO 9660
  (libarchive), FAT12/16/32 volumes (``.img``, and inside VHD and VHDX disks, bare or behind
  an MBR/GPT partition table; our own reader again: libarchive reads neither FAT nor VHD).
- RAR 4, RAR 5 and cabinet (.cab, .onepkg) contents (libarchive, no non-free unrar).
- Text kinds that Windows runs or follows: Internet shortcuts and other shell-link formats,
  SVG (judged for active content by :mod:`.carrier_checks`).

Every reader runs under the expander's limits: each member goes through ``take()`` before it
is read, reads stop at the declared size, directory walks are bounded in depth and entries,
and cluster chains in length (a loop ends the chain). Whatever cannot be read raises, and
the expander turns that into an ``unreadable`` event (a finding), never a crash.
"""

from __future__ import annotations

import logging
import re
import struct
import uuid
import zlib
from collections.abc import Iterator
from typing import Protocol

MIB = 1024 * 1024
# Members refused by take() (past the member count or the byte budget) after which a reader
# stops: each refusal is an event, and a 20 MB image can declare 500,000 tiny members.
MAX_REFUSED = 100


class Expander(Protocol):
    def take(self, path: str, size: int, compressed: int) -> bool: ...

    def event(self, path: str, event: str, detail: str) -> None: ...


# Type recognition --------------------------------------------------------------------------
_ONE_TYPES = (uuid.UUID("7B5C52E4-D88C-4DA7-AEB1-5378D02996D3").bytes_le,  # .one section
              uuid.UUID("43FF2FA1-EFD9-4C76-9EE2-10EA5722765F").bytes_le)  # .onetoc2 table
SHELL_LINKS = {"url", "iqy", "slk", "settingcontent", "library-ms", "search-ms",
               "searchconnector-ms"}
# Files Windows opens, on a double-click, with a program that runs what they say or changes
# the system, by extension whatever the content: the rest of Outlook's list of blocked
# attachments ("Level 1") and the formats of campaigns since 2023 (GrimResource .msc, MSIX
# and App Installer packages, ThemeBleed themes, the signed .rdp files sent to government
# addresses in October 2024). Judged by name (:mod:`.carrier_checks`, HUE-11.5/launcher).
# Left out on purpose: certificates (.cer/.crt/.der: official PKI mail carries them, and
# Windows only shows them) and Access databases (.mdb/.accdb: data offices exchange).
LAUNCHERS = {
    "msc": "Management Console file (.msc)",
    "scf": "Explorer command file (.scf)",
    **dict.fromkeys(("sct", "wsc"), "Windows script component (.sct/.wsc)"),
    **dict.fromkeys(("ws", "wsh"), "Windows Script Host file (.ws/.wsh)"),
    **dict.fromkeys(("appx", "appxbundle", "msix", "msixbundle", "appinstaller"),
                    "app package (.appx/.msix/.appinstaller)"),
    **dict.fromkeys(("application", "appref-ms", "xbap"),
                    "ClickOnce application (.application/.appref-ms/.xbap)"),
    **dict.fromkeys(("msp", "mst", "msu"), "Windows Installer patch or update (.msp/.mst/.msu)"),
    **dict.fromkeys(("ps1xml", "ps2", "ps2xml", "psc1", "psc2", "psd1", "psdm1", "msh",
                     "msh1", "msh2", "mshxml", "msh1xml", "msh2xml"),
                    "PowerShell file (.psd1/.psc1/.ps1xml ...)"),
    "xll": "Excel add-in (.xll, a DLL Excel loads)",
    "vsto": "Office add-in installer (.vsto)",
    "jnlp": "Java Web Start file (.jnlp)",
    "diagcab": "troubleshooting pack (.diagcab)",
    **dict.fromkeys(("theme", "themepack", "deskthemepack"), "Windows theme (.theme)"),
    "appcontent-ms": "settings search shortcut (.appcontent-ms)",
    **dict.fromkeys(("shb", "shs", "xnk", "gadget", "grp", "its", "mcf", "ins", "isp"),
                    "legacy Windows shell or Internet settings file"),
    **dict.fromkeys(("mad", "maf", "mag", "mam", "maq", "mar", "mas", "mat", "mav", "maw",
                     "mda", "mdt", "mdw", "mdz"), "Access shortcut or add-in"),
    # The program asks before it does anything, or the format has a rare use in an office:
    # quarantined to the report box (LAUNCHERS_THAT_ASK), not rejected.
    "rdp": "Remote Desktop connection (.rdp)",
    "reg": "registry file (.reg)",
    "inf": "setup information file (.inf)",
    "wsb": "Windows Sandbox configuration (.wsb)",
    "hlp": "WinHelp file (.hlp)",
    **dict.fromkeys(("ade", "adp", "mde", "accde"), "Access application (.mde/.accde/.adp)"),
    **dict.fromkeys(("py", "pyw", "pyc", "pyo", "pyz", "pyzw"), "Python program (.py)"),
}
LAUNCHERS_THAT_ASK = frozenset({"rdp", "reg", "inf", "wsb", "hlp", "ade", "adp", "mde",
                                "accde", "py", "pyw", "pyc", "pyo", "pyz", "pyzw"})

# Extensions of the carriers handled here, for filetypes' name table.
EXT_KINDS = {
    **dict.fromkeys(LAUNCHERS, "launcher"),
    "one": "onenote", "onetoc2": "onenote", "chm": "chm", "jar": "jar",
    "url": "url", "website": "url", "iqy": "iqy", "slk": "slk",
    "settingcontent-ms": "settingcontent", "library-ms": "library-ms",
    "search-ms": "search-ms", "searchconnector-ms": "searchconnector-ms",
}
_SYLK_RECORD = re.compile(rb"\n(?:c|f|b|p|o|nn|nu|w);")  # on the lower-cased head
_ELEMENT = re.compile(rb"<[a-z]")


# Single compressed streams that Windows 11's Explorer (since 23H2), 7-Zip and WinRAR open:
# kind -> the suffixes its name drops when decompressed (a ".tbz" holds a ".tar").
STREAMS = {"bzip2": (".bz2", ".bz"), "xz": (".xz",), "zstd": (".zst", ".zstd"),
           "lzma": (".lzma",)}
_SUFFIXES = (*STREAMS.values(), (".gz",))
_TAR_SHORTHANDS = (".tgz", ".tbz2", ".tbz", ".txz", ".tzst", ".tlz")


# Archive formats 7-Zip or WinRAR open and the scanner does not (ARJ, ACE, LZH and the
# rest: their readers are not in Debian's libarchive or not worth their risk). A file so
# named whose content is none of the kinds the scanner opens is unreadable (medium:
# quarantined): until 2026-12-02 an ARJ holding an executable passed as an opaque file.
UNOPENED_ARCHIVES = frozenset({"arj", "ace", "lzh", "lha", "arc", "zoo", "ha", "alz", "egg",
                               "zpaq", "pea", "sit", "sitx", "z", "lz", "lz4", "lzo", "tlz",
                               "cpio", "xar", "wim", "swm", "dmg"})


def stream_kind(head: bytes, ext: str) -> str:
    """The compressed-stream kind of a file's first bytes ("" when none). An .lzma stream
    has no magic of its own: its header (properties 0x5D, a dictionary of 64 KiB to
    1.5 GiB) is taken only under that name, as 7-Zip decides by the name too."""
    if len(head) >= 10 and head.startswith(b"BZh") and head[3] in b"123456789" and (
            head[4:10] in (b"1AY&SY", b"\x17rE8P\x90")):  # a block, or the end of an empty one
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    if ext == "lzma" and head[:1] == b"\x5d" and len(head) >= 13 and \
            1 << 16 <= int.from_bytes(head[1:5], "little") <= 3 << 29:
        return "lzma"
    return ""


def stream_member_name(name: str) -> str:
    """The name a decompressed stream is saved under: the name without its suffix."""
    lower = name.lower()
    for suffix in _TAR_SHORTHANDS:
        if lower.endswith(suffix):
            return name[:-len(suffix)] + ".tar"
    for suffixes in _SUFFIXES:
        for suffix in suffixes:
            if lower.endswith(suffix) and len(name) > len(suffix):
                return name[:-len(suffix)]
    return name + ".out"


def gzip_blocks(data: bytes) -> Iterator[bytes]:
    """The decompressed bytes of every member of a gzip, 4 KB of input at a time (at most
    ~4 MB out), so the caller can stop early."""
    d, i, step = zlib.decompressobj(31), 0, 4096
    while i < len(data):
        chunk = data[i:i + step]
        yield d.decompress(chunk)
        # By what was read, not the step: the last chunk is shorter, and counting a whole
        # step put the next member past the end, so a gzip whose first member is empty and
        # whose second is an executable passed (gunzip, 7-Zip and Windows 11 give it).
        i += len(chunk)
        if d.eof:  # the next member of a multi-member gzip, if there is one
            i -= len(d.unused_data)
            if not data.startswith(b"\x1f\x8b", i):
                return
            d = zlib.decompressobj(31)


def stream_blocks(data: bytes) -> Iterator[bytes]:
    """The decompressed bytes of a single bzip2, xz, lzma or zstd stream, a block at a time
    (libarchive's raw format: its filters read all four), so the caller can stop early."""
    logging.getLogger("libarchive").setLevel(logging.ERROR)  # see libarchive_files
    import libarchive

    with libarchive.memory_reader(data, format_name="raw", filter_name="all") as archive:
        for entry in archive:
            if not archive.filter_names:
                # No filter took the stream (an LZMA header with a dictionary libarchive
                # refuses, which 7-Zip still reads): the raw reader would hand the
                # compressed bytes back as the content.
                raise ValueError("no decoder took the stream")
            yield from entry.get_blocks(block_size=64 * 1024)
            return


# RAR 5 NTFS streams --------------------------------------------------------------------------
_RAR5 = b"Rar!\x1a\x07\x01\x00"
_MAX_RAR5_HEADERS = 100_000


def rar5_streams(data: bytes) -> list[str]:
    """The names of the NTFS alternate data streams a RAR 5 archive stores (service headers
    named ``STM``; the stream's name is the header's service-data record, extra type 7).

    WinRAR writes them next to the files it extracts, and neither libarchive nor rarfile
    lists them, so their content is never judged. A name with ``..`` in it climbs out of the
    extraction folder (CVE-2025-8088, exploited in 2025 to drop a shortcut into Startup).
    The headers are walked from one to the next by their declared sizes: linear, bounded in
    count; an encrypted or damaged header list ends the walk."""
    if not data.startswith(_RAR5):
        return []
    out: list[str] = []
    pos = len(_RAR5)
    try:
        for _ in range(_MAX_RAR5_HEADERS):
            size, p = _vint(data, pos + 4)  # after the header's CRC32
            end = p + size
            if size == 0 or end > len(data):
                break
            kind, q = _vint(data, p)
            flags, q = _vint(data, q)
            extra, data_size = 0, 0
            if flags & 0x1:
                extra, q = _vint(data, q)
            if flags & 0x2:
                data_size, q = _vint(data, q)
            if kind in (4, 5):  # encrypted headers, end of archive
                break
            if kind == 3 and _service_name(data, q) == b"STM":
                out.append(_service_data(data[end - extra:end]) if 0 < extra <= size else "?")
            pos = end + data_size
    except ValueError:
        pass  # a header cut short: what was walked stands
    return out


def _vint(data: bytes, pos: int) -> tuple[int, int]:
    """A RAR 5 variable-length integer (7 bits a byte, at most 10 bytes) and the position
    after it."""
    value = 0
    for i in range(10):
        if pos + i >= len(data):
            raise ValueError("vint past the end")
        byte = data[pos + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, pos + i + 1
    raise ValueError("vint longer than 10 bytes")


def _service_name(data: bytes, q: int) -> bytes:
    """The name of a service header whose type-specific fields start at ``q``."""
    file_flags, q = _vint(data, q)
    _, q = _vint(data, q)  # unpacked size
    _, q = _vint(data, q)  # attributes
    q += 4 * bool(file_flags & 0x2) + 4 * bool(file_flags & 0x4)  # mtime, CRC32
    _, q = _vint(data, q)  # compression information
    _, q = _vint(data, q)  # host OS
    length, q = _vint(data, q)
    return data[q:q + min(length, 16)]


def _service_data(extra: bytes) -> str:
    """The service-data record (type 7) of a header's extra area, as text."""
    q = 0
    while q < len(extra):
        size, r = _vint(extra, q)
        kind, t = _vint(extra, r)
        if kind == 7:
            return extra[t:r + size][:500].decode("utf-8", "replace")
        if size == 0:
            break
        q = r + size
    return "?"


def binary_kind(head: bytes) -> str:
    """Kinds recognised by their first bytes ("" when none)."""
    if head[:16] in _ONE_TYPES:
        return "onenote"
    if head.startswith(b"ITSF") and head[4:8] in (b"\x02\x00\x00\x00", b"\x03\x00\x00\x00"):
        return "chm"
    if head.startswith(b"MSCF\0\0\0\0"):
        return "cab"  # Windows cabinet; a OneNote package (.onepkg) is one
    if head.startswith(b"\xca\xfe\xba\xbe") and int.from_bytes(head[4:8], "big") >= 45:
        # A Java class file (minor, major >= 45) shares its magic with a Mach-O universal
        # binary, whose next field is the number of architectures (a handful).
        return "java-class"
    return ""


def udf_image(data: bytes) -> bool:
    """A UDF-only image (no ISO 9660 volume): its volume recognition sequence at 32 KiB."""
    return data[0x8001:0x8006] == b"BEA01" and has_udf(data)


def fat_image(head: bytes) -> bool:
    """A bare FAT volume (a floppy or USB stick image)."""
    return _fat_boot(head)


def text_kind(lowered: bytes) -> str:
    """Kinds recognised in a text file's lower-cased head ("" when none)."""
    if lowered.lstrip().startswith((b"[internetshortcut]", b"[{000214a0-")):
        return "url"  # .url, and .website (a pinned site: the same shortcut and a GUID)
    if lowered.startswith(b"web\r\n1\r\n") or lowered.startswith(b"web\n1\n"):
        return "iqy"  # Excel web query: the cell range is filled from a URL
    if lowered.startswith(b"id;p") and _SYLK_RECORD.search(lowered):
        return "slk"  # a CSV headed "ID;Phong ban" has no C;/F; records
    if b"<?xml" in lowered[:200]:
        if b"<pcsettings" in lowered:
            return "settingcontent"
        if b"<librarydescription" in lowered:
            return "library-ms"
        if b"<persistedquery" in lowered:
            return "search-ms"
        if b"<searchconnectordescription" in lowered:
            return "searchconnector-ms"
    i = lowered.find(b"<svg")
    if i >= 0 and not _ELEMENT.search(lowered, 0, i):
        return "svg"  # the root element is <svg> (after an XML declaration or comments)
    return ""


# SVG active content -------------------------------------------------------------------------
_SVG_ACTIVE = (
    ("script element", re.compile(rb"<(?:svg:)?script\b")),
    # Named events only, followed by a quoted value: text such as "online = " is no handler.
    ("event handler attribute", re.compile(
        rb"\son(?:load|unload|click|dblclick|mouse[a-z]{2,10}|key[a-z]{2,5}|error|focus|"
        rb"focusin|focusout|blur|begin|end|repeat|activate|abort|resize|scroll|zoom|input|"
        rb"change|submit|pointer[a-z]{2,10}|touch[a-z]{3,6}|animation[a-z]{3,9}|"
        rb"transition[a-z]{3,6}|toggle|wheel|drag[a-z]{0,5}|drop|copy|cut|paste|select|show|"
        rb"contextmenu)\s*+=\s*+[\"']")),
    ("foreignObject", re.compile(rb"<(?:svg:)?foreignobject\b")),
    # As an attribute or url() value, not in the drawing's text ("bat javascript: ...").
    ("javascript: URL", re.compile(rb"[\"'=(]\s*+javascript\s*+:")),
    # data: images (Inkscape embeds PNGs so) are pictures; any other data: URL (text/html,
    # image/svg+xml, application/...) is a document that can run script.
    ("data: URL", re.compile(rb"=\s*+[\"']\s*+data\s*+:(?!\s*+image/(?:png|jpe?g|gif|webp|bmp)"
                             rb"[;,])")),
)


def svg_active(data: bytes) -> list[str]:
    """What in an SVG image can run script (linear searches over the lower-cased text)."""
    low = data[:8 * MIB].lower()
    return [label for label, pattern in _SVG_ACTIVE if pattern.search(low)]


# OneNote -------------------------------------------------------------------------------------
_FDSO_HEADER = uuid.UUID("BDE316E7-2665-4511-A4C4-8D4D0B7A9EAC").bytes_le
_FDSO_DATA = 36  # guidHeader 16, cbLength 8, unused 4, reserved 8, then FileData


def onenote_files(ex: Expander, path: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    """Files embedded in a OneNote section: every FileDataStoreObject (MS-ONESTORE 2.6.13).

    The object is found by its header GUID rather than by walking the file node lists: the
    lists only point at the objects, and a hostile file can point anywhere; the length field
    is checked against the file and the expander's limits before anything is copied."""
    pos, n, refused = 0, 0, 0
    while (pos := data.find(_FDSO_HEADER, pos)) >= 0:
        length = int.from_bytes(data[pos + 16:pos + 24], "little")
        start = pos + _FDSO_DATA
        pos = start
        if start + length > len(data):
            ex.event(path, "unreadable", f"onenote: embedded file of {length} bytes runs "
                     "past the end")
            return
        n += 1
        name = f"embedded-{n}.bin"
        if ex.take(f"{path}:{name}", length, 0):
            yield name, data[start:start + length]
        elif (refused := refused + 1) >= MAX_REFUSED:
            return
        pos = start + length


# libarchive (ISO 9660, RAR 4, RAR 5) ---------------------------------------------------------
def libarchive_files(ex: Expander, path: str, data: bytes, fmt: str,
                     max_refused: int = MAX_REFUSED,
                     skip: frozenset[tuple[str, int]] = frozenset()
                     ) -> Iterator[tuple[str, bytes]]:
    """Regular files of an archive libarchive reads (``fmt``: its format name, e.g.
    ``iso9660``, ``rar``, ``rar5``). A member is read only after ``take`` admits its declared
    size, and never past it (a header can lie). Reading stops after ``max_refused`` members
    ``take`` refused: give 1 for a compressed format, where skipping a member of a solid
    archive means decompressing it (a refused bomb would be expanded anyway). Members in
    ``skip`` (lower-case name, size) were read already (from an image's UDF side)."""
    # libarchive-c logs at import, at INFO, that Debian's libarchive 3.6 cannot set entry
    # digests (a writer feature we never use), and at WARNING what libarchive warns about a
    # damaged header (text an attacker chooses the occasion of): not lines for the mail log.
    logging.getLogger("libarchive").setLevel(logging.ERROR)
    import libarchive

    refused = 0
    with libarchive.memory_reader(data, format_name=fmt, filter_name="none") as archive:
        for entry in archive:
            if not entry.isfile:
                continue
            name = _entry_name(entry)
            size = entry.size or 0
            if (name.lower(), size) in skip:
                continue
            if not ex.take(f"{path}:{name}", size, len(data)):
                refused += 1
                if refused >= max_refused:
                    return
                continue
            buf = bytearray()
            for block in entry.get_blocks(block_size=MIB):
                buf += block
                if len(buf) >= size:
                    break
            yield name, bytes(buf[:size])


# UDF (ECMA-167 / OSTA UDF 1.02-2.60) ---------------------------------------------------------
_SECTOR = 2048


def has_udf(data: bytes) -> bool:
    """A UDF volume recognition sequence (NSR02/NSR03) in the sectors after 32 KiB."""
    return any(data[o + 1:o + 6] in (b"NSR02", b"NSR03")
               for o in range(16 * _SECTOR, 32 * _SECTOR, _SECTOR))


class _Udf:
    """A read-only walk of a UDF file system: anchor (sector 256), volume descriptors,
    partitions (physical, and the UDF 2.50+ metadata partition), file set, directories.
    Every offset is checked against the image; everything hostile raises ValueError."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        avdp = self.sector(256)
        if self.tag(avdp) != 2:
            raise ValueError("udf: no anchor volume descriptor at sector 256")
        length, loc = struct.unpack("<II", avdp[16:24])
        starts: dict[int, int] = {}
        lvd = b""
        for n in range(loc, loc + min(length // _SECTOR, 64)):
            sec = self.sector(n)
            tag = self.tag(sec)
            if tag == 5:  # partition descriptor: number -> first sector
                starts[struct.unpack("<H", sec[22:24])[0]] = struct.unpack("<I", sec[188:192])[0]
            elif tag == 6:
                lvd = sec
            elif tag == 8:
                break
        if not lvd or not starts:
            raise ValueError("udf: no logical volume or partition descriptor")
        if struct.unpack("<I", lvd[212:216])[0] != _SECTOR:
            raise ValueError("udf: logical block size other than 2048")
        # partition reference -> (physical start sector, the metadata file's extents as
        # (absolute sector, length), or None for a physical partition)
        self.parts: list[tuple[int, list[tuple[int, int]] | None]] = []
        maps, pos = lvd[440:440 + struct.unpack("<I", lvd[264:268])[0]], 0
        for _ in range(min(struct.unpack("<I", lvd[268:272])[0], 16)):
            kind, size = maps[pos], maps[pos + 1]
            if size < 6:
                raise ValueError("udf: bad partition map")
            if kind == 1:
                number = struct.unpack("<H", maps[pos + 4:pos + 6])[0]
                self.parts.append((starts.get(number, -1), None))
            elif kind == 2 and b"*UDF Metadata Partition" in maps[pos + 4:pos + 36]:
                number, meta_at = struct.unpack("<HI", maps[pos + 38:pos + 44])
                start = starts.get(number, -1)
                self.parts.append((start, None))  # so that the metadata file can be read
                fe = self.sector(start + meta_at)
                self.parts[-1] = (start, [e for e in self._extents(fe, len(self.parts) - 1)
                                          if e[0] >= 0])
            else:
                self.parts.append((-1, None))
            pos += size
        fsd_lbn, fsd_part = struct.unpack("<IH", lvd[252:258])
        fsd = self.block(fsd_part, fsd_lbn)
        if self.tag(fsd) != 256:
            raise ValueError("udf: no file set descriptor")
        self.root = struct.unpack("<IH", fsd[404:410])  # root directory ICB: lbn, partition

    def sector(self, n: int) -> bytes:
        if n < 0 or (n + 1) * _SECTOR > len(self.data):
            raise ValueError(f"udf: sector {n} outside the image")
        return self.data[n * _SECTOR:(n + 1) * _SECTOR]

    @staticmethod
    def tag(sec: bytes) -> int:
        return struct.unpack("<H", sec[:2])[0]

    def absolute(self, part: int, lbn: int) -> int:
        if part >= len(self.parts):
            raise ValueError("udf: bad partition reference")
        start, meta = self.parts[part]
        if start < 0:
            raise ValueError("udf: partition not found")
        if meta is None:
            return start + lbn
        at = lbn * _SECTOR  # through the metadata file's extents
        for e_sector, e_len in meta:
            if at < e_len:
                return e_sector + at // _SECTOR
            at -= e_len
        raise ValueError("udf: block outside the metadata partition")

    def block(self, part: int, lbn: int) -> bytes:
        return self.sector(self.absolute(part, lbn))

    def _extents(self, fe: bytes, part: int) -> list[tuple[int, int]]:
        """(absolute sector, length) of a file entry's recorded extents; embedded data is
        returned as (-1, 0) and read by :meth:`content`."""
        tag = self.tag(fe)
        if tag == 261:
            l_ea, l_ad, at = *struct.unpack("<II", fe[168:176]), 176
        elif tag == 266:
            l_ea, l_ad, at = *struct.unpack("<II", fe[208:216]), 216
        else:
            raise ValueError(f"udf: tag {tag} where a file entry was expected")
        ads = fe[at + l_ea:at + l_ea + l_ad]
        kind = struct.unpack("<H", fe[34:36])[0] & 7
        out = []
        if kind == 3:
            return [(-1, 0)]
        step = 8 if kind == 0 else 16 if kind == 1 else 0
        if not step:
            raise ValueError("udf: unknown allocation descriptors")
        for i in range(0, len(ads) - step + 1, step):
            length, lbn = struct.unpack("<II", ads[i:i + 8])
            if length >> 30 == 3:
                raise ValueError("udf: continued allocation descriptors")
            if length & 0x3FFFFFFF == 0:
                break
            ref = part if step == 8 else struct.unpack("<H", ads[i + 8:i + 10])[0]
            zero = length >> 30 != 0  # allocated or not, but never written: zeros
            out.append((-2 if zero else self.absolute(ref, lbn), length & 0x3FFFFFFF))
        return out

    def entry(self, lbn: int, part: int) -> tuple[bytes, bool, int]:
        """A file entry: (its sector, is a directory, information length)."""
        fe = self.block(part, lbn)
        return fe, fe[27] == 4, struct.unpack("<Q", fe[56:64])[0]

    def content(self, fe: bytes, part: int, limit: int) -> bytes:
        out = bytearray()
        for sector, length in self._extents(fe, part):
            if sector == -1:  # data embedded in the entry itself
                tag = self.tag(fe)
                l_ea, l_ad = struct.unpack("<II", fe[168:176] if tag == 261 else fe[208:216])
                at = (176 if tag == 261 else 216) + l_ea
                out += fe[at:at + l_ad]
            elif sector == -2:
                out += bytes(min(length, limit - len(out)))
            else:
                out += self.data[sector * _SECTOR:sector * _SECTOR + min(length,
                                                                          limit - len(out))]
            if len(out) >= limit:
                break
        return bytes(out[:limit])


def _dstring(raw: bytes) -> str:
    if raw[:1] in (b"\x08", b"\xfe"):
        return raw[1:].decode("latin-1")
    if raw[:1] in (b"\x10", b"\xff"):
        return raw[1:len(raw) - (len(raw) - 1) % 2].decode("utf-16-be", "replace")
    return raw.decode("latin-1")


def udf_files(ex: Expander, path: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    """Regular files of a UDF volume, what Windows shows when it mounts the image (an image
    may carry other files on its ISO 9660 side)."""
    fs = _Udf(data)
    walked, refused, dir_bytes = 0, 0, 0
    root_fe, _, root_len = fs.entry(*fs.root)
    stack = [("", root_fe, fs.root[1], root_len, 0)]
    while stack:
        prefix, fe, part, length, depth = stack.pop()
        table = fs.content(fe, part, min(length, 4 * MIB, _MAX_DIR_BYTES - dir_bytes))
        dir_bytes += len(table)
        pos = 0
        while pos + 38 <= len(table):
            if fs.tag(table[pos:pos + 2]) != 257:
                break
            chars, l_fi = table[pos + 18], table[pos + 19]
            lbn, ref = struct.unpack("<IH", table[pos + 24:pos + 30])
            l_iu = struct.unpack("<H", table[pos + 36:pos + 38])[0]
            name = _dstring(table[pos + 38 + l_iu:pos + 38 + l_iu + l_fi])
            pos += (38 + l_iu + l_fi + 3) & ~3
            if chars & 0x0C:  # deleted, or the parent directory
                continue
            walked += 1
            if walked > _MAX_ENTRIES:
                ex.event(path, "too-many", f"disk image: more than {_MAX_ENTRIES} entries")
                return
            child, is_dir, size = fs.entry(lbn, ref)
            if is_dir:
                if depth + 1 >= _MAX_DIR_DEPTH:
                    ex.event(f"{path}:{prefix}{name}", "too-deep",
                             "disk image: folders nested too deep")
                elif dir_bytes < _MAX_DIR_BYTES:
                    stack.append((f"{prefix}{name}/", child, ref, size, depth + 1))
                continue
            if ex.take(f"{path}:{prefix}{name}", size, 0):
                yield f"{prefix}{name}", fs.content(child, ref, size)
            elif (refused := refused + 1) >= MAX_REFUSED:
                return


def iso_files(ex: Expander, path: str, data: bytes) -> Iterator[tuple[str, bytes]]:
    """Files of an optical disc image: its UDF side first (what Windows shows when it
    mounts the image: a decoy ISO 9660 side can hide it from tools that read only ISO 9660),
    then the ISO 9660 side's files not seen on the UDF side (libarchive)."""
    seen: set[tuple[str, int]] = set()
    udf_error: Exception | None = None
    if has_udf(data):
        try:
            for name, blob in udf_files(ex, path, data):
                seen.add((name.lower(), len(blob)))
                yield name, blob
        except (ValueError, struct.error, IndexError) as e:
            udf_error = e
    if data[0x8001:0x8006] == b"CD001":
        yield from libarchive_files(ex, path, data, "iso9660", skip=frozenset(seen))
        if udf_error is not None:
            ex.event(path, "not-extracted", f"iso: UDF side not read ({udf_error})")
    elif udf_error is not None:
        raise ValueError(f"udf: {udf_error}") from udf_error


def _entry_name(entry: object) -> str:
    """An entry's name as text. libarchive converts names to the locale's charset: with
    LC_ALL=C a non-ASCII cabinet name reads as nothing (the file is still judged by its
    content); the systemd unit runs with a UTF-8 locale (Python's C.UTF-8 coercion)."""
    name = entry.pathname  # type: ignore[attr-defined]
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    return name or "unnamed"


# FAT volumes, bare or behind a partition table (IMG, fixed VHD) -----------------------------
_FAT_TYPES = {0x01, 0x04, 0x06, 0x0B, 0x0C, 0x0E, 0x11, 0x14, 0x16, 0x1B, 0x1C, 0x1E}
_MAX_DIR_DEPTH = 16
_MAX_ENTRIES = 20_000  # directory entries walked per volume, files and folders alike
_MAX_DIR_BYTES = 16 * MIB  # directory tables read per volume (each folder can claim a chain)


def _fat_boot(sector: bytes) -> bool:
    return (len(sector) >= 512 and sector[510:512] == b"\x55\xaa" and sector[0] in (0xEB, 0xE9)
            and (sector[54:59] in (b"FAT12", b"FAT16") or sector[82:87] == b"FAT32"))


def volumes(ex: Expander, path: str, disk: Disk) -> Iterator[tuple[str, Disk]]:
    """The FAT volumes of a raw disk: the disk itself, or its MBR or GPT partitions. Other
    file systems (NTFS, exFAT) are reported as not listed."""
    if _fat_boot(bytes(disk[:512])):
        yield "", disk
        return
    if len(disk) < 512 or bytes(disk[510:512]) != b"\x55\xaa":
        ex.event(path, "not-extracted", "disk image: no FAT volume or partition table found")
        return
    parts: list[tuple[int, int]] = []
    for i in range(4):
        e = bytes(disk[446 + 16 * i:462 + 16 * i])
        ptype, lba, count = e[4], *struct.unpack("<II", e[8:16])
        if ptype == 0xEE:
            parts.extend(_gpt_partitions(disk))
        elif ptype and count:
            parts.append((lba, count) if ptype in _FAT_TYPES or _fat_boot(
                bytes(disk[lba * 512:lba * 512 + 512])) else (-ptype, 0))
    for n, (lba, count) in enumerate(parts[:128], 1):
        vol: Disk = disk[lba * 512:(lba + count) * 512] if lba >= 0 else memoryview(b"")
        if lba >= 0 and _fat_boot(bytes(vol[:512])):
            yield f"part{n}/", vol
        else:
            what = f"type 0x{-lba:02x}" if lba < 0 else "not FAT"
            ex.event(f"{path}:part{n}", "not-extracted",
                     f"disk image: partition {n} ({what}) not listed")


def _gpt_partitions(disk: memoryview) -> list[tuple[int, int]]:
    hdr = bytes(disk[512:1024])
    if not hdr.startswith(b"EFI PART"):
        return []
    first, count, size = struct.unpack("<QII", hdr[72:88])
    out = []
    for i in range(min(count, 128)):
        off = first * 512 + i * size
        e = bytes(disk[off:off + 48])
        if len(e) < 48 or e[:16] == bytes(16):
            continue
        lo, hi = struct.unpack("<QQ", e[32:48])
        out.append((lo, max(hi - lo + 1, 0)))
    return out


def fat_files(ex: Expander, path: str, vol: Disk,
              top: str = "") -> Iterator[tuple[str, bytes]]:
    """Regular files of a FAT12/16/32 volume, long file names included, named under
    ``top`` (the partition)."""
    b = bytes(vol[:512])
    bps, spc, reserved, nfats, root_entries, total16 = struct.unpack("<HBHBHH", b[11:21])
    fatsz = struct.unpack("<H", b[22:24])[0] or struct.unpack("<I", b[36:40])[0]
    total = total16 or struct.unpack("<I", b[32:36])[0]
    if bps not in (512, 1024, 2048, 4096) or spc == 0 or nfats == 0 or fatsz == 0:
        raise ValueError("fat: bad boot sector")
    root_sectors = (root_entries * 32 + bps - 1) // bps
    data_start = (reserved + nfats * fatsz + root_sectors) * bps
    clusters = max((min(total * bps, len(vol)) - data_start) // (spc * bps), 0)
    bits = 12 if clusters < 4085 else 16 if clusters < 65525 else 32
    # Read in place, entry by entry: a FAT32 table of a large volume is tens of MiB.
    fat = vol[reserved * bps:(reserved + fatsz) * bps]
    csize = spc * bps

    def chain(first: int) -> Iterator[int]:
        c, seen = first, 0
        while 2 <= c < clusters + 2 and seen <= clusters:
            yield c
            seen += 1
            if bits == 12:
                v = int.from_bytes(fat[c + c // 2:c + c // 2 + 2], "little")
                c = v >> 4 if c & 1 else v & 0xFFF
            elif bits == 16:
                c = int.from_bytes(fat[2 * c:2 * c + 2], "little")
            else:
                c = int.from_bytes(fat[4 * c:4 * c + 4], "little") & 0x0FFFFFFF

    def read(first: int, limit: int) -> bytes:
        out = bytearray()
        for c in chain(first):  # every turn adds a whole cluster or ends: bounded by limit
            off = data_start + (c - 2) * csize
            piece = vol[off:off + csize]
            out += piece
            if len(out) >= limit or len(piece) < csize:
                break
        return bytes(out[:limit])

    if bits == 32:
        root_cluster = struct.unpack("<I", b[44:48])[0]
        root = read(root_cluster, 4 * MIB)
    else:
        off = (reserved + nfats * fatsz) * bps
        root = bytes(vol[off:off + root_entries * 32])
    walked, refused, dir_bytes = 0, 0, len(root)
    stack: list[tuple[str, bytes, int]] = [(top, root, 0)]
    while stack:
        prefix, table, depth = stack.pop()
        lfn: dict[int, str] = {}
        for i in range(0, len(table) - 31, 32):
            e = table[i:i + 32]
            if e[0] == 0:
                break
            if e[0] == 0xE5:
                lfn.clear()
                continue
            attr = e[11]
            if attr == 0x0F:  # a long-file-name piece (they come last piece first)
                lfn[e[0] & 0x1F] = (e[1:11] + e[14:26] + e[28:32]).decode("utf-16-le",
                                                                         "replace")
                continue
            walked += 1
            if walked > _MAX_ENTRIES:
                ex.event(path, "too-many", f"disk image: more than {_MAX_ENTRIES} entries")
                return
            base, ext = e[:8].decode("latin-1").rstrip(), e[8:11].decode("latin-1").rstrip()
            # Windows NT keeps an all-lower-case 8.3 name as flags, not as a long name.
            base = base.lower() if e[12] & 0x08 else base
            ext = ext.lower() if e[12] & 0x10 else ext
            short = f"{base}.{ext}" if ext else base
            name = ("".join(lfn[k] for k in sorted(lfn)).split("\x00")[0] if lfn else short)
            lfn = {}
            if attr & 0x08 or name in (".", ".."):
                continue
            first = struct.unpack("<H", e[26:28])[0] | (
                struct.unpack("<H", e[20:22])[0] << 16 if bits == 32 else 0)
            if attr & 0x10:
                if depth + 1 >= _MAX_DIR_DEPTH:
                    ex.event(f"{path}:{prefix}{name}", "too-deep",
                             "disk image: folders nested too deep")
                elif dir_bytes >= _MAX_DIR_BYTES:
                    ex.event(f"{path}:{prefix}{name}", "too-many",
                             f"disk image: folders larger than {_MAX_DIR_BYTES} bytes in all")
                    return
                else:
                    sub = read(first, min(4 * MIB, _MAX_DIR_BYTES - dir_bytes))
                    dir_bytes += len(sub)
                    stack.append((f"{prefix}{name}/", sub, depth + 1))
                continue
            size = struct.unpack("<I", e[28:32])[0]
            if ex.take(f"{path}:{prefix}{name}", size, 0):
                yield f"{prefix}{name}", read(first, size)
            elif (refused := refused + 1) >= MAX_REFUSED:
                return


# VHD and VHDX ---------------------------------------------------------------------------
def vhd_disk(path: str, data: bytes, ex: Expander) -> memoryview | SparseDisk | None:
    """The raw disk of a VHD: a fixed one is the disk followed by a 512-byte "conectix"
    footer; a dynamic one is read through its block allocation table. A differencing VHD is
    reported as not listed."""
    footer = data[-512:]
    if not footer.startswith(b"conectix"):
        footer = data[:512]  # a dynamic disk keeps a copy at the start
        if not footer.startswith(b"conectix"):
            ex.event(path, "not-extracted", "vhd: no footer")
            return None
    disk_type = int.from_bytes(footer[60:64], "big")
    if disk_type == 2:
        return memoryview(data)[:-512]
    if disk_type != 3:
        ex.event(path, "not-extracted", f"vhd: disk type {disk_type} not listed")
        return None
    dyn = int.from_bytes(footer[16:24], "big")
    hdr = data[dyn:dyn + 1024]
    if not hdr.startswith(b"cxsparse"):
        raise ValueError("vhd: no dynamic disk header")
    bat_at, entries, block = struct.unpack(">QII", hdr[16:24] + hdr[28:36])
    size = int.from_bytes(footer[48:56], "big")
    if block == 0 or block % 512 or entries * block < size:
        raise ValueError("vhd: bad dynamic disk header")
    bitmap = ((block // 512 // 8) + 511) // 512 * 512
    bat = data[bat_at:bat_at + 4 * entries]
    return SparseDisk(data, size, block, (
        (i, (int.from_bytes(bat[4 * i:4 * i + 4], "big") * 512 + bitmap))
        for i in range(len(bat) // 4) if bat[4 * i:4 * i + 4] != b"\xff\xff\xff\xff"))


_VHDX_BAT = uuid.UUID("2DC27766-F623-4200-9D64-115E9BFD4A08").bytes_le
_VHDX_META = uuid.UUID("8B7CA206-4790-4B9A-B8FE-575F050F886E").bytes_le
_VHDX_PARAMS = uuid.UUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B").bytes_le
_VHDX_SIZE = uuid.UUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8").bytes_le
_VHDX_SECTOR = uuid.UUID("8141BF1D-A96F-4709-BA47-F233A8FAAB5F").bytes_le


def vhdx_disk(path: str, data: bytes, ex: Expander) -> SparseDisk | None:
    """The raw disk of a VHDX (MS-VHDX): the region table at 192 KiB locates the metadata
    (block size, disk size, sector size) and the BAT, whose payload entries (state 6 or 7)
    give each block's file offset in MiB; a sector-bitmap entry follows every chunk-ratio
    payload entries. A differencing VHDX is reported as not listed."""
    regions: dict[bytes, tuple[int, int]] = {}
    for base in (0x30000, 0x40000):
        table = data[base:base + 65536]
        if table.startswith(b"regi"):
            count = min(int.from_bytes(table[8:12], "little"), 2047)
            for i in range(count):
                e = table[16 + 32 * i:48 + 32 * i]
                off, length = struct.unpack("<QI", e[16:28])
                regions[e[:16]] = (off, length)
            break
    if _VHDX_BAT not in regions or _VHDX_META not in regions:
        raise ValueError("vhdx: no region table")
    moff, mlen = regions[_VHDX_META]
    meta = data[moff:moff + min(mlen, MIB)]
    if not meta.startswith(b"metadata"):
        raise ValueError("vhdx: no metadata table")
    items: dict[bytes, bytes] = {}
    for i in range(min(int.from_bytes(meta[10:12], "little"), 2047)):
        e = meta[32 + 32 * i:64 + 32 * i]
        off, length = struct.unpack("<II", e[16:24])
        items[e[:16]] = meta[off:off + min(length, 64)]
    params, vsize, sector = (items.get(k, b"") for k in (_VHDX_PARAMS, _VHDX_SIZE,
                                                          _VHDX_SECTOR))
    if len(params) < 8 or len(vsize) < 8 or len(sector) < 4:
        raise ValueError("vhdx: metadata items missing")
    block, flags = struct.unpack("<II", params[:8])
    size, lss = int.from_bytes(vsize[:8], "little"), int.from_bytes(sector[:4], "little")
    if flags & 2:
        ex.event(path, "not-extracted", "vhdx: differencing disk not listed")
        return None
    if block < MIB or block & (block - 1) or lss not in (512, 4096):
        raise ValueError("vhdx: bad block or sector size")
    ratio = (1 << 23) * lss // block
    boff, blen = regions[_VHDX_BAT]
    bat = data[boff:boff + blen]

    def payload() -> Iterator[tuple[int, int]]:
        # Entries as stored (bounded by the file): a sector-bitmap entry after every
        # ``ratio`` payload entries.
        for j in range(len(bat) // 8):
            if (j + 1) % (ratio + 1) == 0:
                continue
            e = int.from_bytes(bat[8 * j:8 * j + 8], "little")
            if e & 7 in (6, 7):
                yield j - j // (ratio + 1), (e >> 20) << 20

    return SparseDisk(data, size, block, payload())


_MAX_BLOCKS = 65_536  # allocated blocks of a sparse disk (each an int pair in memory)
_VIEW = 16 * MIB  # a larger slice of a sparse disk is a view, not a copy


class SparseDisk:
    """A dynamic VHD/VHDX disk read in place: slices up to 16 MiB are bytes (unallocated
    blocks read as zeros), larger ones are views (a partition), so a small file declaring
    a huge sparse disk costs no memory; the files in it still go through ``take()``."""

    def __init__(self, data: bytes, size: int, block: int,
                 located: Iterator[tuple[int, int]] | dict[int, int], base: int = 0) -> None:
        self.data, self.size, self.block, self.base = data, size, block, base
        if isinstance(located, dict):
            self.blocks = located
        else:
            self.blocks = {}
            for i, off in located:
                if off < len(data):
                    self.blocks[i] = off
                    if len(self.blocks) > _MAX_BLOCKS:
                        raise ValueError(f"sparse disk: more than {_MAX_BLOCKS} blocks")

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, s: slice) -> bytes | SparseDisk:
        start, stop, _ = s.indices(self.size)
        n = max(stop - start, 0)
        if n > _VIEW:
            return SparseDisk(self.data, n, self.block, self.blocks, self.base + start)
        out = bytearray(n)
        pos, end = self.base + start, self.base + start + n
        while pos < end:
            i, within = divmod(pos, self.block)
            step = min(self.block - within, end - pos)
            off = self.blocks.get(i)
            if off is not None:
                chunk = self.data[off + within:off + within + step]
                at = pos - self.base - start
                out[at:at + len(chunk)] = chunk
            pos += step
        return bytes(out)


Disk = memoryview | SparseDisk  # what volumes() and fat_files() read: both slice and len()
