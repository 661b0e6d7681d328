"""Office documents, properly (HUE-11.5): what oletools and msoffcrypto-tool see in them.

Pure functions of bytes; each returns what it found and never raises (a document a library
cannot parse comes back as an ``error``, which the detector turns into a finding).

- VBA: olevba decompresses the source (MS-OVBA), finds auto-exec entry points and
  suspicious keywords; VBA stomping (p-code without matching source) via pcodedmp.
- Excel 4.0 (XLM) macro sheets: BIFF8 BoundSheet records (.xls), the macro-sheet content
  types of .xlsm/.xlsb, the SYLK ``O;E`` option (olevba's SYLK reader).
- DDE: msodde on Word field codes (.doc, .docx, RTF), Excel DDE links (.xlsx/.xlsb), CSV.
- OLE objects: oleobj's OLE Package (``\\x01Ole10Native``) reader; the embedded files are
  returned as children and judged like any attachment.
- External relationships (remote templates, template injection): oleobj's relationship
  types with a target outside the document.
- RTF objects: rtfobj (``\\object``/``\\objdata``, OLE class names).
- Encryption: msoffcrypto-tool recognises it and opens what Excel encrypts with its default
  password ("VelvetSweatshop"); the decrypted document is judged like the original.

Every expensive library call sits behind a cheap byte test so that an ordinary document pays
almost nothing (measured in README "What the attachment scanner checks").
"""

from __future__ import annotations

import binascii
import contextlib
import functools
import io
import itertools
import logging
import re
import struct
import sys
import types
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import olefile

from . import filetypes, outlook_msg, vba_pcode

# Excel's built-in password: a workbook "encrypted" with it opens without asking.
DEFAULT_PASSWORDS = ("VelvetSweatshop",)
MAX_SPIN_COUNT = 100_000  # Office's own; a hostile file may ask for 10 million rounds (~5 s)
MAX_VBA_CODE = 4 * 1024 * 1024  # source characters searched for keywords per document
MAX_RTF_PARSE = 8 * 1024 * 1024  # rtfobj parses ~0.5 MB/s of dense control words

_OLETOOLS_LOGGERS = ("olevba", "oleobj", "msodde", "rtfobj", "ooxml", "crypto", "ftguess",
                     "xls_parser", "record_base", "olefile", "pcodedmp", "msoffcrypto",
                     "oletools")


def quiet_loggers() -> None:
    """oletools logs every odd byte of a hostile file at WARNING/ERROR; mail logs must not
    carry that (one message could write thousands of lines)."""
    for name in _OLETOOLS_LOGGERS:
        lg = logging.getLogger(name)
        lg.setLevel(logging.CRITICAL + 1)
        lg.propagate = False
        lg.disabled = True


MAX_INFLATE = 64 * 1024 * 1024  # ScanLimits.max_member_bytes: one inflated object
MAX_INFLATE_RATIO = 100  # ScanLimits.max_ratio


class _BoundedInflate:
    """zlib.decompressobj with the scan limits: at most MAX_INFLATE bytes out and 100 times
    the bytes in (plus 1 MiB); beyond, zlib.error, which oletools handles as a broken
    record. oletools inflates .ppt objects and VBA with no limit (a zlib bomb in a .ppt
    would take gigabytes)."""

    def __init__(self, wbits: int = zlib.MAX_WBITS) -> None:  # oletools passes wbits only
        self._d = zlib.decompressobj(wbits)
        self._in = self._out = 0

    @property
    def unconsumed_tail(self) -> bytes:
        return self._d.unconsumed_tail

    @property
    def unused_data(self) -> bytes:
        return self._d.unused_data

    @property
    def eof(self) -> bool:
        return self._d.eof

    def _room(self) -> int:
        return min(MAX_INFLATE, MAX_INFLATE_RATIO * self._in + (1 << 20)) - self._out

    def decompress(self, data: bytes, max_length: int = 0) -> bytes:
        self._in += len(data) - len(self._d.unconsumed_tail)
        room = self._room()
        out = self._d.decompress(data, min(max_length, room + 1) if max_length else room + 1)
        return self._take(out)

    def flush(self, *args: int) -> bytes:
        out = self._d.decompress(self._d.unconsumed_tail, self._room() + 1)
        return self._take(out + (b"" if self._d.unconsumed_tail else self._d.flush(*args)))

    def _take(self, out: bytes) -> bytes:
        self._out += len(out)
        if self._room() < 0:
            raise zlib.error("expansion beyond the scan limits")
        return out


class _BoundedZlib:
    """What oletools' modules see as ``zlib``."""

    error = zlib.error
    MAX_WBITS = zlib.MAX_WBITS
    decompressobj = _BoundedInflate

    @staticmethod
    def decompress(data: bytes, *args: int) -> bytes:
        d = _BoundedInflate(*args[1:2])
        return d.decompress(data) + d.flush()

    def __getattr__(self, name: str) -> object:
        return getattr(zlib, name)


MAX_VBA_STREAM = 4 * 1024 * 1024  # decompressed bytes of one VBA stream (source, dir)


def _bounded_ovba(decompress: Callable[[bytearray], bytes]) -> Callable[[bytearray], bytes]:
    """olevba's MS-OVBA decompression, refused beyond MAX_VBA_STREAM: each chunk holds up to
    4,096 bytes from as little as 5, so a 20 MB stream could ask for 16 GB (in Python).
    The chunk headers are counted first (at most MAX_VBA_STREAM / 4096 of them)."""

    def bounded(container: bytearray) -> bytes:
        pos, chunks, n = 1, 0, len(container)
        while pos + 2 <= n:
            pos += (int.from_bytes(container[pos:pos + 2], "little") & 0x0FFF) + 3
            chunks += 1
            if chunks * 4096 > MAX_VBA_STREAM:
                raise ValueError("VBA stream beyond the decompression limit")
        return decompress(container)

    return bounded


@functools.cache
def _libs() -> types.SimpleNamespace:
    """oletools, imported once, with its loggers silenced after the import (each module
    makes its logger then); ``setLevel`` costs ~0.5 ms, so it is not done per document."""
    with warnings.catch_warnings():  # pyparsing 3 deprecation warnings at import
        warnings.simplefilter("ignore")
        from oletools import msodde, oleobj, olevba, ooxml, ppt_parser, ppt_record_parser, rtfobj
        from pcodedmp import pcodedmp
    pcodedmp.sys = _QuietSys()
    for module in (olevba, ppt_parser, ppt_record_parser):
        module.zlib = _BoundedZlib()
    olevba.decompress_stream = pcodedmp.decompress_stream = _bounded_ovba(
        olevba.decompress_stream)
    quiet_loggers()
    return types.SimpleNamespace(olevba=olevba, msodde=msodde, oleobj=oleobj, ooxml=ooxml,
                                 rtfobj=rtfobj, pcodedmp=pcodedmp)


@dataclass
class VbaReport:
    vba: bool = False
    autoexec: tuple[str, ...] = ()
    suspicious: tuple[str, ...] = ()
    unreadable_source: bool = False  # a VBA project whose source could not be decompressed
    stomping: bool = False
    xlm: bool = False
    errors: list[str] = field(default_factory=list)


class _NullWriter:
    def write(self, s: str) -> int:
        return len(s)

    def flush(self) -> None:
        pass


class _QuietSys:
    """pcodedmp prints its errors to ``sys.stderr``; its own reference to ``sys`` is
    replaced by this one (swapping the process's ``sys.stderr``, as olevba does, is not
    thread-safe)."""

    stderr = _NullWriter()

    def __getattr__(self, name: str) -> object:
        return getattr(sys, name)


def vba(data: bytes, name: str) -> VbaReport:
    """VBA (and SYLK XLM) in one OLE2 file or SYLK sheet, with olevba."""
    rep = VbaReport()
    olevba = _libs().olevba
    try:
        parser = olevba.VBA_Parser(name or "document", data=data, relaxed=True,
                                   disable_pcode=True)
    except Exception as e:  # noqa: BLE001 - oletools raises many kinds on hostile bytes
        rep.errors.append(f"olevba: {type(e).__name__}")
        return rep
    try:
        if parser.type == olevba.TYPE_SLK:
            rep.xlm = bool(parser.contains_xlm_macros)
            return rep
        if not parser.detect_vba_macros():  # also a .ppt's VBA (ole_subfiles)
            return rep
        rep.vba = True
        code, size = [], 0
        for _sub, _stream, _vname, source in parser.extract_macros():
            text = source if isinstance(source, str) else str(source or "")
            code.append(text[:MAX_VBA_CODE - size])
            size += len(code[-1])
            if size >= MAX_VBA_CODE:
                break
        joined = "\n".join(code)
        if not joined.strip():
            rep.unreadable_source = True
        rep.autoexec = tuple(sorted({k for k, _ in olevba.detect_autoexec(joined)}))
        rep.suspicious = tuple(sorted({k for k, _ in olevba.detect_suspicious(joined)}))
        pcode = _stomped_pcode(parser, joined)
        if pcode:
            # What Office runs is the p-code, so its entry points and calls are what the
            # message is judged on (the source shows only what the attacker chose).
            rep.stomping = True
            rep.autoexec = tuple(sorted({*rep.autoexec,
                                         *(k for k, _ in olevba.detect_autoexec(pcode))}))
            rep.suspicious = tuple(sorted({*rep.suspicious,
                                           *(k for k, _ in olevba.detect_suspicious(pcode))}))
    except Exception as e:  # noqa: BLE001
        rep.errors.append(f"olevba: {type(e).__name__}")
    finally:
        with contextlib.suppress(Exception):  # closing a broken parser
            parser.close()
    return rep


def _stomped_pcode(parser, source: str) -> str:
    """The p-code's disassembly (capped) when it names what ``source`` lacks (VBA
    stomping, :mod:`.vba_pcode`), else "".

    olevba's own ``extract_pcode`` only works on files on disk and swaps ``sys.stderr``;
    pcodedmp's ``processProject`` takes the in-memory parser. (olevba's
    ``detect_vba_stomping`` is not asked: for a parser made from bytes it answers False
    once and keeps that answer, so no stomped file was ever found that way;
    ``tests/test_office_real.py`` stomps a workbook compiled by Excel.)"""
    pcodedmp = _libs().pcodedmp

    class Args:
        disasmOnly = True
        verbose = False

    out = io.StringIO()
    for project in [parser] if parser.ole_file is not None else parser.ole_subfiles:
        pcodedmp.processProject(project, Args, output_file=out)
    disassembly = out.getvalue()
    if not vba_pcode.stomped(disassembly, source):
        return ""
    return disassembly[:MAX_VBA_CODE]


# Office documents saved as text: Word 2003 XML, Flat OPC, single-file web pages (MHT) ------
# Their VBA project travels base64-encoded: an OLE file ("0M8R4KGxGuE" is the base64 of the
# OLE magic) in Flat OPC, an ActiveMime blob ("QWN0aXZlTWltZQ" = "ActiveMime") holding a
# zlib-compressed OLE file in Word 2003 XML (w:binData editdata.mso) and in MHT. olevba reads
# them too, but inflates ActiveMime without a size limit; these are found and inflated here
# within the scan limits, and judged like any OLE file.
_B64_OLE = re.compile(rb"(?:0M8R4KGxGuE|QWN0aXZlTWltZQ)[A-Za-z0-9+/=\s]*")
MAX_BLOBS = 16


def embedded_ole(data: bytes, max_bytes: int) -> list[bytes]:
    """The OLE files a text Office document carries base64-encoded (at most MAX_BLOBS)."""
    if b"0M8R4KGxGuE" not in data and b"QWN0aXZlTWltZQ" not in data:
        return []
    out = []
    for m in _B64_OLE.finditer(data):
        blob = binascii.a2b_base64(m.group())
        if blob.startswith(b"ActiveMime"):
            blob = active_mime(blob, max_bytes)
        if blob.startswith(b"\xd0\xcf\x11\xe0"):
            out.append(blob)
        if len(out) >= MAX_BLOBS:
            break
    return out


def active_mime(data: bytes, max_bytes: int) -> bytes:
    """The zlib-compressed file in an ActiveMime (editdata.mso) blob, inflated to at most
    ``max_bytes`` and 100 times its size (olevba's offsets: header field + 46, 0x32, 0x22A)."""
    if len(data) < 0x22:
        return b""
    limit = min(max_bytes, 100 * len(data) + (1 << 20))
    for start in (struct.unpack_from("<H", data, 0x1E)[0] + 46, 0x32, 0x22A):
        try:
            return zlib.decompressobj().decompress(data[start:], limit)
        except zlib.error:
            continue
    return b""


# Excel 4.0 (XLM) ---------------------------------------------------------------------------
_MACROSHEET_TYPES = re.compile(rb"application/vnd\.ms-excel\.(?:intl)?macrosheet", re.I)


def xls_macro_sheets(workbook: bytes) -> int:
    """Excel 4.0 macro sheets in a BIFF8 Workbook stream: BoundSheet8 records with
    dt = 1 in the workbook globals (MS-XLS 2.4.28).

    A walk over record headers up to the globals' EOF: oletools' plugin_biff (what olevba
    uses) parses every record of the stream in Python, ~1 s for a 5 MB workbook."""
    count, pos, end = 0, 0, len(workbook)
    while pos + 4 <= end:
        rtype, size = struct.unpack_from("<HH", workbook, pos)
        body = workbook[pos + 4:pos + 4 + size]
        if rtype == 0x0085 and len(body) >= 6 and body[5] == 0x01:
            count += 1
        elif rtype == 0x000A:  # EOF of the globals substream: sheets follow
            break
        pos += 4 + size
    return count


def ooxml_macro_sheets(content_types: bytes) -> bool:
    """.xlsm/.xlsb with an Excel 4.0 macro sheet part (olevba needs XLMMacroDeobfuscator,
    which only reads files on disk, for these)."""
    return bool(_MACROSHEET_TYPES.search(content_types))


# DDE ---------------------------------------------------------------------------------------
_DDE_WORD = re.compile(rb"d\x00?d\x00?e", re.I)  # "DDE" in 8-bit or UTF-16 field text
_CSV_FORMULA = re.compile(rb"[=+\-@]")
_CSV_HINT_SPAN = 200  # characters between a formula's first sign and its '|'


def csv_dde_hint(data: bytes) -> bool:
    r"""Whether a cell could hold ``=cmd|...``: a '|' with '=', '+', '-' or '@' at most 200
    characters before it on the same line and no '|' between. The regex that said this
    (``[=+\-@][^\r\n|]{0,200}\|``) tried 200 characters from every sign: 1 MB of '-'
    took 2.3 s. Here each '|' looks back over the text since the one before, so every
    byte is looked at a bounded number of times."""
    prev = -1
    bar = data.find(b"|")
    while bar >= 0:
        lo = max(prev + 1, bar - _CSV_HINT_SPAN - 1)
        cr, lf = data.rfind(b"\r", lo, bar), data.rfind(b"\n", lo, bar)
        lo = max(lo, cr + 1, lf + 1)
        if _CSV_FORMULA.search(data, lo, bar):
            return True
        prev, bar = bar, data.find(b"|", bar + 1)
    return False


def dde_in_doc_streams(streams: list[bytes]) -> list[str]:
    """DDE fields in the streams of a Word 97-2003 document (msodde's field parser reads
    byte by byte, so it only runs on streams that spell "dde" somewhere)."""
    msodde = _libs().msodde
    found: list[str] = []
    for s in streams:
        if _DDE_WORD.search(s):
            found += msodde.process_doc_stream(io.BytesIO(s))
    return [f.strip() for f in found if f.strip()]


def dde_in_ooxml(parts: dict[str, bytes]) -> list[str]:
    """DDE in the Word field codes or Excel DDE links of OOXML parts (given already
    decompressed and admitted by the scan limits; msodde reads a package, so the parts that
    can hold DDE are repacked uncompressed)."""
    msodde = _libs().msodde
    word = {n: d for n, d in parts.items() if n.startswith("word/") and n.endswith(".xml")
            and (b"instrText" in d or b"fldSimple" in d)}
    excel = {n: d for n, d in parts.items() if "externallink" in n.lower()}
    found: list[str] = []
    if word:
        fields = msodde.process_docx(io.BytesIO(_pack(word)), msodde.FIELD_FILTER_DDE)
        found += [f for f in fields.splitlines() if f.strip()]
    if excel:
        ct = parts.get("[Content_Types].xml", b"")
        links = msodde.process_xlsx(io.BytesIO(_pack({**excel, "[Content_Types].xml": ct})))
        found += [f"DDE link {f}" for f in links.splitlines() if f.strip()]
    return found


def dde_in_csv(data: bytes) -> list[str]:
    """``=cmd|' /C calc'!A0`` in a CSV file, with msodde's cell pattern."""
    if not csv_dde_hint(data):
        return []
    msodde = _libs().msodde
    text = data.decode("utf-8", "replace")
    try:
        found, _ = msodde.process_csv_dialect(io.StringIO(text, newline=""),
                                              msodde.CSV_DELIMITERS)
    except Exception:  # noqa: BLE001 - csv.Sniffer gives up on odd files
        found = []
    if not found:
        found = [" ".join(m.groups()[:2]) for line in text.splitlines()
                 for cell in line.split(",")
                 if (m := msodde.CSV_DDE_FORMAT.match(cell.strip().strip('"')))]
    return found


# Control words and group braces, removed before looking for "dde" in an RTF: Word joins
# the text of a field's instruction across groups ({\\*\\fldinst {D}{\\b DE}AUTO ...}).
_RTF_NOISE = re.compile(rb"\\[a-zA-Z]{1,32}-?\d{0,10} ?|[{}\r\n]")


def dde_in_rtf(data: bytes) -> list[str]:
    """DDE fields of an RTF, with msodde's field parser (slow on dense control words: it
    only runs when the field text could spell "dde")."""
    if b"\\fldinst" not in data or not _DDE_WORD.search(_RTF_NOISE.sub(b"", data)):
        return []
    msodde = _libs().msodde
    fields = msodde.process_rtf(io.BytesIO(data), msodde.FIELD_FILTER_DDE)
    found = [f for f in fields.splitlines() if f.strip()]
    if found:
        return found
    # msodde reads only the first group's text: a field instruction split over groups
    # ({D}{DE}AUTO) is read here, 4 KB after each \fldinst (at most 1,000 of them).
    for i, m in enumerate(re.finditer(rb"\\fldinst", data)):
        text = _RTF_NOISE.sub(b"", data[m.end():m.end() + 4096]).decode("latin-1")
        if msodde.FIELD_DDE_REGEX.match(text):
            return [" ".join(text.split())[:200]]
        if i >= 1000:
            break
    return []


def _pack(parts: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return buf.getvalue()


# External relationships --------------------------------------------------------------------
_REMOTE = re.compile(r"^\s*(?:https?:|ftp:|file:|mhtml:|\\\\|//)", re.I)


def external_relationships(rels: dict[str, bytes]) -> list[tuple[str, str]]:
    """(relationship type, target) of a document's relationships that load something from
    outside when it opens: a remote template (attachedTemplate), a frame, an OLE object, a
    sub-document or an external workbook link pointing at http(s), ftp, file or a UNC path,
    and any ``mhtml:`` target (CVE-2021-40444). Hyperlinks (clicked, not loaded) are not."""
    hits = {n: d for n, d in rels.items() if b"External" in d}
    if not hits:
        return []
    oleobj, ooxml = _libs().oleobj, _libs().ooxml
    parser = ooxml.XmlParser(io.BytesIO(_pack(hits)))
    found = []
    for rtype, target in oleobj.find_external_relationships(parser):
        if target.lower().startswith("mhtml:") or (rtype != "hyperlink" and _REMOTE.match(
                target)):
            found.append((rtype, target))
    return found


# OLE objects -------------------------------------------------------------------------------
def ole_package_files(data: bytes, names: list[list[str]]) -> Iterator[tuple[str, bytes]]:
    """The files embedded as OLE Package objects (``\\x01Ole10Native``) in an OLE2 file
    (``names``: its stream paths) or in the embedded OLE objects of a PowerPoint 97-2003
    file, read with oleobj. oleobj's own entry point first tests every file for PowerPoint
    by reading all its streams (70 ms for a 7.6 MB workbook); only a .ppt goes there."""
    oleobj = _libs().oleobj
    if ["PowerPoint Document"] in names:
        sources = oleobj.find_ole("document", data)
    elif any(p[-1].lower() == "\x01ole10native" for p in names):
        sources = iter([olefile.OleFileIO(io.BytesIO(data))])
    else:
        return
    for ole in sources:
        if ole is None:
            continue
        for parts in ole.listdir():
            if parts[-1].lower() != "\x01ole10native":
                continue
            native = ole.openstream(parts).read()
            pkg = oleobj.OleNativeStream(native)
            if pkg.is_link or not pkg.data:
                continue
            yield filetypes.safe_name(pkg.filename or pkg.src_path or "object.bin"), bytes(pkg.data)


@dataclass(frozen=True)
class RtfObject:
    class_name: str
    is_ole: bool
    is_package: bool
    filename: str
    data: bytes  # the package's file, else the OLE object's data ("" when not OLE)


_RISKY_RTF_CLASSES = re.compile(r"^(?:Package|Equation\.\d|OLE2Link|htmlfile|Word\.Document"
                                r"|Forms\.|script)", re.I)


def rtf_risky_class(class_name: str) -> bool:
    """OLE classes that run something when an RTF opens or when clicked: Package (any
    file), Equation Editor (CVE-2017-11882 and kin), OLE2Link (CVE-2017-0199), htmlfile."""
    return bool(_RISKY_RTF_CLASSES.match(class_name or ""))


def rtf_objects(data: bytes) -> list[RtfObject]:
    """Objects (``\\objdata``) of an RTF document, with rtfobj."""
    if b"\\objdata" not in data:
        return []
    rtfobj = _libs().rtfobj
    parser = rtfobj.RtfObjParser(data)
    parser.parse()
    out = []
    for o in parser.objects:
        cls = o.class_name.decode("latin-1", "replace") if isinstance(
            o.class_name, bytes) else str(o.class_name or "")
        cls = cls.rstrip("\x00")
        if o.is_package:
            out.append(RtfObject(cls or "Package", True, True,
                                 filetypes.safe_name(o.filename or ""),
                                 bytes(o.olepkgdata or b"")))
        elif o.is_ole:
            out.append(RtfObject(cls, True, False, "", bytes(o.oledata or b"")))
        else:
            out.append(RtfObject(cls, False, False, "", b""))
    return out


# Encryption --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Encryption:
    encrypted: bool
    decrypted: bytes = b""  # the document opened with a default password
    detail: str = ""


def decrypt(data: bytes) -> Encryption:
    """Is this OLE2 file an encrypted Office document, and does a default password open it?"""
    import msoffcrypto
    from msoffcrypto import exceptions as mexc

    _libs()
    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        if not office.is_encrypted():
            return Encryption(False)
    except (mexc.FileFormatError, mexc.ParseError, NotImplementedError):
        return Encryption(False)  # not an Office format msoffcrypto knows (e.g. .msg)
    except Exception as e:  # noqa: BLE001 - broken encryption headers
        return Encryption(True, detail=f"unreadable encryption header ({type(e).__name__})")
    if getattr(office, "type", "") == "agile" and \
            office.info.get("spinValue", 0) > MAX_SPIN_COUNT:
        return Encryption(True, detail="key derivation too costly to try default passwords")
    for password in DEFAULT_PASSWORDS:
        try:
            if getattr(office, "type", "") in ("agile", "standard", "extensible"):
                office.load_key(password=password, verify_password=True)  # OOXML
            else:
                office.load_key(password=password)  # .doc/.xls/.ppt: always verified
            out = io.BytesIO()
            office.decrypt(out)
        except Exception:  # noqa: BLE001 - wrong password or unsupported cipher
            continue
        return Encryption(True, out.getvalue(), f"opened with the default password "
                          f"{password!r}")
    return Encryption(True, detail="password-protected")


# Children for the expander (content.open_ole / open_rtf) -----------------------------------
Children = tuple[list[tuple[str, bytes]], list[tuple[str, str]]]  # (name, data), (event, detail)


def ole_children(data: bytes) -> Children:
    """What an OLE2 file holds that must be judged on its own: the document decrypted with
    a default password, else the files of its OLE Package objects. An encrypted document no
    default password opens is an ``encrypted-document`` event."""
    with olefile.OleFileIO(io.BytesIO(data)) as ole:
        names = ole.listdir()
    if any([n] in names for n in _MAIN_STREAMS):  # only these formats can be encrypted
        enc = decrypt(data)
        if enc.encrypted:
            if enc.decrypted:
                return [("decrypted", enc.decrypted)], []
            return [], [("encrypted-document", enc.detail)]
    children = list(ole_package_files(data, names))
    if outlook_msg.is_msg(names):
        cap = outlook_msg.MAX_ATTACHMENTS
        found = list(itertools.islice(outlook_msg.attachments(data), cap + 1))
        if len(found) > cap:
            return children + found[:cap], [
                ("too-many", f"more than {cap} attachments in an Outlook message")]
        children += found
    return children, []


# The main stream of each Office format msoffcrypto-tool knows (and of encrypted OOXML).
_MAIN_STREAMS = ("WordDocument", "Workbook", "Book", "PowerPoint Document", "EncryptedPackage")


def rtf_children(data: bytes) -> Children:
    """Each ``\\objdata`` object of an RTF is an ``rtf-object`` event (its OLE class as the
    detail); a Package's file and an OLE object's data are children to judge."""
    if b"\\objdata" not in data:
        return [], []
    if len(data) > MAX_RTF_PARSE:
        return [], [("rtf-object", "not parsed: RTF too large")]
    children: list[tuple[str, bytes]] = []
    events: list[tuple[str, str]] = []
    for i, obj in enumerate(rtf_objects(data), 1):
        events.append(("rtf-object", obj.class_name))
        if obj.is_package and obj.data:
            children.append((obj.filename, obj.data))
        elif obj.is_ole and obj.data:
            children.append((f"object{i}.bin", obj.data))
    return children, events
