"""``congvu-guard scan``: the milter's engine on .eml files, and the peer corpus."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from congvu_guard import cli
from tests.helpers import CORPUS, eicar_message, message_of_size, simple_message
from tests.samples import macro_message

BOX = "tiepnhan@thuathienhue.gov.vn"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(f'[report]\naddress = "{BOX}"\n')
    return p


def scan_json(capsys, *args: str) -> tuple[int, list[dict]]:
    rc = cli.main(["scan", "--json", *args])
    out = capsys.readouterr().out
    return rc, [json.loads(line) for line in out.splitlines()]


def test_json_output_has_one_object_per_file(tmp_path: Path, config: Path, capsys) -> None:
    clean = tmp_path / "clean.eml"
    clean.write_bytes(simple_message("hi"))
    bad = tmp_path / "eicar.eml"
    bad.write_bytes(eicar_message("x"))
    macro = tmp_path / "macro.eml"
    macro.write_bytes(macro_message("x"))
    rc, records = scan_json(capsys, "--config", str(config), str(clean), str(bad), str(macro))
    assert rc == 0
    assert [r["file"] for r in records] == [str(clean), str(bad), str(macro)]
    assert records[0]["action"] == "accept" and records[0]["reasons"] == []
    assert records[0]["smtp_reply"] is None
    assert records[1]["action"] == "reject"
    [eicar] = [r for r in records[1]["reasons"] if r["rule"] == "HUE-11.5/yara"]
    assert eicar["rule"] == "HUE-11.5/yara" and "EICAR" in eicar["detail"]
    assert eicar["path"] == "2/eicar.com" and eicar["severity"] == "critical"
    assert eicar["sha256"] == "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"
    assert records[1]["smtp_reply"].startswith("550 5.7.1")
    assert records[2]["action"] == "quarantine"
    rules = {r["rule"] for r in records[2]["reasons"]}
    assert "HUE-11.5/macro" in rules
    assert all(r["path"].startswith("2/bao-cao.docm") for r in records[2]["reasons"])


def test_reject_carries_the_smtp_reply(tmp_path: Path, capsys) -> None:
    big = tmp_path / "big.eml"
    big.write_bytes(message_of_size(20 * 1024 * 1024 + 1, "big"))
    rc, [rec] = scan_json(capsys, str(big))
    assert rc == 0
    assert rec["action"] == "reject"
    assert rec["smtp_reply"].startswith("552 5.3.4 ")


def test_envelope_options_are_used(tmp_path: Path, config: Path, capsys) -> None:
    f = tmp_path / "m.eml"
    f.write_bytes(macro_message("x"))
    rc, [rec] = scan_json(capsys, "--config", str(config), "--from", "x@hue.gov.vn",
                          "--rcpt", BOX, "--auth-user", "x", str(f))
    assert rc == 0
    assert rec["action"] == "tag"  # to the report box: never blocked


def test_unreadable_input_exits_2_with_a_clear_message(tmp_path: Path, capsys) -> None:
    good = tmp_path / "ok.eml"
    good.write_bytes(simple_message("hi"))
    rc = cli.main(["scan", "--json", str(tmp_path / "missing.eml"), str(good)])
    captured = capsys.readouterr()
    assert rc == 2
    assert "missing.eml: cannot read" in captured.err
    assert len(captured.out.splitlines()) == 1  # the readable file was still judged


def test_text_output_names_action_and_rule(tmp_path: Path, config: Path, capsys) -> None:
    f = tmp_path / "m.eml"
    f.write_bytes(macro_message("x"))
    assert cli.main(["scan", "--config", str(config), str(f)]) == 0
    out = capsys.readouterr().out
    assert "m.eml: quarantine" in out and "HUE-11.5/macro" in out
    assert "2/bao-cao.docm" in out and "type=ooxml" in out and "sha256=" in out


def corpus_files() -> list[Path]:
    return sorted(p for p in CORPUS.rglob("*") if p.is_file()) if CORPUS.is_dir() else []


@pytest.mark.skipif(not corpus_files(), reason=f"peer corpus not found at {CORPUS}")
def test_every_message_of_the_peer_corpus_is_judged_without_error(config: Path) -> None:
    files = corpus_files()
    assert len(files) >= 200
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "congvu_guard", "scan", "--json", "--config", str(config),
         *map(str, files)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["file"] for r in records] == [str(f) for f in files]
    assert {r["action"] for r in records} <= {"accept", "tag", "quarantine", "reject"}
    print(f"{len(files)} corpus messages judged in {time.monotonic() - t0:.1f} s")
    # The archive, bad-extension and attachment cases get what a mail admin expects.
    by_name = {Path(r["file"]).name: r for r in records}
    expected = {
        "zip.eml": "HUE-11.5/exec",  # fake.exe inside a zip
        "zip-doublebad.eml": "HUE-11.5/name-lie",  # fake.pdf.exe inside a zip
        # an .exe inside a rar: decompressed (libarchive), it holds one newline, not a PE
        "rar4.eml": "HUE-11.5/bad-extension",
        # a .scr inside a rar named .gz: decompressed, it holds "0\n", not a PE
        "rar-date-bad-ext.eml": "HUE-11.5/bad-extension",
        "exe_attm.eml": "HUE-11.5/exec",
        "bad_ext.dotted_file_name.eml": "HUE-11.5/bad-extension",
        "next2last-doublebad.eml": "HUE-11.5/bad-extension",  # .scr.xz
        "pdf_js.eml": "HUE-11.5/pdf-active",
        "broken_richtext.eml": "HUE-11.5/yara",  # EICAR inside a zip
    }
    for name, rule in expected.items():
        assert rule in {x["rule"] for x in by_name[name]["reasons"]}, (name, by_name[name])
        assert by_name[name]["action"] in ("reject", "quarantine"), by_name[name]


def test_scan_applies_the_forwarding_rules_with_the_envelope(tmp_path: Path, capsys) -> None:
    from congvu_guard import stamp

    key_file = tmp_path / "stamp.key"
    key_file.write_bytes(b"s" * 40)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[forwarding]\nstamp_key_file = "{key_file}"\n')
    mid = "<m1@example.net>"
    f = tmp_path / "fwd.eml"
    f.write_bytes(simple_message(
        "x", message_id=mid,
        extra_headers=f"{stamp.HEADER}: {stamp.make(b's' * 40, mid, 1)}\r\n"))
    base = ["--config", str(cfg), "--rcpt", "bob@gmail.com", str(f)]
    _, [rec] = scan_json(capsys, "--daemon", "outbound-gate", *base)
    assert rec["action"] == "reject" and rec["reasons"][0]["rule"] == "HUE-11.6"
    assert rec["smtp_reply"].startswith("550 5.7.1")
    _, [rec] = scan_json(capsys, "--hop", "submission", *base)
    assert rec["action"] == "accept"
