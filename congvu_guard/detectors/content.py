"""Every file a message carries: its MIME parts, and recursively what their archives and
attached messages hold, with limits on depth, member count, expansion ratio and bytes.

The result is computed once per message (by the engine) and shared by every detector.
What could not be looked into (an encrypted archive, a zip bomb, nesting past the limit,
an unreadable archive) is recorded as an :class:`Event`, which becomes a finding.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property

from ..message import ParsedMessage, parse_message
from . import carriers, filetypes, pdf

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ScanLimits:
    max_depth: int = 10  # archives and attached messages inside each other
    max_members: int = 1000  # files taken out of archives, per message
    max_total_bytes: int = 256 * MIB  # bytes taken out of archives, per message
    max_member_bytes: int = 64 * MIB  # one member
    max_ratio: int = 100  # expanded / compressed size beyond which it is a bomb


@dataclass(eq=False)
class FileNode:
    path: str  # "2/1/invoice.zip:doc.js"
    name: str
    declared_type: str
    data: bytes
    depth: int  # 0 for a MIME part, 1 inside one archive, ...
    container: str = ""  # kind of the archive it came from

    @cached_property
    def kind(self) -> str:
        # A message's own unnamed body text is not a file anyone runs, nor is a part of an
        # OOXML document (a .docx quoting a PowerShell command is a document: issue 13).
        return filetypes.sniff(self.data, self.name, scripts=(
            bool(self.name) or self.depth > 0) and self.container != "ooxml")

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True)
class Event:
    path: str
    event: str  # encrypted, bomb, too-deep, too-many, unreadable, not-extracted
    detail: str


@dataclass
class Content:
    files: list[FileNode] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    expanded_bytes: int = 0

    @property
    def bytes_scanned(self) -> int:
        return sum(len(f.data) for f in self.files)


_PASSWORD_HINT = re.compile(
    rb"(?:password|passcode|pwd|m\xe1\xba\xadt\s*kh\xe1\xba\xa9u|mat\s*khau|m\xe3\s*gi\xe1"
    rb"\xba\xa3i\s*n\xc3\xa9n|mk)\s*+(?:(?:is|l\xc3\xa0|la)\s*+)?(?:[:=]\s*+)?[\"']?\S{3,}",
    re.I)  # possessive \s*+: "password" and 2,000 spaces took 35 s with three \s* in a row


class _Expander:
    def __init__(self, limits: ScanLimits, content: Content) -> None:
        self.limits = limits
        self.content = content
        self.members = 0
        self.budget = limits.max_total_bytes
        self.pdf_seconds = pdf.MESSAGE_TIME_LIMIT  # time left for reading this message's PDFs

    def event(self, path: str, event: str, detail: str) -> None:
        self.content.events.append(Event(path, event, detail))

    def add(self, node: FileNode) -> None:
        self.content.files.append(node)
        if hasattr(self, f"open_{node.kind}"):
            if node.depth >= self.limits.max_depth:
                self.event(node.path, "too-deep",
                           f"nesting deeper than {self.limits.max_depth} not inspected")
                return
            try:
                self.open(node)
            except Exception as e:  # noqa: BLE001 - hostile input to third-party parsers
                # zipfile, tarfile, gzip, lzma, py7zr, rarfile and tnefparse each raise their
                # own errors on damaged data (found by tests/test_fuzz.py): whatever they
                # raise, the archive is reported as unreadable, never as a crash.
                self.event(node.path, "unreadable", f"{node.kind}: {type(e).__name__}")

    def take(self, path: str, size: int, compressed: int) -> bool:
        """May a member of ``size`` bytes be expanded? Records a bomb or a limit if not."""
        lim = self.limits
        if self.members >= lim.max_members:
            self.event(path, "too-many", f"more than {lim.max_members} archive members")
            return False
        if size > lim.max_member_bytes or size > self.budget:
            self.event(path, "bomb", f"member of {size} bytes exceeds the expansion limit")
            return False
        if compressed > 0 and size > MIB and size / compressed > lim.max_ratio:
            self.event(path, "bomb", f"expansion ratio {size // compressed}:1")
            return False
        self.members += 1
        self.budget -= size
        self.content.expanded_bytes += size
        return True

    def child(self, parent: FileNode, name: str, data: bytes) -> FileNode:
        return FileNode(f"{parent.path}:{name}", name, "", data, parent.depth + 1, parent.kind)

    def open(self, node: FileNode) -> None:
        getattr(self, f"open_{node.kind}")(node)

    def open_email(self, node: FileNode) -> None:
        inner = parse_message(node.data)
        for part in inner.parts:
            sub = part.path.replace(".", "/") + (f"/{part.filename}" if part.filename else "")
            self.add(FileNode(f"{node.path}:{sub}", part.filename, part.content_type,
                              part.payload, node.depth + 1, "email"))

    def open_ooxml(self, node: FileNode) -> None:
        self.open_zip(node)  # an OOXML document is a zip package: scan its parts too

    def open_ole(self, node: FileNode) -> None:
        """Office 97-2003 files: OLE Package objects, and what a default password opens."""
        from . import office

        children, events = office.ole_children(node.data)
        for event, detail in events:
            self.event(node.path, event, detail)
        for name, data in children:
            if self.take(f"{node.path}:{name}", len(data), len(node.data)):
                self.add(self.child(node, name, data))

    def open_rtf(self, node: FileNode) -> None:
        """RTF: every \\objdata object is an event; OLE and Package contents are judged."""
        from . import office

        children, events = office.rtf_children(node.data)
        for event, detail in events:
            self.event(node.path, event, detail)
        for name, data in children:
            if self.take(f"{node.path}:{name}", len(data), len(node.data)):
                self.add(self.child(node, name, data))

    def open_zip(self, node: FileNode) -> None:
        with zipfile.ZipFile(io.BytesIO(node.data)) as z:
            infos = z.infolist()
            if sum(i.file_size for i in infos) > self.limits.max_total_bytes:
                self.event(node.path, "bomb", "declared expanded size "
                           f"{sum(i.file_size for i in infos)} bytes")
                return
            for info in infos:
                if info.is_dir():
                    continue
                path = f"{node.path}:{info.filename}"
                if info.flag_bits & 0x1:
                    self.event(path, "encrypted", "password-protected zip member")
                    self.content.files.append(FileNode(path, info.filename, "", b"",
                                                       node.depth + 1, "zip"))
                    continue
                if not self.take(path, info.file_size, info.compress_size):
                    continue
                with z.open(info) as f:
                    data = f.read(self.limits.max_member_bytes + 1)
                self.add(self.child(node, info.filename, data))

    def open_gzip(self, node: FileNode) -> None:
        out = bytearray()
        with gzip.GzipFile(fileobj=io.BytesIO(node.data)) as g:
            while len(out) <= self.limits.max_member_bytes:
                chunk = g.read(MIB)
                if not chunk:
                    break
                out += chunk
                if len(out) > MIB and len(out) / max(len(node.data), 1) > self.limits.max_ratio:
                    self.event(node.path, "bomb",
                               f"expansion ratio over {self.limits.max_ratio}:1")
                    return
        name = node.name[:-3] if node.name.lower().endswith(".gz") else node.name + ".out"
        if self.take(f"{node.path}:{name}", len(out), len(node.data)):
            self.add(self.child(node, name, bytes(out)))

    def open_tar(self, node: FileNode) -> None:
        with tarfile.open(fileobj=io.BytesIO(node.data), mode="r:*") as t:
            for m in t.getmembers():
                if not m.isfile():
                    continue
                path = f"{node.path}:{m.name}"
                if not self.take(path, m.size, 0):
                    continue
                f = t.extractfile(m)
                if f is not None:
                    self.add(self.child(node, m.name, f.read(self.limits.max_member_bytes)))

    def open_7z(self, node: FileNode) -> None:
        import py7zr
        import py7zr.io

        try:
            z = py7zr.SevenZipFile(io.BytesIO(node.data))
        except py7zr.exceptions.PasswordRequired:
            self.event(node.path, "encrypted", "password-protected 7z (encrypted headers)")
            return
        except py7zr.exceptions.Bad7zFile as e:
            raise ValueError(str(e)) from e
        with z:
            if z.needs_password():
                self.event(node.path, "encrypted", "password-protected 7z")
                return
            wanted = []
            for info in z.list():
                if info.is_directory:
                    continue
                path = f"{node.path}:{info.filename}"
                if self.take(path, info.uncompressed or 0, info.compressed or 0):
                    wanted.append(info.filename)
            if not wanted:
                return
            factory = py7zr.io.BytesIOFactory(self.limits.max_member_bytes)
            z.extract(targets=wanted, factory=factory)
            for name in wanted:
                try:
                    data = factory.get(name).read()
                except KeyError:
                    continue
                self.add(self.child(node, name, data))

    def open_tnef(self, node: FileNode) -> None:
        """winmail.dat: Outlook's wrapper around attachments."""
        from tnefparse.tnef import TNEF

        for i, att in enumerate(TNEF(node.data, do_checksum=False).attachments, 1):
            name = att.long_filename() or (att.name.decode("latin-1", "replace")
                                           if isinstance(att.name, bytes) else str(att.name))
            data = att.data if isinstance(att.data, bytes) else b""
            path = f"{node.path}:{name or f'attachment{i}'}"
            if self.take(path, len(data), 0):
                self.add(self.child(node, name or f"attachment{i}", data))

    def open_rar(self, node: FileNode) -> None:
        import rarfile

        try:
            r = rarfile.RarFile(io.BytesIO(node.data))
        except rarfile.PasswordRequired:
            self.event(node.path, "encrypted", "password-protected rar (encrypted headers)")
            return
        except rarfile.Error as e:
            raise ValueError(str(e)) from e
        with r:
            infos = [i for i in r.infolist() if not i.is_dir()]
            if r.needs_password() or any(i.needs_password() for i in infos):
                self.event(node.path, "encrypted", "password-protected rar")
                for info in infos:  # names are still judged
                    self.content.files.append(FileNode(f"{node.path}:{info.filename}",
                                                       info.filename, "", b"",
                                                       node.depth + 1, "rar"))
                return
        # rarfile lists (and finds encryption); libarchive decompresses RAR 4 and RAR 5
        # without the non-free unrar.
        self._add_all(node, carriers.libarchive_files(self, node.path, node.data, "all", 1))

    def _add_all(self, node: FileNode, files: Iterator[tuple[str, bytes]]) -> None:
        for name, data in files:
            self.add(self.child(node, name, data))

    def open_cab(self, node: FileNode) -> None:
        # Compressed folders: skipping a member decompresses it, so stop at a refusal.
        self._add_all(node, carriers.libarchive_files(self, node.path, node.data, "cab", 1))

    def open_jar(self, node: FileNode) -> None:
        self.open_zip(node)  # a Java archive is a zip: its members are judged too

    def open_onenote(self, node: FileNode) -> None:
        self._add_all(node, carriers.onenote_files(self, node.path, node.data))

    def open_iso(self, node: FileNode) -> None:
        self._add_all(node, carriers.iso_files(self, node.path, node.data))

    def open_img(self, node: FileNode) -> None:
        self._open_disk(node, memoryview(node.data))

    def open_vhd(self, node: FileNode) -> None:
        disk = carriers.vhd_disk(node.path, node.data, self)
        if disk is not None:
            self._open_disk(node, disk)

    def open_vhdx(self, node: FileNode) -> None:
        disk = carriers.vhdx_disk(node.path, node.data, self)
        if disk is not None:
            self._open_disk(node, disk)

    def _open_disk(self, node: FileNode, disk: carriers.Disk) -> None:
        for prefix, vol in carriers.volumes(self, node.path, disk):
            self._add_all(node, carriers.fat_files(self, node.path, vol, prefix))

    def open_pdf(self, node: FileNode) -> None:
        """Files embedded in a PDF (/EmbeddedFile), judged like any attachment; a PDF that
        needs a password is encrypted content like a zip's (the password-in-body note)."""
        t0 = time.monotonic()
        report = pdf.analyse_node(node, t0 + self.pdf_seconds)
        self.pdf_seconds -= time.monotonic() - t0
        if report.needs_password:
            self.event(node.path, "encrypted", "password-protected PDF")
        for emb in report.embedded:
            path = f"{node.path}:{emb.name}"
            try:
                data = pdf.decode(emb.raw, emb.filters,
                                  min(self.limits.max_member_bytes, self.budget),
                                  self.limits.max_ratio)
            except pdf.Bomb as e:
                self.event(path, "bomb", f"PDF embedded file {e}")
                continue
            except ValueError as e:
                self.event(path, "unreadable", f"PDF embedded file: {e}")
                continue
            if self.take(path, len(data), len(emb.raw)):
                self.add(self.child(node, emb.name, data))


def expand(parsed: ParsedMessage, limits: ScanLimits | None = None) -> Content:
    content = Content()
    ex = _Expander(limits or ScanLimits(), content)
    for part in parsed.parts:
        path = part.path.replace(".", "/") + (f"/{part.filename}" if part.filename else "")
        ex.add(FileNode(path, part.filename, part.content_type, part.payload, 0))
    return content


def password_in_body(parsed: ParsedMessage) -> bool:
    """An encrypted archive with its password in the message text: a common lure."""
    return any(_PASSWORD_HINT.search(p.payload[:200_000]) for p in parsed.parts
               if p.content_type.startswith("text/") and not p.is_attachment)
