"""Schemathesis hooks module: Hypothesis describes the filter lambdas schemathesis builds
for negative query values by parsing their source, with caches that are not thread-safe
(an LRUCache), and ``ast.parse`` on CPython 3.11 may fail with "AST constructor recursion
depth mismatch" when two threads parse at once. With ``--workers 2`` and the list filters
of issue 21 (nine query parameters on five operations) about one run in four ended in such
a Runtime Error, never in a finding. One lock around parsing and plain dicts make the runs
deterministic again; the checks themselves are untouched."""

from __future__ import annotations

import ast
import threading
from typing import Any

from hypothesis.internal import lambda_sources

_LOCK = threading.RLock()
_describe = lambda_sources._lambda_description
_parse = ast.parse


def _locked_description(f: Any, *args: Any, **kw: Any) -> str:
    with _LOCK:
        return _describe(f, *args, **kw)


def _locked_parse(*args: Any, **kw: Any) -> Any:
    with _LOCK:
        return _parse(*args, **kw)


lambda_sources._lambda_description = _locked_description
lambda_sources.LAMBDA_DIGEST_DESCRIPTION_CACHE = {}  # type: ignore[assignment]
lambda_sources.AST_LAMBDAS_CACHE = {}  # type: ignore[assignment]
ast.parse = _locked_parse
