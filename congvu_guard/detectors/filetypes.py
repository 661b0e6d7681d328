"""File type by content, not by name, and the risky traits of a few formats.

Everything here is a pure function of bytes (and a declared name); nothing raises on
hostile input.
"""

from __future__ import annotations

import io
import re
import zipfile

from . import carriers as _carriers

# Kinds -----------------------------------------------------------------------------------
EXECUTABLES = {"pe", "elf", "macho", "msi", "jar"}
SCRIPTS = {"js", "vbs", "powershell", "hta", "batch", "wsf"}
ARCHIVES = {"zip", "gzip", "tar", "7z", "rar", "tnef", *_carriers.STREAMS}
DISK_IMAGES = {"iso", "img", "vhd", "vhdx"}
OFFICE = {"ole", "ooxml"}

# Extensions that say what a file is meant to be, grouped by kind family.
_EXT_FAMILY = {
    **dict.fromkeys(("exe", "dll", "scr", "com", "cpl", "sys", "pif"), "pe"),
    **dict.fromkeys(("msi",), "msi"),
    **dict.fromkeys(("js", "jse", "mjs"), "js"),
    **dict.fromkeys(("vbs", "vbe"), "vbs"),
    **dict.fromkeys(("ps1", "psm1"), "powershell"),
    **dict.fromkeys(("hta",), "hta"),
    **dict.fromkeys(("bat", "cmd"), "batch"),
    **dict.fromkeys(("wsf",), "wsf"),
    **dict.fromkeys(("lnk",), "lnk"),
    **dict.fromkeys(("iso",), "iso"),
    **dict.fromkeys(("img",), "img"),
    **dict.fromkeys(("vhd",), "vhd"),
    **dict.fromkeys(("vhdx",), "vhdx"),
    **dict.fromkeys(("pdf",), "pdf"),
    **dict.fromkeys(("doc", "xls", "ppt", "msg"), "ole"),
    **dict.fromkeys(("docx", "xlsx", "pptx", "docm", "xlsm", "pptm", "dotm", "xlam"), "ooxml"),
    **dict.fromkeys(("zip",), "zip"),
    **dict.fromkeys(("gz", "tgz"), "gzip"),
    **dict.fromkeys(("tar",), "tar"),
    **dict.fromkeys(("7z",), "7z"),
    **dict.fromkeys(("rar",), "rar"),
    **dict.fromkeys(("htm", "html", "shtml", "xhtml"), "html"),
    **dict.fromkeys(("txt", "csv", "log"), "text"),
    **dict.fromkeys(("jpg", "jpeg"), "jpeg"),
    **dict.fromkeys(("png",), "png"),
    **dict.fromkeys(("gif",), "gif"),
    **dict.fromkeys(("eml",), "email"),
}
_EXT_FAMILY.update(_carriers.EXT_KINDS)  # OneNote, CHM, JAR, shell links (carriers.py)
# Document-like extensions people trust; a file named so must not be an executable.
_DOCUMENT_EXTS = {"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "jpg", "jpeg",
                  "png", "gif", "odt", "ods", "rtf", "csv", "zip", "rar", "7z"}
_RISKY_LAST_EXTS = set(_EXT_FAMILY) - {"pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx",
                                       "txt", "csv", "log", "jpg", "jpeg", "png", "gif", "eml",
                                       "zip", "gz", "tgz", "tar", "7z", "rar", "msg", "htm",
                                       "html", "shtml", "xhtml"}
BIDI_CONTROLS = {"\u202e", "\u202d", "\u202a", "\u202b", "\u2066", "\u2067", "\u2068", "\u200f"}

# (kind, literal words one of which must appear, pattern): the patterns run on the
# lower-cased head of the file and only when a word is there, which keeps the common case
# (no script at all) to a few substring searches in C.
class _Then:
    """``first`` and, somewhere after it, ``then``: two linear searches, where one regex
    ``first.*then`` is quadratic in the number of ``first`` matches when ``then`` is absent
    (a file of many "<job>" tags)."""

    def __init__(self, first: bytes, then: bytes) -> None:
        self.first = re.compile(first)
        self.then = re.compile(then)

    def search(self, data: bytes) -> bool:
        m = self.first.search(data)
        return m is not None and self.then.search(data, m.end()) is not None


_SCRIPT_PATTERNS: tuple[tuple[str, tuple[bytes, ...], re.Pattern[bytes] | _Then], ...] = (
    ("hta", (b"hta:application",), re.compile(rb"<\s*hta:application")),
    ("wsf", (b"job",), _Then(rb"<\s*job\b[^>]*>", rb"<\s*script\s+language")),
    ("powershell",
     (b"invoke-expression", b"iex", b"new-object", b"downloadstring", b"-encodedcommand",
      b"start-process", b"frombase64string"),
     re.compile(
         rb"(?:invoke-expression|\biex\b|new-object\s+net\.webclient|downloadstring|"
         rb"-encodedcommand|start-process|\[system\.convert\]::frombase64string)")),
    # [ \t]* after ^, never \s*: under re.M, \s* runs over every following line break from
    # each line start (quadratic: "echo" and 65,000 newlines took 69 s, issue 14).
    ("vbs", (b"createobject", b"wscript.shell"), re.compile(
        rb"(?:createobject\s*\(\s*\"(?:wscript|scripting|msxml2|adodb)|wscript\.shell|"
        rb"^[ \t]*(?:dim|set)[ \t]+\w+[ \t]*=[ \t]*createobject)", re.M)),
    ("js", (b"activexobject", b"createobject", b"eval", b"fromcharcode", b"unescape"),
     re.compile(rb"(?:new\s+activexobject|wscript\.createobject|\beval\s*\(|"
                rb"string\.fromcharcode|\bunescape\s*\()")),
    ("batch", (b"echo", b"powershell", b"cmd"),
     re.compile(rb"^[ \t]*@?echo[ \t]+off\b|^[ \t]*(?:powershell|cmd)(?:\.exe)?[ \t]+/c\b",
                re.M)),
)


def extension(name: str) -> str:
    # Windows drops the dots and spaces a name ends with, in any mix: "hoadon.js . ." is
    # saved and run as hoadon.js.
    base = name.rsplit("/", 1)[-1].rsplit("\\", 1)[-1].strip().rstrip(". ").lower()
    return base.rsplit(".", 1)[1] if "." in base else ""


def safe_name(name: str, default: str = "object.bin") -> str:
    """The last component of an embedded file's Windows path (what a user would save), at
    most 200 characters; ``default`` when nothing is left."""
    name = str(name).replace("\x00", "").rsplit("\\", 1)[-1].rsplit("/", 1)[-1].strip()
    return name[:200] or default


def ext_kind(name: str) -> str:
    return _EXT_FAMILY.get(extension(name), "")


_COMPRESSION_EXTS = {"gz", "xz", "bz2", "z", "lz", "lzma", "zst", "zip", "7z", "rar", "tgz"}


def dangerous_name(name: str) -> str:
    """The kind a file's name asks Windows to run it as ("" when harmless): its extension,
    or the one before a compression extension (``report.scr.xz``)."""
    kind = ext_kind(name)
    if kind in EXECUTABLES | SCRIPTS | DISK_IMAGES | {"lnk"}:
        return kind
    base = name.rsplit("/", 1)[-1].strip().lower().split(".")
    if len(base) >= 3 and base[-1] in _COMPRESSION_EXTS:
        inner = _EXT_FAMILY.get(base[-2], "")
        if inner in EXECUTABLES | SCRIPTS | {"lnk"}:
            return inner
    return ""


_TEXT_BYTES = bytes([9, 10, 13, *range(32, 127), *range(128, 256)])


def _is_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    binary = len(head.translate(None, _TEXT_BYTES))  # bytes outside the text set
    return binary / len(head) < 0.05


def sniff(data: bytes, name: str = "", scripts: bool = True) -> str:
    """The kind of a file judged by its content (magic numbers, then text patterns).

    ``scripts=False`` skips the script patterns (for a message's own body text, which is
    never run: it saves most of the work on ordinary mail)."""
    head = data[:4096]
    if carried := _carriers.binary_kind(head):
        return carried
    if head.startswith(b"MZ") and _pe_signature(data):
        return "pe"
    if head.startswith(b"\x7fELF"):
        return "elf"
    if head[:4] in (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                    b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe"):
        return "macho"
    if head.startswith(b"L\x00\x00\x00\x01\x14\x02\x00"):
        return "lnk"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "msi" if extension(name) == "msi" else "ole"
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(data)
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if stream := _carriers.stream_kind(head, extension(name)):
        return stream
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return "7z"
    if head.startswith((b"Rar!\x1a\x07\x00", b"Rar!\x1a\x07\x01\x00")):
        return "rar"
    if len(data) > 262 and data[257:262] == b"ustar":
        return "tar"
    if len(data) > 0x8005 and data[0x8001:0x8006] == b"CD001":
        return "iso"
    if _carriers.udf_image(data):
        return "iso"
    if head.startswith(b"vhdxfile"):
        return "vhdx"
    if data[-512:].startswith(b"conectix") or head.startswith(b"conectix"):
        return "vhd"
    if _carriers.fat_image(head):
        return "img"
    if b"%PDF-" in head[:1024]:
        # A PDF after some junk (readers accept it), checked only after the archive magics:
        # a stored zip or rar whose first member is a PDF is an archive, not a PDF.
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    # Word opens as RTF whatever starts with "{\rt": exploit documents (CVE-2017-11882
    # and its RTF weaponisers) write "{\rtvpn", "{\rt1" and the like to slip past
    # filters that look for "{\rtf1".
    if head.startswith(b"{\\rt"):
        return "rtf"
    if head.startswith(b"\x78\x9f\x3e\x22"):
        return "tnef"
    if _zip_trailer(data):
        return "zip"
    if _is_text(head):
        lowered = head.lower()
        if carried := _carriers.text_kind(lowered):
            return carried
        # A web page is HTML before anything else (issue 13 point 4): its inline script
        # (String.fromCharCode, eval) runs in a browser sandbox, not in Windows Script Host.
        # An HTA is the exception: it is HTML that runs with the user's rights.
        if ext_kind(name) in ("html", "") and (b"<html" in lowered or b"<!doctype html" in
                                               lowered) and b"hta:application" not in lowered:
            return "html"
        if scripts:
            low = data[:65536].lower()
            for kind, words, pattern in _SCRIPT_PATTERNS:
                if any(w in low for w in words) and pattern.search(low):
                    return kind
        if b"<html" in lowered or b"<!doctype html" in lowered or b"<script" in lowered:
            return "html"
        # Linear even where searched (the walk in tests/test_linear_patterns.py): a run of
        # name characters is tried from its start only, and taken whole.
        if re.match(rb"(?<![\w-])(?:[\w-]++:[^\r\n]*+\r?\n)+", head) and \
                b"\nfrom:" in b"\n" + lowered:
            return "email"
        return "text"
    if ext_kind(name) in ("img",) and len(data) % 512 == 0:
        return "img"
    return "binary"


def _pe_signature(data: bytes) -> bool:
    if len(data) < 0x40:
        return len(data) >= 2  # a truncated MZ stub still is one
    offset = int.from_bytes(data[0x3C:0x40], "little")
    return data[offset:offset + 4] == b"PE\x00\x00" if offset < len(data) - 4 else True


def _zip_trailer(data: bytes) -> bool:
    """A zip whose start is damaged or prefixed, with its end of central directory intact
    (exactly at the end, comment included): 7-Zip and Windows Explorer open it by that
    record, so the scanner must too (issue 14: a damaged start hid every member)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    return end >= 0 and end + 22 <= len(data) and \
        end + 22 + int.from_bytes(data[end + 20:end + 22], "little") == len(data)


def _zip_kind(data: bytes) -> str:
    """"ooxml" (an Office package), "jar" (a JAR manifest) or "zip", from one read of the
    central directory. The JAR test used to search every byte for the manifest's name
    first: 1.8 ms for a 5 MB zip on every message (issue 17)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            names = z.namelist()
    except Exception:  # noqa: BLE001 - zipfile on hostile bytes raises many kinds of error
        return "zip"
    if "[Content_Types].xml" in names[:2000]:
        return "ooxml"
    return "jar" if "META-INF/MANIFEST.MF" in names[:5000] else "zip"


# Traits ----------------------------------------------------------------------------------
_AUTOEXEC = re.compile(
    rb"(?:Auto_?Open|AutoExec|AutoClose|Document_Open|DocumentOpen|Workbook_Open|"
    rb"Document_Close|Auto_Close)", re.I)


def ole_macros(data: bytes) -> tuple[bool, bool]:
    """(has VBA macros, has an auto-exec entry point) for an OLE2 document."""
    import olefile

    try:
        with olefile.OleFileIO(io.BytesIO(data)) as ole:
            streams = ["/".join(s) for s in ole.listdir(streams=True, storages=False)]
            has_vba = any(s.lower().endswith(("_vba_project", "vba/dir")) or
                          s.lower().startswith(("macros/", "_vba_project_cur/"))
                          for s in streams)
            autoexec = False
            for s in streams if has_vba else []:
                if "vba" in s.lower() and not autoexec:
                    autoexec = bool(_AUTOEXEC.search(ole.openstream(s).read(2_000_000)))
            return has_vba, autoexec
    except Exception:  # noqa: BLE001 - olefile on hostile bytes raises many kinds of error
        return False, False


def ooxml_macros(data: bytes) -> tuple[bool, bool]:
    """(has vbaProject.bin, auto-exec entry point) for an OOXML document."""
    vba: list[str] = []
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            vba = [n for n in z.namelist() if n.lower().endswith("vbaproject.bin")]
            if not vba:
                return False, False
            info = z.getinfo(vba[0])
            if info.file_size > 20_000_000:
                return True, False
            blob = z.read(vba[0])
    except Exception:  # noqa: BLE001 - zipfile/zlib on hostile bytes raise many errors
        return bool(vba), False
    return True, bool(_AUTOEXEC.search(blob)) or ole_macros(blob)[1]


_SMUGGLING = (
    re.compile(rb"msSaveOrOpenBlob|msSaveBlob", re.I),
    re.compile(rb"new\s+Blob\s*\(", re.I),
    re.compile(rb"\.download\s*=|\sdownload\s*=\s*[\"'][^\"']+\.(?:zip|iso|img|exe|js|hta)",
               re.I),
    re.compile(rb"URL\.createObjectURL", re.I),
    re.compile(rb"atob\s*\(\s*[\"'][A-Za-z0-9+/=]{2000,}", re.I),
    re.compile(rb"href\s*=\s*[\"']data:application/(?:octet-stream|zip|x-msdownload)", re.I),
)


def html_smuggling(data: bytes) -> list[str]:
    """Markers of HTML smuggling: a page that assembles and saves a file by itself."""
    hits = [p.pattern.decode("ascii", "replace")[:30] for p in _SMUGGLING if p.search(data)]
    return hits if len(hits) >= 2 else []


def name_lies(name: str, kind: str, declared_type: str = "") -> list[str]:
    """Ways a file's declared name or type misrepresents its content."""
    problems = []
    if any(c in name for c in BIDI_CONTROLS):
        problems.append("bidirectional override character in the name")
    base = name.rsplit("/", 1)[-1].strip().lower()
    parts = base.split(".")
    if len(parts) >= 3 and parts[-2] in _DOCUMENT_EXTS and parts[-1] in _RISKY_LAST_EXTS:
        problems.append(f"double extension .{parts[-2]}.{parts[-1]}")
    elif re.search(r"\.(?:pdf|docx?|xlsx?|jpe?g)\s{3,}\.\w+$", base):
        problems.append("extension hidden behind spaces")
    claimed = ext_kind(name)
    if claimed and kind in EXECUTABLES | SCRIPTS | {"lnk"} and claimed not in (
            EXECUTABLES | SCRIPTS | {"lnk", "text", "html"}):
        problems.append(f"named .{extension(name)} but is {kind}")
    if declared_type.startswith(("image/", "application/pdf", "text/plain")) and \
            kind in EXECUTABLES:
        problems.append(f"declared {declared_type} but is {kind}")
    return problems
