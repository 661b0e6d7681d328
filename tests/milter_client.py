"""A small milter-protocol client (Sendmail milter protocol version 6), as an MTA speaks it.

It talks to a real milter over a unix socket, one command at a time, and returns what the
milter answered. It honours the negotiated protocol: a step the milter asked not to receive
(``SMFIP_NO*``) is not sent, and no reply is awaited for a step the milter said it would not
answer (``SMFIP_NR_*``). Every read has a timeout, so a milter that stops answering raises
:class:`MilterTimeout`, and one that closes the connection raises :class:`MilterClosed`;
:meth:`MilterClient.transaction` turns both into a :class:`Reply` of kind ``TIMEOUT`` or
``CLOSED`` instead.

    with MilterClient("/run/milter.sock") as c:
        c.negotiate()
        c.connect("mx.example.net", "192.0.2.7")
        result = c.transaction("<a@example.net>", ["<b@hue.gov.vn>"], raw_message)
        assert result.reply.kind is ReplyKind.ACCEPT

Wire format (libmilter's mfdef.h): every packet is a 4-byte big-endian length (command byte
included), the command byte, then the data; strings are NUL-terminated.
"""

from __future__ import annotations

import contextlib
import enum
import socket
import struct
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType

# -- protocol constants (libmilter/mfdef.h) ---------------------------------------------------

VERSION = 6
MAX_BODY_CHUNK = 65535  # MILTER_CHUNK_SIZE: an MTA never sends a larger body packet

# Commands, MTA -> milter.
SMFIC_ABORT = b"A"
SMFIC_BODY = b"B"
SMFIC_CONNECT = b"C"
SMFIC_MACRO = b"D"
SMFIC_BODYEOB = b"E"
SMFIC_HELO = b"H"
SMFIC_QUIT_NC = b"K"
SMFIC_HEADER = b"L"
SMFIC_MAIL = b"M"
SMFIC_EOH = b"N"
SMFIC_OPTNEG = b"O"
SMFIC_QUIT = b"Q"
SMFIC_RCPT = b"R"
SMFIC_DATA = b"T"
SMFIC_UNKNOWN = b"U"

# Actions the MTA offers (SMFIF_*).
SMFIF_ADDHDRS = 0x01
SMFIF_CHGBODY = 0x02
SMFIF_ADDRCPT = 0x04
SMFIF_DELRCPT = 0x08
SMFIF_CHGHDRS = 0x10
SMFIF_QUARANTINE = 0x20
SMFIF_CHGFROM = 0x40
SMFIF_ADDRCPT_PAR = 0x80
SMFIF_SETSYMLIST = 0x100
ALL_ACTIONS = 0x1FF

# Protocol steps (SMFIP_*).
SMFIP_NOCONNECT = 0x01
SMFIP_NOHELO = 0x02
SMFIP_NOMAIL = 0x04
SMFIP_NORCPT = 0x08
SMFIP_NOBODY = 0x10
SMFIP_NOHDRS = 0x20
SMFIP_NOEOH = 0x40
SMFIP_NR_HDR = 0x80
SMFIP_NOUNKNOWN = 0x100
SMFIP_NODATA = 0x200
SMFIP_SKIP = 0x400
SMFIP_RCPT_REJ = 0x800
SMFIP_NR_CONN = 0x1000
SMFIP_NR_HELO = 0x2000
SMFIP_NR_MAIL = 0x4000
SMFIP_NR_RCPT = 0x8000
SMFIP_NR_DATA = 0x10000
SMFIP_NR_UNKN = 0x20000
SMFIP_NR_EOH = 0x40000
SMFIP_NR_BODY = 0x80000
SMFIP_HDR_LEADSPC = 0x100000
ALL_PROTOCOL = 0x1FFFFF  # what Postfix offers: every step may be skipped or left unanswered

# Which protocol bits switch a command off (NO*) or its reply off (NR_*).
_STEP_BITS: dict[bytes, tuple[int, int]] = {
    SMFIC_CONNECT: (SMFIP_NOCONNECT, SMFIP_NR_CONN),
    SMFIC_HELO: (SMFIP_NOHELO, SMFIP_NR_HELO),
    SMFIC_MAIL: (SMFIP_NOMAIL, SMFIP_NR_MAIL),
    SMFIC_RCPT: (SMFIP_NORCPT, SMFIP_NR_RCPT),
    SMFIC_DATA: (SMFIP_NODATA, SMFIP_NR_DATA),
    SMFIC_HEADER: (SMFIP_NOHDRS, SMFIP_NR_HDR),
    SMFIC_EOH: (SMFIP_NOEOH, SMFIP_NR_EOH),
    SMFIC_BODY: (SMFIP_NOBODY, SMFIP_NR_BODY),
    SMFIC_UNKNOWN: (SMFIP_NOUNKNOWN, SMFIP_NR_UNKN),
}

# Replies and modification actions, milter -> MTA.
SMFIR_ADDRCPT = b"+"
SMFIR_DELRCPT = b"-"
SMFIR_ADDRCPT_PAR = b"2"
SMFIR_SHUTDOWN = b"4"
SMFIR_ACCEPT = b"a"
SMFIR_REPLBODY = b"b"
SMFIR_CONTINUE = b"c"
SMFIR_DISCARD = b"d"
SMFIR_CHGFROM = b"e"
SMFIR_CONN_FAIL = b"f"
SMFIR_ADDHEADER = b"h"
SMFIR_INSHEADER = b"i"
SMFIR_SETSYMLIST = b"l"
SMFIR_CHGHEADER = b"m"
SMFIR_PROGRESS = b"p"
SMFIR_QUARANTINE = b"q"
SMFIR_REJECT = b"r"
SMFIR_SKIP = b"s"
SMFIR_TEMPFAIL = b"t"
SMFIR_REPLYCODE = b"y"
SMFIR_OPTNEG = b"O"

_MOD_ACTIONS = {
    SMFIR_ADDRCPT: "addrcpt", SMFIR_DELRCPT: "delrcpt", SMFIR_ADDRCPT_PAR: "addrcpt_par",
    SMFIR_REPLBODY: "replbody", SMFIR_CHGFROM: "chgfrom", SMFIR_ADDHEADER: "addheader",
    SMFIR_INSHEADER: "insheader", SMFIR_CHGHEADER: "chgheader",
    SMFIR_QUARANTINE: "quarantine",
}

# A packet larger than this is refused by the milter library; we never read one that large.
MAX_REPLY_PACKET = 64 * 1024 * 1024


class MilterError(Exception):
    """The milter broke the protocol, closed the connection or did not answer in time."""


class MilterClosed(MilterError):
    """The milter closed the connection."""


class MilterTimeout(MilterError):
    """The milter did not answer within the timeout."""


class MilterProtocolError(MilterError):
    """The milter sent something the protocol does not allow here."""


class ReplyKind(enum.Enum):
    CONTINUE = "continue"
    ACCEPT = "accept"
    REJECT = "reject"
    TEMPFAIL = "tempfail"
    DISCARD = "discard"
    REPLYCODE = "replycode"  # an SMTP reply with code and text (``code``, ``text``)
    SKIP = "skip"  # no more body chunks, please
    SHUTDOWN = "shutdown"
    CONN_FAIL = "conn_fail"
    NOREPLY = "noreply"  # the step was sent, the milter said it would not answer it
    NOT_SENT = "not_sent"  # the milter asked not to receive this step
    CLOSED = "closed"  # the milter closed the connection
    TIMEOUT = "timeout"  # the milter did not answer in time


@dataclass(frozen=True)
class Reply:
    kind: ReplyKind
    text: bytes = b""  # for REPLYCODE: "550 5.7.1 text" as sent (NUL removed)

    @property
    def code(self) -> int | None:
        """The SMTP code of a REPLYCODE reply (550), else None."""
        if self.kind is not ReplyKind.REPLYCODE or len(self.text) < 3:
            return None
        head = self.text[:3]
        return int(head) if head.isdigit() else None

    @property
    def is_continue(self) -> bool:
        return self.kind in (ReplyKind.CONTINUE, ReplyKind.NOREPLY, ReplyKind.NOT_SENT,
                             ReplyKind.SKIP)

    @property
    def smtp_class(self) -> int | None:
        """2, 4 or 5: what the MTA would answer the client; None while the message goes on."""
        if self.kind in (ReplyKind.ACCEPT, ReplyKind.DISCARD):
            return 2
        if self.kind in (ReplyKind.TEMPFAIL, ReplyKind.CLOSED, ReplyKind.TIMEOUT,
                         ReplyKind.SHUTDOWN, ReplyKind.CONN_FAIL):
            return 4  # Postfix applies milter_default_action = tempfail to a failed milter
        if self.kind is ReplyKind.REJECT:
            return 5
        if self.kind is ReplyKind.REPLYCODE:
            code = self.code
            return code // 100 if code is not None else None
        return None


@dataclass(frozen=True)
class Modification:
    """One modification action sent at end of body."""

    action: str  # "addheader", "chgheader", "insheader", "addrcpt", "delrcpt", ...
    args: tuple[bytes, ...]  # NUL-separated strings as sent (replbody: the raw chunk)
    index: int | None = None  # header index for chgheader and insheader


@dataclass(frozen=True)
class EomResult:
    reply: Reply
    modifications: tuple[Modification, ...] = ()

    def added_headers(self) -> dict[str, str]:
        """Headers added with addheader/insheader, name -> value (the last one wins)."""
        out: dict[str, str] = {}
        for m in self.modifications:
            if m.action in ("addheader", "insheader") and len(m.args) >= 2:
                out[m.args[0].decode("utf-8", "replace")] = m.args[1].decode("utf-8", "replace")
        return out

    def of_action(self, action: str) -> list[Modification]:
        return [m for m in self.modifications if m.action == action]


@dataclass(frozen=True)
class Negotiated:
    version: int
    actions: int
    protocol: int
    macros: dict[int, bytes] = field(default_factory=dict)  # stage -> macro list wanted

    def skips(self, cmd: bytes) -> bool:
        bits = _STEP_BITS.get(cmd)
        return bits is not None and bool(self.protocol & bits[0])

    def no_reply(self, cmd: bytes) -> bool:
        bits = _STEP_BITS.get(cmd)
        return bits is not None and bool(self.protocol & bits[1])


@dataclass(frozen=True)
class TransactionResult:
    """What one message got: the reply that ended it and the steps before."""

    reply: Reply
    stage: str  # "mail", "rcpt", "data", "header", "eoh", "body", "eob", or "closed"
    steps: tuple[tuple[str, Reply], ...]
    modifications: tuple[Modification, ...] = ()
    rcpt_replies: tuple[Reply, ...] = ()

    def added_headers(self) -> dict[str, str]:
        return EomResult(self.reply, self.modifications).added_headers()

    def of_action(self, action: str) -> list[Modification]:
        return [m for m in self.modifications if m.action == action]


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def _z(value: str | bytes) -> bytes:
    return _b(value) + b"\0"


def split_message(raw: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers (name, value with folding kept, no final CRLF) and body, the way an MTA
    splits a message before handing it to a milter. Lenient: a line without a colon ends
    the header section."""
    headers: list[tuple[bytes, bytes]] = []
    pos = 0
    n = len(raw)
    while pos < n:
        end = raw.find(b"\n", pos)
        line_end = n if end < 0 else end + 1
        line = raw[pos:line_end]
        if line in (b"\r\n", b"\n"):
            pos = line_end
            break
        if line[:1] in (b" ", b"\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + b"\n" + line.rstrip(b"\r\n"))
            pos = line_end
            continue
        name, colon, value = line.rstrip(b"\r\n").partition(b":")
        if not colon:
            break
        headers.append((name.strip(), value[1:] if value.startswith(b" ") else value))
        pos = line_end
    return headers, raw[pos:]


class MilterClient:
    """One MTA-side milter connection. Not thread-safe: use one client per thread."""

    def __init__(self, path: str | bytes, timeout: float = 60.0) -> None:
        self.path = path
        self.timeout = timeout
        self.sock: socket.socket | None = None
        self.negotiated: Negotiated | None = None
        self.closed = False  # the milter closed the connection
        self.sent_bytes = 0
        # The last packets (command byte, data size, first bytes), for error reports; what
        # the milter sent has "<" before its command byte.
        self.trace: list[tuple[bytes, int, bytes]] = []

    # -- connection ----------------------------------------------------------------------

    def open(self) -> MilterClient:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.path)
        self.sock = s
        return self

    def __enter__(self) -> MilterClient:
        if self.sock is None:
            self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def hang_up(self) -> None:
        """Close abruptly, as a crashed MTA process would (no QUIT)."""
        if self.sock is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    # -- packets --------------------------------------------------------------------------

    def send_packet(self, cmd: bytes, data: bytes = b"") -> None:
        if self.sock is None:
            raise MilterClosed("not connected")
        packet = struct.pack(">I", len(data) + 1) + cmd + data
        try:
            self.sock.sendall(packet)
        except TimeoutError as e:
            raise MilterTimeout(f"sending {cmd!r}: milter does not read") from e
        except (BrokenPipeError, ConnectionResetError) as e:
            self.closed = True
            raise MilterClosed(f"sending {cmd!r}: {e}") from e
        self.sent_bytes += len(packet)
        self.trace.append((cmd, len(data), data[:60]))
        del self.trace[:-40]

    def _recv_exact(self, n: int, deadline: float) -> bytes:
        assert self.sock is not None
        buf = bytearray()
        while len(buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise MilterTimeout(f"no reply within {self.timeout:.0f} s")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(min(n - len(buf), 1 << 20))
            except TimeoutError as e:
                raise MilterTimeout(f"no reply within {self.timeout:.0f} s") from e
            except ConnectionResetError as e:
                self.closed = True
                raise MilterClosed(str(e)) from e
            if not chunk:
                self.closed = True
                raise MilterClosed("connection closed by the milter")
            buf += chunk
        return bytes(buf)

    def read_packet(self) -> tuple[bytes, bytes]:
        if self.sock is None:
            raise MilterClosed("not connected")
        deadline = time.monotonic() + self.timeout
        (length,) = struct.unpack(">I", self._recv_exact(4, deadline))
        if length < 1 or length > MAX_REPLY_PACKET:
            raise MilterProtocolError(f"reply packet of length {length}")
        data = self._recv_exact(length, deadline)
        self.trace.append((b"<" + data[:1], length - 1, data[1:61]))
        return data[:1], data[1:]

    def check_quiet(self, before: bytes) -> None:
        """Raise if the milter sent something nobody asked for, or closed the connection,
        while it was supposed to be silent (after no-reply steps)."""
        if self.sock is None:
            raise MilterClosed("not connected")
        self.sock.setblocking(False)
        try:
            data = self.sock.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionResetError as e:
            self.closed = True
            raise MilterClosed(str(e)) from e
        finally:
            self.sock.settimeout(self.timeout)
        if not data:
            self.closed = True
            raise MilterClosed(f"connection closed by the milter (before {before!r})")
        cmd, payload = self.read_packet()
        raise MilterProtocolError(f"unsolicited {cmd!r} {payload[:80]!r} before {before!r}")

    def read_reply(self) -> Reply:
        """The answer to one command; progress packets are skipped."""
        while True:
            cmd, data = self.read_packet()
            if cmd == SMFIR_PROGRESS:
                continue
            return self._reply(cmd, data)

    @staticmethod
    def _reply(cmd: bytes, data: bytes) -> Reply:
        simple = {
            SMFIR_CONTINUE: ReplyKind.CONTINUE, SMFIR_ACCEPT: ReplyKind.ACCEPT,
            SMFIR_REJECT: ReplyKind.REJECT, SMFIR_TEMPFAIL: ReplyKind.TEMPFAIL,
            SMFIR_DISCARD: ReplyKind.DISCARD, SMFIR_SKIP: ReplyKind.SKIP,
            SMFIR_SHUTDOWN: ReplyKind.SHUTDOWN, SMFIR_CONN_FAIL: ReplyKind.CONN_FAIL,
        }
        if cmd in simple:
            return Reply(simple[cmd])
        if cmd == SMFIR_REPLYCODE:
            return Reply(ReplyKind.REPLYCODE, data.rstrip(b"\0"))
        raise MilterProtocolError(f"unexpected reply {cmd!r} ({len(data)} bytes)")

    def command(self, cmd: bytes, data: bytes = b"") -> Reply:
        """Send one protocol step, honouring NO*/NR_* bits, and return its reply."""
        neg = self.negotiated
        if neg is not None and neg.skips(cmd):
            return Reply(ReplyKind.NOT_SENT)
        self.check_quiet(cmd)
        self.send_packet(cmd, data)
        if neg is not None and neg.no_reply(cmd):
            return Reply(ReplyKind.NOREPLY)
        return self.read_reply()

    # -- protocol steps -------------------------------------------------------------------

    def negotiate(self, actions: int = ALL_ACTIONS, protocol: int = ALL_PROTOCOL,
                  version: int = VERSION) -> Negotiated:
        self.send_packet(SMFIC_OPTNEG, struct.pack(">III", version, actions, protocol))
        cmd, data = self.read_packet()
        if cmd != SMFIR_OPTNEG or len(data) < 12:
            raise MilterProtocolError(f"negotiation answered with {cmd!r} {data[:40]!r}")
        v, a, p = struct.unpack(">III", data[:12])
        macros: dict[int, bytes] = {}
        rest = data[12:]
        while len(rest) >= 5:
            (stage,) = struct.unpack(">I", rest[:4])
            value, _, rest = rest[4:].partition(b"\0")
            macros[stage] = value
        # libmilter reads an offer of 0 as the version-1 defaults (SMFI_V1_ACTS/_PROT).
        if a & ~(actions or 0x0F) or p & ~(protocol or 0x3F):
            raise MilterProtocolError(
                f"milter asked for actions {a:#x}/protocol {p:#x} beyond {actions:#x}/"
                f"{protocol:#x}")
        self.negotiated = Negotiated(v, a, p, macros)
        return self.negotiated

    def macros(self, cmd: bytes, values: Mapping[str, str | bytes] | None) -> None:
        """SMFIC_MACRO for the step ``cmd`` (never answered)."""
        if not values:
            return
        data = cmd + b"".join(_z(k) + _z(v) for k, v in values.items())
        self.send_packet(SMFIC_MACRO, data)

    def connect(self, hostname: str | bytes, address: str | bytes = "192.0.2.7",
                port: int = 40000, family: bytes = b"4",
                macros: Mapping[str, str | bytes] | None = None) -> Reply:
        """SMFIC_CONNECT. ``family`` b"4", b"6", b"L" (unix: no port) or b"U" (unknown)."""
        self.macros(SMFIC_CONNECT, macros)
        data = _z(hostname) + family
        if family in (b"4", b"6"):
            data += struct.pack(">H", port) + _z(address)
        elif family == b"L":
            data += struct.pack(">H", 0) + _z(address)
        return self.command(SMFIC_CONNECT, data)

    def helo(self, name: str | bytes, macros: Mapping[str, str | bytes] | None = None) -> Reply:
        self.macros(SMFIC_HELO, macros)
        return self.command(SMFIC_HELO, _z(name))

    def mail(self, sender: str | bytes, *params: str | bytes,
             macros: Mapping[str, str | bytes] | None = None) -> Reply:
        self.macros(SMFIC_MAIL, macros)
        return self.command(SMFIC_MAIL, b"".join(_z(a) for a in (sender, *params)))

    def rcpt(self, recipient: str | bytes, *params: str | bytes,
             macros: Mapping[str, str | bytes] | None = None) -> Reply:
        self.macros(SMFIC_RCPT, macros)
        return self.command(SMFIC_RCPT, b"".join(_z(a) for a in (recipient, *params)))

    def data(self, macros: Mapping[str, str | bytes] | None = None) -> Reply:
        self.macros(SMFIC_DATA, macros)
        return self.command(SMFIC_DATA)

    def header(self, name: str | bytes, value: str | bytes) -> Reply:
        return self.command(SMFIC_HEADER, _z(name) + _z(value))

    def eoh(self, macros: Mapping[str, str | bytes] | None = None) -> Reply:
        self.macros(SMFIC_EOH, macros)
        return self.command(SMFIC_EOH)

    def body(self, data: bytes, chunk_size: int = MAX_BODY_CHUNK) -> Reply:
        """Send ``data`` in chunks of at most ``chunk_size`` (<= 65535) bytes; stops at the
        first reply that is not "continue" and returns it."""
        chunk_size = max(1, min(chunk_size, MAX_BODY_CHUNK))
        reply = Reply(ReplyKind.CONTINUE)
        view = memoryview(data)
        for i in range(0, len(data), chunk_size):
            reply = self.command(SMFIC_BODY, bytes(view[i:i + chunk_size]))
            if not reply.is_continue or reply.kind is ReplyKind.SKIP:
                return reply
        return reply

    def body_chunk(self, chunk: bytes) -> Reply:
        """One SMFIC_BODY packet as given, even one larger than an MTA would send."""
        return self.command(SMFIC_BODY, chunk)

    def end_of_body(self, macros: Mapping[str, str | bytes] | None = None) -> EomResult:
        """SMFIC_BODYEOB: collect modification actions until the final reply."""
        self.macros(SMFIC_BODYEOB, macros)
        self.check_quiet(SMFIC_BODYEOB)
        self.send_packet(SMFIC_BODYEOB)
        mods: list[Modification] = []
        while True:
            cmd, data = self.read_packet()
            if cmd == SMFIR_PROGRESS:
                continue
            action = _MOD_ACTIONS.get(cmd)
            if action is None:
                return EomResult(self._reply(cmd, data), tuple(mods))
            if cmd in (SMFIR_CHGHEADER, SMFIR_INSHEADER):
                if len(data) < 4:
                    raise MilterProtocolError(f"{action} without an index")
                (index,) = struct.unpack(">I", data[:4])
                mods.append(Modification(action, tuple(data[4:].split(b"\0")[:2]), index))
            elif cmd == SMFIR_REPLBODY:
                mods.append(Modification(action, (data,)))
            else:
                mods.append(Modification(action, tuple(data.rstrip(b"\0").split(b"\0"))))

    def abort(self) -> None:
        """SMFIC_ABORT: the transaction ends without a message (never answered)."""
        self.send_packet(SMFIC_ABORT)

    def quit(self) -> None:
        """SMFIC_QUIT, then close."""
        with contextlib.suppress(MilterClosed):
            self.send_packet(SMFIC_QUIT)
        self.close()

    # -- a whole message ------------------------------------------------------------------

    def transaction(self, sender: str | bytes, recipients: Sequence[str | bytes],
                    message: bytes | None = None, *,
                    headers: Iterable[tuple[str | bytes, str | bytes]] | None = None,
                    body: bytes = b"", mail_params: Sequence[str | bytes] = (),
                    mail_macros: Mapping[str, str | bytes] | None = None,
                    chunk_size: int = MAX_BODY_CHUNK,
                    eob_macros: Mapping[str, str | bytes] | None = None) -> TransactionResult:
        """One message as an MTA sends it: MAIL, RCPT..., DATA, headers, EOH, body, EOB.

        Stops at the first reply that ends the message (and then sends ABORT, as Postfix
        does); a closed connection or a timeout ends it with a CLOSED/TIMEOUT reply.
        ``message`` (raw bytes) is split into headers and body; else ``headers``/``body``.
        """
        if message is not None:
            hdrs, body = split_message(message)
            header_list: list[tuple[str | bytes, str | bytes]] = list(hdrs)
        else:
            header_list = list(headers or ())
        steps: list[tuple[str, Reply]] = []
        rcpt_replies: list[Reply] = []

        def ended(stage: str, reply: Reply) -> TransactionResult:
            steps.append((stage, reply))
            if reply.kind not in (ReplyKind.CLOSED, ReplyKind.TIMEOUT):
                with contextlib.suppress(MilterError):
                    self.abort()
            return TransactionResult(reply, stage, tuple(steps), (), tuple(rcpt_replies))

        stage = "mail"
        try:
            reply = self.mail(sender, *mail_params, macros=mail_macros)
            if not reply.is_continue:
                return ended(stage, reply)
            steps.append((stage, reply))
            stage = "rcpt"
            accepted = 0
            for r in recipients:
                reply = self.rcpt(r)
                rcpt_replies.append(reply)
                if reply.kind in (ReplyKind.ACCEPT, ReplyKind.DISCARD):
                    return ended(stage, reply)
                accepted += reply.is_continue
            if recipients and not accepted:
                return ended(stage, reply)
            stage = "data"
            reply = self.data()
            if not reply.is_continue:
                return ended(stage, reply)
            stage = "header"
            for name, value in header_list:
                reply = self.header(name, value)
                if not reply.is_continue:
                    return ended(stage, reply)
            stage = "eoh"
            reply = self.eoh()
            if not reply.is_continue:
                return ended(stage, reply)
            stage = "body"
            reply = self.body(body, chunk_size)
            if not reply.is_continue:
                return ended(stage, reply)
            stage = "eob"
            result = self.end_of_body(eob_macros)
            steps.append((stage, result.reply))
            return TransactionResult(result.reply, stage, tuple(steps), result.modifications,
                                     tuple(rcpt_replies))
        except MilterClosed:
            steps.append((stage, Reply(ReplyKind.CLOSED)))
            return TransactionResult(Reply(ReplyKind.CLOSED), stage, tuple(steps), (),
                                     tuple(rcpt_replies))
        except MilterTimeout:
            steps.append((stage, Reply(ReplyKind.TIMEOUT)))
            return TransactionResult(Reply(ReplyKind.TIMEOUT), stage, tuple(steps), (),
                                     tuple(rcpt_replies))


def open_session(path: str | bytes, *, timeout: float = 60.0, hostname: str = "mx.example.net",
                 address: str = "192.0.2.7", helo: str = "mx.example.net",
                 macros: Mapping[str, str | bytes] | None = None) -> MilterClient:
    """A connected client after OPTNEG, CONNECT and HELO, as Postfix's smtpd starts one."""
    c = MilterClient(path, timeout).open()
    try:
        c.negotiate()
        conn_macros: dict[str, str | bytes] = {
            "j": "mx.test", "{daemon_name}": "smtpd", "{daemon_addr}": "127.0.0.1",
            "v": "Postfix 3.7", "_": f"{hostname} [{address}]"}
        conn_macros.update(macros or {})
        reply = c.connect(hostname, address, macros=conn_macros)
        if not reply.is_continue:
            raise MilterProtocolError(f"connect answered {reply}")
        reply = c.helo(helo)
        if not reply.is_continue:
            raise MilterProtocolError(f"helo answered {reply}")
    except BaseException:
        c.close()
        raise
    return c
