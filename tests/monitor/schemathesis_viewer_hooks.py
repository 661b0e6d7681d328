"""Schemathesis check for the viewer-token run (issue 15): an operation documented for
operator or admin (``x-role`` in openapi.json) must never answer 2xx to a viewer."""

from __future__ import annotations

from typing import Any

import schemathesis

from tests.monitor import schemathesis_threadsafe  # noqa: F401 - see there


@schemathesis.check
def viewer_gets_no_2xx_above_its_role(ctx: Any, response: Any, case: Any) -> None:
    role = case.operation.definition.raw.get("x-role")
    if role in ("operator", "admin") and 200 <= response.status_code < 300:
        raise AssertionError(f"{case.operation.label} ({role}) answered "
                             f"{response.status_code} to a viewer token")
