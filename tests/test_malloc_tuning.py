"""The huge-page tunable the milter starts itself with (milter/memory.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from congvu_guard import cli
from congvu_guard.milter import memory


def test_the_tunable_is_added_to_what_the_environment_already_has() -> None:
    assert memory.with_huge_pages({"PATH": "/bin"}) == {
        "PATH": "/bin", "GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"}
    assert memory.with_huge_pages({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}) == {
        "GLIBC_TUNABLES": "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"}


@pytest.mark.parametrize("value", ["glibc.malloc.hugetlb=0", "glibc.malloc.hugetlb=1",
                                   "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=0"])
def test_an_operators_own_value_stands_and_nothing_restarts(value: str) -> None:
    assert memory.with_huge_pages({"GLIBC_TUNABLES": value}) is None


def test_a_milter_run_inside_another_program_never_restarts_that_program(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``main(argv)`` called by a program (a test, an embedding) must not execve it; the
    command itself (``main()`` on the process's own arguments) does."""
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    monkeypatch.setattr(memory, "_huge_pages_possible", lambda: True)
    restarted: list[list[str]] = []
    monkeypatch.setattr(memory.os, "execve", lambda exe, argv, env: restarted.append(argv))
    missing = str(tmp_path / "missing.toml")
    assert cli.main(["milter", "--config", missing]) == 2  # the config error, not a restart
    assert restarted == []
    monkeypatch.setattr(memory.sys, "argv", ["congvu-guard", "milter", "--config", missing])
    assert cli.main() == 2  # execve is a stub here: the run goes on to the same error
    assert len(restarted) == 1 and restarted[0][0] == memory.sys.executable
