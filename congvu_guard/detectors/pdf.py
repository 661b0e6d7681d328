"""PDF structure for HUE-11.5: what a PDF would do when opened, read from its objects, never
from the bytes of its streams.

A PDF is a list of numbered objects (dictionaries, arrays, names, strings, numbers); some
objects carry a stream (page content, images, fonts, embedded files, compressed objects).
Only *names in object dictionaries* say what a PDF does (``/S /JavaScript``, ``/OpenAction``,
``/Launch``...): the same letters inside a compressed image are noise. Searching the raw
bytes quarantined 10 % of scanned 1-4 MB letters and 48 % at 15 MB (README), and missed a
catalog and its JavaScript kept in a Flate-compressed object stream (PDF 1.5).

The reader here is a bounded tokenizer of our own: every regex is linear (possessive
quantifiers, no nested unbounded repeats), stream bodies are skipped by their ``/Length``
(checked against ``endstream``, with a search for ``endstream`` when the length is wrong
or indirect), object streams and cross-reference streams are inflated with bounded zlib
(size and ratio limits), and object count, nesting depth and time are capped. Kept
parsers (pypdf, pikepdf) were measured and not taken: see the README ("PDF, properly").
Everything is a pure function of bytes and never raises on hostile input.
"""

from __future__ import annotations

import base64
import bisect
import re
import time
import weakref
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import forksafe
from ..model import Severity
from . import handler_schemes
from .pdf_crypt import Decryptor, open_empty

if TYPE_CHECKING:
    from .content import FileNode

MIB = 1024 * 1024
MAX_OBJECTS = 100_000  # objects (top-level and in object streams) per PDF
MAX_NESTING = 64  # arrays/dictionaries inside each other (real writers stay under 10)
MAX_DECODED = 32 * MIB  # object and xref streams inflated per PDF, all together
MAX_RATIO = 100  # inflated / compressed size beyond 1 MiB: a zlib bomb
TIME_LIMIT = 3.0  # seconds per PDF; a 1,000-page text PDF takes ~0.3 s
MESSAGE_TIME_LIMIT = 10.0  # seconds for all the PDFs of one message (a zip of 1,000 PDFs)

# /AA triggers the reader fires only on a click (mouse down/up), like a link: a form's
# submit button made by LibreOffice has /AA /D SubmitForm. JavaScript and Launch are found
# wherever they are; the other triggers (page open, focus, mouse over, document events) run
# without a click.
_CLICK_TRIGGERS = {"D", "U"}
# Actions that do something outside the document when they run (ISO 32000 12.6.4).
_OUTSIDE_ACTIONS = {"JavaScript", "Launch", "URI", "SubmitForm", "ImportData", "GoToR",
                    "GoToE", "Rendition"}


class Name(str):
    """A PDF name (``/Type``), ``#xx`` escapes decoded; distinct from a string's text."""

    __slots__ = ()


class Str(bytes):
    """A PDF string (literal or hex), escapes decoded: text, never a name."""


class Ref(tuple):
    """An indirect reference ``N G R``."""

    __slots__ = ()

    @property
    def num(self) -> int:
        return int(self[0])


class Keyword(bytes):
    """A bare word that is not a value (``obj``, ``stream``, an operator)."""


class _Limit(Exception):
    """A cap was reached: the rest of the PDF is not inspected."""


class Bomb(ValueError):
    """A stream that inflates past the size or ratio limit."""


@dataclass(frozen=True, slots=True)
class Risk:
    label: str  # "JavaScript", "Launch", "automatic URI", ...
    severity: Severity
    detail: str


@dataclass(frozen=True, slots=True)
class Embedded:
    """An embedded file's stream, still encoded: extraction is bounded by the caller's
    limits (``content._Expander``)."""

    name: str
    raw: bytes
    filters: tuple[str, ...]


@dataclass
class PdfReport:
    risks: list[Risk] = field(default_factory=list)  # active content found
    problems: list[Risk] = field(default_factory=list)  # what could not be inspected
    embedded: list[Embedded] = field(default_factory=list)
    objects: int = 0
    encrypted: bool = False
    needs_password: bool = False  # encrypted, and the empty user password does not open it


# Tokenizer ---------------------------------------------------------------------------------
_REGULAR = rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]"
# Whitespace and comments, then one token. Possessive everywhere: no backtracking.
_TOKEN = re.compile(
    rb"(?:[\x00\t\n\x0c\r ]++|%[^\r\n]*+)*+"
    rb"(?:/(" + _REGULAR + rb"*+)"  # 1 name
    rb"|(<<|\[)|(>>|\])"  # 2 open, 3 close
    rb"|(<[0-9A-Fa-f\x00\t\n\x0c\r ]*+>)"  # 4 hex string
    rb"|(\()"  # 5 literal string
    rb"|([+-]?(?:\d++(?:\.\d*+)?|\.\d++))(?!" + _REGULAR + rb")"  # 6 number
    rb"|(" + _REGULAR + rb"++)"  # 7 word
    rb"|(.))", re.S)  # 8 a stray byte
_NAME, _OPEN, _CLOSE_TOKEN, _HEX, _STR, _NUM, _WORD = range(1, 8)
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# Up to the next unescaped parenthesis: runs of other bytes and escape pairs in one step.
_PAREN = re.compile(rb"(?:[^()\\]++|\\[\s\S])*+([()])")
_STR_ESCAPE = re.compile(rb"\\([0-7]{1,3}|\r\n|[\s\S])")
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"\r\n": b"",
            b"\n": b"", b"\r": b""}
# An object header, a trailer or a classic xref table, found by search between objects.
_TOP = re.compile(
    rb"(\d{1,10})[\x00\t\n\x0c\r ]{1,32}(\d{1,5})[\x00\t\n\x0c\r ]{1,32}obj(?!" + _REGULAR
    + rb")|(trailer)(?!" + _REGULAR + rb")|(?<![a-z])(xref)(?!" + _REGULAR + rb")")
_XREF_HEAD = re.compile(rb"[\x00\t\n\x0c\r ]*+\d{1,10}[ ]{1,8}(\d{1,10})(?!\d)")
_XREF_ENTRY = re.compile(rb"[\x00\t\n\x0c\r ]*+(\d{1,10})[ ]{1,8}\d{1,5}[ ]{1,8}([nf])")
_ENDS_VALUE = {b"obj", b"endobj", b"stream", b"endstream", b"trailer", b"xref",
               b"startxref"}
_CLOSE = object()
_R = object()


def _unescape(raw: bytes) -> bytes:
    """A literal string's escapes decoded. Strings that matter (names of files, addresses,
    encryption keys) are short; a longer one is kept as it is, which bounds the work of a
    string of millions of escapes (5 MB of them took 1.2 s)."""
    if b"\\" not in raw or len(raw) > 65536:
        return raw

    def one(m: re.Match[bytes]) -> bytes:
        g = m.group(1)
        if g[:1].isdigit():
            return bytes([int(g, 8) & 0xFF])
        return _ESCAPES.get(g, g)

    return _STR_ESCAPE.sub(one, raw)


class _Parser:
    """Values from ``data`` at ``pos``; every dictionary met is kept in ``dicts``.

    Measured: ~1 us per token; a 1,000-page PDF with 5 links a page (7,000 objects) reads
    in ~0.25 s. The hot path avoids per-token calls and interns names."""

    def __init__(self, data: bytes, deadline: float, dicts: list[dict[str, object]]) -> None:
        self.data = data
        self.pos = 0
        self.deadline = deadline
        self.dicts = dicts
        self.tokens = 0
        self.names: dict[bytes, Name] = {}

    def token(self) -> bytes | None:
        """The next bare token's text (for ``stream`` after a dictionary)."""
        m = _TOKEN.match(self.data, self.pos)
        if m is None:
            return None
        self.pos = m.end()
        return m.group(m.lastindex or 0)

    def literal(self) -> Str:
        """A ``(...)`` string from just after its ``(``: balanced parentheses, escapes."""
        data, start, depth, pos = self.data, self.pos, 1, self.pos
        steps = 0
        while True:
            steps += 1
            if not steps & 0xFFF and time.monotonic() > self.deadline:
                raise _Limit(f"took longer than {TIME_LIMIT:g} s")
            m = _PAREN.match(data, pos)
            if m is None:
                self.pos = len(data)
                return Str(_unescape(data[start:]))
            c = m.group(1)
            pos = m.end()
            if c == b"(":
                depth += 1
            elif c == b")":
                depth -= 1
                if depth == 0:
                    self.pos = pos
                    return Str(_unescape(data[start:m.start(1)]))

    def name(self, raw: bytes) -> Name:
        n = self.names.get(raw)
        if n is None:
            text = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), raw) \
                if b"#" in raw else raw
            n = self.names[raw] = Name(text.decode("latin-1"))
        return n

    def value(self, depth: int = 0) -> object:
        m = _TOKEN.match(self.data, self.pos)
        if m is None:
            self.pos = len(self.data)
            return _CLOSE
        self.pos = m.end()
        self.tokens += 1
        if not self.tokens & 0xFFF and time.monotonic() > self.deadline:  # every 4096
            raise _Limit(f"took longer than {TIME_LIMIT:g} s")
        i = m.lastindex
        if i == _NAME:
            return self.name(m.group(1))
        if i == _NUM:
            text = m.group(6)
            if b"." in text:
                return float(text) if text.strip(b"+-.") else 0.0
            return int(text)
        if i == _OPEN:
            if depth >= MAX_NESTING:
                raise _Limit(f"nesting deeper than {MAX_NESTING}")
            items = self.items(depth + 1)
            if m.group(2) == b"[":
                return items
            d: dict[str, object] = {}
            for k in range(0, len(items) - 1, 2):
                if isinstance(items[k], Name):
                    d[items[k]] = items[k + 1]  # type: ignore[index]
            self.dicts.append(d)
            return d
        if i == _CLOSE_TOKEN:
            return _CLOSE
        if i == _STR:
            return self.literal()
        if i == _HEX:
            digits = re.sub(rb"[^0-9A-Fa-f]", b"", m.group(4))
            return Str(bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode()))
        text = m.group(i or 0)
        if i == _WORD:
            if text == b"R":
                return _R
            if text in (b"true", b"false"):
                return text == b"true"
            if text == b"null":
                return None
        return Keyword(text)  # an operator or a stray delimiter byte

    def items(self, depth: int) -> list[object]:
        """The values up to the closing ``]`` or ``>>`` (or a keyword that cannot be inside
        one: a dictionary never swallows the ``stream`` that follows it)."""
        out: list[object] = []
        value = self.value
        while True:
            before = self.pos
            v = value(depth)
            if v is _CLOSE:
                return out
            if v is _R:
                if len(out) >= 2 and type(out[-1]) is int and type(out[-2]) is int:
                    gen, num = out.pop(), out.pop()
                    out.append(Ref((num, gen)))
                continue
            if type(v) is Keyword and v in _ENDS_VALUE:
                self.pos = before
                return out
            out.append(v)


# Stream decoding -----------------------------------------------------------------------------
class _Budget:
    def __init__(self) -> None:
        self.left = MAX_DECODED


def inflate(raw: bytes, max_out: int, max_ratio: int = MAX_RATIO) -> bytes:
    """zlib with a cap on the output and on the expansion ratio; ValueError past either
    (a bomb) or on data that is not zlib at all. A truncated stream gives what it holds
    (PDF readers accept those)."""
    cap = min(max_out, max(MIB, len(raw) * max_ratio))
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):  # some writers omit the zlib header
        d = zlib.decompressobj(wbits)
        try:
            out = d.decompress(raw, cap + 1)
        except zlib.error:
            continue
        if len(out) > cap:
            raise Bomb(f"expands past {cap} bytes (ratio or size limit)")
        return out
    raise ValueError("not zlib data")


def _names(v: object) -> tuple[str, ...]:
    if isinstance(v, Name):
        return (str(v),)
    if isinstance(v, list):
        return tuple(str(x) for x in v if isinstance(x, Name))
    return ()


def decode(raw: bytes, filters: tuple[str, ...], max_out: int, max_ratio: int = MAX_RATIO,
           ) -> bytes:
    """A stream's bytes through its filters (Flate, ASCIIHex, ASCII85); ValueError for a
    filter we do not decode or data that fails one."""
    out = raw
    for f in filters:
        if f in ("FlateDecode", "Fl"):
            out = inflate(out, max_out, max_ratio)
        elif f in ("ASCIIHexDecode", "AHx"):
            digits = re.sub(rb"[^0-9A-Fa-f]", b"", out.split(b">", 1)[0])
            out = bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode())
        elif f in ("ASCII85Decode", "A85"):
            body = out.split(b"~>", 1)[0].strip()
            body = body[2:] if body.startswith(b"<~") else body
            try:
                out = base64.a85decode(re.sub(rb"\s", b"", body))
            except ValueError as e:
                raise ValueError(f"ASCII85: {e}") from e
        else:
            raise ValueError(f"filter /{f} not decoded")
        if len(out) > max_out:
            raise Bomb(f"expands past {max_out} bytes")
    return out


def _png_unpredict(data: bytes, columns: int) -> bytes:
    """PNG predictors None/Sub/Up (what xref-stream writers use); ValueError otherwise."""
    row = columns + 1
    prev = bytearray(columns)
    out = bytearray()
    for i in range(0, len(data) - row + 1, row):
        kind, cur = data[i], bytearray(data[i + 1:i + row])
        if kind == 1:
            for j in range(1, columns):
                cur[j] = (cur[j] + cur[j - 1]) & 0xFF
        elif kind == 2:
            cur = bytearray((a + b) & 0xFF for a, b in zip(cur, prev, strict=True))
        elif kind != 0:
            raise ValueError(f"PNG predictor {kind}")
        out += cur
        prev = cur
    return bytes(out)


# The analysis ----------------------------------------------------------------------------
@dataclass
class _Stream:
    num: int
    gen: int
    dict: dict[str, object]
    start: int
    end: int


class _Reader:
    def __init__(self, data: bytes, deadline: float) -> None:
        self.data = data
        self.dicts: list[dict[str, object]] = []
        self.objects: dict[int, object] = {}
        self.count = 0
        self.streams: list[_Stream] = []
        self.trailers: list[dict[str, object]] = []
        self.offsets: list[int] = []  # where the xref tables say objects are
        self.owner: dict[int, tuple[int, int]] = {}  # id(dict) -> its top-level object
        self.crypt: Decryptor | None = None
        self.report = PdfReport()
        self.budget = _Budget()
        self.parser = _Parser(data, deadline, self.dicts)

    def problem(self, label: str, detail: str, severity: Severity = Severity.MEDIUM) -> None:
        self.report.problems.append(Risk(label, severity, detail))

    def counted(self) -> None:
        self.count += 1
        if self.count > MAX_OBJECTS:
            raise _Limit(f"more than {MAX_OBJECTS} objects")

    # Top level: objects, trailers, xref tables.
    def read(self) -> None:
        data, p = self.data, self.parser
        pos = 0
        while (m := _TOP.search(data, pos)) is not None:
            if m.group(1) is not None:
                self.counted()
                p.pos = m.end()
                self.object(int(m.group(1)), int(m.group(2)), p)
            elif m.group(3) is not None:
                p.pos = m.end()
                v = p.value()
                if isinstance(v, dict):
                    self.trailers.append(v)
            else:
                p.pos = m.end()
                self.xref_table(p)
            pos = max(p.pos, m.end())

    def object(self, num: int, gen: int, p: _Parser) -> None:
        first, start = len(self.dicts), p.pos
        v = p.value()
        for d in self.dicts[first:]:  # whose key decrypts their strings
            self.owner[id(d)] = (num, gen)
        self.objects[num] = v
        if (e := self.data.find(b"endobj", start, p.pos)) >= 0:
            # An unbalanced "(" ran the value past its object's end: readers go to each
            # object by its offset, so the next objects must still be read.
            p.pos = e + 6
            return
        if not isinstance(v, dict):
            return
        before = p.pos
        if p.token() != b"stream":
            p.pos = before
            return
        start = p.pos
        if self.data.startswith(b"\r\n", start):
            start += 2
        elif self.data.startswith((b"\n", b"\r"), start):
            start += 1
        end, after = self.stream_end(v, start)
        self.streams.append(_Stream(num, gen, v, start, end))
        p.pos = after

    def stream_end(self, d: dict[str, object], start: int) -> tuple[int, int]:
        """(end of the body, position after ``endstream``): by ``/Length`` when the length
        lands on ``endstream``, else by searching for ``endstream``."""
        data = self.data
        length = d.get("Length")
        if isinstance(length, Ref):
            length = self.objects.get(length.num)
        if isinstance(length, int) and 0 <= length <= len(data) - start:
            end = start + length
            tail = data[end:end + 32].lstrip(b"\x00\t\n\x0c\r ")
            if tail.startswith(b"endstream"):
                return end, data.index(b"endstream", end) + 9
        e = data.find(b"endstream", start)
        if e < 0:
            return len(data), len(data)
        end = e - 2 if data[e - 2:e] == b"\r\n" else e - 1 if data[e - 1:e] in (
            b"\n", b"\r") else e
        return max(end, start), e + 9

    def xref_table(self, p: _Parser) -> None:
        """Classic ``xref`` sections: ``start count`` then ``offset gen n|f`` lines."""
        data, pos = self.data, p.pos
        while (h := _XREF_HEAD.match(data, pos)) is not None:
            pos = h.end()
            for _ in range(min(int(h.group(1)), MAX_OBJECTS)):
                e = _XREF_ENTRY.match(data, pos)
                if e is None:
                    break
                pos = e.end()
                if e.group(2) == b"n" and len(self.offsets) < MAX_OBJECTS:
                    self.offsets.append(int(e.group(1)))
        p.pos = pos

    def body(self, s: _Stream) -> bytes:
        raw = self.data[s.start:s.end]
        if self.crypt is not None and s.dict.get("Type") != "XRef":
            return self.crypt.decrypt(raw, s.num, s.gen)
        return raw

    def encryption(self) -> None:
        """Encrypted PDFs: open them with the empty user password when that works."""
        tails = self.trailers + [s.dict for s in self.streams if s.dict.get("Type") == "XRef"]
        enc = next((self.resolve(t["Encrypt"]) for t in tails if "Encrypt" in t), None)
        if enc is None:
            return
        self.report.encrypted = True
        ids = next((t["ID"] for t in tails if isinstance(t.get("ID"), list)), [])
        id0 = ids[0] if ids and isinstance(ids[0], Str) else b""
        if isinstance(enc, dict):
            self.crypt = open_empty(enc, bytes(id0))
        self.report.needs_password = self.crypt is None

    def string(self, d: dict[str, object], key: str) -> Str | None:
        """``d[key]`` as a string, decrypted when ``d`` sits in an encrypted object."""
        v = self.resolve(d.get(key))
        if not isinstance(v, Str):
            return None
        owner = self.owner.get(id(d))
        if owner is None or not self.report.encrypted:
            return v
        return Str(self.crypt.decrypt(bytes(v), *owner)) if self.crypt is not None else None

    def decoded(self, s: _Stream, what: str) -> bytes | None:
        filters = _names(s.dict.get("Filter"))
        try:
            out = decode(self.body(s), filters, min(self.budget.left, MAX_DECODED))
        except ValueError as e:
            self.problem("unreadable", f"{what} (object {s.num}) not inspected: {e}")
            return None
        self.budget.left -= len(out)
        return out

    def object_streams(self) -> None:
        """Objects kept compressed in ``/Type /ObjStm`` streams (PDF 1.5)."""
        for s in list(self.streams):
            if s.dict.get("Type") != "ObjStm":
                continue
            if self.report.needs_password:
                return  # the expander records the PDF as encrypted (content._Expander)
            data = self.decoded(s, "object stream")
            if data is None:
                continue
            first, n = s.dict.get("First"), s.dict.get("N")
            if not (isinstance(first, int) and isinstance(n, int)) or not 0 <= first <= len(
                    data):
                self.problem("unreadable", f"object stream (object {s.num}) without /First "
                             "or /N")
                continue
            header = re.findall(rb"\d{1,10}", data[:first])[:2 * max(0, n)]
            sub = _Parser(data, self.parser.deadline, self.dicts)
            sub.tokens = self.parser.tokens
            for i in range(0, len(header) - 1, 2):
                self.counted()
                sub.pos = first + int(header[i + 1])
                self.objects.setdefault(int(header[i]), sub.value())
            self.parser.tokens = sub.tokens

    def hidden_objects(self) -> None:
        """Objects inside another object's stream body (a ``/Length`` that covers them):
        a reader finds them by their xref offset, or, when the xref is missing or wrong,
        by scanning the file for ``N G obj``. So they count too: skipping stream bodies
        must not hide them."""
        for s in self.streams:
            if s.dict.get("Type") == "XRef":
                self.offsets.extend(self.xref_stream_offsets(s))
        if not self.streams:
            return
        data = self.data
        offsets = sorted(set(self.offsets))
        if offsets and all(_TOP.match(data, o) for o in offsets[:1000]):
            bodies = sorted((s.start, s.end) for s in self.streams)
            starts = [b[0] for b in bodies]
            for off in offsets:
                i = bisect.bisect_right(starts, off) - 1
                if i >= 0 and bodies[i][0] <= off < bodies[i][1]:
                    self.objects_in(off, off + 1)
            return
        # No usable xref: readers rebuild it by scanning. A stream body holding "endstream"
        # before its end (never by chance in compressed data) may hide objects; the search
        # costs ~0.7 ms per MB, paid only by PDFs without a usable xref.
        for s in list(self.streams):
            if data.find(b"endstream", s.start, s.end) >= 0:
                self.objects_in(s.start, s.end)

    def objects_in(self, start: int, end: int) -> None:
        """The objects whose ``N G obj`` header starts in ``[start, end)``."""
        p, pos = self.parser, start
        while (m := _TOP.search(self.data, pos, end + 32)) is not None and m.start() < end:
            if m.group(1) is None:
                pos = m.end()
                continue
            self.counted()
            p.pos = m.end()
            self.object(int(m.group(1)), int(m.group(2)), p)
            pos = max(p.pos, m.end())

    def xref_stream_offsets(self, s: _Stream) -> list[int]:
        data = self.decoded(s, "cross-reference stream")
        w = s.dict.get("W")
        if data is None or not (isinstance(w, list) and len(w) == 3 and all(
                isinstance(x, int) and 0 <= x <= 8 for x in w)):
            return []
        parms = s.dict.get("DecodeParms")
        if isinstance(parms, list):
            parms = parms[0] if parms else None
        if isinstance(parms, dict) and isinstance(parms.get("Predictor"), int) and \
                int(parms["Predictor"]) >= 10:  # type: ignore[call-overload]
            try:  # at most MAX_OBJECTS rows: undoing the predictor is a loop in Python
                size = sum(w)  # type: ignore[arg-type]
                data = _png_unpredict(data[:(size + 1) * MAX_OBJECTS], size)
            except ValueError:
                return []
        size = sum(w)  # type: ignore[arg-type]
        out = []
        for i in range(0, min(len(data), size * MAX_OBJECTS) - size + 1, size):
            t = int.from_bytes(data[i:i + w[0]], "big") if w[0] else 1  # type: ignore[misc]
            if t == 1:
                out.append(int.from_bytes(data[i + w[0]:i + w[0] + w[1]], "big"))  # type: ignore[misc,operator]
        return out

    # Judging what was read.
    def resolve(self, v: object, hops: int = 0) -> object:
        while isinstance(v, Ref) and hops < 16:
            v, hops = self.objects.get(v.num), hops + 1
        return v

    def action_risk(self, action: object, trigger: str, hops: int = 0) -> None:
        """An automatic action (``/OpenAction``, ``/AA``) that reaches outside the
        document, following ``/Next`` chains."""
        a = self.resolve(action)
        if isinstance(a, list):  # a chain of actions
            for x in a[:32]:
                self.action_risk(x, trigger, hops + 1)
            return
        if not isinstance(a, dict) or hops > 16:
            return
        kind = a.get("S")
        if isinstance(kind, Name) and kind in _OUTSIDE_ACTIONS:
            target = ""
            if kind == "URI" and (uri := self.string(a, "URI")) is not None:
                target = f" {_text(uri)[:80]}"
            severity = Severity.HIGH if kind == "Launch" else Severity.MEDIUM
            self.add(f"automatic {kind}", severity, f"{trigger} runs a {kind} action{target}")
        if "Next" in a:
            self.action_risk(a["Next"], trigger, hops + 1)

    def add(self, label: str, severity: Severity, detail: str) -> None:
        if all(r.detail != detail for r in self.report.risks):
            self.report.risks.append(Risk(label, severity, detail))

    def judge(self) -> None:
        names: dict[int, str] = {}  # embedded file streams (their /Type is optional)
        for d in self.dicts:
            kind = d.get("S")
            if "JS" in d or "JavaScript" in d or kind == "JavaScript":
                self.add("JavaScript", Severity.MEDIUM, "JavaScript")
            if kind == "Launch":
                self.add("Launch", Severity.HIGH, "a Launch action (runs a program)")
            if kind == "URI" and (uri := self.string(d, "URI")) is not None and (
                    scheme := handler_schemes.scheme_of(bytes(uri))):
                # A click on it opens Explorer on a remote share, msdt or an installer
                # (detectors/handler_links.py): no PDF of an office needs that.
                self.add(f"{scheme} link", Severity.MEDIUM,
                         f"a link that opens a Windows program, not a web page: {scheme}")
            if kind == "ImportData":
                self.add("ImportData action", Severity.MEDIUM, "an ImportData action")
            if kind == "SubmitForm":
                spec = self.resolve(d.get("F"))
                url = self.string(spec, "F") if isinstance(spec, dict) else self.string(d, "F")
                if url is not None and _outside(url):
                    self.add("SubmitForm", Severity.MEDIUM,
                             f"a form that submits to {_text(url)[:80]}")
            if "OpenAction" in d:
                self.action_risk(d["OpenAction"], "opening the document")
            if "AA" in d and isinstance(aa := self.resolve(d["AA"]), dict):
                for trigger, action in list(aa.items())[:32]:
                    if trigger not in _CLICK_TRIGGERS:
                        self.action_risk(action, f"an automatic /{trigger} trigger")
            if "XFA" in d:
                self.add("XFA", Severity.MEDIUM, "an XFA form (scriptable)")
            if d.get("Subtype") == "RichMedia" or "RichMediaContent" in d:
                self.add("RichMedia", Severity.MEDIUM, "RichMedia (Flash/video) content")
            if isinstance(ef := self.resolve(d.get("EF")), dict):
                label = self.string(d, "UF") or self.string(d, "F")
                for ref in ef.values():
                    if isinstance(ref, Ref) and not names.get(ref.num):
                        names[ref.num] = _file_name(label) if label is not None else ""
        for s in self.streams:
            if s.num in names or s.dict.get("Type") == "EmbeddedFile":
                name = names.get(s.num) or f"embedded-{s.num}"
                self.report.embedded.append(Embedded(name, self.body(s),
                                                     _names(s.dict.get("Filter"))))
        if self.report.embedded:
            shown = ", ".join(e.name for e in self.report.embedded[:5])
            self.add("embedded file", Severity.MEDIUM, f"an embedded file ({shown})")
        # One finding per behaviour: JavaScript run on opening says more than JavaScript.
        labels = {r.label for r in self.report.risks}
        self.report.risks = [r for r in self.report.risks if f"automatic {r.label}" not in labels]


def _text(s: bytes) -> str:
    """A PDF text string: UTF-16BE with its byte-order mark, else PDFDocEncoding (~latin-1)."""
    if s.startswith(b"\xfe\xff"):
        return s[2:].decode("utf-16-be", "replace")
    if s.startswith(b"\xef\xbb\xbf"):
        return s[3:].decode("utf-8", "replace")
    return s.decode("latin-1")


_URL = re.compile(rb"\s*([a-zA-Z][a-zA-Z0-9+.-]{0,30}):(?://([^/\\]*))?")


def _outside(url: bytes) -> bool:
    """A submit target outside the reader's machine: any scheme (http, mailto, ...), a UNC
    path, a file URL with a host; not a relative or a local ``file:///`` path (LibreOffice
    exports a form without an action with its own file as the target)."""
    if url.lstrip().startswith((b"\\\\", b"//")):
        return True
    m = _URL.match(url)
    if m is None:
        return False
    if m.group(1).lower() == b"file":
        return (m.group(2) or b"").lower() not in (b"", b"localhost")
    return len(m.group(1)) > 1  # "C:\\form.fdf" is a drive letter, not a scheme


def _file_name(s: bytes) -> str:
    name = _text(s).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable())[:200]
    return name or "embedded"


def analyse(data: bytes, deadline: float | None = None) -> PdfReport:
    """What the PDF in ``data`` would do, and what of it could not be inspected; reading
    stops at ``TIME_LIMIT`` or at ``deadline`` (``time.monotonic``), whichever is first."""
    now = time.monotonic()
    r = _Reader(data, min(now + TIME_LIMIT, deadline if deadline is not None else now + 1e9))
    if deadline is not None and deadline <= now:
        r.problem("limit", "not inspected: the message's time for PDFs is spent")
        return r.report
    try:
        r.read()
        r.encryption()
        r.hidden_objects()
        r.object_streams()
    except _Limit as e:
        r.problem("limit", f"not fully inspected: {e}")
    except Exception as e:  # noqa: BLE001 - per-part isolation: a parser bug on hostile
        # bytes must be a finding on this file, never an error for the whole message.
        r.problem("limit", f"not fully inspected: {type(e).__name__}")
    try:
        r.judge()
    except Exception as e:  # noqa: BLE001 - same isolation for the judging of odd values
        r.problem("limit", f"not fully judged: {type(e).__name__}")
    r.report.objects = r.count
    if r.count == 0:
        r.problem("unreadable", "no PDF object could be read", Severity.LOW)
    return r.report


_CACHE: weakref.WeakKeyDictionary[FileNode, PdfReport] = weakref.WeakKeyDictionary()
_CACHE_LOCK = forksafe.lock()


def report_of(node: FileNode) -> PdfReport | None:
    """The reading of ``node`` done so far, if any."""
    with _CACHE_LOCK:
        return _CACHE.get(node)


def limited(node: FileNode) -> bool:
    """Was ``node`` read to a limit (time, objects) rather than in full?"""
    report = report_of(node)
    return report is not None and any(p.label == "limit" for p in report.problems)


def keep_report(node: FileNode, report: PdfReport) -> None:
    """``node`` has the bytes of a file read before (a remembered expansion, content.py)."""
    with _CACHE_LOCK:
        _CACHE[node] = report


def share_report(src: FileNode, dst: FileNode) -> None:
    """``dst`` has ``src``'s bytes (a remembered expansion, content.py): its report too."""
    report = report_of(src)
    if report is not None:
        keep_report(dst, report)


def analyse_node(node: FileNode, deadline: float | None = None) -> PdfReport:
    """``analyse`` once per file node: the expander (embedded files, with the message's
    time budget) and the detector (findings) share it."""
    with _CACHE_LOCK:
        report = _CACHE.get(node)
    if report is None:
        report = analyse(node.data, deadline)
        with _CACHE_LOCK:
            _CACHE[node] = report
    return report
