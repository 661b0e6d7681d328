"""Schema tests: schemathesis (its command line) drives every operation of openapi.json
against the running monitor with generated valid and invalid input: no 500s, and answers
that match the documented status codes, content types and schemas."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import TOKENS, Monitor

CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance,negative_data_rejection,ignored_auth")


def test_api_conforms_to_its_schema(monitor: Monitor, tmp_path: Path) -> None:
    st = shutil.which("schemathesis", path=str(Path(__import__("sys").executable).parent))
    if st is None:
        pytest.skip("schemathesis is not installed")
    proc = subprocess.run(
        [st, "run", monitor.url + "/api/v1/openapi.json", "--url", monitor.url,
         "-H", f"Authorization: Bearer {TOKENS['admin']}", "--checks", CHECKS,
         "--max-examples", "30", "--phases", "examples,coverage,fuzzing", "--workers", "2",
         "--suppress-health-check", "all", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
