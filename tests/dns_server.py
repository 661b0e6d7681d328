"""A small authoritative DNS server on loopback for the SPF, DKIM and DMARC tests (dnslib).

Records are (name, type, value); TXT values longer than 255 bytes are split into strings as
a zone file would. Names in ``silent`` are answered only after 2 s (a server that does not
reply in time), so the resolver's budget runs out. ``queries`` counts the questions that arrived.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable

from dnslib import MX, QTYPE, RCODE, RR, TXT, A, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rdata(rtype: str, value: str) -> object:
    if rtype == "A":
        return A(value)
    if rtype == "MX":
        return MX(value)
    raw = value.encode()
    return TXT([raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""])


class _Zone(BaseResolver):
    def __init__(self, server: ZoneServer) -> None:
        self.server = server

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        q = request.q
        name = str(q.qname).rstrip(".").lower()
        qtype = QTYPE[q.qtype]
        with self.server.lock:
            self.server.queries.append((name, qtype))
        reply = request.reply()
        if name in self.server.silent:
            time.sleep(2)  # answers long after any client gave up
            return reply
        found = [(t, v) for n, t, v in self.server.records if n == name]
        for t, v in found:
            if t == qtype:
                reply.add_answer(RR(q.qname, getattr(QTYPE, t), rdata=_rdata(t, v), ttl=300))
        if not found:
            reply.header.rcode = RCODE.NXDOMAIN
        return reply


class ZoneServer:
    def __init__(self, records: Iterable[tuple[str, str, str]] = (),
                 silent: Iterable[str] = ()) -> None:
        self.records = [(n.lower(), t, v) for n, t, v in records]
        self.silent = set(silent)
        self.queries: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.port = free_udp_port()
        self._server = DNSServer(_Zone(self), address="127.0.0.1", port=self.port,
                                 logger=DNSLogger("-request,-reply,-truncated,-error,-recv,"
                                                  "-send,-data", prefix=False))

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"

    def add(self, name: str, rtype: str, value: str) -> None:
        self.records.append((name.lower(), rtype, value))

    def start(self) -> ZoneServer:
        self._server.start_thread()
        return self

    def stop(self) -> None:
        self._server.stop()
