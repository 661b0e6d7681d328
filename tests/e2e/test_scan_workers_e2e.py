"""``[scan] workers = 2`` through a real Postfix: large messages are judged in the worker
processes (reject, quarantine, delivery), SIGHUP replaces the workers, which then judge
with the new rules, and a worker killed with SIGKILL costs no mail."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import samples
from tests.helpers import EICAR, token, wait_until

from .conftest import REPORT_BOX, MilterUnderTest, milter_with_local_rules
from .harness import Sink, send

BOB = "bob@thuathienhue.gov.vn"
FILLER = os.urandom(700_000)  # base64 ~950 KB: spooled (> 512 KiB), so judged by a worker


def workers(milter: MilterUnderTest) -> set[int]:
    """The milter's worker processes (its forked children)."""
    assert milter.process.proc is not None
    pids: set[int] = set()
    for task in Path(f"/proc/{milter.process.proc.pid}/task").iterdir():
        try:  # children are listed under the thread that forked them (the pool's)
            pids.update(int(c) for c in (task / "children").read_text().split())
        except FileNotFoundError:
            continue  # a thread that just ended
    return pids


def bytes_read(pids: set[int]) -> int:
    """What these processes read with read/pread/recv (the worker reads each body)."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/io").read_text().splitlines():
            if line.startswith("rchar:"):
                total += int(line.split()[1])
    return total


def large(subject: str, *attachments: tuple[str, str, bytes]) -> bytes:
    return samples.mime_message(subject, [("so-lieu.bin", "application/octet-stream", FILLER),
                                          *attachments])


@pytest.fixture
def pooled(lab_dir: Path, redis_url: str, sink: Sink) -> Iterator[tuple[MilterUnderTest,
                                                                     int, Path]]:
    with milter_with_local_rules(lab_dir, "pool", redis_url, sink, "workers = 2\n") as lab:
        assert wait_until(lambda: len(workers(lab[0])) == 2)
        yield lab


def test_large_mail_is_judged_by_two_worker_processes_through_postfix(
    pooled: tuple[MilterUnderTest, int, Path], sink: Sink,
) -> None:
    milter, port, rules = pooled
    t = token()
    pids = workers(milter)
    read_before = bytes_read(pids)
    eicar = large(f"eicar {t}", ("ho-so.zip", "application/zip",
                                 samples.zip_of({"eicar.com": EICAR})))
    r = send(port, "x@example.net", [BOB], eicar)
    assert r.code == 550 and "HUE-11.5" in r.text, r
    r = send(port, "x@example.net", [BOB, "carol@thuathienhue.gov.vn"],
             large(f"macro {t}", ("bao-cao.docm", "application/vnd.ms-word.document."
                                  "macroEnabled.12", samples.ooxml(macro=True))))
    assert r.code == 250, r
    clean = large(f"clean {t}", ("cong-van.pdf", "application/pdf", samples.pdf(js=False)))
    assert send(port, "x@example.net", [BOB], clean).code == 250
    [quarantined] = sink.wait_for(f"macro {t}")
    assert quarantined.rcpt_tos == (REPORT_BOX,)
    assert "HUE-11.5/macro" in quarantined.message["X-Congvu-Guard"]
    [delivered] = sink.wait_for(f"clean {t}")
    assert delivered.rcpt_tos == (BOB,)
    assert delivered.message["X-Congvu-Guard"].startswith("accept;")
    # The workers, not the milter's threads, read the three bodies from the spool.
    assert workers(milter) == pids
    assert bytes_read(pids) - read_before >= 3 * len(FILLER)

    # SIGHUP: the rules are reloaded and the workers replaced; the new ones use the new rules.
    marker = large(f"marker {t}", ("note.txt", "text/plain", b"MARKER-BBB"))
    assert send(port, "x@example.net", [BOB], marker).code == 250
    (rules / "local.yar").write_text(
        'rule Local_B { meta: severity = "critical" strings: $b = "MARKER-BBB" condition: $b }')
    milter.process.signal(signal.SIGHUP)
    assert wait_until(lambda: "scan workers recycled" in milter.process.log())
    assert wait_until(lambda: len(workers(milter)) == 2 and not workers(milter) & pids)
    marker = large(f"marker2 {t}", ("note.txt", "text/plain", b"MARKER-BBB"))
    r = send(port, "x@example.net", [BOB], marker)
    assert r.code == 550 and "HUE-11.5" in r.text, r

    # A worker killed with SIGKILL: no message is lost, and the pool is whole again.
    victim = min(workers(milter))
    os.kill(victim, signal.SIGKILL)
    assert wait_until(lambda: victim not in workers(milter) and len(workers(milter)) == 2)
    assert send(port, "x@example.net", [BOB], large(f"after {t}")).code == 250
    assert len(sink.wait_for(f"after {t}")) == 1
    assert len(sink.wait_for(f"marker {t}")) == 1
    assert not sink.matching(f"marker2 {t}") and not sink.matching(f"eicar {t}")
    assert milter.process.proc is not None and milter.process.proc.poll() is None
