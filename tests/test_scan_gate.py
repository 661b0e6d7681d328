"""The gate in front of large-message scanning: slots, byte budget, arrival order."""

from __future__ import annotations

import threading
import time

from congvu_guard.milter.gate import ScanGate


def _hold(gate: ScanGate, size: int, entered: list[int], release: threading.Event) -> None:
    with gate.admit(size):
        entered.append(size)
        release.wait(10)


def _start(gate: ScanGate, size: int, entered: list[int],
           release: threading.Event) -> threading.Thread:
    t = threading.Thread(target=_hold, args=(gate, size, entered, release), daemon=True)
    t.start()
    return t


def _settle() -> None:
    time.sleep(0.2)


def test_two_medium_messages_are_scanned_together_within_the_budget() -> None:
    gate, entered, release = ScanGate(2, 24), [], threading.Event()
    threads = [_start(gate, 7, entered, release) for _ in range(3)]
    _settle()
    assert entered == [7, 7] and gate.inside == 2  # the third waits for a slot
    release.set()
    for t in threads:
        t.join(5)
    assert entered == [7, 7, 7] and gate.inside == 0


def test_two_large_messages_take_turns_because_of_the_byte_budget() -> None:
    gate, entered, release = ScanGate(2, 24), [], threading.Event()
    threads = [_start(gate, 20, entered, release) for _ in range(2)]
    _settle()
    assert entered == [20]
    release.set()
    for t in threads:
        t.join(5)
    assert entered == [20, 20]


def test_a_message_larger_than_the_budget_is_let_in_alone() -> None:
    gate, entered, release = ScanGate(2, 24), [], threading.Event()
    t = _start(gate, 100, entered, release)
    _settle()
    assert entered == [100]
    release.set()
    t.join(5)


def test_a_waiting_large_message_is_not_starved_by_later_small_ones() -> None:
    gate, entered, first = ScanGate(2, 24), [], threading.Event()
    t1 = _start(gate, 7, entered, first)  # inside
    _settle()
    big_release = threading.Event()
    t2 = _start(gate, 20, entered, big_release)  # waits: 7 + 20 > 24
    _settle()
    t3 = _start(gate, 1, entered, big_release)  # would fit, but arrived after the big one
    _settle()
    assert entered == [7]
    first.set()
    t1.join(5)
    _settle()
    assert entered[:2] == [7, 20]
    big_release.set()
    for t in (t2, t3):
        t.join(5)
    assert entered == [7, 20, 1]
