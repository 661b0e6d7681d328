"""OpenDocument macros (detectors/odf.py), judged on files LibreOffice made
(tests/corpus/office/odf-macros, made by its make.py through LibreOffice's UNO API)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from congvu_guard.detectors import odf
from congvu_guard.engine import Engine
from congvu_guard.model import Action
from tests import samples
from tests.helpers import judge

CORPUS = Path(__file__).parent / "corpus" / "office"
EXPECTED = {
    "bao-cao-autoopen.odt": (Action.REJECT, "runs by itself on the document's dom:load"),
    "bao-cao-autoopen.fodt": (Action.REJECT, "runs by itself on the document's dom:load"),
    "bang-luong-autoopen.ods": (Action.REJECT, "runs by itself on the document's dom:load"),
    "bao-cao-librelogo.odt": (Action.REJECT, "LibreLogo.py$run?language=Python&location=share"),
    "bao-cao-macro.odt": (Action.QUARANTINE, "LibreOffice macros (Standard/Module1)"),
    "bao-cao-nut-bam.odt": (Action.QUARANTINE, "bound to office:print"),
}


def _sent(name: str, data: bytes) -> bytes:
    return samples.mime_message("Bao cao", [(name, "application/octet-stream", data)])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_libreoffice_macros_are_found_and_an_automatic_one_is_rejected(engine: Engine,
                                                                      name: str) -> None:
    """Until 2026-12-02 all six were accepted: only VBA was looked for."""
    action, detail = EXPECTED[name]
    v = judge(engine, _sent(name, (CORPUS / "odf-macros" / name).read_bytes()))
    [hit] = [f for f in v.findings if f.rule == "HUE-11.5/macro"]
    assert detail in hit.detail and v.action is action, v.findings


def test_the_same_documents_without_macros_pass(engine: Engine) -> None:
    for name in ("bao-cao-thuong.fodt", "cong-van.odt", "bang-luong.ods", "de-thi-toan.odt"):
        v = judge(engine, _sent(name, (CORPUS / "benign" / name).read_bytes()))
        assert v.action is Action.ACCEPT, (name, v.findings)


def test_a_macro_document_inside_a_zip_is_found(engine: Engine) -> None:
    doc = (CORPUS / "odf-macros" / "bao-cao-autoopen.odt").read_bytes()
    v = judge(engine, _sent("ho-so.zip", samples.zip_of({"bao-cao.odt": doc})))
    [hit] = [f for f in v.findings if f.rule == "HUE-11.5/macro"]
    assert hit.fact("path").endswith("ho-so.zip:bao-cao.odt") and v.action is Action.REJECT


def test_listener_reading_is_linear_on_hostile_xml() -> None:
    unclosed = b"<script:event-listener " * 200_000  # 4.6 MB of tags that never close
    quoted = b'<script:event-listener xlink:href="' + b"a" * 4_000_000
    t0 = time.monotonic()
    assert odf.listeners(unclosed) == [] and odf.listeners(quoted) == []
    assert odf.flat(b"<ooo:module " * 200_000).modules == ()
    assert time.monotonic() - t0 < 30  # a hang detector: linear takes milliseconds
