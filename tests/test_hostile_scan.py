"""Issue 14: hostile attachments can neither blind the scanner (an error in one member
hides the others) nor hold it (one time and byte budget per message), and nesting of any
kind shares one depth limit."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from congvu_guard.config import ConfigError, from_mapping
from congvu_guard.detectors import Detector, attachments
from congvu_guard.detectors.budget import RULE as BUDGET
from congvu_guard.detectors.budget import ScanBudget
from congvu_guard.detectors.content import expand
from congvu_guard.engine import Engine
from congvu_guard.message import parse_message
from congvu_guard.metrics import Metrics
from congvu_guard.model import Action
from tests import hostile_samples as hs
from tests.helpers import box_engine, judge


def exe_findings(v) -> list[str]:
    return [f.rule for f in v.findings if hs.EXE_NAME in f.detail and f.rule in (
        "HUE-11.5/exec", "HUE-11.5/bad-extension")]


@pytest.mark.parametrize("archive", [
    hs.zip_bad_crc_first, hs.zip_unknown_method_first, hs.zip_without_central_directory,
    hs.zip_hiding_a_local_member, hs.deflate64_zip, hs.tar_damaged_after_exe,
])
def test_a_broken_first_member_never_hides_the_executable_after_it(engine: Engine,
                                                                   archive) -> None:
    name = "ho-so.tar" if archive is hs.tar_damaged_after_exe else "ho-so.zip"
    v = judge(engine, hs.attach(name, archive()))
    assert exe_findings(v), v.findings
    assert v.action is Action.REJECT


def test_the_executable_behind_a_bad_crc_is_scanned_by_content_too() -> None:
    content = expand(parse_message(hs.attach("ho-so.zip", hs.zip_bad_crc_first())))
    kinds = {f.name: f.kind for f in content.files}
    assert kinds[hs.EXE_NAME] == "pe"
    assert kinds["bao-cao.txt"] == "text"  # read anyway, as an extractor ignoring the CRC
    assert any(e.event == "unreadable" and "bao-cao.txt" in e.path for e in content.events)


def test_a_damaged_7z_block_does_not_take_the_next_blocks_members_with_it() -> None:
    content = expand(parse_message(hs.attach("ho-so.7z", hs.seven_zip_first_block_damaged())))
    assert {f.name: f.kind for f in content.files}[hs.EXE_NAME] == "pe"
    assert [e.event for e in content.events] == ["unreadable"]


def test_deflate64_members_are_read_not_unreadable() -> None:
    content = expand(parse_message(hs.attach("ho-so.zip", hs.deflate64_zip())))
    text = next(f for f in content.files if f.name == "bao-cao.txt")
    assert len(text.data) > 50_000 and text.kind == "text"
    assert not [e for e in content.events if e.event == "unreadable"]


def test_an_archive_that_cannot_be_read_at_all_is_quarantined(engine: Engine) -> None:
    v = judge(engine, hs.attach("ho-so.zip", b"PK\x03\x04\x14\x00" + b"\xff" * 20))
    assert "HUE-11.5/archive-unreadable" in v.rules
    assert v.action is Action.QUARANTINE


def test_solid_7z_bytes_decompressed_through_a_skipped_member_hit_the_byte_budget(
        engine: Engine) -> None:
    content = expand(parse_message(hs.attach("ho-so.7z", hs.solid_7z_through_zeros())))
    assert content.budget is not None and content.budget.exhausted == "bytes"
    assert hs.EXE_NAME in {f.name for f in content.files}  # its name is still judged
    v = judge(engine, hs.attach("ho-so.7z", hs.solid_7z_through_zeros()))
    assert BUDGET in v.rules
    assert v.action is Action.REJECT  # the executable's name; never an accept


def test_a_budget_that_runs_out_stops_the_scan_and_quarantines() -> None:
    def slow(env, msg):  # 0.3 s of work (the budget counts CPU time, not waiting)
        t0 = time.thread_time()
        while time.thread_time() - t0 < 0.3:
            pass
        return ()

    e = box_engine({"scan": {"time_budget_seconds": 0.1}},
                   detectors=[Detector("slow", (), slow), attachments.DETECTOR])
    v = judge(e, hs.attach("hoa-don.pdf.exe", b"MZ" + b"\0" * 100))
    [f] = [f for f in v.findings if f.rule == BUDGET]
    assert f.fact("budget") == "time" and "attachments" in f.detail
    assert v.action is Action.QUARANTINE


def test_the_expansion_stops_when_the_time_budget_runs_out() -> None:
    ticks = iter(range(1000))
    budget = ScanBudget(seconds=3, clock=lambda: float(next(ticks)))
    zips = {f"a{i}.zip": hs.samples.zip_of({f"x{i}.txt": b"x"}) for i in range(10)}
    raw = hs.samples.mime_message("x", [(n, "application/zip", d) for n, d in zips.items()])
    content = expand(parse_message(raw), budget=budget)
    assert budget.exhausted == "time"
    assert [e.event for e in content.events] == ["budget"]
    assert len([f for f in content.files if f.name.startswith("x")]) < 10


def test_the_cpu_clock_is_read_only_once_wall_time_could_have_used_the_budget() -> None:
    reads: list[int] = []

    def cpu() -> float:
        reads.append(1)
        return 10.0 * len(reads)  # every read says the budget is long gone

    wall = [0.0]
    budget = ScanBudget(seconds=3, clock=cpu, wall=lambda: wall[0])
    assert not budget.time_up() and len(reads) == 1  # the start only
    wall[0] = 3.5  # wall time past the budget: the CPU clock decides
    assert budget.time_up() and budget.exhausted == "time" and len(reads) == 2


def test_the_default_budget_counts_this_threads_cpu_time() -> None:
    budget = ScanBudget(seconds=0.05)
    assert budget.wall is not None and not budget.time_up()
    deadline = budget.clock() + 0.2
    while budget.clock() < deadline:  # busy, not sleeping: CPU time passes
        pass
    assert budget.time_up()


def test_budget_outcomes_are_metrics(engine: Engine) -> None:
    m = Metrics()
    m.record_verdict(judge(engine, hs.attach("ho-so.7z", hs.solid_7z_through_zeros())), 10)
    m.record_verdict(judge(engine, hs.attach("a.txt", b"hello")), 10)
    assert m.scan_budget.labels("bytes")._value.get() == 1
    assert m.scan_budget.labels("within")._value.get() == 1


def test_time_budget_is_validated() -> None:
    with pytest.raises(ConfigError, match="time_budget_seconds"):
        from_mapping({"scan": {"time_budget_seconds": 0}})
    assert from_mapping({}).scan.time_budget_seconds == ScanBudget().seconds


def test_mime_nesting_past_the_one_depth_limit_is_quarantined_not_tagged(
        engine: Engine) -> None:
    v = judge(engine, hs.deep_mime(1200))
    assert "HUE-11.5/archive-limit" in v.rules
    assert v.action in (Action.QUARANTINE, Action.REJECT)


def test_attached_messages_count_towards_the_same_depth_limit() -> None:
    inner = hs.deep_mime(9)  # alone within the limit of 10; not inside a message
    assert not [e for e in expand(parse_message(inner)).events if e.event == "too-deep"]
    raw = hs.samples.mime_message("x", [("fwd.eml", "application/octet-stream", inner)])
    content = expand(parse_message(raw))
    assert any(e.event == "too-deep" for e in content.events)


def test_add_opens_every_kind_that_has_an_opener() -> None:
    """The contract with the engineers adding carriers: an ``open_<kind>`` method is all a
    new kind needs; its children share the depth limit and the budget."""
    from congvu_guard.detectors.content import Content, FileNode, ScanLimits, _Expander

    opened: list[str] = []

    class WithText(_Expander):
        def open_text(self, node: FileNode) -> None:
            opened.append(node.path)
            if node.level < 50:
                self.add(self.child(node, "again.txt", node.data))

    content = Content()
    WithText(ScanLimits(max_depth=4), content).add(FileNode("1/a.txt", "a.txt", "", b"hi", 0))
    assert len(opened) == 4
    assert [e.event for e in content.events] == ["too-deep"]


_FLIPS = st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1,
                  max_size=30)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(_FLIPS)
def test_any_damage_to_member_one_leaves_member_two_judged(flips) -> None:
    """Per-member isolation as a property: whatever happens to the bytes of member 1 (its
    local header and data), the executable after it is found by content."""
    z = bytearray(hs.samples.zip_of({"bao-cao.txt": hs.TEXT, hs.EXE_NAME: hs.samples.pe_exe()}))
    second = z.find(b"PK\x03\x04", 4)
    for i, v in flips:
        z[i % second] = v
    content = expand(parse_message(hs.attach("ho-so.zip", bytes(z))))
    assert {f.name: f.kind for f in content.files}.get(hs.EXE_NAME) == "pe"


@settings(max_examples=40, deadline=None, derandomize=True)
@given(_FLIPS)
def test_any_damage_after_a_tar_member_leaves_it_judged(flips) -> None:
    raw = bytearray(hs.tar_damaged_after_exe())
    start = len(raw) // 3  # well past the executable's compressed bytes
    for i, v in flips:
        raw[start + i % (len(raw) - start)] = v
    content = expand(parse_message(hs.attach("ho-so.tar.gz", bytes(raw))))
    assert {f.name: f.kind for f in content.files}.get(hs.EXE_NAME) == "pe"
