"""The libmilter adapter: collects what Postfix sends and hands it to the policy engine.

One :class:`GuardMilter` object lives per SMTP connection (libmilter runs one thread per
connection). It holds no policy: it assembles an :class:`Envelope` and the message bytes,
asks the :class:`Engine`, and carries out the :class:`Verdict` with milter actions. Any
exception becomes ``451 4.3.0`` (tempfail) for the message, never an accept and never a
dead process.
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import Milter

from .. import explain, replies, stamp
from ..addresses import strip_brackets
from ..config import ScanConfig
from ..engine import Engine
from ..metrics import Metrics
from ..model import Action, Envelope, Verdict
from ..store import Store
from .gate import ScanGate
from .pool import ScanPool
from .spool import BodyMemory, BodySpool, SpoolFullError

log = logging.getLogger("congvu_guard.milter")
decisions = logging.getLogger("congvu_guard.decision")

# The only actions we use; nothing else is negotiated with the MTA.
NEEDED_ACTIONS = Milter.ADDHDRS | Milter.CHGHDRS | Milter.ADDRCPT | Milter.DELRCPT
# Headers the engine may ask to remove: ours (against forged verdicts) and the origin stamp.
_STRIPPABLE = {h.lower() for h in (*explain.OWN_HEADERS, stamp.HEADER)}
_STRIPPABLE.add("authentication-results")  # replaced by ours at the inbound door (HUE-11.11)

F = TypeVar("F", bound=Callable[..., Any])


_FROM_CONFIG: Any = None  # a Services field taken from the engine's configuration


@dataclass
class Services:
    """What every connection shares: the engine, the metrics, the store, our host name."""

    engine: Engine
    metrics: Metrics
    store: Store | None
    hostname: str
    # Admission of spooled (large) messages to parsing and scanning (bounded memory), the
    # spool threshold and directory ("" = the system temporary directory). Not given: the
    # engine's [scan] values, so that no default is spelled twice (issue 20).
    large_scans: ScanGate = _FROM_CONFIG
    spool_threshold: int = _FROM_CONFIG
    spool_dir: str = _FROM_CONFIG
    # [scan] workers > 0: the processes that judge spooled messages (milter/pool.py).
    scan_pool: ScanPool | None = None
    # What large bodies may hold in memory while they arrive ([scan] body_memory_bytes);
    # none with scan workers, which read a large body from its spool file.
    body_memory: BodyMemory = _FROM_CONFIG

    def __post_init__(self) -> None:
        scan = self.engine.config.scan
        if self.large_scans is None:
            self.large_scans = ScanGate(scan.large_scan_concurrency, scan.large_scan_bytes)
        if self.spool_threshold is None:
            self.spool_threshold = scan.spool_threshold_bytes
        if self.spool_dir is None:
            self.spool_dir = scan.spool_dir
        if self.body_memory is None:
            self.body_memory = BodyMemory(
                scan.body_memory_bytes if self.scan_pool is None else 0)
        self.metrics.watch_body_memory(self.body_memory)


@dataclass
class MessageState:
    """Per-message state, reset at MAIL FROM and on abort."""

    envelope: Envelope
    raw_recipients: list[str] = field(default_factory=list)  # as sent, for delrcpt
    headers: list[bytes] = field(default_factory=list)
    header_counts: dict[str, int] = field(default_factory=dict)  # of headers we may strip
    subject: bytes | None = None  # the first Subject value as received
    raw: bytes | bytearray = b""  # kept until the decision is carried out
    body: BodySpool = field(  # envfrom gives the one with the services' threshold and dir
        default_factory=lambda: BodySpool(ScanConfig().spool_threshold_bytes))
    counted: int = 0  # bytes on the wire so far (headers, blank line, body)
    over_limit: bool = False
    spool_error: SpoolFullError | None = None  # the spool disk filled up during the body
    started: float = field(default_factory=time.perf_counter)


_XTEXT = re.compile(rb"\+([0-9A-Fa-f]{2})")


def _xtext_decode(value: str) -> str:
    """RFC 3461 xtext: "+HH" stands for the byte HH."""
    raw = value.encode("utf-8", errors="surrogateescape")
    return _XTEXT.sub(lambda m: bytes([int(m.group(1), 16)]), raw).decode("utf-8", "replace")


def _orcpt(params: tuple[str, ...]) -> str:
    """The address in ``ORCPT=rfc822;ADDR`` (DSN original recipient), else ""."""
    for p in params:
        key, _, value = p.partition("=")
        if key.upper() == "ORCPT":
            kind, _, addr = value.partition(";")
            return _xtext_decode(addr) if kind.lower() in ("rfc822", "utf-8") else ""
    return ""


def _esmtp_size(params: tuple[str, ...]) -> int | None:
    for p in params:
        key, _, value = p.partition("=")
        if key.upper() == "SIZE" and value.isdigit():
            return int(value)
    return None


def _tempfail_verdict() -> Verdict:
    return Verdict(Action.TEMPFAIL, (), *replies.tempfail())


# Callbacks negotiated without a reply: the MTA does not wait for an answer, so an error
# there is remembered and answered with a tempfail at the next stage that replies.
NOREPLY_STAGES = ("connect", "envrcpt", "header", "body")


def guarded(stage: str) -> Callable[[F], F]:
    """Turn any exception in a callback into a tempfail of the message, logged and counted."""

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def wrapper(self: GuardMilter, *args: Any) -> Any:
            try:
                return func(self, *args)
            except Exception:  # noqa: BLE001 - every failure must become a tempfail
                return self.internal_error(stage)

        return wrapper  # type: ignore[return-value]

    return wrap


class GuardMilter(Milter.Base):
    services: Services  # set on the class by the server before runmilter()

    def __init__(self) -> None:
        super().__init__()
        self.client_addr = ""
        self.client_name = ""
        self.daemon_name = ""
        self.msg: MessageState | None = None
        self.failure = ""  # stage of an internal error in a no-reply callback
        self.counted_connection = False

    # -- negotiation -----------------------------------------------------------------------

    def negotiate(self, opts: list[int]) -> Any:
        rc = super().negotiate(opts)
        opts[0] &= NEEDED_ACTIONS
        self._actions = opts[0]
        return rc

    # -- helpers ---------------------------------------------------------------------------

    def macro(self, name: str) -> str:
        value = self.getsymval(name)
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
        return value or ""

    def internal_error(self, stage: str) -> Any:
        log.exception("internal error in %s (queue_id=%s)", stage, self._queue_id())
        self.services.metrics.errors.labels(stage).inc()
        if stage in NOREPLY_STAGES:
            self.failure = stage
            return Milter.CONTINUE
        self.reply(_tempfail_verdict())
        return Milter.TEMPFAIL

    def _queue_id(self) -> str:
        if self.msg is None:
            return "-"
        return self.msg.envelope.queue_id or "-"

    def reply(self, verdict: Verdict) -> None:
        self.setreply(verdict.smtp_code, verdict.smtp_xcode, verdict.smtp_text)

    def finish(self, verdict: Verdict, stage: str, size: int | None) -> Any:
        """Log, count and carry out a decision that ends the message."""
        env = self.msg.envelope if self.msg else Envelope()
        if decisions.isEnabledFor(logging.INFO):  # the line is not made for nothing
            decisions.info(explain.decision_line(env, verdict, stage, size))
        self.services.metrics.record_verdict(verdict, size)
        count_day = getattr(self.services.store, "count_day", None)
        if count_day is not None:  # the overview's daily counters (issue 21), best effort
            count_day(verdict.action.value)
        if verdict.action in (Action.REJECT, Action.TEMPFAIL):
            self.reply(verdict)
            return Milter.REJECT if verdict.action is Action.REJECT else Milter.TEMPFAIL
        self.strip_headers(verdict.strip_headers)
        deleted = set()
        for rcpt in verdict.removed_recipients:
            deleted.add(self.delete_recipient(rcpt))
        if verdict.action is Action.QUARANTINE:
            self.quarantine_to(verdict, deleted)
        for name, value in verdict.add_headers:
            self.addheader(name, value)
        if verdict.subject_prefix:
            self.prefix_subject(verdict.subject_prefix)
        self.record_report(verdict)
        self.addheader(explain.HEADER, explain.verdict_header(verdict, self.services.hostname))
        return Milter.ACCEPT

    def record_report(self, verdict: Verdict) -> None:
        """What reaches the report box becomes a report for the monitor (HUE-11.11)."""
        m = self.msg
        if m is None or self.services.store is None:
            return
        if verdict.action is Action.QUARANTINE:
            kind = "quarantine"
        elif self.services.engine.report.among(m.envelope.recipients):
            kind = "user-report"
        else:
            return
        self.services.store.record_report(kind, m.envelope, verdict, m.raw)

    def prefix_subject(self, prefix: str) -> None:
        assert self.msg is not None
        old = self.msg.subject
        if old is None:
            self.addheader("Subject", prefix)
        else:
            self.chgheader("Subject", 1, f"{prefix} {old.decode('utf-8', 'replace')}")

    def strip_headers(self, names: tuple[str, ...]) -> None:
        assert self.msg is not None
        for name in names:
            for idx in range(self.msg.header_counts.get(name.lower(), 0), 0, -1):
                self.chgheader(name, idx, "")

    def delete_recipient(self, address: str) -> str:
        """delrcpt with the recipient exactly as the MTA sent it; returns that form."""
        assert self.msg is not None
        for raw, addr in zip(self.msg.raw_recipients, self.msg.envelope.recipients, strict=True):
            if addr == address:
                self.delrcpt(raw)
                return raw
        return ""

    def quarantine_to(self, verdict: Verdict, deleted: set[str]) -> None:
        """HUE-11.11: deliver to the report box only, keeping the original recipients."""
        assert self.msg is not None
        env = self.msg.envelope
        box = self.services.engine.report
        kept = False
        for raw, addr in zip(self.msg.raw_recipients, env.recipients, strict=True):
            if box.is_report_box(addr):
                kept = kept or addr.lower() == verdict.quarantine_to.lower()
            elif raw not in deleted:
                self.delrcpt(raw)
        if not kept:
            self.addrcpt(f"<{verdict.quarantine_to}>")
        self.addheader(explain.HEADER_ORIGINAL_RCPT,
                       explain.original_recipients_header(env.recipients))
        self.addheader(explain.HEADER_QUARANTINE, explain.quarantine_header(env, verdict))


    # -- callbacks ---------------------------------------------------------------------------

    @Milter.noreply
    @guarded("connect")
    def connect(self, hostname: str, family: int, hostaddr: Any) -> Any:
        self.client_name = hostname or ""
        if isinstance(hostaddr, tuple) and hostaddr:
            self.client_addr = str(hostaddr[0])
        self.services.metrics.connections.inc()
        self.counted_connection = True
        self.daemon_name = self.macro("{daemon_name}")
        return Milter.CONTINUE

    @guarded("envfrom")
    def envfrom(self, mailfrom: str, *params: str) -> Any:
        t0 = time.perf_counter()
        if self.failure != "connect":
            self.failure = ""
        env = Envelope(
            sender=strip_brackets(mailfrom),
            auth_user=self.macro("{auth_authen}"),
            client_addr=self.client_addr,
            client_name=self.client_name,
            daemon_name=self.daemon_name,
            queue_id=self.macro("i"),
            declared_size=_esmtp_size(params),
        )
        self.close_message()
        self.msg = MessageState(envelope=env,
                                body=BodySpool(self.services.spool_threshold,
                                               self.services.spool_dir,
                                               self.services.body_memory))
        if self.failure:
            return self.failure_reply()
        verdict = self.services.engine.check_envelope(env)
        self.services.metrics.stage_duration.labels("envfrom").observe(time.perf_counter() - t0)
        if verdict is not None:
            return self.finish(verdict, "envfrom", env.declared_size)
        return Milter.CONTINUE

    @Milter.noreply
    @guarded("envrcpt")
    def envrcpt(self, to: str, *params: str) -> Any:
        if self.msg is not None:
            self.msg.raw_recipients.append(to)
            self.msg.envelope.recipients.append(strip_brackets(to))
            self.msg.envelope.original_recipients.append(_orcpt(params))
        return Milter.CONTINUE

    @Milter.noreply
    @Milter.decode("bytes")
    @guarded("header")
    def header(self, name: str, value: bytes) -> Any:
        m = self.msg
        if m is None or m.over_limit:
            return Milter.CONTINUE
        if isinstance(value, str):
            value = value.encode("utf-8", errors="surrogateescape")
        value = value.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        line = name.encode("utf-8", errors="surrogateescape") + b": " + value + b"\r\n"
        m.counted += len(line)
        lname = name.lower()
        if lname == "subject" and m.subject is None:
            m.subject = value.replace(b"\r\n", b"\n").replace(b"\n", b"")
        if lname in _STRIPPABLE:
            m.header_counts[lname] = m.header_counts.get(lname, 0) + 1
        if m.counted > self.services.engine.buffer_ceiling:
            m.over_limit = True
            m.headers.clear()
        else:
            m.headers.append(line)
        return Milter.CONTINUE

    # No reply to body chunks (P_NR_BODY): Postfix streams them without waiting for an
    # answer to each 64 KiB. With a reply, every chunk was a round trip that waited for this
    # thread to get the GIL back from the scans of other messages: 110 of them for a 7 MB
    # message (issue 17). What body used to answer (over the size limit, spool disk full,
    # an internal error) is remembered and answered at end of message, which Postfix turns
    # into the same reply to the client at the end of DATA.
    @Milter.noreply
    @guarded("body")
    def body(self, chunk: bytes) -> Any:
        m = self.msg
        if m is None or self.failure:
            return Milter.CONTINUE
        if m.over_limit or m.spool_error is not None:
            m.counted += len(chunk)
            return Milter.CONTINUE  # counted only: answered at end of message
        if not m.body.size:
            m.counted += 2  # the blank line between header and body
        m.counted += len(chunk)
        if m.counted > self.services.engine.buffer_ceiling:
            m.over_limit = True
            m.headers.clear()
            m.body.close()
            return Milter.CONTINUE
        try:
            m.body.write(chunk)
        except SpoolFullError as e:
            m.spool_error = e  # the spool is already freed
        return Milter.CONTINUE

    def spool_full(self, e: SpoolFullError, stage: str) -> Any:
        """No room left to spool the body: 452 for this message (the spool is already
        freed), and the milter goes on with the next one."""
        log.error("cannot spool the message body (queue_id=%s): %s", self._queue_id(), e)
        self.services.metrics.errors.labels(stage).inc()
        verdict = Verdict(Action.TEMPFAIL, (), *replies.spool_full())
        return self.finish(verdict, stage, self.msg.counted if self.msg else None)

    def failure_reply(self) -> Any:
        """Answer the tempfail for an error that happened in a no-reply stage."""
        verdict = _tempfail_verdict()
        env = self.msg.envelope if self.msg else Envelope()
        decisions.info(explain.decision_line(env, verdict, self.failure))
        self.services.metrics.messages.labels(Action.TEMPFAIL.value).inc()
        if self.failure != "connect":
            self.failure = ""
        self.reply(verdict)
        return Milter.TEMPFAIL

    @guarded("eom")
    def eom(self) -> Any:
        m = self.msg
        if m is None:
            return Milter.CONTINUE
        if self.failure:
            return self.failure_reply()
        t0 = time.perf_counter()
        if not m.body.size and not m.over_limit and m.spool_error is None:
            m.counted += 2
        m.envelope.queue_id = self.macro("i") or m.envelope.queue_id
        if m.spool_error is not None:
            return self.spool_full(m.spool_error, "body")
        if m.over_limit:  # past the size limit during the body: nothing was kept to judge
            m.body.close()
            return self.finish(self.services.engine.size_verdict(m.counted, "counted"), "body",
                               m.counted)
        try:
            if m.body.large:
                # Large messages wait their turn: memory stays bounded however many arrive.
                with self.services.large_scans.admit(m.counted):
                    verdict = self.judge(m)
            else:
                verdict = self.judge(m)
        except SpoolFullError as e:
            return self.spool_full(e, "eom")
        rc = self.finish(verdict, "eom", m.counted)
        self.services.metrics.stage_duration.labels("eom").observe(time.perf_counter() - t0)
        return rc

    def judge(self, m: MessageState) -> Verdict:
        head = b"".join(m.headers) + b"\r\n"
        pool = self.services.scan_pool
        if pool is not None and m.body.spooled:
            # Only spooled messages (> spool_threshold_bytes, 512 KiB by default) go to a
            # worker, their body as the spool file's descriptor. A trip to a worker costs
            # 0.3-0.6 ms (`bench/scan --pool-only`, 2-core machine: pickling the envelope
            # and the verdict, two socket hops, the pread), 30-70 % on top of the
            # 0.8-1.1 ms of a 10 KB text message judged in-thread: small mail stays here.
            # A spooled message costs 5-8 ms (1 MB PDF) to 50-170 ms (10-20 MB) of parsing
            # and scanning, most of it holding the GIL, which a worker takes off the milter.
            verdict = pool.scan(m.envelope, head, m.body.flushed_fileno(), m.body.size,
                                m.counted)
            raw = m.body.read_all(head) if self.keeps_content(m, verdict) else b""
            m.body.close()
        else:
            raw = m.body.read_all(head)
            m.body.close()
            verdict = self.services.engine.check_message(m.envelope, raw, m.counted)
        if self.keeps_content(m, verdict):
            m.raw = raw  # the report box gets it: the monitor needs the content
        return verdict

    def keeps_content(self, m: MessageState, verdict: Verdict) -> bool:
        return verdict.action is Action.QUARANTINE or verdict.exempt or \
            bool(self.services.engine.report.among(m.envelope.recipients))

    def close_message(self) -> None:
        if self.msg is not None:
            self.msg.body.close()
        self.msg = None

    def abort(self) -> Any:
        self.close_message()
        if self.failure != "connect":
            self.failure = ""
        return Milter.CONTINUE

    def close(self) -> Any:
        if self.counted_connection:
            self.services.metrics.connections.dec()
            self.counted_connection = False
        self.close_message()
        return Milter.CONTINUE

