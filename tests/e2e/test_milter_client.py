"""The milter-protocol client (tests/milter_client.py) against the real milter process.

No Postfix here: the client plays the MTA, so these tests see exactly what the milter
answers at each step and which modification actions it sends at end of body.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import EICAR, message_with_attachment, simple_message
from tests.milter_client import (
    SMFIC_CONNECT,
    SMFIC_EOH,
    SMFIC_HEADER,
    SMFIC_HELO,
    SMFIC_MAIL,
    SMFIC_RCPT,
    SMFIP_NOHELO,
    MilterClient,
    ReplyKind,
    open_session,
)
from tests.samples import macro_message

from .conftest import REPORT_BOX, MilterUnderTest, start_milter

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def guard(lab_dir: Path, redis_url: str) -> Iterator[MilterUnderTest]:
    m = start_milter(lab_dir, "milter-client", redis_url)
    yield m
    m.process.stop()


def sock_path(m: MilterUnderTest) -> str:
    return m.socket_spec.split(":", 1)[1]


def test_negotiation_honours_what_the_milter_asks(guard: MilterUnderTest) -> None:
    with MilterClient(sock_path(guard), timeout=30) as c:
        neg = c.negotiate()
        assert neg.version == 6
        # pymilter skips the callbacks congvu-guard does not implement (HELO, EOH, ...)
        # and answers neither CONNECT, RCPT nor headers.
        assert neg.skips(SMFIC_HELO) and neg.protocol & SMFIP_NOHELO
        assert neg.skips(SMFIC_EOH)
        assert neg.no_reply(SMFIC_CONNECT) and neg.no_reply(SMFIC_RCPT)
        assert neg.no_reply(SMFIC_HEADER)
        assert not neg.skips(SMFIC_MAIL) and not neg.no_reply(SMFIC_MAIL)
        assert c.connect("mx.example.net", "192.0.2.7").kind is ReplyKind.NOREPLY
        assert c.helo("mx.example.net").kind is ReplyKind.NOT_SENT
        c.quit()


def test_plain_message_is_accepted_with_the_verdict_header(guard: MilterUnderTest) -> None:
    with open_session(sock_path(guard), timeout=60) as c:
        result = c.transaction("<alice@example.net>", ["<bob@hue.gov.vn>"],
                               simple_message("chao", sender="alice@example.net"),
                               mail_macros={"i": "4XyZ1"})
        assert result.reply.kind is ReplyKind.ACCEPT, result
        assert result.stage == "eob"
        added = result.added_headers()
        assert added["X-Congvu-Guard"].startswith("accept;")
        assert "X-Congvu-Origin" in added  # mail from outside is stamped
        assert not result.of_action("delrcpt") and not result.of_action("addrcpt")


def test_two_messages_on_one_connection(guard: MilterUnderTest) -> None:
    with open_session(sock_path(guard), timeout=60) as c:
        for i in range(2):
            result = c.transaction("<alice@example.net>", ["<bob@hue.gov.vn>"],
                                   simple_message(f"lan {i}", sender="alice@example.net"))
            assert result.reply.kind is ReplyKind.ACCEPT


def test_malware_is_rejected_with_a_550_text(guard: MilterUnderTest) -> None:
    with open_session(sock_path(guard), timeout=60) as c:
        result = c.transaction("<mallory@example.net>", ["<bob@hue.gov.vn>"],
                               message_with_attachment("x", "eicar.com", EICAR,
                                                       sender="mallory@example.net"))
        assert result.reply.kind is ReplyKind.REPLYCODE, result
        assert result.reply.code == 550
        assert result.reply.text.isascii()
        assert result.modifications == ()


def test_macro_document_is_routed_to_the_report_box(guard: MilterUnderTest) -> None:
    with open_session(sock_path(guard), timeout=60) as c:
        result = c.transaction("<someone@example.net>", ["<bob@hue.gov.vn>"],
                               macro_message("bao cao"))
        assert result.reply.kind is ReplyKind.ACCEPT, result
        assert [m.args[0] for m in result.of_action("delrcpt")] == [b"<bob@hue.gov.vn>"]
        assert [m.args[0] for m in result.of_action("addrcpt")] == [f"<{REPORT_BOX}>".encode()]
        assert result.added_headers()["X-Congvu-Guard"].startswith("quarantine;")


def test_declared_oversize_is_refused_at_mail_from(guard: MilterUnderTest) -> None:
    with open_session(sock_path(guard), timeout=60) as c:
        result = c.transaction("<alice@example.net>", ["<bob@hue.gov.vn>"], b"x\r\n",
                               mail_params=["SIZE=30000000"])
        assert result.stage == "mail"
        assert result.reply.code == 552, result


def test_abort_then_a_new_message(guard: MilterUnderTest) -> None:
    with open_session(sock_path(guard), timeout=60) as c:
        assert c.mail("<alice@example.net>").kind is ReplyKind.CONTINUE
        c.rcpt("<bob@hue.gov.vn>")
        c.header("Subject", "bo do")
        c.body(b"nua chung\r\n")
        c.abort()
        result = c.transaction("<alice@example.net>", ["<bob@hue.gov.vn>"],
                               simple_message("sau abort", sender="alice@example.net"))
        assert result.reply.kind is ReplyKind.ACCEPT


def test_a_closed_connection_is_reported_not_waited_for(tmp_path: Path) -> None:
    """A 'milter' that reads the negotiation and hangs up: the client says so at once."""
    path = str(tmp_path / "fake.sock")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen(1)
        c = MilterClient(path, timeout=5).open()
        conn, _ = server.accept()
        conn.close()
        result = c.transaction("<a@example.net>", ["<b@hue.gov.vn>"], b"x\r\n")
        assert result.reply.kind is ReplyKind.CLOSED
        assert result.reply.smtp_class == 4  # Postfix: milter_default_action = tempfail
        c.close()


def test_a_silent_milter_times_out(tmp_path: Path) -> None:
    path = str(tmp_path / "silent.sock")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen(1)
        c = MilterClient(path, timeout=0.5).open()
        conn, _ = server.accept()
        try:
            result = c.transaction("<a@example.net>", ["<b@hue.gov.vn>"], b"x\r\n")
            assert result.reply.kind is ReplyKind.TIMEOUT
        finally:
            conn.close()
            c.close()
