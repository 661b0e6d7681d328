"""``congvu-guard locks`` and ``bulk-senders`` against a real Redis: the stable contract
(``locks list --json``, ``locks unlock ACCOUNT --reference REF --approver NAME``,
``locks audit --json``) and the exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from congvu_guard import cli


@pytest.fixture
def cfg(tmp_path: Path, redis_client, redis_tcp: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(f'[redis]\nurl = "{redis_tcp}"\n[ratelimit]\n'
                 f'export_dovecot = "{tmp_path / "deny"}"\n')
    return p


def run(capsys, *args: str) -> tuple[int, str, str]:
    rc = cli.main(list(args))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_lock_list_show_unlock_and_audit(cfg: Path, tmp_path: Path, capsys) -> None:
    c = ["--config", str(cfg)]
    assert run(capsys, "locks", "lock", "Bob@Hue.gov.vn", "--reason", "HUE-13.2c",
               "--note", "leaked password", "--actor", "an.nv", *c)[0] == 0
    rc, out, _ = run(capsys, "locks", "list", "--json", *c)
    [row] = [json.loads(x) for x in out.splitlines()]
    assert rc == 0 and row["account"] == "bob@hue.gov.vn" and row["reason"] == "HUE-13.2c"
    assert row["by"] == "an.nv" and row["note"] == "leaked password"
    assert "bob@hue.gov.vn:" in (tmp_path / "deny").read_text()
    rc, out, _ = run(capsys, "locks", "show", "bob@hue.gov.vn", *c)
    assert rc == 0 and "HUE-13.2c" in out

    rc, _, err = run(capsys, "locks", "unlock", "bob@hue.gov.vn", "--reference", " ",
                     "--approver", "Le Van C", *c)
    assert rc == 2 and "reference" in err
    rc, out, _ = run(capsys, "locks", "unlock", "bob@hue.gov.vn", "--reference", "123/UBND-VP",
                     "--approver", "Le Van C", "--actor", "op2", *c)
    assert rc == 0 and "123/UBND-VP" in out
    assert "bob@hue.gov.vn" not in (tmp_path / "deny").read_text()
    assert run(capsys, "locks", "unlock", "bob@hue.gov.vn", "--reference", "x",
               "--approver", "y", *c)[0] == 3
    assert run(capsys, "locks", "show", "nobody@hue.gov.vn", *c)[0] == 3

    rc, out, _ = run(capsys, "locks", "audit", "--json", *c)
    rows = [json.loads(x) for x in out.splitlines()]
    # Newest first (issue 15), like the API and the page.
    assert [(r["event"], r["actor"]) for r in rows] == [("unlock", "op2"), ("lock", "an.nv")]
    assert rows[0]["reference"] == "123/UBND-VP" and rows[0]["approver"] == "Le Van C"
    rc, out, _ = run(capsys, "locks", "audit", "--csv", "--account", "bob@hue.gov.vn", *c)
    assert rc == 0
    parsed = list(csv.DictReader(io.StringIO(out)))
    assert [r["event"] for r in parsed] == ["unlock", "lock"]
    rc, out, _ = run(capsys, "locks", "audit", "--since", "2999-01-01", "--json", *c)
    assert rc == 0 and out == ""


def test_bulk_senders_cli(cfg: Path, capsys) -> None:
    c = ["--config", str(cfg)]
    assert run(capsys, "bulk-senders", "add", "thongbao@hue.gov.vn", "--note", "press", *c)[0] == 0
    assert run(capsys, "bulk-senders", "add", "vp@hue.gov.vn", "--limit", "500", *c)[0] == 0
    rc, out, _ = run(capsys, "bulk-senders", "list", "--json", *c)
    assert rc == 0
    rows = {r["account"]: r["messages"] for r in map(json.loads, out.splitlines())}
    assert rows == {"thongbao@hue.gov.vn": -1, "vp@hue.gov.vn": 500}
    assert run(capsys, "bulk-senders", "remove", "vp@hue.gov.vn", *c)[0] == 0
    assert run(capsys, "bulk-senders", "remove", "vp@hue.gov.vn", *c)[0] == 3
    assert run(capsys, "bulk-senders", "add", "x@hue.gov.vn", "--limit", "-5", *c)[0] == 2


def test_redis_unreachable_exits_1(tmp_path: Path, capsys) -> None:
    p = tmp_path / "c.toml"
    p.write_text('[redis]\nurl = "redis://127.0.0.1:1/0"\n')
    rc, _, err = run(capsys, "locks", "list", "--config", str(p))
    assert rc == 1 and "redis unreachable" in err
