"""``congvu-guard audit-forwarding`` on every source it reads."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from congvu_guard import cli

CFG = '[domains]\nofficial = ["thuathienhue.gov.vn", "*.gov.vn"]\n'


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(CFG)
    return p


def audit(capsys, *args: str) -> tuple[int, list[dict]]:
    rc = cli.main(["audit-forwarding", "--json", *args])
    return rc, [json.loads(x) for x in capsys.readouterr().out.splitlines()]


def test_postfix_alias_and_virtual_maps(tmp_path: Path, cfg: Path, capsys) -> None:
    aliases = tmp_path / "aliases"
    aliases.write_text("# comment\npostmaster: root\nboss: boss@gmail.com,\n  deputy@hue.gov.vn\n"
                       "logger: |/usr/bin/logger\n")
    virtual = tmp_path / "virtual"
    virtual.write_text("alias@thuathienhue.gov.vn   alias.personal@yahoo.com.vn\n"
                       "team@thuathienhue.gov.vn a@thuathienhue.gov.vn, b@company.example\n")
    rc, rows = audit(capsys, "--config", str(cfg), "--postfix-map", str(aliases),
                     "--postfix-map", str(virtual))
    assert rc == 0
    got = {(r["account"], r["target"], r["destination"], r["verdict"]) for r in rows}
    assert got == {
        ("boss", "boss@gmail.com", "gmail.com", "blocked"),
        ("alias@thuathienhue.gov.vn", "alias.personal@yahoo.com.vn", "yahoo.com.vn", "blocked"),
        ("team@thuathienhue.gov.vn", "b@company.example", "non-official", "blocked"),
    }


def test_dot_forward_files_and_home_directories(tmp_path: Path, cfg: Path, capsys) -> None:
    for user, content in (("an", "\\an\nan.nguyen@gmail.com\n"), ("binh", "|/usr/bin/procmail\n")):
        (tmp_path / "home" / user).mkdir(parents=True)
        (tmp_path / "home" / user / ".forward").write_text(content)
    rc, rows = audit(capsys, "--config", str(cfg), "--homes", str(tmp_path / "home"))
    assert rc == 0
    assert [(r["account"], r["target"]) for r in rows] == [("an", "an.nguyen@gmail.com")]


def test_sieve_redirects(tmp_path: Path, cfg: Path, capsys) -> None:
    d = tmp_path / "sieve" / "bob"
    d.mkdir(parents=True)
    (d / "main.sieve").write_text(
        'require ["copy"];\n# redirect "commented@gmail.com";\n'
        'if header :contains "subject" "x" { redirect :copy "bob@hotmail.com"; }\n'
        'redirect "bob@sotttt.quangtri.gov.vn";\n/* redirect "c@gmail.com"; */\n')
    rc, rows = audit(capsys, "--config", str(cfg), "--sieve-dir", str(tmp_path / "sieve"))
    assert rc == 0
    assert [(r["account"], r["target"]) for r in rows] == [("bob", "bob@hotmail.com")]
    rc, rows = audit(capsys, "--config", str(cfg), "--sieve-dir", str(tmp_path / "sieve"),
                     "--all")
    assert {r["target"] for r in rows} == {"bob@hotmail.com", "bob@sotttt.quangtri.gov.vn"}


def test_zimbra_ldif_and_zmprov_output(tmp_path: Path, cfg: Path, capsys) -> None:
    encoded = base64.b64encode(b"chi.personal@gmail.com").decode()
    ldif = tmp_path / "zimbra.ldif"
    ldif.write_text(
        "dn: uid=an,ou=people,dc=thuathienhue,dc=gov,dc=vn\n"
        "zimbraMailDeliveryAddress: an@thuathienhue.gov.vn\n"
        "zimbraPrefMailForwardingAddress: an.personal@yah\n oo.com\n\n"
        "dn: uid=chi,ou=people,dc=thuathienhue,dc=gov,dc=vn\n"
        "mail: chi@thuathienhue.gov.vn\n"
        f"zimbraMailForwardingAddress:: {encoded}\n")
    zmprov = tmp_path / "gaa.txt"
    zmprov.write_text("# name dung@thuathienhue.gov.vn\nzimbraId: 123\n"
                      "zimbraPrefMailForwardingAddress: dung@hue.gov.vn\n"
                      "# name em@thuathienhue.gov.vn\n"
                      "zimbraPrefMailForwardingAddress: em@outlook.com\n")
    rc, rows = audit(capsys, "--config", str(cfg), "--zimbra", str(ldif), "--zimbra", str(zmprov))
    assert rc == 0
    got = {(r["account"], r["target"], r["verdict"]) for r in rows}
    assert got == {
        ("an@thuathienhue.gov.vn", "an.personal@yahoo.com", "blocked"),
        ("chi@thuathienhue.gov.vn", "chi.personal@gmail.com", "blocked"),
        ("em@thuathienhue.gov.vn", "em@outlook.com", "blocked"),
    }


def test_public_providers_mode_marks_other_domains_allowed(tmp_path: Path, capsys) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(CFG + '[forwarding]\nmode = "public-providers"\n')
    virtual = tmp_path / "virtual"
    virtual.write_text("a@thuathienhue.gov.vn x@company.example\n"
                       "b@thuathienhue.gov.vn y@gmail.com\n")
    _, rows = audit(capsys, "--config", str(cfg), "--postfix-map", str(virtual))
    assert {r["target"]: r["verdict"] for r in rows} == {
        "x@company.example": "allowed", "y@gmail.com": "blocked"}


def test_table_output_and_errors(tmp_path: Path, cfg: Path, capsys) -> None:
    virtual = tmp_path / "virtual"
    virtual.write_text("a@thuathienhue.gov.vn y@gmail.com\n")
    assert cli.main(["audit-forwarding", "--config", str(cfg), "--postfix-map", str(virtual)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:4] == ["ACCOUNT", "TARGET", "DESTINATION", "VERDICT"]
    assert "y@gmail.com" in out and "1 forward(s)" in out
    assert cli.main(["audit-forwarding", "--postfix-map", str(tmp_path / "nope")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert cli.main(["audit-forwarding"]) == 2
