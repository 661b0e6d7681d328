"""One validation for check-config, the milter and the monitor (issue 20): check-config
refuses what the programs refuse at start, with one line naming the key; and the milter's
adapter takes its defaults from the configuration, not from literals of its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from congvu_guard import cli
from congvu_guard.config import Config, ScanConfig, from_mapping
from congvu_guard.engine import Engine
from congvu_guard.metrics import Metrics
from congvu_guard.milter import server
from congvu_guard.milter.adapter import Services
from congvu_guard.monitor import logsafe


def _cases(tmp: Path) -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """Case -> (TOML, the key the error names, the programs that refuse it)."""
    short_key, users = tmp / "short.key", tmp / "users"
    return {
        "cluster without url": ('[redis]\nmode = "cluster"\n', "[redis] url",
                                ("milter", "monitor")),
        "sentinel without url": ('[redis]\nmode = "sentinel"\nsentinels = ["10.0.0.1:26379"]\n',
                                 "[redis] url", ("milter", "monitor")),
        "missing spool dir": (f'[scan]\nspool_dir = "{tmp}/nope"\n', "[scan] spool_dir",
                              ("milter",)),
        "spool dir is a file": (f'[scan]\nspool_dir = "{short_key}"\n', "[scan] spool_dir",
                                ("milter",)),
        "missing stamp key file": (f'[forwarding]\nstamp_key_file = "{tmp}/nope.key"\n',
                                   "[forwarding] stamp_key_file", ("milter", "monitor")),
        "short stamp key": (f'[forwarding]\nstamp_key_file = "{short_key}"\n',
                            "[forwarding] stamp_key_file", ("milter", "monitor")),
        "malformed users file": (f'[monitor]\nusers_file = "{users}"\n',
                                 "[monitor] users_file", ("monitor",)),
        "missing own DKIM key file": (
            '[domains]\nown = ["hue.gov.vn"]\n[origin]\n'
            f'dkim_key_files = ["s1._domainkey.hue.gov.vn={tmp}/nope.txt"]\n',
            "[origin] dkim_key_files", ("milter",)),
    }


CASES = sorted(_cases(Path("/nonexistent")))


def _refused(tmp_path: Path, case: str, command: str, capsys) -> str:
    toml, _, _ = _cases(tmp_path)[case]
    (tmp_path / "short.key").write_bytes(b"x" * 10)
    (tmp_path / "users").write_text("alice admin\n")  # no hash
    path = tmp_path / "c.toml"
    path.write_text(toml)
    args = ["check-config", str(path)] if command == "check-config" else \
        [command, "--config", str(path)]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err  # one line, no traceback
    return err


@pytest.mark.parametrize("case", CASES)
def test_check_config_refuses_what_a_program_refuses(tmp_path: Path, case: str,
                                                     capsys) -> None:
    err = _refused(tmp_path, case, "check-config", capsys)
    assert f"configuration error: {_cases(tmp_path)[case][1]}" in err


@pytest.fixture
def programs_must_not_start(monkeypatch) -> None:
    """Past validation the milter and the monitor would start serving: fail instead."""

    def started(*_: object) -> None:
        raise AssertionError("the program started: validation let the configuration pass")

    monkeypatch.setattr(server, "tune_malloc", started)
    monkeypatch.setattr(logsafe, "install", started)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.usefixtures("programs_must_not_start")
def test_the_milter_and_the_monitor_refuse_the_same_at_start(tmp_path: Path, case: str,
                                                            capsys) -> None:
    _, key, programs = _cases(tmp_path)[case]
    for program in programs:
        if (program, case) == ("milter", "missing own DKIM key file"):
            continue  # refused when the engine is built, after the milter's start: see below
        assert key in _refused(tmp_path, case, program, capsys)


def test_the_engine_refuses_a_missing_own_dkim_key_file(tmp_path: Path) -> None:
    toml = _cases(tmp_path)["missing own DKIM key file"][0]
    import tomllib

    from congvu_guard.config import ConfigError

    with pytest.raises(ConfigError, match=r"\[origin\] dkim_key_files"):
        Engine(from_mapping(tomllib.loads(toml)))


def test_a_valid_file_passes_check_config(tmp_path: Path, capsys) -> None:
    key = tmp_path / "stamp.key"
    key.write_bytes(b"k" * 48)
    path = tmp_path / "c.toml"
    path.write_text(f'[redis]\nmode = "cluster"\nurl = "redis://10.0.0.1:6379"\n'
                    f'[scan]\nspool_dir = "{tmp_path}"\n'
                    f'[forwarding]\nstamp_key_file = "{key}"\n')
    assert cli.main(["check-config", str(path)]) == 0
    assert ": OK" in capsys.readouterr().out


def test_the_adapter_spools_at_the_configured_threshold_not_a_literal_of_its_own() -> None:
    default = Services(Engine(Config()), Metrics(), None, "mx")
    assert default.spool_threshold == ScanConfig().spool_threshold_bytes == 512 * 1024
    cfg = from_mapping({"scan": {"spool_threshold_bytes": 65536, "large_scan_concurrency": 3,
                                 "spool_dir": "/var/tmp"}})
    services = Services(Engine(cfg), Metrics(), None, "mx")
    assert services.spool_threshold == 65536 and services.spool_dir == "/var/tmp"
    assert services.large_scans.slots == 3
    assert default.body_memory.limit == ScanConfig().body_memory_bytes == 64 * 1024 * 1024
