"""Issue 14: every regular expression of the package runs in linear time on attacker bytes.

The test imports every module of ``congvu_guard``, finds every compiled pattern (module
globals, class attributes, and patterns kept inside tuples, lists, dicts and small helper
objects), and runs each over adversarial inputs of about 1 MB: runs of newlines, spaces,
tabs, dashes, and repetitions of the words the pattern itself looks for. A quadratic
pattern takes minutes to hours on these; the bound below is a hang detector, not a speed
assertion (a linear pattern takes milliseconds). A pattern is run as its module uses it: one
only ever called with ``.match``/``.fullmatch`` (a tokenizer reading at a position) is
matched; every other one is searched from every position.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
import signal
from collections.abc import Iterator
from types import ModuleType

import pytest

import congvu_guard

BOUND = 2.0  # seconds per pattern and input
SIZE = 1 << 20
# Modules not imported for the walk.
SKIP_MODULES = {"congvu_guard.__main__"}  # runs the command line when imported


def modules() -> Iterator[ModuleType]:
    yield congvu_guard
    for info in pkgutil.walk_packages(congvu_guard.__path__, "congvu_guard."):
        if info.name in SKIP_MODULES:
            continue
        yield importlib.import_module(info.name)


def _walk(obj: object, seen: set[int], depth: int = 0) -> Iterator[re.Pattern]:
    if id(obj) in seen or depth > 4:
        return
    seen.add(id(obj))
    if isinstance(obj, re.Pattern):
        yield obj
    elif isinstance(obj, dict):
        for v in list(obj.values()) + list(obj.keys()):
            yield from _walk(v, seen, depth + 1)
    elif isinstance(obj, list | tuple | set | frozenset):
        for v in obj:
            yield from _walk(v, seen, depth + 1)
    elif isinstance(obj, type):
        for v in vars(obj).values():
            yield from _walk(v, seen, depth + 1)
    elif type(obj).__module__.startswith("congvu_guard"):
        # Helper objects holding patterns (filetypes._Then, detectors' tables).
        for v in getattr(obj, "__dict__", {}).values():
            yield from _walk(v, seen, depth + 1)
        for slot in getattr(type(obj), "__slots__", ()):
            yield from _walk(getattr(obj, slot, None), seen, depth + 1)


_ANCHORED = {"match", "fullmatch"}


def _methods_used(mod: ModuleType) -> dict[str, set[str]]:
    """How the module calls each of its named patterns (``_TOKEN.match(data, pos)``)."""
    used: dict[str, set[str]] = {}
    try:
        tree = ast.parse(inspect.getsource(mod))
    except (OSError, TypeError):
        return used
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            used.setdefault(node.value.id, set()).add(node.attr)
    return used


def all_patterns() -> dict[str, tuple[re.Pattern, bool]]:
    """Name -> (pattern, anchored): a pattern its module only ever calls with .match or
    .fullmatch (a tokenizer at a position) is run that way; any other is searched."""
    seen: set[int] = set()
    found: dict[str, tuple[re.Pattern, bool]] = {}
    for mod in modules():
        used = _methods_used(mod)
        for name, value in vars(mod).items():
            if isinstance(value, ModuleType):
                continue
            if isinstance(value, type) and value.__module__ != mod.__name__:
                continue
            anchored = isinstance(value, re.Pattern) and bool(used.get(name)) and \
                used[name] <= _ANCHORED
            for i, p in enumerate(_walk(value, seen)):
                found[f"{mod.__name__}.{name}#{i}"] = (p, anchored)
    return found


# Where the flags are among the positional arguments of the module-level functions of re.
_FLAGS_AT = {"compile": 1, "search": 2, "match": 2, "fullmatch": 2, "findall": 2,
             "finditer": 2, "split": 3, "sub": 4, "subn": 4}


def inline_patterns() -> dict[str, tuple[re.Pattern, bool]]:
    """Patterns written inline (``re.search(rb"...", data)``, ``re.compile`` inside a
    function): found in the source, since they exist as objects only while running."""
    found: dict[str, tuple[re.Pattern, bool]] = {}
    for mod in modules():
        try:
            tree = ast.parse(inspect.getsource(mod))
        except (OSError, TypeError):
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                    and node.func.attr in _FLAGS_AT and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str | bytes)):
                continue
            at = _FLAGS_AT[node.func.attr]
            flag_expr = node.args[at] if len(node.args) > at else next(
                (k.value for k in node.keywords if k.arg == "flags"), None)
            flags = eval(compile(ast.Expression(flag_expr), "<flags>", "eval"),
                         {"re": re}) if flag_expr is not None else 0
            found[f"{mod.__name__}:{node.lineno}"] = (re.compile(node.args[0].value, flags),
                                                      node.func.attr in _ANCHORED)
    return found


def patterns() -> dict[str, tuple[re.Pattern, bool]]:
    out = all_patterns()
    known = {(p.pattern, p.flags) for p, _ in out.values()}
    for name, (p, anchored) in inline_patterns().items():
        if (p.pattern, p.flags) not in known:
            known.add((p.pattern, p.flags))
            out[name] = (p, anchored)
    return out


PATTERNS = patterns()


def adversarial(pattern: re.Pattern) -> Iterator[tuple[str, bytes]]:
    for label, unit in (("newlines", b"\n"), ("crlf", b"\r\n"), ("spaces", b" "),
                        ("tabs", b"\t"), ("dashes", b"-"), ("letters", b"a"),
                        ("space-newline", b" \n"), ("dash-space", b"- ")):
        yield label, unit * (SIZE // len(unit))
    source = pattern.pattern if isinstance(pattern.pattern, bytes) else \
        pattern.pattern.encode("utf-8", "replace")
    words = sorted(set(re.findall(rb"[A-Za-z][A-Za-z0-9_.:@=-]{1,30}", source)))[:10]
    for w in words:  # a prefix the pattern looks for, again and again, never completed
        for unit in {w + b" ", w.lower() + b"\n", w.lower() + b"-"}:
            yield f"repeat {unit[:20]!r}", unit * (SIZE // len(unit))


class Hang(Exception):
    pass


def _alarm(signum: int, frame: object) -> None:
    raise Hang()


def test_the_walk_finds_the_known_patterns() -> None:
    names = " ".join(PATTERNS)
    for known in ("congvu_guard.detectors.filetypes._SCRIPT_PATTERNS",
                  "congvu_guard.detectors.filetypes._SMUGGLING",
                  "congvu_guard.monitor.reports._INLINE",
                  "congvu_guard.detectors.content._PASSWORD_HINT"):
        assert known in names, known
    assert len(PATTERNS) > 40
    assert PATTERNS["congvu_guard.detectors.filetypes._SMUGGLING#0"][1] is False
    assert any(anchored for _, anchored in PATTERNS.values())


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern_is_linear_on_adversarial_input(name: str) -> None:
    pattern, anchored = PATTERNS[name]
    old = signal.signal(signal.SIGALRM, _alarm)
    try:
        for label, data in adversarial(pattern):
            text = data if isinstance(pattern.pattern, bytes) else data.decode("latin-1")
            signal.setitimer(signal.ITIMER_REAL, BOUND)
            try:
                if not anchored:
                    for _ in pattern.finditer(text):
                        pass
                pattern.match(text)
            except Hang:
                pytest.fail(f"{name} ({pattern.pattern[:80]!r}) still running after "
                            f"{BOUND} s on {label} ({len(text)} bytes): not linear")
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    finally:
        signal.signal(signal.SIGALRM, old)
