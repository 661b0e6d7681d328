"""A milter that crashes or hangs must leave the mail with the sender or in the queue."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from congvu_guard.lab.postfix import Listener, PostfixInstance
from tests.helpers import free_port, simple_message, token, wait_until

from .conftest import MilterUnderTest, start_milter
from .harness import Sink, send

TIMEOUT_OPTIONS = {
    "milter_connect_timeout": "3s",
    "milter_command_timeout": "3s",
    "milter_content_timeout": "3s",
}


class Victim:
    def __init__(self, postfix: PostfixInstance, port: int, milter: MilterUnderTest) -> None:
        self.postfix = postfix
        self.port = port
        self.milter = milter


@pytest.fixture
def victim(lab_dir: Path, redis_url: str, sink: Sink) -> Iterator[Victim]:
    """A milter of its own behind a Postfix of its own, so killing it disturbs nobody."""
    name = f"victim-{token()}"
    milter = start_milter(lab_dir, name, redis_url)
    port = free_port()
    pf = PostfixInstance(
        base=lab_dir / f"{name}-postfix",
        sink_port=sink.port,
        listeners=[Listener("victim", port, milter.socket_spec, TIMEOUT_OPTIONS)],
        non_smtpd_milters=milter.socket_spec,
        main=TIMEOUT_OPTIONS,
    )
    pf.start()
    yield Victim(pf, port, milter)
    milter.process.stop()
    pf.stop()


def test_killed_milter_makes_postfix_tempfail_and_the_client_keeps_the_mail(
    victim: Victim, sink: Sink
) -> None:
    victim.milter.process.kill()
    t = token()
    r = send(victim.port, "alice@hue.gov.vn", ["bob@thuathienhue.gov.vn"],
             simple_message(f"crash {t}"))
    assert 400 <= r.code < 500, r
    assert not sink.wait_for(t, timeout=2)
    # Once the milter is back, the client's retry is delivered.
    victim.milter.process.start()
    r = send(victim.port, "alice@hue.gov.vn", ["bob@thuathienhue.gov.vn"],
             simple_message(f"crash {t}"))
    assert r.code == 250, r
    assert len(sink.wait_for(t)) == 1


def test_hung_milter_times_out_into_a_tempfail_not_an_accept(victim: Victim, sink: Sink) -> None:
    victim.milter.process.signal(signal.SIGSTOP)
    t = token()
    try:
        r = send(victim.port, "alice@hue.gov.vn", ["bob@thuathienhue.gov.vn"],
                 simple_message(f"hang {t}"))
    finally:
        victim.milter.process.signal(signal.SIGCONT)
    assert 400 <= r.code < 500, r
    assert not sink.wait_for(t, timeout=2)


def test_locally_submitted_mail_stays_queued_while_the_milter_is_down(
    victim: Victim, sink: Sink
) -> None:
    """sendmail/pickup (non_smtpd_milters): nobody to bounce to, so the queue keeps it."""
    victim.milter.process.kill()
    t = token()
    victim.postfix.sendmail(simple_message(f"queued {t}"), "alice@thuathienhue.gov.vn",
                            ["bob@thuathienhue.gov.vn"])
    assert not sink.wait_for(t, timeout=4)
    assert victim.postfix.maildrop_count() + len(victim.postfix.queue_ids()) >= 1
    victim.milter.process.start()
    assert wait_until(lambda: (victim.postfix.kick(), bool(sink.matching(t)))[1], timeout=60)
    assert len(sink.wait_for(t)) == 1
    assert "X-Congvu-Guard" in sink.matching(t)[0].message
