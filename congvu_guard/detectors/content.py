"""Every file a message carries: its MIME parts, and recursively what their archives and
attached messages hold, with limits on depth, member count, expansion ratio and bytes.

The result is computed once per message (by the engine) and shared by every detector.
What could not be looked into (an encrypted archive, a zip bomb, nesting past the limit,
an unreadable archive) is recorded as an :class:`Event`, which becomes a finding.
"""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..config import ScanConfig
from ..message import ParsedMessage, ParseLimits, parse_message
from ..verdict_cache import ENTRY_OVERHEAD, VerdictCache
from . import carriers, filetypes, pdf, ziplist
from .budget import BudgetExhausted, ScanBudget

MIB = 1024 * 1024


_SCAN = ScanConfig()  # the defaults are the configuration's, spelled once (issue 20)
MAX_MEMBER_BYTES = 64 * MIB  # one member, whatever [scan] max_expanded_bytes allows


@dataclass(frozen=True, slots=True)
class ScanLimits:
    max_depth: int = _SCAN.max_depth  # archives and attached messages inside each other
    max_members: int = _SCAN.max_members  # files taken out of archives, per message
    max_total_bytes: int = _SCAN.max_expanded_bytes  # bytes taken out of archives, per message
    max_member_bytes: int = MAX_MEMBER_BYTES  # one member
    max_ratio: int = _SCAN.max_ratio  # expanded / compressed size beyond which it is a bomb


@dataclass(eq=False)
class FileNode:
    path: str  # "2/1/invoice.zip:doc.js"
    name: str
    declared_type: str
    data: bytes
    depth: int  # 0 for a MIME part, 1 inside one archive, ...
    container: str = ""  # kind of the archive it came from
    # Nesting of every kind (MIME, attached messages, archives, documents) from the top of
    # the message: what the one depth limit ([scan] max_depth) is checked against.
    level: int = 0
    also_named: tuple[str, ...] = ()  # other names its MIME headers give (Part.other_names)
    # Computed once, on first use. Not functools.cached_property: on Python 3.11 its one
    # lock per attribute is shared by every FileNode of every thread, so one thread hashing
    # a large file held up every other milter thread's lookups (py-spy on bench/throughput:
    # 8 % of the milter's samples waiting in cached_property.__get__). Two threads that
    # compute the same value at once store the same result.
    _kind: str | None = field(default=None, init=False, repr=False)
    _sha256: str | None = field(default=None, init=False, repr=False)

    @property
    def kind(self) -> str:
        if self._kind is None:
            # A message's own unnamed body text is not a file anyone runs, nor is a part of
            # an OOXML document (a .docx quoting a PowerShell command is a document: issue 13).
            self._kind = filetypes.sniff(self.data, self.name, scripts=(
                bool(self.name) or self.depth > 0) and self.container != "ooxml")
        return self._kind

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = hashlib.sha256(self.data).hexdigest()
        return self._sha256


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
    budget: ScanBudget | None = None  # the message's time and byte budget (see budget.py)

    @property
    def bytes_scanned(self) -> int:
        return sum(len(f.data) for f in self.files)


@dataclass(frozen=True, slots=True)
class Expansion:
    """What opening one container added to a message (issue 17): the files (the whole
    subtree, in order) and events, and what it drew from the message's limits."""

    origin: str  # the container's path when it was opened: the prefix of every path below
    report: pdf.PdfReport | None  # the container's own reading, when it is a PDF
    files: tuple[FileNode, ...]
    events: tuple[Event, ...]
    members: int
    names: int
    taken: int  # bytes taken against [scan] max_expanded_bytes
    expanded: int
    charged: int  # bytes charged to the scan budget

    @property
    def cost(self) -> int:
        return sum(len(f.data) + ENTRY_OVERHEAD for f in self.files)


# Expansions remembered per engine (its limits), by the container's bytes and everything
# else its opening depends on. The same 5 MB zip of Office files sent to many recipients
# was opened, its members decompressed with their CRCs, sniffed and hashed for every
# message: 17 of the 42 ms the bench/throughput zip mix costs in-process. Replayed, it
# costs the copy of its FileNodes. The nodes keep their data, hence the byte bound.
ExpansionCache = VerdictCache[Expansion]
EXPANSION_CACHE_BYTES = 48 * MIB
EXPANSION_CACHE_ENTRIES = 256
# A subtree with one of these was shaped by what was left of the message's limits or
# clock, not only by its bytes: it is not remembered.
_CIRCUMSTANTIAL = ("too-many", "bomb", "budget")


def expansion_cache() -> ExpansionCache:
    return VerdictCache(EXPANSION_CACHE_ENTRIES, EXPANSION_CACHE_BYTES)


def _expansion_key(node: FileNode) -> tuple[object, ...]:
    return (node.sha256, node.kind, node.name, node.declared_type, node.depth, node.level,
            node.container)


_PASSWORD_HINT = re.compile(
    rb"(?:password|passcode|pwd|m\xe1\xba\xadt\s*kh\xe1\xba\xa9u|mat\s*khau|m\xe3\s*gi\xe1"
    rb"\xba\xa3i\s*n\xc3\xa9n|mk)\s*+(?:(?:is|l\xc3\xa0|la)\s*+)?(?:[:=]\s*+)?[\"']?\S{3,}",
    re.I)  # possessive \s*+: "password" and 2,000 spaces took 35 s with three \s* in a row


class _Expander:
    def __init__(self, limits: ScanLimits, content: Content,
                 scan_budget: ScanBudget | None = None,
                 cache: ExpansionCache | None = None) -> None:
        self.limits = limits
        self.cache = cache
        self.content = content
        self.members = 0
        self.names = 0  # members judged by name only (see named)
        self.too_many = False
        self.budget = limits.max_total_bytes
        self.scan_budget = scan_budget or ScanBudget(max_bytes=limits.max_total_bytes)
        content.budget = self.scan_budget
        self.pdf_seconds = pdf.MESSAGE_TIME_LIMIT  # time left for reading this message's PDFs

    def event(self, path: str, event: str, detail: str) -> None:
        self.content.events.append(Event(path, event, detail))

    def add(self, node: FileNode) -> None:
        """Record a file and open it when its kind has an ``open_<kind>`` method."""
        self.content.files.append(node)
        opener = getattr(self, f"open_{node.kind}", None)
        if opener is None:
            if node.data and node.kind == "binary" and (
                    ext := filetypes.extension(node.name)) in carriers.UNOPENED_ARCHIVES:
                self.event(node.path, "unreadable",
                           f".{ext}: an archive format the scanner does not open")
            return
        if node.level >= self.limits.max_depth:
            self.event(node.path, "too-deep",
                       f"nesting deeper than {self.limits.max_depth} not inspected")
            return
        self.scan_budget.check()
        if self.cache is not None and self.replay(node):
            return
        mark = self.mark()
        try:
            opener(node)
        except BudgetExhausted:
            raise  # stops the whole scan (expand), not just this container
        except RecursionError:
            self.event(node.path, "too-deep", f"{node.kind}: nesting exhausted the parser")
            return  # the stack's depth, not the bytes, decided: not remembered
        except Exception as e:  # noqa: BLE001 - hostile input to third-party parsers
            # zipfile, tarfile, gzip, lzma, py7zr, rarfile and tnefparse each raise their
            # own errors on damaged data (found by tests/test_fuzz.py): whatever they
            # raise, the archive is reported as unreadable, never as a crash.
            self.event(node.path, "unreadable", f"{node.kind}: {type(e).__name__}")
        if self.cache is not None:
            self.remember(node, mark)

    def mark(self) -> tuple[int, int, int, int, int, int, int, bool]:
        c = self.content
        return (len(c.files), len(c.events), self.members, self.names, self.budget,
                c.expanded_bytes, self.scan_budget.used_bytes, self.too_many)

    def remember(self, node: FileNode, mark: tuple[int, int, int, int, int, int, int, bool],
                 ) -> None:
        """Keep what opening ``node`` added, when only its bytes decided it."""
        assert self.cache is not None
        files, events, members, names, budget, expanded, used, too_many = mark
        added = tuple(self.content.events[events:])
        subtree = tuple(self.content.files[files:])
        if too_many or self.too_many or any(
                e.event in _CIRCUMSTANTIAL or e.detail.endswith("nesting exhausted the parser")
                for e in added) or any(pdf.limited(f) for f in (node, *subtree)):
            return  # a PDF read to its time limit is not read in full
        rec = Expansion(node.path, pdf.report_of(node), subtree, added, self.members - members,
                        self.names - names, budget - self.budget,
                        self.content.expanded_bytes - expanded,
                        self.scan_budget.used_bytes - used)
        self.cache.put(_expansion_key(node), rec, rec.cost)

    def replay(self, node: FileNode) -> bool:
        """Add what opening ``node`` added before, if it fits in what this message has
        left of every limit (then opening it again would add exactly that)."""
        assert self.cache is not None
        rec = self.cache.get(_expansion_key(node))
        if rec is None:
            return False
        lim, sb = self.limits, self.scan_budget
        if (self.too_many or self.members + rec.members > lim.max_members
                or self.names + rec.names > lim.max_members or rec.taken > self.budget
                or sb.used_bytes + rec.charged > sb.max_bytes):
            return False
        sb.charge(rec.charged)
        self.members += rec.members
        self.names += rec.names
        self.budget -= rec.taken
        self.content.expanded_bytes += rec.expanded
        cut = len(rec.origin)
        if rec.report is not None:  # a PDF read while it was opened is not read again
            pdf.keep_report(node, rec.report)
        for f in rec.files:
            copy = FileNode(node.path + f.path[cut:], f.name, f.declared_type, f.data,
                            f.depth, f.container, f.level)
            copy._kind, copy._sha256 = f._kind, f._sha256
            pdf.share_report(f, copy)
            self.content.files.append(copy)
        self.content.events.extend(Event(node.path + e.path[cut:], e.event, e.detail)
                                   for e in rec.events)
        return True

    def named(self, parent: FileNode, name: str) -> None:
        """A member whose content could not be taken out: its name is still judged (up to
        the member limit again: 65,536 names of one zip are one finding, not 65,536)."""
        self.names += 1
        if self.names <= self.limits.max_members:
            self.content.files.append(FileNode(f"{parent.path}:{name}", name, "", b"",
                                               parent.depth + 1, parent.kind, parent.level + 1))

    def got(self, data: bytes) -> bytes:
        """Count decompressed bytes against the message's byte budget."""
        self.scan_budget.charge(len(data))
        return data

    def take(self, path: str, size: int, compressed: int) -> bool:
        """May a member of ``size`` bytes be expanded? Records a bomb or a limit if not."""
        lim = self.limits
        self.scan_budget.check()
        if self.members >= lim.max_members:
            self.too_many = True  # the readers below stop asking: names only from here
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
        return FileNode(f"{parent.path}:{name}", name, "", data, parent.depth + 1, parent.kind,
                        parent.level + 1)

    def open(self, node: FileNode) -> None:
        getattr(self, f"open_{node.kind}")(node)

    def open_email(self, node: FileNode) -> None:
        left = max(self.limits.max_depth - node.level - 1, 1)  # the one depth limit
        inner = parse_message(node.data, ParseLimits(max_depth=left))
        if any(_too_deep(d) for d in inner.defects):
            self.event(node.path, "too-deep",
                       f"nesting deeper than {self.limits.max_depth} not inspected")
        for part in inner.parts:
            sub = part.path.replace(".", "/") + (f"/{part.filename}" if part.filename else "")
            self.add(FileNode(f"{node.path}:{sub}", part.filename, part.content_type,
                              part.payload, node.depth + 1, "email",
                              node.level + 1 + part.depth, also_named=part.other_names))

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
                self.add(self.child(node, name, self.got(data)))

    def open_rtf(self, node: FileNode) -> None:
        """RTF: every \\objdata object is an event; OLE and Package contents are judged."""
        from . import office

        children, events = office.rtf_children(node.data)
        for event, detail in events:
            self.event(node.path, event, detail)
        for name, data in children:
            if self.take(f"{node.path}:{name}", len(data), len(node.data)):
                self.add(self.child(node, name, self.got(data)))

    def open_zip(self, node: FileNode) -> None:
        """Every member named in the central directory or a local header is judged, and
        each is taken out on its own: a broken member never hides the next one."""
        entries = ziplist.all_entries(node.data)
        try:
            z: zipfile.ZipFile | None = zipfile.ZipFile(io.BytesIO(node.data))
        except Exception as e:
            if not entries:
                raise
            z = None
            self.event(node.path, "unreadable", f"zip: {type(e).__name__}; members read "
                       "from their local headers")
        infos = {i.header_offset: i for i in z.infolist()} if z is not None else {}
        files = [e for e in entries if not e.is_dir]
        # The central directory's total; a local-only entry (perhaps a damaged header
        # with a garbage size) is judged by take() on its own and hides nothing else.
        declared = sum(e.size for e in files if e.source == "central")
        if declared > self.limits.max_total_bytes:
            self.event(node.path, "bomb", f"declared expanded size {declared} bytes")
            for e in files[:self.limits.max_members]:
                self.named(node, e.name)
            return
        try:
            for e in files:
                if self.too_many:  # one too-many event, not one per remaining member
                    self.named(node, e.name)
                    continue
                # By offset: a name only in a local header may still be zipfile's member.
                self.zip_member(node, z, infos.get(e.offset), e)
        finally:
            if z is not None:
                z.close()

    def zip_member(self, node: FileNode, z: zipfile.ZipFile | None,
                   info: zipfile.ZipInfo | None, e: ziplist.Entry) -> None:
        path = f"{node.path}:{e.name}"
        if e.encrypted:
            self.event(path, "encrypted", "password-protected zip member")
            self.named(node, e.name)
            return
        if not self.take(path, e.size, e.compressed):
            self.named(node, e.name)
            return
        limit = self.limits.max_member_bytes + 1
        data: bytes | None = None
        error = ""
        if z is not None and info is not None:
            try:
                with z.open(info) as f:
                    data = f.read(limit)
            except Exception as err:  # noqa: BLE001 - bad CRC, unknown method, bad data
                error = type(err).__name__
        if data is None:
            try:
                # What an extractor that ignores the CRC would still hand the user.
                data = ziplist.read_local(node.data, e, limit)
            except Exception as err:  # noqa: BLE001 - zlib/deflate64 on hostile bytes
                error = error or type(err).__name__
        if error:
            self.event(path, "unreadable", f"zip member: {error}")
        if data is None:
            self.named(node, e.name)
            return
        self.add(self.child(node, e.name, self.got(data)))

    def open_gzip(self, node: FileNode) -> None:
        """Every member of a gzip, piece by piece (``carriers.gzip_blocks``)."""
        self._decompress(node, carriers.gzip_blocks(node.data))

    def open_stream(self, node: FileNode) -> None:
        """A bzip2, xz, lzma or zstd stream (libarchive, ``carriers.stream_blocks``). Until
        2026-12-02 these were opaque binary files: an executable in a .bz2, .xz or .tar.xz,
        which Windows 11's Explorer, 7-Zip and WinRAR open, passed."""
        self._decompress(node, carriers.stream_blocks(node.data))

    def _decompress(self, node: FileNode, blocks: Iterator[bytes]) -> None:
        """One compressed stream, as one file named after the stream: read a block at a time,
        so a bomb stops at the ratio, and what comes before a damaged spot is still scanned
        (a tar.gz broken after its first member still shows that member)."""
        out = bytearray()
        lim = self.limits
        try:
            for block in blocks:
                out += self.got(block)
                if len(out) > MIB and len(out) / max(len(node.data), 1) > lim.max_ratio:
                    self.event(node.path, "bomb", f"expansion ratio over {lim.max_ratio}:1")
                    return
                if len(out) > lim.max_member_bytes:
                    break
        except Exception as e:  # zlib, libarchive on hostile bytes: many kinds of error
            if not out:
                raise
            self.event(node.path, "unreadable", f"{node.kind}: {type(e).__name__} after "
                       f"{len(out)} bytes")
        del out[lim.max_member_bytes + 1:]
        name = carriers.stream_member_name(node.name or node.path.rsplit(":", 1)[-1])
        if self.take(f"{node.path}:{name}", len(out), len(node.data)):
            self.add(self.child(node, name, bytes(out)))
        else:
            self.named(node, name)

    open_bzip2 = open_xz = open_zstd = open_lzma = open_stream

    def open_tar(self, node: FileNode) -> None:
        """Members one by one: a damaged header stops the listing there, not what came
        before it, and a member that cannot be read is judged by its name."""
        with tarfile.open(fileobj=io.BytesIO(node.data), mode="r:*") as t:
            while True:
                try:
                    m = t.next()
                except Exception as e:  # noqa: BLE001 - tarfile/zlib/lzma: many errors
                    self.event(node.path, "unreadable", f"tar: {type(e).__name__} after "
                               f"{len(t.members)} member(s)")
                    return
                if m is None:
                    return
                if not m.isfile():
                    continue
                path = f"{node.path}:{m.name}"
                if self.too_many or not self.take(path, m.size, 0):
                    self.named(node, m.name)
                    continue
                try:
                    f = t.extractfile(m)
                    data = f.read(self.limits.max_member_bytes) if f is not None else b""
                except Exception as e:  # noqa: BLE001 - tarfile/zlib/lzma on hostile bytes
                    self.event(path, "unreadable", f"tar member: {type(e).__name__}")
                    self.named(node, m.name)
                    continue
                self.add(self.child(node, m.name, self.got(data)))

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
                if not self.too_many and self.take(path, info.uncompressed or 0,
                                                   info.compressed or 0):
                    wanted.append(info.filename)
                else:
                    self.named(node, info.filename)
            if not wanted:
                return
            # In a solid block the decompressor runs through every member before a wanted
            # one: those bytes are work too (a 2 KB 7z hid 1 GiB of zeros: 7 s).
            try:
                self.scan_budget.charge(_through_bytes(z, set(wanted)))
            except BudgetExhausted:
                for name in wanted:  # not decompressed, but their names are judged
                    self.named(node, name)
                raise
            factory = py7zr.io.BytesIOFactory(self.limits.max_member_bytes)
            try:
                z.extract(targets=wanted, factory=factory)
            except Exception as e:  # noqa: BLE001 - py7zr on hostile bytes
                self.event(node.path, "unreadable", f"7z: {type(e).__name__}")
                self.seven_zip_one_by_one(z, wanted, factory)
            for name in wanted:
                try:
                    data = factory.get(name).read()
                except KeyError:
                    self.named(node, name)
                    continue
                self.add(self.child(node, name, self.got(data)))

    def seven_zip_one_by_one(self, z: object, wanted: list[str], factory: object) -> None:
        """After a failure, each member not yet out on its own: a damaged block (member 1)
        does not take the members of other blocks with it."""
        for name in wanted:
            try:
                factory.get(name)  # type: ignore[attr-defined]
                continue
            except KeyError:
                pass
            self.scan_budget.charge(_through_bytes(z, {name}))
            try:
                z.reset()  # type: ignore[attr-defined]
                z.extract(targets=[name], factory=factory)  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - this member is judged by its name
                continue

    def open_tnef(self, node: FileNode) -> None:
        """winmail.dat: Outlook's wrapper around attachments."""
        from tnefparse.tnef import TNEF

        for i, att in enumerate(TNEF(node.data, do_checksum=False).attachments, 1):
            name = att.long_filename() or (att.name.decode("latin-1", "replace")
                                           if isinstance(att.name, bytes) else str(att.name))
            data = att.data if isinstance(att.data, bytes) else b""
            path = f"{node.path}:{name or f'attachment{i}'}"
            if self.take(path, len(data), 0):
                self.add(self.child(node, name or f"attachment{i}", self.got(data)))

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
            self.add(self.child(node, name, self.got(data)))

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
                self.add(self.child(node, emb.name, self.got(data)))


def _too_deep(defect: str) -> bool:
    return defect.startswith(("LimitExceeded(depth>", "LimitExceeded(nesting>"))


def _through_bytes(z: object, wanted: set[str]) -> int:
    """Bytes a 7z decompressor produces for members it skips to reach the wanted ones:
    in each solid folder, the unwanted members before the last wanted one."""
    total = 0
    by_folder: dict[int, list[tuple[str, int]]] = {}
    for f in getattr(z, "files", []):
        folder = getattr(f, "folder", None)
        if folder is not None:
            size = f.uncompressed if isinstance(f.uncompressed, int) else 0
            by_folder.setdefault(id(folder), []).append((f.filename, size))
    for members in by_folder.values():
        last = max((i for i, (name, _) in enumerate(members) if name in wanted), default=-1)
        total += sum(size for name, size in members[:last] if name not in wanted)
    return total


def expand(parsed: ParsedMessage, limits: ScanLimits | None = None,
           budget: ScanBudget | None = None, cache: ExpansionCache | None = None) -> Content:
    """Every file of the message. Stops where ``budget`` runs out (an event "budget").
    ``cache``: containers opened before (by their bytes) are not opened again."""
    content = Content()
    limits = limits or ScanLimits()
    ex = _Expander(limits, content, budget, cache)
    if any(_too_deep(d) for d in parsed.defects):
        ex.event("0", "too-deep", f"MIME nesting deeper than {limits.max_depth} not inspected")
    try:
        for part in parsed.parts:
            path = part.path.replace(".", "/") + (f"/{part.filename}" if part.filename else "")
            node = FileNode(path, part.filename, part.content_type, part.payload, 0, "",
                            part.depth, also_named=part.other_names)
            node._sha256 = part.sha256 or None  # known when the parse decoded it (runcache)
            ex.add(node)
    except BudgetExhausted as e:
        ex.event("0", "budget", e.detail)
    return content


def password_in_body(parsed: ParsedMessage) -> bool:
    """An encrypted archive with its password in the message text: a common lure."""
    return any(_PASSWORD_HINT.search(p.payload[:200_000]) for p in parsed.parts
               if p.content_type.startswith("text/") and not p.is_attachment)
