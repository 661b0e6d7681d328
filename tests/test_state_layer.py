"""Redis is spoken by the repositories of congvu_guard/state/ (issue 20): a module elsewhere
that sends a command itself is refused here."""

from __future__ import annotations

import ast
from pathlib import Path

import congvu_guard
from congvu_guard.state import client as state_client

PACKAGE = Path(congvu_guard.__file__).resolve().parent
COMMANDS = ({n for n in vars(state_client.Commands) if not n.startswith("_")}
            | {n for n in vars(state_client.RedisClient) if not n.startswith("_")}
            | {"execute"})
_RECEIVERS = {"client", "pipe", "_client", "redis"}


def _is_client(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in _RECEIVERS
    return isinstance(node, ast.Attribute) and node.attr in _RECEIVERS


def redis_calls(source: str) -> list[tuple[int, str]]:
    return [(n.lineno, n.func.attr) for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr in COMMANDS and _is_client(n.func.value)]


def direct_callers(root: Path, allowed: set[str]) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith("state/") or rel in allowed:
            continue
        found += [f"{rel}:{line}: {cmd}" for line, cmd in redis_calls(path.read_text())]
    return found


def test_only_the_state_repositories_send_redis_commands() -> None:
    assert direct_callers(PACKAGE, set()) == []


def test_a_command_sent_elsewhere_is_found(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(
        "def f(self, client):\n    client.hset('k', 'f', 1)\n    self.client.xadd('s', {})\n"
        "    d = {}\n    d.get('x')\n")
    assert direct_callers(tmp_path, set()) == ["mod.py:2: hset", "mod.py:3: xadd"]
