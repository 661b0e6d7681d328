"""The milter's memory under load, measured on the real process (/proc/PID/status).

1. Many connections each sending a 20 MB message at once (body in 64 KB chunks, a PDF and a
   zip of Office files in base64, the scanning issue's realistic case): every one is
   answered and the peak resident memory (VmHWM) stays under 300 MB, the scanning target.
2. No leak: a realistic mix of messages over a few connections; the resident memory after
   the warm-up and at the end differ by little.

Each test starts its own milter process, so VmHWM is that test's own. The short variants
run in CI; the full ones (50 x 20 MB, 10,000 messages) are marked ``long``. The figures
are printed (run pytest with -s to see them).
"""

from __future__ import annotations

import random
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from congvu_guard.milter import memory
from tests.helpers import EICAR, message_with_attachment, simple_message
from tests.milter_client import MAX_BODY_CHUNK, ReplyKind, TransactionResult, open_session
from tests.samples import (
    macro_message,
    mime_message,
    office_doc_with_image,
    pdf_with_stream,
    zip_of,
)

from .conftest import MilterUnderTest, start_milter

pytestmark = pytest.mark.e2e

MIB = 1024 * 1024
PEAK_BOUND = 300 * MIB  # the scanning issue's target for 20 MB messages in flight
TIMEOUT = 900.0  # per reply: 50 large messages are judged one or two at a time on 2 cores
RNG = random.Random(2026)


# -- realistic messages (as bench/scan builds them) -----------------------------------------------


def noise(n: int) -> bytes:
    return RNG.randbytes(n)


def pdf(size: int) -> bytes:
    return pdf_with_stream(noise(size))


def office_zip(total: int) -> bytes:
    return zip_of({f"bao-cao-{i}.docx": office_doc_with_image(noise(total // 8)) for i in range(8)},
                  zipfile.ZIP_STORED)


def large_message() -> bytes:
    """Just under 20 MB on the wire: a 6 MB PDF and an 8 MB zip of Office files."""
    return mime_message("cong van lon", [("cong-van.pdf", "application/pdf", pdf(6 * MIB)),
                                         ("ho-so.zip", "application/zip", office_zip(8 * MIB))],
                        sender="x@example.net")


def message_mix() -> list[tuple[str, bytes, int]]:
    """(kind, message, recipients): what a provincial mail server sees in a day, roughly."""
    return [
        ("text", simple_message("Thong bao", sender="x@example.net",
                                body="Kinh gui cac don vi. " * 500), 1),
        ("text", simple_message("Hop giao ban", sender="x@example.net"), 3),
        ("pdf", mime_message("cong van", [("cv.pdf", "application/pdf", pdf(300 * 1024))],
                             sender="x@example.net"), 1),
        ("docx-zip", mime_message("ho so", [("ho-so.zip", "application/zip",
                                             office_zip(1 * MIB))], sender="x@example.net"), 2),
        ("many-rcpt", simple_message("Gui toan tinh", sender="x@example.net"), 60),
        ("macro", macro_message("bao cao"), 1),  # quarantined (report box)
        ("eicar", message_with_attachment("virus", "eicar.com", EICAR,
                                          sender="x@example.net"), 1),  # rejected
    ]


# -- the milter and its memory ------------------------------------------------------------------


@pytest.fixture
def fresh_milter(lab_dir: Path, redis_url: str, request: pytest.FixtureRequest
                 ) -> Iterator[MilterUnderTest]:
    """A milter process of the test's own, so that its peak memory is the test's."""
    name = "mem-" + request.node.name.replace("[", "-").replace("]", "")
    m = start_milter(lab_dir, name, redis_url)
    yield m
    m.process.stop()


def status(m: MilterUnderTest, key: str) -> int:
    assert m.process.proc is not None
    for line in Path(f"/proc/{m.process.proc.pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"{key} not in /proc/PID/status")


@dataclass
class Sampler:
    """VmRSS every 50 ms while the load runs."""

    m: MilterUnderTest
    peak: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, status(self.m, "VmRSS"))
            except (OSError, AssertionError):
                return
            time.sleep(0.05)

    def __enter__(self) -> Sampler:
        threading.Thread(target=self.run, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()


def sock(m: MilterUnderTest) -> str:
    return m.socket_spec.split(":", 1)[1]


def alive(m: MilterUnderTest) -> None:
    assert m.process.proc is not None and m.process.proc.poll() is None, \
        f"the milter died: {m.process.log()[-5000:]}"


# -- 1. many large messages at once -------------------------------------------------------------


def large_messages_at_once(m: MilterUnderTest, clients: int) -> None:
    raw = large_message()
    assert 19 * MIB < len(raw) < 20 * MIB
    start_rss = status(m, "VmRSS")
    barrier = threading.Barrier(clients)

    def one(i: int) -> TransactionResult:
        with open_session(sock(m), timeout=TIMEOUT) as c:
            barrier.wait(timeout=TIMEOUT)
            return c.transaction("<x@example.net>", ["<bob@hue.gov.vn>"], raw,
                                 chunk_size=MAX_BODY_CHUNK)

    t0 = time.monotonic()
    with Sampler(m) as sampler, ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, range(clients)))
    wall = time.monotonic() - t0
    hwm = status(m, "VmHWM")
    print(f"\n{clients} x {len(raw) / MIB:.1f} MB at once: {wall:.0f} s; milter RSS "
          f"{start_rss / MIB:.0f} MB idle, peak {max(hwm, sampler.peak) / MIB:.0f} MB (VmHWM "
          f"{hwm / MIB:.0f} MB), {status(m, 'VmRSS') / MIB:.0f} MB after")
    alive(m)
    kinds = [r.reply.kind for r in results]
    assert kinds == [ReplyKind.ACCEPT] * clients, kinds
    assert all(r.added_headers()["X-Congvu-Guard"].startswith(("accept", "tag"))
               for r in results)
    assert hwm < PEAK_BOUND, f"peak RSS {hwm / MIB:.0f} MB with {clients} large messages"


def test_the_milter_asks_for_huge_pages_in_its_own_process(
        fresh_milter: MilterUnderTest) -> None:
    """``congvu-guard milter`` started without the tunable starts itself again with it,
    under the same PID (execve), before it listens: the large buffers above are backed by
    transparent huge pages (milter/memory.py)."""
    if not memory._huge_pages_possible():
        pytest.skip("glibc older than 2.35 or transparent huge pages off: nothing to ask")
    assert fresh_milter.process.proc is not None
    pid = fresh_milter.process.proc.pid
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    [tunables] = [e for e in environ if e.startswith(b"GLIBC_TUNABLES=")]
    assert b"glibc.malloc.hugetlb=1" in tunables.split(b"=", 1)[1].split(b":")
    alive(fresh_milter)


def test_large_messages_at_once_short(fresh_milter: MilterUnderTest) -> None:
    large_messages_at_once(fresh_milter, clients=20)


@pytest.mark.long
def test_large_messages_at_once_long(fresh_milter: MilterUnderTest) -> None:
    large_messages_at_once(fresh_milter, clients=50)


# -- 2. no leak -----------------------------------------------------------------------------------


EXPECTED = {"text": ReplyKind.ACCEPT, "pdf": ReplyKind.ACCEPT, "docx-zip": ReplyKind.ACCEPT,
            "many-rcpt": ReplyKind.ACCEPT, "macro": ReplyKind.ACCEPT,
            "eicar": ReplyKind.REPLYCODE}


def send_many(m: MilterUnderTest, count: int, connections: int,
              on_progress: Callable[[int], None] | None = None) -> None:
    mix = message_mix()
    lock = threading.Lock()
    sent = [0]
    failures: list[str] = []

    def worker(w: int) -> None:
        rng = random.Random(w)
        with open_session(sock(m), timeout=TIMEOUT) as c:
            while True:
                with lock:
                    if sent[0] >= count or failures:
                        return
                    sent[0] += 1
                    n = sent[0]
                if on_progress is not None:
                    on_progress(n)
                kind, raw, nrcpt = rng.choice(mix)
                rcpts = [f"<nguoi{i}@hue.gov.vn>" for i in range(nrcpt)]
                result = c.transaction("<x@example.net>", rcpts, raw)
                if result.reply.kind is not EXPECTED[kind]:
                    with lock:
                        failures.append(f"{kind}: {result.reply}")

    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(worker, range(connections)))
    assert not failures, failures[:5]


def no_leak(m: MilterUnderTest, warmup: int, count: int) -> None:
    t0 = time.monotonic()
    send_many(m, warmup, connections=4)
    before = status(m, "VmRSS")
    samples: list[int] = []

    def progress(n: int) -> None:
        if n % max(count // 10, 1) == 0:
            samples.append(status(m, "VmRSS"))

    send_many(m, count, connections=4, on_progress=progress)
    after = status(m, "VmRSS")
    wall = time.monotonic() - t0
    growth = after - before
    print(f"\n{warmup} + {count} messages over 4 connections in {wall:.0f} s: milter RSS "
          f"{before / MIB:.1f} MB after warm-up, {after / MIB:.1f} MB at the end "
          f"({growth / MIB:+.1f} MB); samples "
          f"{', '.join(f'{s / MIB:.0f}' for s in samples)} MB; VmHWM "
          f"{status(m, 'VmHWM') / MIB:.0f} MB")
    alive(m)
    assert growth < max(20 * MIB, before // 10), \
        f"RSS grew by {growth / MIB:.1f} MB over {count} messages after the warm-up"


def test_no_leak_short(fresh_milter: MilterUnderTest) -> None:
    no_leak(fresh_milter, warmup=200, count=1_000)


@pytest.mark.long
def test_no_leak_long(fresh_milter: MilterUnderTest) -> None:
    no_leak(fresh_milter, warmup=500, count=10_000)
