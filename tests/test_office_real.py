"""Real Office files (oletools' test data, made by Microsoft Office and LibreOffice, in
../shared/corpus/office-real/) judged by ``congvu-guard scan --json`` against expect.tsv:
``block`` = quarantine or reject, ``finding`` = tag, quarantine or reject, ``clean`` = accept
or tag (issue 13)."""

from __future__ import annotations

import contextlib
import io
import json
import os
from pathlib import Path

import pytest

from congvu_guard import cli
from tests.samples import mime_message

_REL = Path("shared") / "corpus" / "office-real"
_CANDIDATES = [
    Path(os.environ["CONGVU_OFFICE_CORPUS"]) if os.environ.get("CONGVU_OFFICE_CORPUS") else None,
    Path(__file__).resolve().parent.parent.parent / _REL,  # ../shared next to the repo
    Path("/work") / _REL,
]
CORPUS = next((p for p in _CANDIDATES if p is not None and (p / "expect.tsv").is_file()), None)
ALLOWED = {"block": {"quarantine", "reject"}, "finding": {"tag", "quarantine", "reject"},
           "clean": {"accept", "tag"}}
BOX = "tiepnhan@thuathienhue.gov.vn"


def _expectations() -> list[tuple[str, str]]:
    if CORPUS is None:
        return []
    rows = []
    for line in (CORPUS / "expect.tsv").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            path, want = line.split("\t")[:2]
            rows.append((path, want.strip()))
    return rows


pytestmark = pytest.mark.skipif(CORPUS is None, reason="../shared/corpus/office-real/ is not "
                                "here (set CONGVU_OFFICE_CORPUS to its folder)")


def test_corpus_lists_every_family() -> None:
    paths = [p for p, _ in _expectations()]
    assert len(paths) >= 13
    assert {w for _, w in _expectations()} == set(ALLOWED)


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    """Every corpus file wrapped in an inbound message, judged in one CLI run."""
    assert CORPUS is not None
    d = tmp_path_factory.mktemp("office-real")
    config = d / "c.toml"
    config.write_text(f'[report]\naddress = "{BOX}"\n')
    emls = []
    for rel, _ in _expectations():
        f = CORPUS / rel
        eml = d / (rel.replace("/", "__") + ".eml")
        eml.write_bytes(mime_message(f"Gui tai lieu {f.name}", [
            (f.name, "application/octet-stream", f.read_bytes())]))
        emls.append(str(eml))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = cli.main(["scan", "--json", "--config", str(config), *emls])
    assert rc == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    return {rel: rec for (rel, _), rec in zip(_expectations(), records, strict=True)}


@pytest.mark.parametrize(("rel", "want"), _expectations())
def test_real_office_file_gets_its_expected_verdict(verdicts: dict[str, dict], rel: str,
                                                   want: str) -> None:
    rec = verdicts[rel]
    assert rec["action"] in ALLOWED[want], (rel, rec["action"], rec["reasons"])
    if want == "clean":
        assert not rec["reasons"], rec["reasons"]


# VBA stomping on p-code compiled by Excel ------------------------------------------------
# The corpus's auto-run workbook, decrypted (Excel's built-in password), carries p-code Excel
# compiled from "Sub Auto_Open() / MsgBox "Hello World"". Stomping it as EvilClippy does keeps
# that p-code and shows a harmless source; a hand-built sample has no real p-code to keep.
AUTORUN_XLS = "encrypted/autostart-encrypt-standardpassword.xls"
HARMLESS_SOURCE = 'Attribute VB_Name = "Modul1"\r\nSub Hallo()\r\nEnd Sub\r\n'


def _excel_workbook_with_vba() -> bytes:
    import msoffcrypto

    assert CORPUS is not None
    office = msoffcrypto.OfficeFile(io.BytesIO((CORPUS / AUTORUN_XLS).read_bytes()))
    office.load_key(password="VelvetSweatshop")
    out = io.BytesIO()
    office.decrypt(out)
    return out.getvalue()


def _judge(tmp_path: Path, name: str, data: bytes) -> dict:
    config = tmp_path / "c.toml"
    config.write_text(f'[report]\naddress = "{BOX}"\n')
    eml = tmp_path / "m.eml"
    eml.write_bytes(mime_message("Gui bao cao quy", [(name, "application/vnd.ms-excel", data)]))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["scan", "--json", "--config", str(config), str(eml)]) == 0
    return json.loads(out.getvalue())


def test_an_excel_workbook_whose_vba_source_was_stomped_is_judged_by_its_pcode(
        tmp_path: Path) -> None:
    from tests.office_samples import stomp_vba

    stomped = stomp_vba(_excel_workbook_with_vba(), "Modul1", HARMLESS_SOURCE)
    rec = _judge(tmp_path, "bao-cao.xls", stomped)
    rules = {r["rule"]: r["detail"] for r in rec["reasons"]}
    assert rec["action"] == "reject", rec
    assert "HUE-11.5/vba-stomping" in rules
    # The source shows only "Sub Hallo()"; what Excel runs, Auto_Open, is read from the p-code.
    assert "Auto_Open" in rules["HUE-11.5/macro"]


def test_the_same_workbook_not_stomped_shows_no_stomping(tmp_path: Path) -> None:
    rec = _judge(tmp_path, "bao-cao.xls", _excel_workbook_with_vba())
    rules = {r["rule"] for r in rec["reasons"]}
    assert "HUE-11.5/macro" in rules
    assert "HUE-11.5/vba-stomping" not in rules
