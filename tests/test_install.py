"""The production install (issue 16): the runtime lock matches pyproject.toml, the venv
that scripts/setup makes from the wheel holds the runtime only and runs the CLI, and the man
page matches the parser and renders.

The venv checks need a production install: .ci/run makes one in a fresh directory and names
it in CONGVU_GUARD_RUNTIME_VENV (otherwise /opt/congvu-guard/venv is used when present)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
# Installed by the test extra or the lock tooling: none may reach a mail server.
TEST_TOOLS = ("pytest", "hypothesis", "playwright", "schemathesis", "aiosmtpd", "ruff",
              "grafanalib", "grafana_foundation_sdk", "uv", "build", "piptools")


def _lock_pins() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        m = re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", line)
        if m:
            pins[canonicalize_name(m[1])] = m[2]
    return pins


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_lock_pins_every_runtime_dependency_within_its_pyproject_range() -> None:
    pins = _lock_pins()
    for spec in _pyproject()["dependencies"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not in requirements.lock: run bash scripts/lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {req.name}=={pins[name]} outside {req.specifier}: "
            "run bash scripts/lock")


def test_lock_holds_no_test_tool_and_hashes_every_pin() -> None:
    pins = _lock_pins()
    for spec in _pyproject()["optional-dependencies"]["test"]:
        name = canonicalize_name(Requirement(spec).name)
        assert name not in pins, f"test tool {name} is in the runtime lock"
    text = (ROOT / "requirements.lock").read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert len(blocks) == len(pins)
    for block in blocks:
        assert "--hash=sha256:" in block, block.splitlines()[0]


def _runtime_venv() -> Path:
    named = os.environ.get("CONGVU_GUARD_RUNTIME_VENV")
    venv = Path(named or "/opt/congvu-guard/venv")
    if not (venv / "bin" / "python").exists():
        if named:
            pytest.fail(f"CONGVU_GUARD_RUNTIME_VENV={named} holds no venv")
        pytest.skip("no production install (bash scripts/setup; .ci/run makes one)")
    return venv


def test_runtime_venv_cannot_import_any_test_tool() -> None:
    python = _runtime_venv() / "bin" / "python"
    for module in TEST_TOOLS:
        proc = subprocess.run([str(python), "-c", f"import {module}"], capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode != 0, f"{module} is importable in the runtime venv"
        assert "ModuleNotFoundError" in proc.stderr, proc.stderr


def test_runtime_venv_holds_the_wheel_and_exactly_the_locked_versions() -> None:
    venv = _runtime_venv()
    python = str(venv / "bin" / "python")
    where = subprocess.run([python, "-c", "import congvu_guard; print(congvu_guard.__file__)"],
                           capture_output=True, text=True, timeout=60, cwd="/")
    assert where.returncode == 0, where.stderr
    # Non-editable: the code runs from the venv, a git pull does not change it.
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    freeze = subprocess.run([python, "-m", "pip", "list", "--format=freeze",
                             "--disable-pip-version-check"], capture_output=True, text=True,
                            timeout=120)
    pins = _lock_pins()
    for line in freeze.stdout.split():
        name, _, version = line.partition("==")
        name = canonicalize_name(name)
        if name in ("pip", "setuptools", "wheel", "congvu-guard"):
            continue
        assert pins.get(name) == version, f"{name}=={version} is not the locked version"


def test_runtime_venv_runs_the_cli_on_the_example_config() -> None:
    exe = str(_runtime_venv() / "bin" / "congvu-guard")
    assert subprocess.run([exe, "--help"], capture_output=True, timeout=60).returncode == 0
    proc = subprocess.run([exe, "check-config", str(ROOT / "congvu-guard.example.toml")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert ": OK" in proc.stdout.splitlines()[0]


def test_man_page_matches_the_argparse_parser() -> None:
    proc = subprocess.run([sys.executable, str(ROOT / "man" / "generate.py"), "--check"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(shutil.which("man") is None, reason="man (man-db) missing")
def test_man_page_renders_with_man() -> None:
    proc = subprocess.run(["man", "--warnings", "-l", str(ROOT / "man" / "congvu-guard.8")],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "MANPAGER": "cat", "MANWIDTH": "100"})
    assert proc.returncode == 0, proc.stderr
    assert not proc.stderr.strip(), proc.stderr
    text = re.sub(r".\x08", "", proc.stdout)
    assert "CONGVU-GUARD(8)" in text
    assert "congvu-guard milter [-h] [--config FILE]" in text
