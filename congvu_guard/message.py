"""Parse a message once, defensively, into the view every detector shares.

The walk visits every leaf part, including parts inside ``message/rfc822`` and nested
``multipart/*``, decoding the transfer encoding with limits on depth, part count and
decoded bytes. It never raises on malformed input: what the standard library flags as a
defect, and what a limit cut short, is recorded in :attr:`ParsedMessage.defects` so that a
detector can turn it into a finding.
"""

from __future__ import annotations

import binascii
import email.header
import email.parser
import email.policy
import email.utils
import quopri
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import TYPE_CHECKING

from .auth.model import AuthFacts
from .facts import Facts
from .runcache import DecodedRun, RunCache, decoded, find, known

if TYPE_CHECKING:
    from .detectors.content import Content


@dataclass(frozen=True, slots=True)
class ParseLimits:
    max_depth: int = 20
    max_parts: int = 1000
    max_decoded_bytes: int = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Part:
    """One leaf part with its transfer encoding removed."""

    path: str  # position in the MIME tree, "1", "2.1", ...
    content_type: str  # as declared, lower-case, e.g. "application/pdf"
    filename: str  # declared file name, decoded from RFC 2047/2231; "" when none
    payload: bytes  # decoded content (possibly cut short, see truncated)
    truncated: bool
    depth: int
    is_attachment: bool  # has a file name or Content-Disposition: attachment
    charset: str = ""  # declared charset of a text part, lower-case
    # Other names its headers give (Content-Type's name against Content-Disposition's
    # filename, repeated headers): mail clients differ in which one they save the file as.
    other_names: tuple[str, ...] = ()
    # Of payload, when already known (runcache.py); "" = not computed. Derived from the
    # payload, so not part of what makes two parts equal.
    sha256: str = field(default="", compare=False)


def _no_content() -> Content:
    from .detectors.content import Content  # content.py imports this module

    return Content()


@dataclass(slots=True)
class ParsedMessage:
    header_bytes: int  # size of the header section as received
    headers: list[tuple[str, str]]  # top-level headers, values unfolded, non-ASCII escaped
    parts: list[Part] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)  # e.g. "1.2: StartBoundaryNotFoundDefect"
    decoded_bytes: int = 0  # header bytes + decoded bytes of every leaf part
    # Every file, archives and attached messages opened: filled by the parse stage
    # (congvu_guard.parse.parse_and_expand); empty when the message was not expanded.
    content: Content = field(default_factory=_no_content)
    raw: bytes = b""  # the message as received, for scanners that take it whole (clamd)
    # The services stage's answers (auth, clamd, IOC, stamp key): congvu_guard.services.
    facts: Facts = field(default_factory=Facts)

    @property
    def auth(self) -> AuthFacts | None:
        """SPF/DKIM/DMARC facts (HUE-11.11), None when not checked."""
        return self.facts.auth

    def header(self, name: str) -> str | None:
        lname = name.lower()
        for n, v in self.headers:
            if n.lower() == lname:
                return v
        return None

    def header_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [v for n, v in self.headers if n.lower() == lname]

    def attachments(self) -> Iterator[Part]:
        return (p for p in self.parts if p.is_attachment)


def _safe_text(value: object, collapse: bool = True) -> str:
    """A header value as printable text: RFC 2047 decoded where possible, never raising."""
    try:
        if isinstance(value, email.header.Header):
            chunks = email.header.decode_header(value)
        else:
            chunks = email.header.decode_header(str(value))
        out = []
        for data, charset in chunks:
            if isinstance(data, bytes):
                out.append(data.decode(charset or "ascii", errors="replace"))
            else:
                out.append(data)
        text = "".join(out)
    except (LookupError, ValueError, TypeError, AssertionError, IndexError):
        text = str(value)
    # Undecodable 8-bit bytes arrive as surrogate escapes: make them visible, not fatal.
    text = text.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")
    if collapse:
        return " ".join(text.split())
    # File names keep their spacing (runs of spaces hide extensions) but lose line breaks.
    return "".join(c for c in text if c not in "\r\n\t\0").strip()


_RAW_NAME = re.compile(r'(?:^|;)\s*(?:file)?name\s*=\s*(?:"([^"]*)"|([^;\s]+))', re.I)


def _raw_names(part: Message) -> list[str]:
    """The file name each raw Content-Disposition header gives, then each Content-Type
    header's, as received."""
    found: list[str] = []
    for header in ("content-disposition", "content-type"):
        for name, value in part.raw_items():
            if name.lower() == header:
                m = _RAW_NAME.search(str(value).replace("\r\n", ""))
                if m:
                    found.append(m.group(1) if m.group(1) is not None else m.group(2))
    return found


def _raw_filename(part: Message) -> str | None:
    """The file name from the raw headers, for 8-bit (SMTPUTF8) names that the standard
    library turns into replacement characters."""
    raw = next(iter(_raw_names(part)), None)
    return raw.encode("utf-8", "surrogateescape").decode("utf-8", "replace") if raw else None


def _filename(part: Message) -> str:
    failed = False
    try:
        name = part.get_filename()
    except (LookupError, ValueError, TypeError, AssertionError, IndexError):
        name, failed = None, True
    if isinstance(name, str) and "\ufffd" in name:
        name = _raw_filename(part) or name
    # get_filename already looked for "name" in Content-Type; again only where it failed
    # (an RFC 2231 value it could not collapse).
    if name is None and failed:
        name = part.get_param("name", header="content-type")
        if isinstance(name, tuple):  # RFC 2231 triple
            try:
                name = email.utils.collapse_rfc2231_value(name)
            except (LookupError, ValueError, TypeError):
                name = str(name[2])
    return _safe_text(name, collapse=False) if name else ""


def _other_names(part: Message, filename: str) -> tuple[str, ...]:
    """Names besides ``filename`` that a client could save the part as: Content-Type's
    ``name`` where Content-Disposition's ``filename`` says another, and the names of a
    repeated Content-Disposition or Content-Type header (Python reads the first, a client
    may read the last)."""
    found = _raw_names(part)
    try:
        declared = part.get_param("name", header="content-type")
        if isinstance(declared, tuple):  # RFC 2231 triple
            declared = email.utils.collapse_rfc2231_value(declared)
    except (LookupError, ValueError, TypeError, AttributeError):
        declared = None
    if isinstance(declared, str):
        found.append(declared)
    names = {_safe_text(n, collapse=False) for n in found}
    return tuple(sorted(n for n in names if n and n != filename))


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except (ValueError, TypeError, AttributeError):
        return "application/octet-stream"


_UU_BEGIN = re.compile(rb"^begin [0-7]{3,4} ([^\r\n]+)\r?\n", re.M)
_UU_END = re.compile(rb"^end\s*$", re.M)


def _uu_blocks(text: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(name, encoded lines) of every "begin ... end" block, in one pass. One lazy regex
    for the whole block rescanned the rest of the text for every "begin" line that has
    no "end" (quadratic: 200 KB of such lines took 18 s)."""
    pos = 0
    while (begin := _UU_BEGIN.search(text, pos)) is not None:
        end = _UU_END.search(text, begin.end())
        if end is None:
            return
        yield begin.group(1), text[begin.end():end.start()]
        pos = end.end()


def _charset(part: Message) -> str:
    try:
        cs = part.get_content_charset() or ""
    except (ValueError, TypeError, LookupError):
        return ""
    return str(cs).lower()


try:  # SIMD base64 (AVX2/NEON): 6 ms instead of 20 ms for 13 MB on this machine (issue 17)
    from pybase64 import b64decode as _b64decode
except ImportError:  # the same contract (non-alphabet bytes skipped, binascii.Error)
    _b64decode = binascii.a2b_base64


def _fast_base64(part: Message, cache: RunCache | None = None) -> DecodedRun | None:
    """A body that _skeleton took out whole, decoded in C straight from the received bytes
    when the standard library would decode it without a defect (lines of the base64
    alphabet, whole quanta, at most two '=' and only at the end); None sends it the
    standard library's way, which records the defects. A run decoded before is not
    decoded again (runcache.py)."""
    run: bytes | None = getattr(part, "_congvu_base64_run", None)
    if run is None:
        return None
    if str(part.get("content-transfer-encoding", "")).strip().lower() != "base64":
        return None
    hit = known(cache, run)
    if hit is not None:
        return hit
    # The decoder skips the line breaks itself: no copy of the run without them, and no
    # count of its characters: data that is not whole quanta raises (issue 17: the copy
    # and the counts were half of this function's time on a 20 MB message).
    pad = 0
    eq = run.find(b"=")
    if eq >= 0:
        tail = run[eq:].translate(None, b"\r\n")
        if len(tail) > 2 or tail.strip(b"="):
            return None
        pad = len(tail)
    try:
        out = _b64decode(run)
    except binascii.Error:
        return None  # not whole quanta: the standard library's way records the defect
    # With '=' at the end the decoder also takes runs that are not whole quanta ("QU" +
    # "QUJDRA=": 8 data characters and a pad), where the standard library records
    # InvalidBase64PaddingDefect. Whole quanta with 1 or 2 pads decode to 3k+2 or 3k+1
    # bytes; every other count of data characters gives another remainder. This costs
    # nothing, where counting the line breaks costs 12 ms on 13 MB.
    if pad and len(out) % 3 != 3 - pad:
        return None
    return decoded(cache, run, out)


# A Content-Transfer-Encoding's mechanism, read as mail clients read it: case, spaces, quotes,
# comments and anything after the first word ignored.
_CTE_COMMENT = re.compile(r"\([^()]*\)")
_CTE_WORD = re.compile(r"[a-z0-9-]+")
# The encodings that decode (those Message.get_payload(decode=True) decodes, _DECODED_CTES),
# the one a client would pick first ranked highest.
_CTE_RANK = {"base64": 3, "quoted-printable": 2, "x-uuencode": 1, "uuencode": 1, "uue": 1,
             "x-uue": 1}


def _transfer_encoding(part: Message) -> str:
    """The transfer encoding a client could decode the part with, or "" for none.

    The standard library compares the whole value of the first header ("BASE64 " or
    "base64 (encoded)" are then no encoding, and a file in base64 is scanned as text, where
    a client decodes it and saves the file). Of repeated headers that disagree, the one that
    decodes wins: a client may read either, and only the decoded form carries a file."""
    best, rank = "", 0
    for name, value in part.raw_items():
        if name.lower() == "content-transfer-encoding":
            word = _CTE_WORD.search(_CTE_COMMENT.sub(" ", str(value).lower()))
            if word and _CTE_RANK.get(word.group(), 0) > rank:
                best, rank = word.group(), _CTE_RANK[word.group()]
    return best


_BOUNDARY_PARAM = re.compile(r'(?:^|;)\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]+))', re.I)
# Defects that mean a mail client could find parts the parser did not (detectors/mime.py).
AMBIGUOUS = ("AmbiguousContentType", "AmbiguousBoundary")


def _ambiguity(part: Message) -> str:
    """Which of AMBIGUOUS this part's headers show, or "".

    The standard library reads the first Content-Type header and the first boundary; a
    client may read the last. Two headers whose types differ where one of them has parts
    (multipart, message), or two different boundaries, can hide an attachment from the
    scanner."""
    types: set[str] = set()
    for name, value in part.raw_items():
        if name.lower() != "content-type":
            continue
        text = str(value).replace("\r\n", "")
        types.add(text.split(";", 1)[0].strip().lower())
        bounds = {m.group(1) if m.group(1) is not None else m.group(2)
                  for m in _BOUNDARY_PARAM.finditer(text)}
        if len(bounds) > 1:
            return "AmbiguousBoundary"
    if len(types) > 1 and any(t.startswith(("multipart/", "message/")) for t in types):
        return "AmbiguousContentType"
    return ""


_NOT_BASE64 = bytes(set(range(256)) - set(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"))


def _encoded_message(part: Message) -> bytes | None:
    """The decoded body of a message/* part sent in base64 or quoted-printable, else None.

    RFC 2046 (5.2.1) forbids that for message/rfc822, RFC 6532 allows it for
    message/global; either way the standard library parses the encoded text as the
    attached message (base64 lines become a message with no headers), where a client
    decodes it first and shows the attachments inside. The decoded bytes become a leaf
    part, which the expansion opens as a message."""
    if part.get_content_maintype() != "message":
        return None
    cte = _transfer_encoding(part)
    if cte not in ("base64", "quoted-printable"):
        return None
    children = part.get_payload()
    if not isinstance(children, list) or len(children) != 1 or \
            not isinstance(children[0], Message):
        return None  # delivery-status and the like: blocks of fields, not a message
    try:
        text = children[0].as_string().encode("utf-8", "surrogateescape")
        if cte == "quoted-printable":
            return quopri.decodestring(text)
        data = text.translate(None, _NOT_BASE64)  # as clients do: skip the rest (and '=')
        data = data[:len(data) - 1] if len(data) % 4 == 1 else data  # a lone last character
        return binascii.a2b_base64(data + b"=" * (-len(data) % 4))
    except (ValueError, TypeError, LookupError, UnicodeError, binascii.Error):
        return None  # the parse as it was; the message is still judged as parsed


def _decoded_payload(part: Message, cache: RunCache | None = None) -> tuple[bytes, str]:
    """The part's content with its transfer encoding removed, and its sha256 when that is
    already known ("" otherwise)."""
    cte = _transfer_encoding(part)
    if cte and str(part.get("content-transfer-encoding", "")).lower() != cte:
        del part["content-transfer-encoding"]
        part["Content-Transfer-Encoding"] = cte
    fast = _fast_base64(part, cache)
    if fast is not None:
        return fast.data, fast.sha256
    blobs = getattr(part, "_congvu_blobs", None)
    if blobs is not None:
        if str(part.get("content-transfer-encoding", "")).lower() not in _DECODED_CTES:
            # What the standard library would return: the bytes as received (_restore).
            raw = _put_back_bytes(part._payload, blobs)  # type: ignore[attr-defined]
            if raw is not None:
                return raw, ""
        # The standard library's way needs the run back in the text.
        part.set_payload(_put_back(part._payload, blobs))  # type: ignore[attr-defined]
        part._congvu_blobs = None  # type: ignore[attr-defined]
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, TypeError, AssertionError, LookupError):
        payload = None
    if isinstance(payload, bytes):
        return payload, ""
    raw = part.get_payload()
    if isinstance(raw, str):
        return raw.encode("utf-8", errors="surrogateescape"), ""
    return b"", ""


def _header_section_size(raw: bytes) -> int:
    for sep in (b"\r\n\r\n", b"\n\n"):
        idx = raw.find(sep)
        if idx >= 0:
            return idx + len(sep)
    return len(raw)


class _Walker:
    def __init__(self, parsed: ParsedMessage, limits: ParseLimits,
                 cache: RunCache | None = None) -> None:
        self.parsed = parsed
        self.limits = limits
        self.cache = cache
        self.budget = limits.max_decoded_bytes
        self.count = 0
        self.cut: set[str] = set()

    def note(self, path: str, defect: str) -> None:
        self.parsed.defects.append(f"{path}: {defect}" if path else defect)

    def limit(self, what: str) -> None:
        if what not in self.cut:
            self.cut.add(what)
            self.note("", f"LimitExceeded({what})")

    def walk(self, part: Message, path: str, depth: int) -> None:
        if ambiguity := _ambiguity(part):
            self.note(path or "0", ambiguity)
        try:
            self.visit(part, path, depth)
        finally:
            # Decoding adds defects (bad base64 padding...), so collect them afterwards.
            for defect in getattr(part, "defects", []):
                self.note(path or "0", type(defect).__name__)

    def visit(self, part: Message, path: str, depth: int) -> None:
        if depth > self.limits.max_depth:
            self.limit(f"depth>{self.limits.max_depth}")
            return
        encoded = _encoded_message(part) if part.is_multipart() else None
        if part.is_multipart() and encoded is None:
            children = part.get_payload()
            if not isinstance(children, list):
                self.note(path or "0", "MultipartPayloadNotList")
                return
            for i, child in enumerate(children, 1):
                if isinstance(child, Message):
                    self.walk(child, f"{path}.{i}" if path else str(i), depth + 1)
            return
        self.count += 1
        if self.count > self.limits.max_parts:
            self.limit(f"parts>{self.limits.max_parts}")
            return
        payload, sha256 = (encoded, "") if encoded is not None else \
            _decoded_payload(part, self.cache)
        self.parsed.decoded_bytes += len(payload)
        truncated = len(payload) > self.budget
        if truncated:
            self.limit(f"decoded>{self.limits.max_decoded_bytes}")
            payload, sha256 = payload[: max(self.budget, 0)], ""
        self.budget -= len(payload)
        filename = _filename(part)
        disposition = str(part.get("Content-Disposition") or "").split(";", 1)[0].strip().lower()
        content_type = _content_type(part)
        self.parsed.parts.append(
            Part(
                path=path or "1",
                content_type=content_type,
                filename=filename,
                payload=payload,
                truncated=truncated,
                depth=depth,
                is_attachment=bool(filename) or disposition == "attachment",
                charset=_charset(part),
                other_names=_other_names(part, filename),
                sha256=sha256,
            )
        )
        if not filename and content_type.startswith("text/") and b"\nbegin " in payload:
            self.uuencoded(payload, path or "1", depth)

    def uuencoded(self, text: bytes, path: str, depth: int) -> None:
        """Files pasted into a text part with uuencode ("begin 644 name" ... "end")."""
        for n, (raw_name, block) in enumerate(_uu_blocks(text), 1):
            name = raw_name.decode("utf-8", "replace").strip()
            out = bytearray()
            for line in block.splitlines():
                if not line.strip() or line.strip() == b"`":
                    continue
                try:
                    out += binascii.a2b_uu(line.strip(b"\r"))
                except binascii.Error:
                    self.note(path, "UuencodeDecodeError")
                    break
            self.parsed.parts.append(Part(f"{path}.uu{n}", "application/octet-stream", name,
                                          bytes(out), False, depth + 1, True))


# Runs of base64 lines at least this long are parsed as one line (see _skeleton).
_BLOB_MIN = 64 * 1024
# Runs of other lines at least this long too, kept only where they turn out to be a part's
# body (see _restore): the standard library spends ~2 µs a line, 0.25 ms of the 0.5 ms a
# 10 KB text message's parse took, and more than half its time on a large text part.
_TEXT_MIN = 2 * 1024
_BASE64_TOKEN = "CGBLOB"
_TEXT_TOKEN = "CGTEXT"
_TOKEN = re.compile(r"CG(?:BLOB|TEXT)[0-9a-f]{16}N[0-9]+")
_TEXT_TOKEN_BYTES = re.compile(rb"CGTEXT[0-9a-f]{16}N[0-9]+")
# Lines starting with "--" looked at, at most: the rest of a message with more is left to
# the parser as it is. 6 MB of nothing but "\n--" lines took 2.6 s here before the parser
# even started; real mail has a few per part.
_MAX_SEGMENTS = 4096
_BASE64_LINES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n"


def _find_dash_line(raw: bytes, pos: int) -> int:
    """``raw.find(b"\\n--", pos)``, in 0.4 ms instead of 12 ms over 20 MB of base64 (issue
    17): "-" is not in the base64 alphabet, and a search for one byte is a memchr that
    crosses a run at memory speed, where the three-byte search stops at every line break.
    After 16 hyphens that start no such line (text full of them), the exact search from
    there: never more than one pass plus 16 steps."""
    i = pos + 1
    for _ in range(16):
        j = raw.find(b"-", i)
        if j < 0:
            return -1
        if raw[j - 1] == 0x0A and raw[j + 1:j + 2] == b"-":
            return j - 1
        i = j + 1
    return raw.find(b"\n--", i - 1)


def _skeleton(raw: bytes, cache: RunCache | None = None) -> tuple[bytes, dict[str, bytes]]:
    """``raw`` with every long run of lines that follows a blank line replaced by one token
    line, and the runs by token.

    The standard library's parser reads a message line by line in Python: a 7 MB
    attachment costs it ~200 ms. Inside a run there is no line that starts with "--"
    (runs end where such a line starts, and a run holds no bare CR, which the parser also
    takes for a line break), so no boundary: the parser treats one such line as it treats
    many wherever the lines are a part's body, a preamble or an epilogue, and the runs are
    put back into the payloads afterwards.

    - Runs of the base64 alphabet (``_BLOB_MIN`` or longer) can be neither header fields
      (no colon) nor a "From " line either: they are one line in any place. They may be
      decoded straight from the run (``_fast_base64``).
    - Other runs (``_TEXT_MIN`` or longer) could be header fields where a header section
      starts (an attached message): ``_restore`` says whether each landed in a part's
      body, and the caller parses again without them (``_without_text_runs``) when one
      did not.

    The token carries a random nonce, so a message cannot forge one. A base64 run that is
    one decoded before (``cache``, runcache.py) is neither copied nor checked again.
    """
    smallest = min(_BLOB_MIN, _TEXT_MIN)
    if len(raw) < smallest:
        return raw, {}
    nonce = secrets.token_hex(8)
    blobs: dict[str, bytes] = {}
    out: list[bytes] = []
    done = pos = 0
    n = len(raw)
    for _ in range(_MAX_SEGMENTS):
        if pos >= n:
            break
        nxt = _find_dash_line(raw, pos)
        seg_end = n if nxt < 0 else nxt
        if seg_end - pos >= smallest:
            first = raw.find(b"\n\r\n", pos, seg_end)
            lf = raw.find(b"\n\n", pos, seg_end if first < 0 else first + 2)
            if lf >= 0:
                first, start = lf, lf + 2
            elif first >= 0:
                start = first + 3
            if first >= 0:
                # The run starts at a line with content: a blank line may end a header
                # section (an attached message without headers) and must stay one.
                while start < seg_end and raw[start] in b"\r\n":
                    start += 1
                stop = seg_end
                while stop > start and raw[stop - 1] in b"\r\n":
                    stop -= 1
                hit = find(cache, raw, start, stop) if stop - start >= _BLOB_MIN else None
                # One copy, bytes even when raw is the milter's bytearray (a bytearray
                # slice and then bytes() of it were two: +12 ms on a 20 MB message); none
                # for a run decoded before, which is the remembered one byte for byte.
                if hit is not None:
                    run = hit.run
                elif stop - start >= smallest:
                    run = bytes(memoryview(raw)[start:stop])
                else:
                    run = b""
                kind = ""
                if hit is not None or (len(run) >= _BLOB_MIN
                                       and not run.translate(None, _BASE64_LINES)):
                    kind = _BASE64_TOKEN
                elif (len(run) >= _TEXT_MIN and raw[start - 1] == 0x0A
                      and not run.startswith(b"--")
                      and run.count(b"\r") == run.count(b"\r\n")):
                    kind = _TEXT_TOKEN  # starts a line after LF, no bare CR: no boundary
                if kind:
                    token = f"{kind}{nonce}N{len(blobs)}"
                    blobs[token] = run
                    out += (raw[done:start], token.encode())
                    done = stop
        pos = seg_end + 3 if nxt >= 0 else n
    if not blobs:
        return raw, {}
    out.append(raw[done:])
    return b"".join(out), blobs


def _without_text_runs(skeleton: bytes, blobs: dict[str, bytes],
                       ) -> tuple[bytes, dict[str, bytes]]:
    """The skeleton with its text runs put back and only its base64 runs left out: what
    ``_skeleton`` gives with no text runs, without copying and checking the base64 runs a
    second time (a message forwarded as an attachment with its Received lines takes this
    way, and its attachments are often megabytes of base64)."""
    texts = {t.encode(): run for t, run in blobs.items() if t.startswith(_TEXT_TOKEN)}
    kept = {t: run for t, run in blobs.items() if not t.startswith(_TEXT_TOKEN)}
    return _TEXT_TOKEN_BYTES.sub(lambda m: texts.get(m.group(), m.group()), skeleton), kept


def _pieces(text: str, blobs: dict[str, bytes]) -> Iterator[str | bytes]:
    """``text`` cut at its tokens: the text between them (str) and their runs (bytes)."""
    done = 0
    for m in _TOKEN.finditer(text):
        blob = blobs.get(m.group())
        if blob is None:
            continue
        yield text[done:m.start()]
        yield blob
        done = m.end()
    yield text[done:]


def _put_back(text: str, blobs: dict[str, bytes]) -> str:
    """``text`` with its tokens replaced by their runs (decoded as the parser decodes the
    message: ASCII, other bytes as surrogate escapes)."""
    return "".join(p if isinstance(p, str) else p.decode("ascii", "surrogateescape")
                   for p in _pieces(text, blobs))


# The transfer encodings Message.get_payload(decode=True) decodes; for any other (7bit, 8bit,
# binary, none, unknown) it returns the body's bytes as received.
_DECODED_CTES = frozenset(_CTE_RANK)


def _put_back_bytes(text: str, blobs: dict[str, bytes]) -> bytes | None:
    """``_put_back(text, blobs)`` as the bytes the standard library would encode it to
    (ASCII, surrogate escapes back to their bytes), without decoding the runs into text
    and encoding them again: 80 µs of a 13 KB 8-bit Vietnamese text part. None when the
    text is not what a parse of bytes leaves (the standard library's way then decides)."""
    try:
        return b"".join(p.encode("ascii", "surrogateescape") if isinstance(p, str) else p
                        for p in _pieces(text, blobs))
    except UnicodeError:
        return None


def _lone_run(text: str, blobs: dict[str, bytes]) -> bytes | None:
    """The base64 run when ``text`` is one such token alone between line breaks, else
    None."""
    token = text.strip("\r\n")
    return blobs.get(token) if token.startswith(_BASE64_TOKEN) else None


def _in_body(node: Message) -> bool:
    """The parser read ``node``'s header section to its end without a defect and took the
    rest for the body of a part that is neither a container nor an attached message."""
    if node.defects:
        return False
    try:
        return node.get_content_maintype() not in ("message", "multipart")
    except (ValueError, TypeError, AttributeError):
        return False


def _restore(msg: Message, blobs: dict[str, bytes]) -> bool:
    """Put the runs _skeleton took out back where the parser left their tokens. False when
    a text run's token is anywhere but a part's body (``_in_body``), a preamble or an
    epilogue (it stood where a header section starts, and its lines may be header fields):
    the message must be parsed again without text runs."""
    texts = {t for t in blobs if t.startswith(_TEXT_TOKEN)}
    placed: set[str] = set()
    stack = [msg]
    while stack:
        node = stack.pop()
        # The stored payload: get_payload() would turn undecodable bytes (kept by the
        # parser as surrogate escapes) into replacement characters.
        payload = node._payload
        if isinstance(payload, list):
            stack.extend(p for p in payload if isinstance(p, Message))
        elif isinstance(payload, str) and "CG" in payload:
            found = [m.group() for m in _TOKEN.finditer(payload) if m.group() in blobs]
            if texts.intersection(found):
                if not _in_body(node):
                    return False
                placed.update(found)
            only = _lone_run(payload, blobs)
            if only is not None:
                # Decoded straight from the run (_fast_base64); the text with the run put
                # back (two more copies of it) only if the standard library must decode it.
                node._congvu_base64_run = only  # type: ignore[attr-defined]
                node._congvu_blobs = blobs  # type: ignore[attr-defined]
            elif found:
                # Put back when the part is read (_decoded_payload): a body that needs no
                # decoding is taken as bytes, with no round trip through text.
                node._congvu_blobs = blobs  # type: ignore[attr-defined]
        for attr in ("preamble", "epilogue"):
            value = getattr(node, attr, None)
            if isinstance(value, str) and "CG" in value:
                placed.update(m.group() for m in _TOKEN.finditer(value))
                setattr(node, attr, _put_back(value, blobs))
    return texts <= placed


def parse_message(raw: bytes, limits: ParseLimits | None = None,
                  cache: RunCache | None = None) -> ParsedMessage:
    """Parse raw RFC 5322 bytes. Never raises for malformed content. ``cache``: base64
    runs decoded before are not decoded again (runcache.py)."""
    limits = limits or ParseLimits()
    header_bytes = _header_section_size(raw)
    parser = email.parser.BytesParser(policy=email.policy.compat32)
    skeleton, blobs = _skeleton(raw, cache)
    try:
        msg = parser.parsebytes(skeleton)
        if blobs and not _restore(msg, blobs):
            skeleton, blobs = _without_text_runs(skeleton, blobs)  # one stood for headers
            msg = parser.parsebytes(skeleton)
            if blobs:
                _restore(msg, blobs)
    except RecursionError:
        # Nesting deep enough to exhaust the standard library's recursive parser: keep the
        # headers and scan the body as one opaque part.
        msg = parser.parsebytes(raw[:header_bytes], headersonly=True)
        msg.set_payload(raw[header_bytes:])
        del msg["Content-Type"]
        del msg["Content-Transfer-Encoding"]
        fallback = True
    else:
        fallback = False
    headers = [(str(k), _safe_text(v)) for k, v in msg.items()]
    parsed = ParsedMessage(header_bytes=header_bytes, headers=headers, raw=raw)
    parsed.decoded_bytes = header_bytes
    if not raw or raw.isspace():
        parsed.defects.append("EmptyMessage")
    walker = _Walker(parsed, limits, cache)
    if fallback:
        walker.limit("nesting>parser")
    walker.walk(msg, "", 0)
    return parsed
