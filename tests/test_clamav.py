"""ClamAV against a real clamd with a hand-written signature database."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from congvu_guard.config import ClamavConfig, Config, ReportConfig
from congvu_guard.engine import Engine
from congvu_guard.metrics import Metrics
from congvu_guard.model import Action
from congvu_guard.services.clamd import Clamd
from tests import samples
from tests.helpers import EICAR, judge
from tests.lab.clamd import ClamdLab

MARKER = b"CONGVU-CLAMAV-TEST-MARKER-7f3a"


def _lab(ndb=None, extra=None, eicar=True) -> Iterator[ClamdLab]:
    if shutil.which("clamd") is None:
        pytest.skip("clamd is not installed (clamav-daemon)")
    base = Path(tempfile.mkdtemp(prefix="cg-clamd-"))
    lab = ClamdLab(base, ndb=ndb, extra_files=extra, eicar=eicar)
    lab.start()
    try:
        yield lab
    finally:
        lab.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def clamd() -> Iterator[ClamdLab]:
    yield from _lab({"Congvu.Test.Marker": MARKER})


def engine_with(spec: str, on_failure: str = "tempfail") -> tuple[Engine, Clamd, Metrics]:
    metrics = Metrics()
    cfg = Config(clamav=ClamavConfig(enabled=True, socket=spec, timeout_seconds=5,
                                     on_failure=on_failure),  # type: ignore[arg-type]
                 report=ReportConfig(address="tiepnhan@hue.gov.vn"))
    c = Clamd(cfg.clamav, metrics)
    c.probe()
    return Engine(cfg, clamd=c), c, metrics


def test_clamd_finds_a_signature_only_it_knows(clamd: ClamdLab) -> None:
    e, c, metrics = engine_with(clamd.spec)
    assert c.up and metrics.clamd_up._value.get() == 1
    raw = samples.mime_message("x", [("note.txt", "text/plain", b"hello " + MARKER)])
    v = judge(e, raw)
    [f] = [f for f in v.findings if f.rule == "HUE-11.5/clamav"]
    assert "Congvu.Test.Marker" in f.detail
    assert v.action is Action.REJECT


def test_clamd_finds_eicar_in_a_zip_in_a_zip_in_base64_mail(clamd: ClamdLab) -> None:
    e, _, _ = engine_with(clamd.spec)
    z = samples.zip_of({"in.zip": samples.zip_of({"eicar.com": EICAR})})
    v = judge(e, samples.mime_message("x", [("a.zip", "application/zip", z)]))
    assert "HUE-11.5/clamav" in v.rules


def test_clean_mail_passes_clamd(clamd: ClamdLab) -> None:
    e, _, _ = engine_with(clamd.spec)
    assert judge(e, samples.mime_message("x", [("a.pdf", "application/pdf",
                                                samples.pdf(js=False))])).action is Action.ACCEPT


def test_clamd_down_applies_the_fallback(tmp_path: Path) -> None:
    spec = f"unix:{tmp_path / 'nothing.sock'}"
    e, c, metrics = engine_with(spec, "tempfail")
    assert not c.up and metrics.clamd_up._value.get() == 0
    v = judge(e, samples.mime_message("x", []))
    assert v.action is Action.TEMPFAIL and v.smtp_reply.startswith("451")
    e2, _, m2 = engine_with(spec, "tag")
    v2 = judge(e2, samples.mime_message("x", []))
    assert v2.action is Action.TAG and "HUE-11.5/clamav-unavailable" in v2.rules
    assert m2.clamd_fallbacks._value.get() == 1


def test_clamd_without_working_signatures_counts_as_down() -> None:
    # A signature database that does not know EICAR: clamd answers OK to everything we send.
    for lab in _lab(ndb={"Congvu.Nothing": bytes(range(40))}, eicar=False):
        e, c, _ = engine_with(lab.spec)
        assert not c.up  # it answers OK to EICAR: no working signatures
        assert judge(e, samples.mime_message("x", [])).action is Action.TEMPFAIL
