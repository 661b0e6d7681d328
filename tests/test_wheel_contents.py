"""The wheel ships the milter and the monitor, not the test-only lab servers (issue 20):
clamd, Dovecot, Redis Cluster and rspamd labs live in tests/lab/; congvu_guard/lab keeps
only what ``congvu-guard demo`` needs (Postfix)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_ONLY = ("clamd", "dovecot", "redis_cluster", "rspamd")


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    # A copy of what the wheel is built from, so the build leaves nothing in the checkout.
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "congvu_guard", src / "congvu_guard",
                    ignore=shutil.ignore_patterns("__pycache__"))
    out = src / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "--disable-pip-version-check", "-w", str(out),
                    str(src)], check=True, capture_output=True, timeout=300)
    [wheel] = out.glob("congvu_guard-*.whl")
    with zipfile.ZipFile(wheel) as z:
        return z.namelist()


def test_the_wheel_holds_no_test_only_lab_server(wheel_names: list[str]) -> None:
    shipped = {Path(n).stem for n in wheel_names if n.startswith("congvu_guard/lab/")}
    assert not shipped & set(TEST_ONLY)
    assert not [n for n in wheel_names if n.startswith("tests/")]


def test_the_wheel_keeps_what_the_demo_needs(wheel_names: list[str]) -> None:
    assert {"congvu_guard/lab/demo.py", "congvu_guard/lab/postfix.py",
            "congvu_guard/cli.py"} <= set(wheel_names)
