"""Outlook message files (.msg) carry attachments the scanner must open (detectors/outlook_msg.py).

The samples are built from MS-OXMSG by tests/office_samples.outlook_msg (no Outlook-made .msg
is in the corpus): an attachment is a storage with its long file name and its data, an
attached message a storage of the same layout."""

from __future__ import annotations

import pytest

from congvu_guard.detectors import outlook_msg
from congvu_guard.engine import Engine
from congvu_guard.model import Action
from tests import carrier_samples as cs
from tests import office_samples as o
from tests import samples
from tests.helpers import judge


def _sent(msg: bytes, name: str = "thu-chuyen-tiep.msg") -> bytes:
    return samples.mime_message("Fwd: hoa don", [(name, "application/vnd.ms-outlook", msg)])


def test_an_executable_in_a_zip_in_a_msg_is_found(engine: Engine) -> None:
    msg = o.outlook_msg("Hoa don", [
        ("hoa-don.zip", samples.zip_of({"hoa-don.exe": samples.pe_exe()}))])
    v = judge(engine, _sent(msg))
    [hit] = [f for f in v.findings if f.rule == "HUE-11.5/exec"]
    assert hit.fact("path") == "2/thu-chuyen-tiep.msg:hoa-don.zip:hoa-don.exe"
    assert v.action is Action.REJECT


def test_the_attachments_of_a_message_attached_to_a_msg_are_judged(engine: Engine) -> None:
    page, _ = cs.LAUNCHERS["bao-cao-tuan.msc"]
    msg = o.outlook_msg("Fwd", [("thu-goc.msg", {"subject": "Bao cao", "attachments": [
        ("bao-cao.pdf", samples.pdf(False)), ("bao-cao-tuan.msc", page)]})])
    assert [n for n, _ in outlook_msg.attachments(msg)] == [
        "thu-goc.msg/bao-cao.pdf", "thu-goc.msg/bao-cao-tuan.msc"]
    v = judge(engine, _sent(msg))
    assert "HUE-11.5/launcher" in {f.rule for f in v.findings}, v.findings


def test_a_msg_with_a_document_passes(engine: Engine) -> None:
    msg = o.outlook_msg("Cong van", [("cong-van.pdf", samples.pdf(False)),
                                     ("ghi-chu.txt", b"Kinh gui cac don vi.")])
    v = judge(engine, _sent(msg))
    assert v.action is Action.ACCEPT, v.findings


def test_more_attachments_than_the_cap_are_a_limit_finding(engine: Engine,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outlook_msg, "MAX_ATTACHMENTS", 3)
    msg = o.outlook_msg("Nhieu tep", [(f"tep-{i}.txt", b"x") for i in range(5)])
    v = judge(engine, _sent(msg))
    assert "HUE-11.5/archive-limit" in {f.rule for f in v.findings}, v.findings
    assert v.action is Action.QUARANTINE


def test_messages_attached_past_the_depth_limit_end_without_an_error() -> None:
    inner: dict = {"subject": "0", "attachments": [("hoa-don.exe", samples.pe_exe())]}
    for level in range(1, outlook_msg.MAX_DEPTH + 4):
        inner = {"subject": str(level), "attachments": [(f"thu-{level}.msg", inner)]}
    msg = o.outlook_msg("Sau", inner["attachments"])
    assert list(outlook_msg.attachments(msg)) == []  # the executable is below the limit


def test_a_cut_msg_is_judged_at_every_length_and_unreadable_when_olefile_fails(
        engine: Engine) -> None:
    msg = o.outlook_msg("Hoa don", [("hoa-don.exe", samples.pe_exe())])
    for cut in range(64, len(msg), 128):
        judge(engine, _sent(msg[:cut]))  # never an exception
    v = judge(engine, _sent(msg[:600]))  # the allocation table is cut
    assert "HUE-11.5/archive-unreadable" in {f.rule for f in v.findings}, v.findings
