"""The one key registry (issue 20): every Redis name is spelled in congvu_guard/state/keys.py
and nowhere else in the package, and no two names of the registry can collide."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import congvu_guard
from congvu_guard.state import keys

PACKAGE = Path(congvu_guard.__file__).resolve().parent
REGISTRY = PACKAGE / "state" / "keys.py"
# "congvu:…" or the bare prefix "congvu" (f"{PREFIX}:locks" once hid names that way).
_NAME = re.compile(r"\bcongvu(?::|$)")


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the string constants that are docstrings or bare string statements."""
    out = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)):
            out.add(id(node.value))
    return out


def key_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of each string literal (f-string parts included) that spells a key
    name; comments and docstrings are prose, not names."""
    tree = ast.parse(source)
    prose = _docstrings(tree)
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in prose and _NAME.search(node.value)]


def _lua_literals(source: str) -> list[tuple[int, str]]:
    return [(n, line) for n, line in enumerate(source.splitlines(), 1)
            if _NAME.search(line.split("--", 1)[0])]


def literals_outside_registry(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.resolve() == REGISTRY:
            continue
        for line, text in key_literals(path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(root)}:{line}: {text!r}")
    for path in sorted(root.rglob("*.lua")):
        for line, text in _lua_literals(path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(root)}:{line}: {text.strip()!r}")
    return found


def test_no_redis_key_is_spelled_outside_the_registry() -> None:
    assert literals_outside_registry(PACKAGE) == []


@pytest.mark.parametrize("planted", [
    'KEY = "congvu:planted"\n',
    'def k(x):\n    return f"congvu:planted:{x}"\n',
    'PREFIX = "congvu"\nKEY = f"{PREFIX}:planted"\n',
])
def test_a_planted_key_literal_is_found(tmp_path: Path, planted: str) -> None:
    (tmp_path / "mod.py").write_text('"""Docstrings may name congvu:keys."""\n' + planted)
    assert len(literals_outside_registry(tmp_path)) == 1


def test_comments_and_docstrings_may_name_keys(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text(
        '"""Reads ``congvu:reports``."""\n\n# writes congvu:day:YYYYMMDD\n'
        'def f():\n    """congvu:x"""\n    return "congvu-guard: not a key"\n')
    (tmp_path / "s.lua").write_text("-- KEYS[1] congvu:{account}:msgs\nreturn 1\n")
    assert literals_outside_registry(tmp_path) == []


def test_the_registry_has_no_duplicate_names() -> None:
    names = keys.registered()
    assert len(names) > 20  # the registry was read, not an empty dict
    values = list(names.values())
    dupes = {v for v in values if values.count(v) > 1}
    assert not dupes, f"names registered twice: {dupes}"


def test_no_name_falls_inside_another_family() -> None:
    """A fixed name starting with a family's prefix (e.g. ``congvu:report:index`` next to
    ``congvu:report:ID``) could be overwritten by a member of that family."""
    names = keys.registered()
    families = {k: v for k, v in names.items() if v.endswith((":", "{"))}
    clashes = [(a, b) for a, av in names.items() for b, bv in families.items()
               if a != b and av.startswith(bv)]
    assert clashes == []
    assert all(v.startswith(keys.PREFIX) for v in names.values())


def test_account_keys_keep_the_account_as_a_cluster_hash_tag() -> None:
    for make in (keys.messages, keys.recipients, keys.lock, keys.bulk, keys.login_fails):
        assert make(" Ann@Hue.gov.VN ").startswith("congvu:{ann@hue.gov.vn}:")
    assert keys.login_tarpit("a@b", "10.0.0.1") == "congvu:{a@b}:tarpit:10.0.0.1"
    assert keys.lock("x{y}") == "congvu:{x(y)}:lock"  # braces cannot break the tag


def test_the_wire_names_are_unchanged() -> None:
    """Renaming a key loses what running servers stored under the old name."""
    assert keys.REPORT_STREAM == "congvu:reports"
    assert keys.AUDIT_STREAM == "congvu:audit"
    assert keys.LOCK_INDEX == "congvu:locks"
    assert keys.session("s") == "congvu:session:s"
    assert keys.campaign_indicators("c1") == "congvu:campaign:c1:indicators"
    assert keys.top_forwarders("2026-12-01") == "congvu:top-forwarders:2026-12-01"
    assert keys.login_throttle_ip("") == "congvu:login-throttle:ip:-"
    assert keys.ioc("sha256") == "congvu:ioc:sha256"
